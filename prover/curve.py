"""BN254 G1 and G2 on plain Python ints (the curve of py-ecc's ``bn128``).

Representations (affine, the form stored in keys and proofs):

* G1: ``(x, y)`` ints mod ``Q``; the point at infinity is ``None``.  ``y^2 = x^3 + 3``.
* Fq2: ``(c0, c1)`` meaning ``c0 + c1*u`` with ``u^2 = -1`` (py-ecc's ``FQ2([c0, c1])``).
* G2: ``((x0, x1), (y0, y1))`` (snarkjs's ``[[x0,x1],[y0,y1]]``); ``y^2 = x^3 + 3/(9+u)``.

Internally points are Jacobian ``(X, Y, Z)`` with ``x = X/Z^2``, ``y = Y/Z^3`` and ``Z = 0`` for
infinity; formulas: "dbl-2009-l" and "madd-2007-bl"/"add-2007-bl" from the Explicit-Formulas
Database (https://hyperelliptic.org/EFD/g1p/auto-shortw-jacobian-0.html), a = 0.
"""

from __future__ import annotations

from prover.field import Q, R

Fq2 = tuple[int, int]
G1Affine = tuple[int, int] | None
G2Affine = tuple[Fq2, Fq2] | None
G1Jac = tuple[int, int, int]
G2Jac = tuple[Fq2, Fq2, Fq2]

B1 = 3
#: generators (py_ecc.bn128.G1 / G2)
G1_GEN: tuple[int, int] = (1, 2)
G2_GEN: tuple[Fq2, Fq2] = (
    (
        10857046999023057135944570762232829481370756359578518086990519993285655852781,
        11559732032986387107991004021392285783925812861821192530917403151452391805634,
    ),
    (
        8495653923123431417604973247489272438418190587263600148770280649306958101930,
        4082367875863433681332203403145435568316851327593401208105741076214120093531,
    ),
)

# ---------------------------------------------------------------- Fq2 ---------------------


def f2_add(a: Fq2, b: Fq2) -> Fq2:
    return ((a[0] + b[0]) % Q, (a[1] + b[1]) % Q)


def f2_sub(a: Fq2, b: Fq2) -> Fq2:
    return ((a[0] - b[0]) % Q, (a[1] - b[1]) % Q)


def f2_mul(a: Fq2, b: Fq2) -> Fq2:
    # Karatsuba: (a0 + a1 u)(b0 + b1 u) = a0b0 - a1b1 + ((a0+a1)(b0+b1) - a0b0 - a1b1) u
    t0 = a[0] * b[0]
    t1 = a[1] * b[1]
    return ((t0 - t1) % Q, ((a[0] + a[1]) * (b[0] + b[1]) - t0 - t1) % Q)


def f2_sqr(a: Fq2) -> Fq2:
    return ((a[0] + a[1]) * (a[0] - a[1]) % Q, 2 * a[0] * a[1] % Q)


def f2_inv(a: Fq2) -> Fq2:
    d = pow((a[0] * a[0] + a[1] * a[1]) % Q, -1, Q)
    return (a[0] * d % Q, -a[1] * d % Q)


def f2_neg(a: Fq2) -> Fq2:
    return (-a[0] % Q, -a[1] % Q)


F2_ZERO: Fq2 = (0, 0)
F2_ONE: Fq2 = (1, 0)
#: b' = 3 / (9 + u), the G2 twist coefficient
B2: Fq2 = f2_mul((3, 0), f2_inv((9, 1)))

# ---------------------------------------------------------------- G1 ----------------------


def g1_is_on_curve(p: G1Affine) -> bool:
    """Affine point with coordinates in [0, Q) on y^2 = x^3 + 3 (None, infinity, counts)."""
    if p is None:
        return True
    x, y = p
    if not (0 <= x < Q and 0 <= y < Q):
        return False
    return (y * y - x * x * x - B1) % Q == 0


def g1_to_jac(p: G1Affine) -> G1Jac:
    return (1, 1, 0) if p is None else (p[0], p[1], 1)


