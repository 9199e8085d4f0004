"""Many scalar multiplications of one fixed base (the trusted setup's workload).

Fixed-base windowing (Brickell et al. / "comb"-free variant, see Guide to Elliptic Curve
Cryptography, alg. 3.41): with ``c``-bit windows, ``T[k][d] = d * 2^(c k) * G`` is precomputed
once, and ``s * G = sum_k T[k][digit_k(s)]`` costs one addition per window, no doublings.
Results are normalized to affine with one batched inversion.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from prover.curve import (
    F2_ONE,
    F2_ZERO,
    G1Affine,
    G2Affine,
    f2_mul,
    f2_sqr,
    g1_add,
    g1_add_mixed,
    g1_double,
    g1_to_jac,
    g2_add,
    g2_double,
    g2_to_jac,
)
from prover.field import Q, R, batch_inverse
from prover.msm import g2_add_mixed

WINDOW = 8
SCALAR_BITS = 254


def _g1_batch_affine(points: Sequence[tuple[int, int, int]]) -> list[G1Affine]:
    idx = [i for i, p in enumerate(points) if p[2] != 0]
    invs = batch_inverse([points[i][2] for i in idx], Q)
    out: list[G1Affine] = [None] * len(points)
    for i, zi in zip(idx, invs):
        x, y, _ = points[i]
        zi2 = zi * zi % Q
        out[i] = (x * zi2 % Q, y * zi2 % Q * zi % Q)
    return out


def _g2_batch_affine(points: Sequence[Any]) -> list[G2Affine]:
    idx = [i for i, p in enumerate(points) if p[2] != F2_ZERO]
    # invert Fq2 elements z via norms: 1/z = conj(z) / (z0^2 + z1^2)
    norms = [(points[i][2][0] ** 2 + points[i][2][1] ** 2) % Q for i in idx]
    ninv = batch_inverse(norms, Q)
    out: list[G2Affine] = [None] * len(points)
    for i, nv in zip(idx, ninv):
        x, y, z = points[i]
        zi = (z[0] * nv % Q, -z[1] * nv % Q)
        zi2 = f2_sqr(zi)
        out[i] = (f2_mul(x, zi2), f2_mul(y, f2_mul(zi2, zi)))
    return out


class FixedBaseG1:
    def __init__(self, base: tuple[int, int], window: int = WINDOW) -> None:
        self.c = window
        self.n_windows = (SCALAR_BITS + window - 1) // window
        rows = []
        g = g1_to_jac(base)
        for _ in range(self.n_windows):
            row = [(1, 1, 0)]
            for _ in range((1 << window) - 1):
                row.append(g1_add(row[-1], g))
            rows.append(row)
            for _ in range(window):
                g = g1_double(g)
        flat = _g1_batch_affine([p for row in rows for p in row])
        size = 1 << window
        self.table = [flat[k * size : (k + 1) * size] for k in range(self.n_windows)]

    def batch_mul(self, scalars: Sequence[int]) -> list[G1Affine]:
        mask = (1 << self.c) - 1
        res = []
        for s in scalars:
            s %= R
            acc = (1, 1, 0)
            k = 0
            while s:
                d = s & mask
                if d:
                    p = self.table[k][d]
                    acc = g1_add_mixed(acc, p[0], p[1])  # type: ignore[index]
                s >>= self.c
                k += 1
            res.append(acc)
        return _g1_batch_affine(res)


class FixedBaseG2:
    def __init__(self, base: Any, window: int = WINDOW) -> None:
        self.c = window
        self.n_windows = (SCALAR_BITS + window - 1) // window
        rows = []
        g = g2_to_jac(base)
        zero = (F2_ONE, F2_ONE, F2_ZERO)
        for _ in range(self.n_windows):
            row = [zero]
            for _ in range((1 << window) - 1):
                row.append(g2_add(row[-1], g))
            rows.append(row)
            for _ in range(window):
                g = g2_double(g)
        flat = _g2_batch_affine([p for row in rows for p in row])
        size = 1 << window
        self.table = [flat[k * size : (k + 1) * size] for k in range(self.n_windows)]

    def batch_mul(self, scalars: Sequence[int]) -> list[G2Affine]:
        mask = (1 << self.c) - 1
        zero = (F2_ONE, F2_ONE, F2_ZERO)
        res = []
        for s in scalars:
            s %= R
            acc = zero
            k = 0
            while s:
                d = s & mask
                if d:
                    p = self.table[k][d]
                    acc = g2_add_mixed(acc, p[0], p[1])  # type: ignore[index]
                s >>= self.c
                k += 1
            res.append(acc)
        return _g2_batch_affine(res)
