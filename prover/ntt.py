"""Radix-2 number-theoretic transform over the BN254 scalar field.

``ntt(a)`` evaluates the polynomial with coefficients ``a`` (length ``n = 2^k``) on the
domain ``{w^i}`` with ``w = root_of_unity(k)`` (snarkjs's ``Fr.w[k]``), in natural order:
``A[i] = sum_j a[j] * w^(i*j)``.  ``intt`` is its inverse.  Iterative Cooley-Tukey with a
bit-reversal permutation (Cormen et al., *Introduction to Algorithms*, 30.3).
``ntt_reference`` is the O(n^2) definition used by the tests.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from prover.field import R, root_of_unity


def _log2_exact(n: int) -> int:
    k = n.bit_length() - 1
    if n <= 0 or (1 << k) != n:
        raise ValueError(f"NTT length must be a power of two, got {n}")
    return k


@lru_cache(maxsize=32)
def _bitrev(k: int) -> tuple[int, ...]:
    n = 1 << k
    rev = [0] * n
    for i in range(1, n):
        rev[i] = (rev[i >> 1] >> 1) | ((i & 1) << (k - 1))
    return tuple(rev)


@lru_cache(maxsize=64)
def _twiddles(k: int, inverse: bool) -> tuple[int, ...]:
    """w^0..w^(n/2-1) for the size-2^k domain (or the inverse root)."""
    w = root_of_unity(k)
    if inverse:
        w = pow(w, -1, R)
    half = (1 << k) >> 1
    out = [1] * max(half, 1)
    for i in range(1, half):
        out[i] = out[i - 1] * w % R
    return tuple(out)


def _transform(a: Sequence[int], inverse: bool) -> list[int]:
    n = len(a)
    k = _log2_exact(n)
    if n == 1:
        return [a[0] % R]
    rev = _bitrev(k)
    x = [a[rev[i]] for i in range(n)]
    tw = _twiddles(k, inverse)
    size = 2
    while size <= n:
        half = size >> 1
        step = n // size
        ws = tw[::step][:half]
        for start in range(0, n, size):
            lo = x[start : start + half]
            hi = x[start + half : start + size]
            t = [h * w % R for h, w in zip(hi, ws)]
            x[start : start + half] = [(u + v) % R for u, v in zip(lo, t)]
            x[start + half : start + size] = [(u - v) % R for u, v in zip(lo, t)]
        size <<= 1
    if inverse:
        n_inv = pow(n, -1, R)
        x = [v * n_inv % R for v in x]
    return x


def ntt(a: Sequence[int]) -> list[int]:
    """Evaluations of ``sum_j a[j] X^j`` at ``w^0, ..., w^(n-1)``."""
    return _transform(a, inverse=False)


def intt(values: Sequence[int]) -> list[int]:
    """Coefficients of the polynomial taking ``values[i]`` at ``w^i``."""
    return _transform(values, inverse=True)


def scale_powers(a: Sequence[int], g: int) -> list[int]:
    """``[a[j] * g^j]``: turns coefficients of p(X) into those of p(g X)."""
    out = [0] * len(a)
    acc = 1
    for j, v in enumerate(a):
        out[j] = v * acc % R
        acc = acc * g % R
    return out


def ntt_reference(a: Sequence[int]) -> list[int]:
    """The O(n^2) definition, for tests."""
    n = len(a)
    w = root_of_unity(_log2_exact(n))
    return [sum(a[j] * pow(w, i * j, R) for j in range(n)) % R for i in range(n)]
