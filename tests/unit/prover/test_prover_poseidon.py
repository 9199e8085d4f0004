"""Poseidon against circomlibjs (npm) and the Grain-LFSR constants against circomlib's table."""

from __future__ import annotations

import json
import random

import pytest
from _prover_testlib import ROOT, run_node

from prover.errors import ProverInputError
from prover.field import R
from prover.poseidon import poseidon, sponge
from prover.poseidon_params import generate, load_parameters

CIRCOMLIBJS_SCRIPT = """
import { buildPoseidonReference } from "circomlibjs";
import fs from "fs";
const p = await buildPoseidonReference();
const vectors = JSON.parse(fs.readFileSync(0, "utf8"));
console.log(JSON.stringify(vectors.map(v => p.F.toString(p(v.map(x => BigInt(x)))))));
"""


def test_poseidon_1_2_known_value() -> None:
    assert poseidon([1, 2]) == 7853200120776062878684798364095072458815029376092732009249414926327459813530


def test_poseidon_matches_circomlibjs_on_random_vectors() -> None:
    rng = random.Random(20240601)
    vectors: list[list[int]] = []
    for k in range(1, 17):  # every width, several times
        for _ in range(7):
            vectors.append([rng.randrange(R) for _ in range(k)])
    vectors += [[0] * 16, [R - 1] * 16, [1], [R - 1]]
    assert len(vectors) >= 100
    expected = run_node(CIRCOMLIBJS_SCRIPT, [[str(x) for x in v] for v in vectors])
    got = [str(poseidon(v)) for v in vectors]
    assert got == expected


def test_constant_table_matches_circomlibjs() -> None:
    data = json.loads((ROOT / "node_modules/circomlibjs/src/poseidon_constants.json").read_text())
    for t in range(2, 18):
        c, m, _ = load_parameters(t)
        assert list(c) == [int(x, 16) for x in data["C"][t - 2]]
        assert [list(row) for row in m] == [[int(x, 16) for x in row] for row in data["M"][t - 2]]


@pytest.mark.parametrize("t", [2, 3, 6, 17])
def test_grain_lfsr_regenerates_the_table(t: int) -> None:
    c, m = generate(t)
    c_tab, m_tab, _ = load_parameters(t)
    assert c == list(c_tab)
    assert m == [list(row) for row in m_tab]


def test_sponge_definition() -> None:
    xs = list(range(1, 17))  # 16 items: two chunks
    h1 = poseidon([7, *xs[:15]])
    h2 = poseidon([h1, xs[15], *([0] * 14)])
    assert sponge(7, xs) == h2
    assert sponge(3, []) == poseidon([3] + [0] * 15)
    assert sponge(3, [-1]) == poseidon([3, R - 1] + [0] * 14)


@pytest.mark.parametrize("bad", [[], list(range(17))])
def test_poseidon_rejects_bad_arity(bad: list[int]) -> None:
    with pytest.raises(ProverInputError, match="inputs"):
        poseidon(bad)
