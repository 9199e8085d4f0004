"""Multi-scalar multiplication ``sum_i s_i * P_i`` on G1 and G2 (Pippenger's bucket method).

Bucket method (Pippenger 1976; Bernstein et al., "Faster batch forgery identification",
2012, section 4): split every scalar into ``c``-bit windows; per window add each point into
the bucket of its digit (mixed Jacobian + affine additions), combine buckets with running
sums ``sum_j j * B_j = sum_j (B_m + ... + B_j)``, and join windows by ``c`` doublings.
Scalars 0 are skipped and scalars 1 (frequent: bits of range checks) are summed directly.
``msm_g1_reference`` is the naive sum of double-and-add products, for tests.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from prover.curve import (
    F2_ONE,
    F2_ZERO,
    G1Affine,
    G2Affine,
    G2Jac,
    f2_add,
    f2_mul,
    f2_sqr,
    f2_sub,
    g1_add,
    g1_add_affine,
    g1_add_mixed,
    g1_double,
    g1_mul,
    g1_to_affine,
    g2_add,
    g2_double,
    g2_mul,
    g2_to_affine,
    g2_to_jac,
)
from prover.field import R


def g2_add_mixed(p: G2Jac, x2: Any, y2: Any) -> G2Jac:
    """p + (x2, y2) with the second point affine and finite ("madd-2007-bl" over Fq2)."""
    x1, y1, z1 = p
    if z1 == F2_ZERO:
        return (x2, y2, F2_ONE)
    z1z1 = f2_sqr(z1)
    u2 = f2_mul(x2, z1z1)
    s2 = f2_mul(y2, f2_mul(z1, z1z1))
    h = f2_sub(u2, x1)
    rr = f2_sub(s2, y1)
    if h == F2_ZERO:
        if rr == F2_ZERO:
            return g2_double(p)
        return (F2_ONE, F2_ONE, F2_ZERO)
    hh = f2_sqr(h)
    i = f2_add(f2_add(hh, hh), f2_add(hh, hh))
    j = f2_mul(h, i)
    rr = f2_add(rr, rr)
    v = f2_mul(x1, i)
    x3 = f2_sub(f2_sub(f2_sqr(rr), j), f2_add(v, v))
    yj = f2_mul(y1, j)
    y3 = f2_sub(f2_mul(rr, f2_sub(v, x3)), f2_add(yj, yj))
    z3 = f2_sub(f2_sub(f2_sqr(f2_add(z1, h)), z1z1), hh)
    return (x3, y3, z3)


def _window_bits(n: int) -> int:
    if n < 4:
        return 1
    if n < 32:
        return 3
    return max(4, min(16, (n.bit_length() * 69) // 100 + 1))  # ~ ln(n), as in common MSM libraries


def _pippenger(
    points: Sequence[Any],
    scalars: Sequence[int],
    zero: Any,
    add: Callable[[Any, Any], Any],
    add_mixed: Callable[[Any, Any, Any], Any],
    double: Callable[[Any], Any],
    is_zero: Callable[[Any], bool],
    window: int | None,
) -> Any:
    acc = zero
    pts: list[Any] = []
    scs: list[int] = []
    for p, s in zip(points, scalars):
        if p is None:
            continue
        s %= R
        if s == 0:
            continue
        if s == 1:
            acc = add_mixed(acc, p[0], p[1])
            continue
        pts.append(p)
        scs.append(s)
    if not pts:
        return acc
    c = window or _window_bits(len(pts))
    mask = (1 << c) - 1
    max_bits = max(scs).bit_length()
    n_windows = (max_bits + c - 1) // c
    total = zero
    for w in range(n_windows - 1, -1, -1):
        for _ in range(c if w != n_windows - 1 else 0):
            total = double(total)
        shift = w * c
        buckets: list[Any] = [None] * (mask + 1)
        for p, s in zip(pts, scs):
            d = (s >> shift) & mask
            if d:
                b = buckets[d]
                buckets[d] = (p[0], p[1], _ONE_MARK) if b is None else add_mixed(_fix(b, zero), p[0], p[1])
        running = zero
        window_sum = zero
        for d in range(mask, 0, -1):
            b = buckets[d]
            if b is not None:
                running = add(running, _fix(b, zero))
            if not is_zero(running):
                window_sum = add(window_sum, running)
        total = add(total, window_sum)
    return add(total, acc)


_ONE_MARK = object()


def _fix(b: Any, zero: Any) -> Any:
    """Buckets start as affine points marked with ``_ONE_MARK``; give them their Z = 1."""
    if b[2] is _ONE_MARK:
        return (b[0], b[1], 1 if isinstance(zero[2], int) else F2_ONE)
    return b


def msm_g1(points: Sequence[G1Affine], scalars: Sequence[int], window: int | None = None) -> G1Affine:
    """``sum_i scalars[i] * points[i]`` in G1 (affine in, affine out)."""
    if len(points) != len(scalars):
        raise ValueError(f"msm: {len(points)} points but {len(scalars)} scalars")
    res = _pippenger(
        points, scalars, (1, 1, 0), g1_add, g1_add_mixed, g1_double, lambda p: p[2] == 0, window
    )
    return g1_to_affine(res)


def msm_g2(points: Sequence[G2Affine], scalars: Sequence[int], window: int | None = None) -> G2Affine:
    """``sum_i scalars[i] * points[i]`` in G2."""
    if len(points) != len(scalars):
        raise ValueError(f"msm: {len(points)} points but {len(scalars)} scalars")
    res = _pippenger(
        points,
        scalars,
        (F2_ONE, F2_ONE, F2_ZERO),
        g2_add,
        g2_add_mixed,
        g2_double,
        lambda p: p[2] == F2_ZERO,
        window,
    )
    return g2_to_affine(res)


def msm_g1_reference(points: Sequence[G1Affine], scalars: Sequence[int]) -> G1Affine:
    acc: G1Affine = None
    for p, s in zip(points, scalars):
        acc = g1_add_affine(acc, g1_mul(p, s))
    return acc


def msm_g2_reference(points: Sequence[G2Affine], scalars: Sequence[int]) -> G2Affine:
    acc = g2_to_jac(None)
    for p, s in zip(points, scalars):
        acc = g2_add(acc, g2_to_jac(g2_mul(p, s)))
    return g2_to_affine(acc)
