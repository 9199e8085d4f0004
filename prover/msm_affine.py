"""Pippenger MSM with batch-affine bucket accumulation (the fast path of :mod:`prover.msm`).

Per window, the points are sorted into buckets by digit and each bucket is summed by rounds
of pairwise affine additions; all the additions of a round share one field inversion
(Montgomery's trick), so an addition costs about 6 multiplications instead of the 11 of a
mixed Jacobian addition (the approach of e.g. gnark-crypto's "batch affine" MSM).  Equal
x-coordinates are handled exactly: doubling when ``P = Q``, cancellation when ``P = -Q``.
The buckets are then combined with running sums in Jacobian coordinates.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from prover.curve import (
    F2_ONE,
    F2_ZERO,
    g1_add_mixed,
    g1_double,
    g1_to_affine,
    g2_add,
    g2_double,
    g2_to_affine,
)
from prover.field import Q, R


def _batch_inv_q(xs: list[int]) -> list[int]:
    n = len(xs)
    prefix = [0] * n
    acc = 1
    for i in range(n):
        prefix[i] = acc
        acc = acc * xs[i] % Q
    inv = pow(acc, -1, Q)
    out = [0] * n
    for i in range(n - 1, -1, -1):
        out[i] = inv * prefix[i] % Q
        inv = inv * xs[i] % Q
    return out


def _window(n: int) -> int:
    if n < 32:
        return 3
    return max(4, min(16, (n.bit_length() * 69) // 100 + 1))


def batch_add_g1(pairs: Sequence[tuple[Any, Any]]) -> list[Any]:
    """``[P + Q]`` for affine pairs (None is infinity), one inversion for the whole batch."""
    out: list[Any] = [None] * len(pairs)
    idx: list[int] = []
    nums: list[int] = []
    dens: list[int] = []
    for i, (p, q) in enumerate(pairs):
        if p is None:
            out[i] = q
        elif q is None:
            out[i] = p
        elif p[0] != q[0]:
            idx.append(i)
            nums.append(q[1] - p[1])
            dens.append(q[0] - p[0])
        elif p[1] == q[1] and p[1] != 0:
            idx.append(i)
            nums.append(3 * p[0] * p[0])
            dens.append(2 * p[1])
        # else P = -Q: infinity (already None)
    if idx:
        invs = _batch_inv_q(dens)
        for i, num, inv in zip(idx, nums, invs):
            (x1, y1), (x2, _) = pairs[i]
            lam = num * inv % Q
            x3 = (lam * lam - x1 - x2) % Q
            out[i] = (x3, (lam * (x1 - x3) - y1) % Q)
    return out


def _lockstep_g1(buckets_per_window: list[list[list[tuple[int, int]]]], mask: int) -> list[Any]:
    """``sum_d d * B_d`` for every window at once: running sums in batch-affine lockstep."""
    n = len(buckets_per_window)
    running: list[Any] = [None] * n
    wsum: list[Any] = [None] * n
    for d in range(mask, 0, -1):
        running = batch_add_g1([(running[k], bw[d][0] if bw[d] else None) for k, bw in enumerate(buckets_per_window)])
        wsum = batch_add_g1(list(zip(wsum, running)))
    return wsum


def _reduce_buckets_g1(buckets: list[list[tuple[int, int]]]) -> None:
    """Sum every bucket in place to at most one affine point (empty list = infinity)."""
    while True:
        pairs: list[tuple[int, int, int, int]] = []
        owners: list[int] = []
        for d, lst in enumerate(buckets):
            k = len(lst)
            if k >= 2:
                for i in range(0, k - 1, 2):
                    a, b = lst[i], lst[i + 1]
                    pairs.append((a[0], a[1], b[0], b[1]))
                    owners.append(d)
                buckets[d] = [lst[-1]] if k & 1 else []
        if not pairs:
            return
        nums: list[int | None] = []
        dens: list[int] = []
        for x1, y1, x2, y2 in pairs:
            if x1 != x2:
                nums.append(y2 - y1)
                dens.append(x2 - x1)
            elif y1 == y2 and y1 != 0:
                nums.append(3 * x1 * x1)
                dens.append(2 * y1)
            else:
                nums.append(None)
                dens.append(1)
        invs = _batch_inv_q(dens)
        for (x1, y1, x2, _y2), num, inv, d in zip(pairs, nums, invs, owners):
            if num is None:
                continue
            lam = num * inv % Q
            x3 = (lam * lam - x1 - x2) % Q
            buckets[d].append((x3, (lam * (x1 - x3) - y1) % Q))


def _split_terms(points: Sequence[Any], scalars: Sequence[int]) -> tuple[list[Any], list[Any], list[int]]:
    """Drop infinity and zero scalars; return ``(points with scalar 1, other points, their scalars)``."""
    if len(points) != len(scalars):
        raise ValueError(f"msm: {len(points)} points but {len(scalars)} scalars")
    ones: list[Any] = []
    pts: list[Any] = []
    scs: list[int] = []
    for p, s in zip(points, scalars):
        if p is None:
            continue
        s %= R
        if s == 0:
            continue
        if s == 1:
            ones.append(p)
        else:
            pts.append(p)
            scs.append(s)
    return ones, pts, scs


def msm_g1_affine(points: Sequence[Any], scalars: Sequence[int], window: int | None = None) -> Any:
    """``sum_i s_i P_i`` in G1 (affine in and out; None is infinity)."""
    ones, pts, scs = _split_terms(points, scalars)
    total: tuple[int, int, int] = (1, 1, 0)
    if pts:
        c = window or _window(len(pts))
        mask = (1 << c) - 1
        n_windows = (max(scs).bit_length() + c - 1) // c
        per_window = []
        for w in range(n_windows):
            shift = w * c
            buckets: list[list[tuple[int, int]]] = [[] for _ in range(mask + 1)]
            for p, s in zip(pts, scs):
                d = (s >> shift) & mask
                if d:
                    buckets[d].append(p)
            _reduce_buckets_g1(buckets)
            per_window.append(buckets)
        sums = _lockstep_g1(per_window, mask)
        for w in range(n_windows - 1, -1, -1):
            for _ in range(c):
                total = g1_double(total)
            if sums[w] is not None:
                total = g1_add_mixed(total, sums[w][0], sums[w][1])
    if ones:
        bucket = [ones]
        _reduce_buckets_g1(bucket)
        if bucket[0]:
            total = g1_add_mixed(total, bucket[0][0][0], bucket[0][0][1])
    return g1_to_affine(total)


# ------------------------------------------------------------------ G2 -----------------
def _reduce_buckets_g2(buckets: list[list[Any]]) -> None:
    while True:
        pairs: list[Any] = []
        owners: list[int] = []
        for d, lst in enumerate(buckets):
            k = len(lst)
            if k >= 2:
                for i in range(0, k - 1, 2):
                    pairs.append((lst[i], lst[i + 1]))
                    owners.append(d)
                buckets[d] = [lst[-1]] if k & 1 else []
        if not pairs:
            return
        nums: list[Any] = []
        dens: list[tuple[int, int]] = []
        for (p1, p2) in pairs:
            (a0, a1), (b0, b1) = p1
            (c0, c1), (e0, e1) = p2
            if a0 != c0 or a1 != c1:
                nums.append(((e0 - b0) % Q, (e1 - b1) % Q))
                dens.append(((c0 - a0) % Q, (c1 - a1) % Q))
            elif b0 == e0 and b1 == e1 and (b0 or b1):
                # 3 x^2 / 2 y
                sq0 = (a0 + a1) * (a0 - a1) % Q
                sq1 = 2 * a0 * a1 % Q
                nums.append((3 * sq0 % Q, 3 * sq1 % Q))
                dens.append((2 * b0 % Q, 2 * b1 % Q))
            else:
                nums.append(None)
                dens.append((1, 0))
        ninv = _batch_inv_q([(d0 * d0 + d1 * d1) % Q for d0, d1 in dens])
        for (p1, p2), num, (d0, d1), nv, d in zip(pairs, nums, dens, ninv, owners):
            if num is None:
                continue
            i0, i1 = d0 * nv % Q, -d1 * nv % Q  # 1/den = conj(den)/norm
            n0, n1 = num
            t0, t1 = n0 * i0, n1 * i1
            l0 = (t0 - t1) % Q
            l1 = ((n0 + n1) * (i0 + i1) - t0 - t1) % Q
            (x1a, x1b), (y1a, y1b) = p1
            (x2a, x2b), _ = p2
            x3a = ((l0 + l1) * (l0 - l1) - x1a - x2a) % Q
            x3b = (2 * l0 * l1 - x1b - x2b) % Q
            da, db = x1a - x3a, x1b - x3b
            u0, u1 = l0 * da, l1 * db
            y3a = (u0 - u1 - y1a) % Q
            y3b = ((l0 + l1) * (da + db) - u0 - u1 - y1b) % Q
            buckets[d].append(((x3a, x3b), (y3a, y3b)))


def _g2_add_mixed_affine(p: Any, a: Any) -> Any:
    from prover.msm import g2_add_mixed

    return g2_add_mixed(p, a[0], a[1])


def msm_g2_affine(points: Sequence[Any], scalars: Sequence[int], window: int | None = None) -> Any:
    """``sum_i s_i P_i`` in G2 (affine in and out)."""
    zero = (F2_ONE, F2_ONE, F2_ZERO)
    ones, pts, scs = _split_terms(points, scalars)
    total = zero
    if pts:
        c = window or _window(len(pts))
        mask = (1 << c) - 1
        n_windows = (max(scs).bit_length() + c - 1) // c
        for w in range(n_windows - 1, -1, -1):
            if w != n_windows - 1:
                for _ in range(c):
                    total = g2_double(total)
            shift = w * c
            buckets: list[list[Any]] = [[] for _ in range(mask + 1)]
            for p, s in zip(pts, scs):
                d = (s >> shift) & mask
                if d:
                    buckets[d].append(p)
            _reduce_buckets_g2(buckets)
            running = zero
            wsum = zero
            for d in range(mask, 0, -1):
                b = buckets[d]
                if b:
                    running = _g2_add_mixed_affine(running, b[0])
                if running[2] != F2_ZERO:
                    wsum = g2_add(wsum, running)
            total = g2_add(total, wsum)
    if ones:
        bucket = [ones]
        _reduce_buckets_g2(bucket)
        if bucket[0]:
            total = _g2_add_mixed_affine(total, bucket[0][0])
    return g2_to_affine(total)
