"""BN254 field moduli and scalar-field helpers (plain Python ints).

``R`` is the scalar field (group order) and ``Q`` the base field of py-ecc's ``bn128``
(``py_ecc.fields.field_properties["bn128"]``).  Values are plain ints in ``[0, R)``.
"""

from __future__ import annotations

from collections.abc import Sequence

#: BN254 scalar field modulus r (order of G1/G2).
R = 21888242871839275222246405745257275088548364400416034343698204186575808495617
#: BN254 base field modulus q.
Q = 21888242871839275222246405745257275088696311157297823662689037894645226208583
#: 2-adicity of r - 1 and the generator of the 2^28 roots of unity (5 is a non-residue; as in snarkjs/ffjavascript).
TWO_ADICITY = 28
MULTIPLICATIVE_GENERATOR = 5
ROOT_OF_UNITY_2_28 = pow(MULTIPLICATIVE_GENERATOR, (R - 1) >> TWO_ADICITY, R)


def to_field(x: int) -> int:
    """A signed integer as a field element: ``x mod r``."""
    return x % R


def from_field_signed(x: int) -> int:
    """Inverse of :func:`to_field` for values with ``|x| < r/2``."""
    x %= R
    return x - R if x > R // 2 else x


def inv(x: int) -> int:
    """Multiplicative inverse mod r (raises ZeroDivisionError-like ValueError for 0)."""
    if x % R == 0:
        raise ValueError("inverse of zero in the scalar field")
    return pow(x, -1, R)


def batch_inverse(xs: Sequence[int], modulus: int = R) -> list[int]:
    """Montgomery's trick: all inverses with one modular inversion (every x must be non-zero)."""
    n = len(xs)
    if n == 0:
        return []
    prefix = [0] * n
    acc = 1
    for i, x in enumerate(xs):
        prefix[i] = acc
        acc = acc * x % modulus
    inv_acc = pow(acc, -1, modulus)
    out = [0] * n
    for i in range(n - 1, -1, -1):
        out[i] = inv_acc * prefix[i] % modulus
        inv_acc = inv_acc * xs[i] % modulus
    return out


def root_of_unity(log_n: int) -> int:
    """A primitive 2^log_n-th root of unity (powers of snarkjs's ``w[28]``)."""
    if not 0 <= log_n <= TWO_ADICITY:
        raise ValueError(f"no 2^{log_n}-th root of unity in the BN254 scalar field")
    return pow(ROOT_OF_UNITY_2_28, 1 << (TWO_ADICITY - log_n), R)
