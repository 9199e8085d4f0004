"""Fields, G1/G2, MSM, fixed-base tables and the NTT against py-ecc and O(n^2) definitions."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from py_ecc import bn128

from prover import curve as c
from prover.field import Q, R, batch_inverse, root_of_unity
from prover.fixed_base import FixedBaseG1, FixedBaseG2
from prover.msm import msm_g1, msm_g1_reference, msm_g2, msm_g2_reference
from prover.ntt import intt, ntt, ntt_reference, scale_powers


def _py1(p: tuple[int, int] | None) -> object:
    return None if p is None else (bn128.FQ(p[0]), bn128.FQ(p[1]))


def _from_py1(p: object) -> tuple[int, int] | None:
    return None if p is None else (p[0].n, p[1].n)  # type: ignore[index]


def _from_py2(p: object) -> object:
    return None if p is None else (tuple(p[0].coeffs), tuple(p[1].coeffs))  # type: ignore[index]


def test_moduli_are_py_ecc_bn128() -> None:
    assert R == bn128.curve_order and Q == bn128.field_modulus
    assert c.G1_GEN == _from_py1(bn128.G1) and c.G2_GEN == _from_py2(bn128.G2)
    assert pow(root_of_unity(28), 1 << 27, R) == R - 1


@settings(max_examples=25, derandomize=True, deadline=None)
@given(st.integers(min_value=0, max_value=R - 1), st.integers(min_value=0, max_value=R - 1))
def test_g1_mul_and_add_match_py_ecc(k1: int, k2: int) -> None:
    p1, p2 = c.g1_mul(c.G1_GEN, k1), c.g1_mul(c.G1_GEN, k2)
    assert p1 == _from_py1(bn128.multiply(bn128.G1, k1))
    assert c.g1_add_affine(p1, p2) == _from_py1(bn128.add(_py1(p1), _py1(p2)))  # type: ignore[arg-type]
    assert c.g1_add_affine(p1, p1) == c.g1_mul(c.G1_GEN, 2 * k1)
    assert c.g1_add_affine(p1, c.g1_neg(p1)) is None


@settings(max_examples=6, derandomize=True, deadline=None)
@given(st.integers(min_value=1, max_value=R - 1))
def test_g2_mul_matches_py_ecc(k: int) -> None:
    p = c.g2_mul(c.G2_GEN, k)
    assert p == _from_py2(bn128.multiply(bn128.G2, k))
    assert c.g2_is_on_curve(p) and c.g2_in_subgroup(p)


def test_g2_twist_point_outside_subgroup_is_detected() -> None:
    # find a point on the twist y^2 = x^3 + b' that is not in the order-r subgroup
    x = (1, 0)
    while True:
        rhs = c.f2_add(c.f2_mul(c.f2_sqr(x), x), c.B2)
        y = _f2_sqrt(rhs)
        if y is not None:
            break
        x = (x[0] + 1, 0)
    p = (x, y)
    assert c.g2_is_on_curve(p)
    assert not c.g2_in_subgroup(p)


def _f2_sqrt(a: tuple[int, int]) -> tuple[int, int] | None:
    # q = 3 mod 4: sqrt via the norm (a0 + a1 u with u^2 = -1)
    a0, a1 = a
    norm = (a0 * a0 + a1 * a1) % Q
    n = pow(norm, (Q + 1) // 4, Q)
    if n * n % Q != norm:
        return None
    for s in (n, -n % Q):
        x0sq = (a0 + s) * pow(2, -1, Q) % Q
        x0 = pow(x0sq, (Q + 1) // 4, Q)
        if x0 * x0 % Q != x0sq or x0 == 0:
            continue
        x1 = a1 * pow(2 * x0, -1, Q) % Q
        if c.f2_sqr((x0, x1)) == (a0 % Q, a1 % Q):
            return (x0, x1)
    return None


def test_batch_inverse() -> None:
    rng = random.Random(1)
    xs = [rng.randrange(1, R) for _ in range(50)]
    assert batch_inverse(xs) == [pow(x, -1, R) for x in xs]


@pytest.mark.parametrize("log_n", [0, 1, 2, 3, 5])
def test_ntt_matches_definition_and_inverts(log_n: int) -> None:
    rng = random.Random(log_n)
    a = [rng.randrange(R) for _ in range(1 << log_n)]
    assert ntt(a) == ntt_reference(a)
    assert intt(ntt(a)) == a


def test_coset_evaluation_by_scaling() -> None:
    rng = random.Random(9)
    coeffs = [rng.randrange(R) for _ in range(8)]
    g = 5
    values = ntt(scale_powers(coeffs, g))
    w = root_of_unity(3)
    for i in (0, 3, 7):
        x = g * pow(w, i, R) % R
        assert values[i] == sum(cf * pow(x, j, R) for j, cf in enumerate(coeffs)) % R


def test_msm_g1_matches_naive_and_handles_edge_scalars() -> None:
    rng = random.Random(5)
    pts = [c.g1_mul(c.G1_GEN, rng.randrange(1, R)) for _ in range(70)] + [None, c.G1_GEN, c.G1_GEN]
    scs = [rng.randrange(R) for _ in range(70)] + [5, 1, R - 1]
    scs[3] = 0
    scs[4] = 1
    scs[5] = R + 7  # reduced mod r
    assert msm_g1(pts, scs) == msm_g1_reference(pts, scs)
    for window in (1, 2, 7):
        assert msm_g1(pts, scs, window=window) == msm_g1_reference(pts, scs)
    assert msm_g1([], []) is None
    # P + (-P): the bucket sum hits infinity
    p = pts[0]
    assert msm_g1([p, p], [3, R - 3]) is None


def test_msm_g1_against_py_ecc() -> None:
    rng = random.Random(6)
    ks = [rng.randrange(1, R) for _ in range(12)]
    scs = [rng.randrange(R) for _ in range(12)]
    pts = [c.g1_mul(c.G1_GEN, k) for k in ks]
    acc = None
    for k, s in zip(ks, scs):
        acc = bn128.add(acc, bn128.multiply(bn128.G1, k * s % R)) if acc else bn128.multiply(bn128.G1, k * s % R)
    assert msm_g1(pts, scs) == _from_py1(acc)


def test_msm_g2_matches_naive() -> None:
    rng = random.Random(7)
    pts = [c.g2_mul(c.G2_GEN, rng.randrange(1, R)) for _ in range(24)] + [None]
    scs = [rng.randrange(R) for _ in range(24)] + [3]
    scs[1] = 1
    scs[2] = 0
    assert msm_g2(pts, scs) == msm_g2_reference(pts, scs)


def test_fixed_base_tables() -> None:
    rng = random.Random(8)
    ks = [0, 1, 2, R - 1] + [rng.randrange(R) for _ in range(10)]
    assert FixedBaseG1(c.G1_GEN).batch_mul(ks) == [c.g1_mul(c.G1_GEN, k) for k in ks]
    assert FixedBaseG2(c.G2_GEN, window=4).batch_mul(ks[:6]) == [c.g2_mul(c.G2_GEN, k) for k in ks[:6]]


def test_batch_affine_msm_matches_jacobian_and_naive() -> None:
    from prover.msm_affine import msm_g1_affine, msm_g2_affine

    rng = random.Random(10)
    base = [c.g1_mul(c.G1_GEN, rng.randrange(1, R)) for _ in range(40)]
    # repeated points and negations force doublings and cancellations inside buckets
    pts = base + base[:10] + [c.g1_neg(p) for p in base[:5]] + [None]
    scs = [rng.randrange(R) for _ in range(40)] + [rng.randrange(R) for _ in range(10)] + [rng.randrange(R) for _ in range(5)] + [9]
    scs[40:45] = scs[0:5]  # same point, same scalar: doubling in a bucket
    scs[50:55] = scs[0:5]  # P and -P with the same scalar: cancellation
    for window in (None, 2, 5, 9):
        assert msm_g1_affine(pts, scs, window=window) == msm_g1_reference(pts, scs) == msm_g1(pts, scs)
    assert msm_g1_affine([c.G1_GEN] * 9, [1] * 9) == c.g1_mul(c.G1_GEN, 9)
    assert msm_g1_affine([c.G1_GEN, c.g1_neg(c.G1_GEN)], [5, 5]) is None
    p2 = [c.g2_mul(c.G2_GEN, rng.randrange(1, R)) for _ in range(12)]
    p2 += p2[:3] + [c.g2_neg(p2[3])]
    s2 = [rng.randrange(R) for _ in range(12)] + [0, 0, 0, 0]
    s2[12:15] = s2[0:3]
    s2[15] = s2[3]
    assert msm_g2_affine(p2, s2) == msm_g2_reference(p2, s2) == msm_g2(p2, s2)
    assert msm_g2_affine(p2[:4], [1, 1, 1, 1]) == msm_g2_reference(p2[:4], [1, 1, 1, 1])
