"""Adversarial variants of a valid proof and its public inputs, for negative testing.

Every variant must be rejected by a sound verifier (Python ``groth16.verify`` returns False
or raises :class:`ProverInputError`; the Solidity verifier returns false or reverts).
``mutations(words, public, count, seed)`` yields ``(label, words, public)`` with ``words``
the 8 EVM words ``[A.x, A.y, B.x1, B.x0, B.y1, B.y0, C.x, C.y]``.  Classes: bit flips in
proof words and public inputs, swapped G2 limbs, off-curve points, values ``>= q`` / ``>= r``,
identity points, negated or swapped points, and wrong input counts.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence

from prover.field import Q, R

Mutation = tuple[str, list[int], list[int]]


def _structured(words: Sequence[int], public: Sequence[int]) -> Iterator[Mutation]:
    w, p = list(words), list(public)

    def mw(label: str, **changes: int) -> Mutation:
        out = list(w)
        for k, v in changes.items():
            out[int(k[1:])] = v
        return (label, out, list(p))

    yield mw("B limbs swapped (x)", i2=w[3], i3=w[2])
    yield mw("B limbs swapped (y)", i4=w[5], i5=w[4])
    yield mw("B limbs swapped (x and y)", i2=w[3], i3=w[2], i4=w[5], i5=w[4])
    yield mw("B in snarkjs order", i2=w[3], i3=w[2], i4=w[5], i5=w[4])
    yield mw("B x and y swapped", i2=w[4], i3=w[5], i4=w[2], i5=w[3])
    yield mw("A identity", i0=0, i1=0)
    yield mw("C identity", i6=0, i7=0)
    yield mw("B identity", i2=0, i3=0, i4=0, i5=0)
    yield mw("A negated", i1=(Q - w[1]) % Q)
    yield mw("C negated", i7=(Q - w[7]) % Q)
    yield mw("B negated", i4=(Q - w[4]) % Q, i5=(Q - w[5]) % Q)
    yield mw("A and C swapped", i0=w[6], i1=w[7], i6=w[0], i7=w[1])
    yield mw("A = generator", i0=1, i1=2)
    yield mw("C = generator", i6=1, i7=2)
    for i in range(8):
        if w[i] + Q < 2**256:
            yield mw(f"word {i} + q", **{f"i{i}": w[i] + Q})
        yield mw(f"word {i} = q", **{f"i{i}": Q})
        yield mw(f"word {i} = 2^256 - 1", **{f"i{i}": 2**256 - 1})
        yield mw(f"word {i} + 1 (off curve)", **{f"i{i}": (w[i] + 1) % Q})
    for j in range(len(p)):
        for label, v in (("+ r", p[j] + R), ("= r", R), ("= 2^256-1", 2**256 - 1), ("+ 1", (p[j] + 1) % R), ("= 0", 0 if p[j] else 1)):
            pp = list(p)
            pp[j] = v
            yield (f"public[{j}] {label}", list(w), pp)
    yield ("no public inputs", list(w), [])
    yield ("one public input missing", list(w), p[:-1])
    yield ("one public input extra", list(w), [*p, 0])
    yield ("public inputs reversed", list(w), p[::-1]) if p != p[::-1] else ("public[0] + 2", list(w), [(p[0] + 2) % R, *p[1:]])


def mutations(words: Sequence[int], public: Sequence[int], count: int, seed: int = 0) -> list[Mutation]:
    """At least ``count`` distinct rejected-by-construction variants (structured ones first,
    then seeded random bit flips in the proof words and the public inputs)."""
    out = list(_structured(words, public))
    rng = random.Random(seed)
    seen = {(tuple(m[1]), tuple(m[2])) for m in out}
    while len(out) < count:
        w, p = list(words), list(public)
        if rng.random() < 0.9:
            i = rng.randrange(8)
            bit = rng.randrange(256)
            w[i] ^= 1 << bit
            label = f"word {i} bit {bit} flipped"
        else:
            j = rng.randrange(len(p))
            bit = rng.randrange(256)
            p[j] ^= 1 << bit
            label = f"public[{j}] bit {bit} flipped"
        key = (tuple(w), tuple(p))
        if key in seen:
            continue
        seen.add(key)
        out.append((label, w, p))
    return out
