"""The R1CS builder, the gadgets, in-circuit Poseidon and the under-constraint check."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prover import gadgets as g
from prover.circuit import margin_circuit
from prover.errors import ProverInputError, UnsatisfiedError
from prover.field import R
from prover.poseidon import poseidon, sponge
from prover.r1cs import LC, ConstraintSystem
from prover.statement import Account, Epoch


def _one_input(build):  # type: ignore[no-untyped-def]
    cs = ConstraintSystem()
    x = cs.private_input("x")
    y = cs.private_input("y")
    out = build(cs, x, y)
    return cs, out


def _value(cs: ConstraintSystem, lc: LC, x: int, y: int = 0) -> int:
    w = cs.witness([], {"x": x, "y": y}, check=False)
    return lc.evaluate(w), cs.first_violation(w)  # type: ignore[return-value]


@settings(max_examples=40, derandomize=True, deadline=None)
@given(st.integers(min_value=-(2**20), max_value=2**20))
def test_range_signed_accepts_exactly_the_open_interval(x: int) -> None:
    cs, sign = _one_input(lambda cs, x, y: g.range_signed(cs, x, 19, "x"))
    value, bad = _value(cs, sign, x)
    inside = -(2**19) < x < 2**19
    assert (bad is None) == inside
    if inside:
        assert value == (1 if x >= 0 else 0)


@pytest.mark.parametrize("x", [-(2**8), -(2**8) + 1, -1, 0, 2**8 - 1, 2**8])
def test_range_signed_boundaries(x: int) -> None:
    cs, _ = _one_input(lambda cs, x, y: g.range_signed(cs, x, 8, "x"))
    assert (_value(cs, LC.const(0), x)[1] is None) == (abs(x) < 2**8)


@settings(max_examples=40, derandomize=True, deadline=None)
@given(st.integers(min_value=-(2**16) + 1, max_value=2**16 - 1), st.integers(min_value=-(2**16) + 1, max_value=2**16 - 1))
def test_geq_max_select(a: int, b: int) -> None:
    cs = ConstraintSystem()
    x = cs.private_input("x")
    y = cs.private_input("y")
    ge = g.geq(cs, x, y, 16, "ge")
    mx = g.max_(cs, x, y, 16, "max")
    w = cs.witness([], {"x": a, "y": b})
    assert ge.evaluate(w) == int(a >= b)
    assert mx.evaluate(w) == max(a, b) % R


def test_to_bits_rejects_out_of_range_and_names_the_constraint() -> None:
    cs = ConstraintSystem()
    x = cs.private_input("x")
    g.range_unsigned(cs, x, 8, "x")
    cs.witness([], {"x": 255})
    with pytest.raises(UnsatisfiedError, match=r"x = sum of its 8 bits"):
        cs.witness([], {"x": 256})
    with pytest.raises(UnsatisfiedError):
        cs.witness([], {"x": -1})
    with pytest.raises(ProverInputError, match="private input not given"):
        cs.witness([], {})


def test_abs_and_nonzero() -> None:
    cs = ConstraintSystem()
    x = cs.private_input("x")
    sign = g.range_signed(cs, x, 10, "x")
    ab = g.abs_(cs, x, sign, "abs")
    for v in (-513, -1, 0, 7, 1000):
        w = cs.witness([], {"x": v})
        assert ab.evaluate(w) == abs(v)
    cs2 = ConstraintSystem()
    z = cs2.private_input("x")
    g.nonzero(cs2, z, "nz")
    cs2.witness([], {"x": 5})
    with pytest.raises(UnsatisfiedError, match="nz"):
        cs2.witness([], {"x": 0})


@pytest.mark.parametrize("k", [1, 2, 15, 16])
def test_poseidon_gadget_matches_native(k: int) -> None:
    rng = random.Random(k)
    cs = ConstraintSystem()
    out = cs.public("h")
    ins = [cs.private_input(f"x{i}") for i in range(k)]
    h = g.poseidon(cs, ins, "p")
    cs.assert_equal(h, out, "h")
    vals = [rng.randrange(R) for _ in range(k)]
    cs.witness([poseidon(vals)], {f"x{i}": v for i, v in enumerate(vals)})
    with pytest.raises(UnsatisfiedError, match=r"\(h\) is violated"):
        cs.witness([(poseidon(vals) + 1) % R], {f"x{i}": v for i, v in enumerate(vals)})


def test_sponge_gadget_matches_native() -> None:
    cs = ConstraintSystem()
    out = cs.public("h")
    ins = [cs.private_input(f"x{i}") for i in range(17)]
    cs.assert_equal(g.sponge(cs, 9, ins, "s"), out, "h")
    vals = list(range(100, 117))
    cs.witness([sponge(9, vals)], {f"x{i}": v for i, v in enumerate(vals)})


def _valid_margin_witness(n: int, s: int, seed: int) -> tuple[object, list[int]]:
    rng = random.Random(seed)
    mc = margin_circuit(n, s)
    ep = Epoch.create(
        3,
        12500,
        [rng.randrange(-(10**9), 10**9) for _ in range(n)],
        [[rng.randrange(-(10**7), 10**7) for _ in range(s)] for _ in range(n)],
        [rng.randrange(0, 10**5) for _ in range(n)],
    )
    acc = Account.create([rng.randrange(-50, 50) for _ in range(n)], 10**13, rng.randrange(R))
    return mc, mc.witness(ep, acc, 1, 0xBEEF, 10**12)


def test_under_constraint_every_private_signal_is_pinned() -> None:
    """Perturbing any single non-public witness value of a valid witness violates a constraint."""
    mc, w = _valid_margin_witness(2, 3, 11)
    cs = mc.cs  # type: ignore[attr-defined]
    uses = cs.constraints_using()
    rng = random.Random(12)
    free = []
    for idx in range(cs.n_public + 1, cs.n_signals):
        for delta in (1, R - 1, rng.randrange(2, R - 1)):
            w2 = list(w)
            w2[idx] = (w2[idx] + delta) % R
            if not cs.violated(w2, uses[idx]):
                free.append((idx, cs.signal_name(idx), delta))
                break
    assert free == []
    assert cs.n_signals - cs.n_public - 1 > 2000


def test_first_violation_names_the_constraint() -> None:
    mc, w = _valid_margin_witness(2, 3, 13)
    cs = mc.cs  # type: ignore[attr-defined]
    assert cs.first_violation(w) is None
    idx = cs.n_public + 1  # q[0]
    w[idx] = (w[idx] + 1) % R
    bad = cs.first_violation(w)
    assert bad is not None and bad[1].startswith("q[0].range")
