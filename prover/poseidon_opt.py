"""The optimized (sparse partial-round) form of circomlib's Poseidon permutation.

The reference permutation (``prover.poseidon.permute``) runs every round as ``add constants;
S-box; multiply by the dense t x t MDS matrix M``. In the partial rounds only ``x_0`` goes
through the S-box, which allows two rewrites that leave the permutation unchanged (Poseidon
paper, appendix B; Grassi et al., USENIX Security 2021):

1. **Constants moved forward.** In a partial round the constants of positions ``1..t-1`` do not
   meet the S-box, so ``M * (0, c_1, ..., c_{t-1})`` is added to the next round's constants
   instead. Each partial round keeps one scalar constant; the first full round of the second half
   absorbs the rest.
2. **Sparse matrices.** Any matrix ``A`` with an invertible lower-right block ``Â`` factors as
   ``A = S * diag(1, Â)`` with ``S = [[A_00, w], [v, I]]``, ``v = A[1:, 0]`` and
   ``w = A[0, 1:] * Â^-1``. ``diag(1, Â)`` commutes with a partial round (it leaves ``x_0``
   alone; the round touches only ``x_0``), so walking back from the last partial round each round
   keeps the sparse ``S_j`` (``2t - 1`` entries) and hands ``diag(1, Â_j) * M`` to the round
   before it. The last full round of the first half ends up with the dense ``P = diag(1, Â_0) * M``.
   Every square submatrix of a Cauchy MDS matrix is invertible, so every ``Â`` is.

A t = 17 permutation then costs ``7 * 289 + 17`` dense and ``68 * 33`` sparse multiplications
instead of ``76 * 289`` (about 5x fewer). ``contracts/hashing/PoseidonSponge.sol`` is
generated from these parameters (tools/gen_contracts.py) and tested against the reference.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from prover.field import R
from prover.poseidon_params import FULL_ROUNDS, load_parameters

Matrix = tuple[tuple[int, ...], ...]


@dataclass(frozen=True)
class SparseRound:
    """One partial round: ``x_0 += c; x_0 = x_0^5``, then ``x' = [[m00, w], [v, I]] * x``."""

    c: int
    m00: int
    w: tuple[int, ...]  # row 0 without its first entry (t - 1)
    v: tuple[int, ...]  # column 0 without its first entry (t - 1)


@dataclass(frozen=True)
class OptimizedParameters:
    """Width ``t``: full-round constants (first and second half, ``R_F / 2`` rows of ``t`` each),
    the dense matrices ``M`` and ``P`` (``P`` closes the first half) and the sparse partial rounds."""

    t: int
    first_constants: tuple[tuple[int, ...], ...]
    second_constants: tuple[tuple[int, ...], ...]
    m: Matrix
    p: Matrix
    partial: tuple[SparseRound, ...]


def _matmul(a: Sequence[Sequence[int]], b: Sequence[Sequence[int]]) -> list[list[int]]:
    cols = list(zip(*b))
    return [[sum(x * y for x, y in zip(row, col)) % R for col in cols] for row in a]


def _matvec(a: Sequence[Sequence[int]], x: Sequence[int]) -> list[int]:
    return [sum(m * v for m, v in zip(row, x)) % R for row in a]


def _inverse(a: Sequence[Sequence[int]]) -> list[list[int]]:
    """Gauss-Jordan inverse over F_r; raises ``ValueError`` on a singular matrix."""
    n = len(a)
    aug = [[x % R for x in row] + [int(i == j) for j in range(n)] for i, row in enumerate(a)]
    for col in range(n):
        pivot = next((r for r in range(col, n) if aug[r][col]), None)
        if pivot is None:
            raise ValueError("singular matrix")
        aug[col], aug[pivot] = aug[pivot], aug[col]
        inv = pow(aug[col][col], -1, R)
        aug[col] = [x * inv % R for x in aug[col]]
        for r in range(n):
            if r != col and aug[r][col]:
                f = aug[r][col]
                aug[r] = [(x - f * y) % R for x, y in zip(aug[r], aug[col])]
    return [row[n:] for row in aug]


@cache
def optimized_parameters(t: int) -> OptimizedParameters:
    """The optimized-form parameters of circomlib's Poseidon of width ``t``."""
    c, m, rp = load_parameters(t)
    half = FULL_ROUNDS // 2
    rounds = [list(c[r * t : (r + 1) * t]) for r in range(FULL_ROUNDS + rp)]
    # 1. constants of positions 1..t-1 of each partial round move forward through M
    for r in range(half, half + rp):
        moved = _matvec(m, [0, *rounds[r][1:]])
        rounds[r + 1] = [(a + b) % R for a, b in zip(rounds[r + 1], moved)]
        rounds[r] = [rounds[r][0]] + [0] * (t - 1)
    # 2. sparse factorization, from the last partial round back to the first
    acc = [list(row) for row in m]
    sparse: list[SparseRound] = []
    for r in reversed(range(half, half + rp)):
        hat = [row[1:] for row in acc[1:]]
        hat_inv = _inverse(hat)
        w = [sum(acc[0][1 + k] * hat_inv[k][j] for k in range(t - 1)) % R for j in range(t - 1)]
        v = [acc[i][0] for i in range(1, t)]
        sparse.append(SparseRound(rounds[r][0], acc[0][0], tuple(w), tuple(v)))
        diag = [[1] + [0] * (t - 1)] + [[0, *row] for row in hat]
        acc = _matmul(diag, m)
    sparse.reverse()
    return OptimizedParameters(
        t=t,
        first_constants=tuple(tuple(rounds[r]) for r in range(half)),
        second_constants=tuple(tuple(rounds[r]) for r in range(half + rp, FULL_ROUNDS + rp)),
        m=m,
        p=tuple(tuple(row) for row in acc),
        partial=tuple(sparse),
    )


def _full_round(s: list[int], constants: Sequence[int], matrix: Matrix) -> list[int]:
    s = [pow((x + k) % R, 5, R) for x, k in zip(s, constants)]
    return _matvec(matrix, s)


def permute_optimized(state: Sequence[int]) -> list[int]:
    """The Poseidon permutation of width ``len(state)``, computed in the optimized form."""
    t = len(state)
    op = optimized_parameters(t)
    s = [x % R for x in state]
    half = len(op.first_constants)
    for r, k in enumerate(op.first_constants):
        s = _full_round(s, k, op.p if r == half - 1 else op.m)
    for sr in op.partial:
        x0 = pow((s[0] + sr.c) % R, 5, R)
        s0 = (sr.m00 * x0 + sum(a * b for a, b in zip(sr.w, s[1:]))) % R
        s = [s0] + [(x + vi * x0) % R for x, vi in zip(s[1:], sr.v)]
    for k in op.second_constants:
        s = _full_round(s, k, op.m)
    return s
