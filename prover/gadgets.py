"""Circuit gadgets over :class:`prover.r1cs.ConstraintSystem`.

* ``to_bits(x, k)``: k boolean signals ``b_j`` (``b_j * b_j = b_j``) with
  ``sum_j b_j 2^j = x``: proves ``0 <= x < 2^k`` (k + 1 constraints; k <= 252 so the sum
  cannot wrap around r).
* ``range_signed(x, k)``: ``|x| < 2^k`` via ``to_bits(x + 2^k, k + 1)`` and ``x + 2^k != 0``
  (an inverse exists); returns the sign bit (1 iff ``x >= 0``).
* ``nonzero(x)``: ``x * inv = 1`` with ``inv`` a hinted signal.
* ``geq(a, b, k)``: for ``|a|, |b| < 2^k``, the bit ``[a >= b]``: ``a - b + 2^(k+1)`` is in
  ``[0, 2^(k+2))`` and its top bit is the answer.
* ``select(c, x, y) = y + c*(x - y)`` for a boolean ``c``; ``max_`` and ``abs_`` build on them.
* ``poseidon`` / ``sponge``: circomlib's Poseidon permutation with the S-box ``x^5`` as three
  multiplications (``x2 = x*x``, ``x4 = x2*x2``, ``x5 = x4*x``); the linear layers are free.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from prover.field import R
from prover.poseidon import MAX_INPUTS, SPONGE_RATE
from prover.poseidon_params import FULL_ROUNDS, load_parameters
from prover.r1cs import LC, ConstraintSystem, Operand, combine

MAX_BITS = 252


def _bit_hint(lx: LC, j: int) -> Callable[[list[int]], int]:
    return lambda w: (lx.evaluate(w) >> j) & 1


def to_bits(cs: ConstraintSystem, x: Operand, k: int, name: str) -> list[LC]:
    """Little-endian bits of ``x``, constrained so that ``0 <= x < 2^k``."""
    if not 1 <= k <= MAX_BITS:
        raise ValueError(f"bit width {k} outside [1, {MAX_BITS}]")
    lx = LC.of(x)
    bits = []
    for j in range(k):
        b = cs.signal(f"{name}.bit[{j}]", _bit_hint(lx, j))
        cs.constrain(b, b, b, f"{name}.bit[{j}] is boolean")
        bits.append(b)
    cs.assert_equal(combine([1 << j for j in range(k)], bits), lx, f"{name} = sum of its {k} bits")
    return bits


def range_unsigned(cs: ConstraintSystem, x: Operand, k: int, name: str) -> None:
    """Constrain ``0 <= x < 2^k``."""
    to_bits(cs, x, k, name)


def range_signed(cs: ConstraintSystem, x: Operand, k: int, name: str) -> LC:
    """Constrain ``|x| < 2^k`` (as integers); return the bit ``[x >= 0]``."""
    # x + 2^k in [0, 2^(k+1)) <=> -2^k <= x < 2^k, and bit k is [x >= 0]; then x + 2^k != 0
    # (it has an inverse) excludes x = -2^k, so the bound is the strict |x| < 2^k.
    shifted = LC.of(x) + (1 << k)
    bits = to_bits(cs, shifted, k + 1, name)
    nonzero(cs, shifted, name + ".not_min")
    return bits[k]


def nonzero(cs: ConstraintSystem, x: Operand, name: str) -> None:
    """Constrain ``x != 0`` by exhibiting its inverse (one constraint)."""
    lx = LC.of(x)
    inv = cs.signal(name + ".inv", lambda w: pow(lx.evaluate(w), -1, R) if lx.evaluate(w) else 0)
    cs.constrain(lx, inv, 1, name)


def geq(cs: ConstraintSystem, a: Operand, b: Operand, k: int, name: str) -> LC:
    """The bit ``[a >= b]`` for integers with ``|a|, |b| < 2^k`` (k + 3 constraints)."""
    d = LC.of(a) - b + (1 << (k + 1))
    bits = to_bits(cs, d, k + 2, name)
    return bits[k + 1]


def select(cs: ConstraintSystem, c: Operand, x: Operand, y: Operand, name: str) -> LC:
    """``x if c else y`` for a boolean ``c`` (one constraint)."""
    lc, lx, ly = LC.of(c), LC.of(x), LC.of(y)
    z = cs.signal(name, lambda w: lx.evaluate(w) if lc.evaluate(w) else ly.evaluate(w))
    cs.constrain(lc, lx - ly, z - ly, name)
    return z


def max_(cs: ConstraintSystem, a: Operand, b: Operand, k: int, name: str) -> LC:
    """``max(a, b)`` for ``|a|, |b| < 2^k``."""
    return select(cs, geq(cs, a, b, k, name + ".geq"), a, b, name)


def abs_(cs: ConstraintSystem, x: Operand, sign: Operand, name: str) -> LC:
    """``|x|`` given the bit ``sign = [x >= 0]``: ``(2*sign - 1) * x`` (one constraint)."""
    return cs.mul(LC.of(sign) * 2 - 1, x, name)


def poseidon_permute(cs: ConstraintSystem, state: Sequence[Operand], name: str) -> list[LC]:
    """The Poseidon permutation of width ``len(state)`` in-circuit (3 constraints per S-box)."""
    t = len(state)
    c, m, rp = load_parameters(t)
    s = [LC.of(x) for x in state]
    half = FULL_ROUNDS // 2

    def sbox(x: LC, label: str) -> LC:
        x2 = cs.mul(x, x, label + ".x2")
        x4 = cs.mul(x2, x2, label + ".x4")
        return cs.mul(x4, x, label + ".x5")

    for rnd in range(FULL_ROUNDS + rp):
        s = [x + c[rnd * t + i] for i, x in enumerate(s)]
        if rnd < half or rnd >= half + rp:
            s = [sbox(x, f"{name}.r{rnd}.s{i}") for i, x in enumerate(s)]
        else:
            s[0] = sbox(s[0], f"{name}.r{rnd}.s0")
        s = [combine(row, s) for row in m]
    return s


def poseidon(cs: ConstraintSystem, inputs: Sequence[Operand], name: str) -> LC:
    """circomlib ``Poseidon(k)`` in-circuit; the output is materialized as one signal."""
    if not 1 <= len(inputs) <= MAX_INPUTS:
        raise ValueError(f"Poseidon takes 1..{MAX_INPUTS} inputs")
    out = poseidon_permute(cs, [0, *inputs], name)[0]
    h = cs.signal(name + ".out", out.evaluate)
    cs.assert_equal(h, out, name + ".out")
    return h


def sponge(cs: ConstraintSystem, tag: int, xs: Sequence[Operand], name: str) -> LC:
    """The ARCHITECTURE.md sponge in-circuit (chunks of 15, zero padded)."""
    items = [LC.of(x) for x in xs]
    chunks = max(1, -(-len(items) // SPONGE_RATE))
    items += [LC.const(0)] * (chunks * SPONGE_RATE - len(items))
    h: LC = LC.const(tag % R)
    for k in range(chunks):
        h = poseidon(cs, [h, *items[k * SPONGE_RATE : (k + 1) * SPONGE_RATE]], f"{name}.chunk{k}")
    return h
