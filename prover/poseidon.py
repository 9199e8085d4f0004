"""circomlib-compatible Poseidon over the BN254 scalar field, and the sponge of ARCHITECTURE.md.

``poseidon(xs)`` for ``1 <= len(xs) <= 16`` is circomlib's ``Poseidon(nInputs)`` (and
circomlibjs's ``poseidon``): width ``t = len(xs) + 1``, state ``[0, x_1, ..., x_k]``,
``R_F = 8`` full and ``R_P`` partial rounds of ``add constants; S-box x^5; multiply by M``,
output ``state[0]``.  Example: ``poseidon([1, 2]) = 7853200120776062878684798364095072458815029376092732009249414926327459813530``.

``sponge(tag, xs)``: ``h = tag``; ``xs`` in chunks of 15 (the last zero-padded; an empty list
is one chunk of zeros); ``h = poseidon([h, *chunk])`` per chunk (docs/ARCHITECTURE.md).
"""

from __future__ import annotations

from collections.abc import Sequence

from prover.errors import ProverInputError
from prover.field import R
from prover.poseidon_params import FULL_ROUNDS, load_parameters

MAX_INPUTS = 16
SPONGE_RATE = 15


def permute(state: Sequence[int]) -> list[int]:
    """The Poseidon permutation of width ``len(state)`` (circomlib reference order)."""
    t = len(state)
    c, m, rp = load_parameters(t)
    s = [x % R for x in state]
    half = FULL_ROUNDS // 2
    for rnd in range(FULL_ROUNDS + rp):
        base = rnd * t
        s = [(x + c[base + i]) % R for i, x in enumerate(s)]
        if rnd < half or rnd >= half + rp:
            s = [pow(x, 5, R) for x in s]
        else:
            s[0] = pow(s[0], 5, R)
        s = [sum(mij * x for mij, x in zip(row, s)) % R for row in m]
    return s


def poseidon(inputs: Sequence[int]) -> int:
    """circomlib ``Poseidon(k)`` of ``k = len(inputs)`` field elements (signed ints are taken mod r).

    Computed in the optimized form (:func:`prover.poseidon_opt.permute_optimized`, about 3.5x
    fewer operations); :func:`permute` is the reference it is tested against."""
    from prover.poseidon_opt import permute_optimized

    k = len(inputs)
    if not 1 <= k <= MAX_INPUTS:
        raise ProverInputError("inputs", f"Poseidon takes 1..{MAX_INPUTS} inputs, got {k}")
    return permute_optimized([0, *inputs])[0]


def sponge(tag: int, xs: Sequence[int]) -> int:
    """``h = tag``; for each zero-padded chunk of 15: ``h = poseidon([h, *chunk])``."""
    h = tag % R
    items = [x % R for x in xs]
    chunks = max(1, -(-len(items) // SPONGE_RATE))
    items += [0] * (chunks * SPONGE_RATE - len(items))
    for k in range(chunks):
        h = poseidon([h, *items[k * SPONGE_RATE : (k + 1) * SPONGE_RATE]])
    return h
