"""The quotient step of the prover (the H-query scalars) with python-flint's polynomial products.

:func:`prover.groth16.quotient_odd` needs ``A``, ``B``, ``C`` (known on the N-point domain
``<w>``) on the odd coset ``g * <w>`` of the 2N-th roots (``g^N = -1``), and does it with an
inverse NTT, a coset shift and an NTT in pure Python. python-flint exposes no NTT for a 254-bit
modulus, but it multiplies polynomials fast, and the coset values are one cyclic convolution
of the domain values. With the Lagrange form
``P(x) = sum_j p_j * (w^j / N) * (x^N - 1) / (x - w^j)`` and ``x^N = g^N = -1`` on the coset,

    P(g w^i) = (-2 / N) * sum_j p_j * w^j / (g w^i - w^j)
             = (-2 / N) * sum_j p_j * k[(i - j) mod N],    k[m] = 1 / (g w^m - 1),

so each vector costs one product ``p(x) * k(x)`` folded modulo ``x^N - 1``. The kernel ``k``
depends only on N and is computed once per domain size.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from prover.errors import BackendUnavailable
from prover.field import R, batch_inverse, root_of_unity
from prover.groth16 import QAP, evaluate_abc


def _flint() -> Any:
    try:
        import flint
    except ImportError as exc:
        raise BackendUnavailable("native", f"the python-flint package is not installed ({exc}): pip install python-flint") from None
    return flint


@lru_cache(maxsize=1)
def _context() -> Any:
    return _flint().fmpz_mod_poly_ctx(R)


@lru_cache(maxsize=4)
def _kernel(n: int) -> tuple[Any, int]:
    """``(k(x), -2/N)`` for the N-point domain."""
    g = root_of_unity(n.bit_length())  # primitive 2N-th root
    w = root_of_unity(n.bit_length() - 1)
    vals = [0] * n
    x = g
    for m in range(n):
        vals[m] = x - 1
        x = x * w % R
    return _context()(batch_inverse(vals)), (-2 * pow(n, -1, R)) % R


def coset_values(values: Sequence[int], n: int) -> list[int]:
    """``P(g w^i)`` for ``i < n``, where ``P`` takes ``values`` on ``<w>`` (``n = len(values)``)."""
    k, scale = _kernel(n)
    prod = _context()(list(values)) * k
    folded = (prod.truncate(n) + prod.right_shift(n)) * scale
    out = [int(c) for c in folded.coeffs()]
    return out + [0] * (n - len(out))


def quotient_odd(qap: QAP, w: Sequence[int]) -> list[int]:
    """``A B - C`` on the odd coset: the same list as :func:`prover.groth16.quotient_odd`."""
    n = qap.domain_size
    a, b, c = (coset_values(v, n) for v in evaluate_abc(qap, w))
    return [(x * y - z) % R for x, y, z in zip(a, b, c)]
