"""Poseidon parameters for BN254 as used by circomlib, generated with the Grain LFSR.

The round constants follow the Poseidon reference script ``generate_parameters_grain.sage``
(Grassi et al., https://eprint.iacr.org/2019/458, appendix F) called as circomlib did::

    sage generate_parameters_grain.sage 1 0 254 t 8 R_P 0x3064...0001

i.e. a prime field (``FIELD = 1``), the x^alpha S-box (``SBOX = 0``), ``n = 254`` bits per
element, ``R_F = 8`` full rounds and ``R_P = PARTIAL_ROUNDS[t - 2]`` partial rounds.  The
80-bit LFSR is seeded with those numbers (2 + 4 + 12 + 12 + 10 + 10 bits, then 30 ones),
clocked 160 times, then produces bits with the self-shrinking rule (a pair ``(1, b)`` yields
``b``, a pair ``(0, b)`` yields nothing).  A field element is the next 254 bits read big-endian,
rejected and redrawn while it is ``>= r``.  The MDS matrix is the Cauchy matrix
``M[i][j] = 1 / (x_i + y_j)`` where ``x_0..x_{t-1}, y_0..y_{t-1}`` are the next ``2t`` draws
of 254 bits each from the same stream, reduced mod r (``create_mds_p``).

Generating every width takes seconds, so :func:`load_parameters` reads the committed table
``prover/data/poseidon_bn254.json`` (regenerated with ``python -m prover.poseidon_params``);
the tests regenerate widths from scratch and compare with the table and with circomlibjs.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from functools import cache, lru_cache
from pathlib import Path

from prover.field import R

FULL_ROUNDS = 8
#: Partial rounds for t = 2..17 (circomlib ``N_ROUNDS_P``).
PARTIAL_ROUNDS = (56, 57, 56, 60, 60, 63, 64, 63, 60, 66, 60, 65, 70, 60, 64, 68)
MIN_WIDTH = 2
MAX_WIDTH = 17
FIELD_BITS = 254
_DATA_FILE = Path(__file__).resolve().parent / "data" / "poseidon_bn254.json"


def _grain_bits(t: int, partial_rounds: int) -> Iterator[int]:
    """The self-shrinking Grain LFSR bit stream of the Poseidon reference script."""
    fields = [(1, 2), (0, 4), (FIELD_BITS, 12), (t, 12), (FULL_ROUNDS, 10), (partial_rounds, 10)]
    seq: list[int] = []
    for value, width in fields:
        seq.extend((value >> (width - 1 - k)) & 1 for k in range(width))
    seq.extend([1] * 30)
    # state bit k = seq[k]; seq[0] is the oldest bit.
    state = 0
    for k, bit in enumerate(seq):
        state |= bit << k

    def clock() -> int:
        nonlocal state
        new = ((state >> 62) ^ (state >> 51) ^ (state >> 38) ^ (state >> 23) ^ (state >> 13) ^ state) & 1
        state = (state >> 1) | (new << 79)
        return new

    for _ in range(160):
        clock()
    while True:
        first = clock()
        second = clock()
        if first:
            yield second


def generate(t: int) -> tuple[list[int], list[list[int]]]:
    """Return ``(C, M)`` for width ``t``: ``(R_F + R_P) * t`` round constants and the t x t MDS."""
    if not MIN_WIDTH <= t <= MAX_WIDTH:
        raise ValueError(f"Poseidon width t={t} outside [{MIN_WIDTH}, {MAX_WIDTH}]")
    rp = PARTIAL_ROUNDS[t - 2]
    bits = _grain_bits(t, rp)
    constants: list[int] = []
    while len(constants) < (FULL_ROUNDS + rp) * t:
        value = 0
        for _ in range(FIELD_BITS):
            value = (value << 1) | next(bits)
        if value < R:
            constants.append(value)
    while True:
        draws = []
        for _ in range(2 * t):
            value = 0
            for _ in range(FIELD_BITS):
                value = (value << 1) | next(bits)
            draws.append(value % R)
        xs, ys = draws[:t], draws[t:]
        if len(set(draws)) == 2 * t and all((x + y) % R for x in xs for y in ys):
            break
    mds = [[pow(x + y, -1, R) for y in ys] for x in xs]
    return constants, mds


@cache
def load_parameters(t: int) -> tuple[tuple[int, ...], tuple[tuple[int, ...], ...], int]:
    """Return ``(C, M, R_P)`` for width ``t`` from the committed table."""
    if not MIN_WIDTH <= t <= MAX_WIDTH:
        raise ValueError(f"Poseidon width t={t} outside [{MIN_WIDTH}, {MAX_WIDTH}]")
    table = _load_table()
    entry = table[str(t)]
    c = tuple(int(str(x)) for x in entry["C"])
    m = tuple(tuple(int(x) for x in row) for row in entry["M"])
    return c, m, PARTIAL_ROUNDS[t - 2]


@lru_cache(maxsize=1)
def _load_table() -> dict[str, dict[str, list[list[str]] | list[str]]]:
    with open(_DATA_FILE, encoding="utf-8") as fh:
        data: dict[str, dict[str, list[list[str]] | list[str]]] = json.load(fh)
    return data


def write_table(path: Path = _DATA_FILE) -> None:
    """Regenerate every width and write the table atomically."""
    table = {}
    for t in range(MIN_WIDTH, MAX_WIDTH + 1):
        c, m = generate(t)
        table[str(t)] = {"C": [str(x) for x in c], "M": [[str(x) for x in row] for row in m]}
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(table, fh, separators=(",", ":"))
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


if __name__ == "__main__":
    write_table()