def g1_to_affine(p: G1Jac) -> G1Affine:
    x, y, z = p
    if z == 0:
        return None
    zi = pow(z, -1, Q)
    zi2 = zi * zi % Q
    return (x * zi2 % Q, y * zi2 * zi % Q)


def g1_double(p: G1Jac) -> G1Jac:
    x, y, z = p
    if z == 0 or y == 0:
        return (1, 1, 0)
    a = x * x % Q
    b = y * y % Q
    c = b * b % Q
    d = 2 * ((x + b) ** 2 - a - c) % Q
    e = 3 * a
    f = e * e % Q
    x3 = (f - 2 * d) % Q
    y3 = (e * (d - x3) - 8 * c) % Q
    z3 = 2 * y * z % Q
    return (x3, y3, z3)


def g1_add(p: G1Jac, q: G1Jac) -> G1Jac:
    x1, y1, z1 = p
    x2, y2, z2 = q
    if z1 == 0:
        return q
    if z2 == 0:
        return p
    z1z1 = z1 * z1 % Q
    z2z2 = z2 * z2 % Q
    u1 = x1 * z2z2 % Q
    u2 = x2 * z1z1 % Q
    s1 = y1 * z2 * z2z2 % Q
    s2 = y2 * z1 * z1z1 % Q
    h = (u2 - u1) % Q
    rr = (s2 - s1) % Q
    if h == 0:
        if rr == 0:
            return g1_double(p)
        return (1, 1, 0)
    i = 4 * h * h % Q
    j = h * i % Q
    rr = 2 * rr
    v = u1 * i % Q
    x3 = (rr * rr - j - 2 * v) % Q
    y3 = (rr * (v - x3) - 2 * s1 * j) % Q
    z3 = ((z1 + z2) ** 2 - z1z1 - z2z2) * h % Q
    return (x3, y3, z3)


def g1_add_mixed(p: G1Jac, x2: int, y2: int) -> G1Jac:
    """p + (x2, y2) with (x2, y2) affine and finite ("madd-2007-bl")."""
    x1, y1, z1 = p
    if z1 == 0:
        return (x2, y2, 1)
    z1z1 = z1 * z1 % Q
    u2 = x2 * z1z1 % Q
    s2 = y2 * z1 * z1z1 % Q
    h = (u2 - x1) % Q
    rr = (s2 - y1) % Q
    if h == 0:
        if rr == 0:
            return g1_double(p)
        return (1, 1, 0)
    hh = h * h % Q
    i = 4 * hh
    j = h * i % Q
    rr = 2 * rr
    v = x1 * i % Q
    x3 = (rr * rr - j - 2 * v) % Q
    y3 = (rr * (v - x3) - 2 * y1 * j) % Q
    z3 = ((z1 + h) ** 2 - z1z1 - hh) % Q
    return (x3, y3, z3)


def g1_neg(p: G1Affine) -> G1Affine:
    return None if p is None else (p[0], (-p[1]) % Q)


def g1_mul(p: G1Affine, k: int) -> G1Affine:
    """k * p by double-and-add (k taken mod r)."""
    k %= R
    acc: G1Jac = (1, 1, 0)
    if p is None or k == 0:
        return None
    base = g1_to_jac(p)
    for bit in bin(k)[2:]:
        acc = g1_double(acc)
        if bit == "1":
            acc = g1_add(acc, base)
    return g1_to_affine(acc)


def g1_add_affine(p: G1Affine, q: G1Affine) -> G1Affine:
    return g1_to_affine(g1_add(g1_to_jac(p), g1_to_jac(q)))


# ---------------------------------------------------------------- G2 ----------------------


def g2_is_on_curve(p: G2Affine) -> bool:
    if p is None:
        return True
    x, y = p
    if not all(0 <= c < Q for c in (*x, *y)):
        return False
    return f2_sub(f2_sqr(y), f2_add(f2_mul(f2_sqr(x), x), B2)) == F2_ZERO


def g2_to_jac(p: G2Affine) -> G2Jac:
    return (F2_ONE, F2_ONE, F2_ZERO) if p is None else (p[0], p[1], F2_ONE)


def g2_to_affine(p: G2Jac) -> G2Affine:
    x, y, z = p
    if z == F2_ZERO:
        return None
    zi = f2_inv(z)
    zi2 = f2_sqr(zi)
    return (f2_mul(x, zi2), f2_mul(y, f2_mul(zi2, zi)))


def g2_double(p: G2Jac) -> G2Jac:
    x, y, z = p
    if z == F2_ZERO or y == F2_ZERO:
        return (F2_ONE, F2_ONE, F2_ZERO)
    a = f2_sqr(x)
    b = f2_sqr(y)
    c = f2_sqr(b)
    t = f2_sqr(f2_add(x, b))
    d = f2_sub(f2_sub(t, a), c)
    d = f2_add(d, d)
    e = ((3 * a[0]) % Q, (3 * a[1]) % Q)
    f = f2_sqr(e)
    x3 = f2_sub(f, f2_add(d, d))
    c8 = ((8 * c[0]) % Q, (8 * c[1]) % Q)
    y3 = f2_sub(f2_mul(e, f2_sub(d, x3)), c8)
    yz = f2_mul(y, z)
    z3 = f2_add(yz, yz)
    return (x3, y3, z3)


def g2_add(p: G2Jac, q: G2Jac) -> G2Jac:
    x1, y1, z1 = p
    x2, y2, z2 = q
    if z1 == F2_ZERO:
        return q
    if z2 == F2_ZERO:
        return p
    z1z1 = f2_sqr(z1)
    z2z2 = f2_sqr(z2)
    u1 = f2_mul(x1, z2z2)
    u2 = f2_mul(x2, z1z1)
    s1 = f2_mul(y1, f2_mul(z2, z2z2))
    s2 = f2_mul(y2, f2_mul(z1, z1z1))
    h = f2_sub(u2, u1)
    rr = f2_sub(s2, s1)
    if h == F2_ZERO:
        if rr == F2_ZERO:
            return g2_double(p)
        return (F2_ONE, F2_ONE, F2_ZERO)
    h2 = f2_add(h, h)
    i = f2_sqr(h2)
    j = f2_mul(h, i)
    rr = f2_add(rr, rr)
    v = f2_mul(u1, i)
    x3 = f2_sub(f2_sub(f2_sqr(rr), j), f2_add(v, v))
    s1j = f2_mul(s1, j)
    y3 = f2_sub(f2_mul(rr, f2_sub(v, x3)), f2_add(s1j, s1j))
    z3 = f2_mul(f2_sub(f2_sub(f2_sqr(f2_add(z1, z2)), z1z1), z2z2), h)
    return (x3, y3, z3)


def g2_neg(p: G2Affine) -> G2Affine:
    return None if p is None else (p[0], f2_neg(p[1]))


def g2_mul(p: G2Affine, k: int) -> G2Affine:
    k %= R
    if p is None or k == 0:
        return None
    acc: G2Jac = (F2_ONE, F2_ONE, F2_ZERO)
    base = g2_to_jac(p)
    for bit in bin(k)[2:]:
        acc = g2_double(acc)
        if bit == "1":
            acc = g2_add(acc, base)
    return g2_to_affine(acc)


def g2_in_subgroup(p: G2Affine) -> bool:
    """r * p == infinity (the check the EVM pairing precompile makes)."""
    if p is None:
        return True
    acc: G2Jac = (F2_ONE, F2_ONE, F2_ZERO)
    base = g2_to_jac(p)
    for bit in bin(R)[2:]:
        acc = g2_double(acc)
        if bit == "1":
            acc = g2_add(acc, base)
    return acc[2] == F2_ZERO


# ------------------------------------------------------- py-ecc conversions ----------------


def g1_to_pyecc(p: G1Affine):  # type: ignore[no-untyped-def]
    from py_ecc.optimized_bn128 import FQ, Z1  # type: ignore[attr-defined]

    return Z1 if p is None else (FQ(p[0]), FQ(p[1]), FQ(1))


def g2_to_pyecc(p: G2Affine):  # type: ignore[no-untyped-def]
    from py_ecc.optimized_bn128 import FQ2, Z2  # type: ignore[attr-defined]

    return Z2 if p is None else (FQ2(list(p[0])), FQ2(list(p[1])), FQ2([1, 0]))
