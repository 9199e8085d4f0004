"""The optimized (sparse partial-round) Poseidon against the reference permutation."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from prover.field import R
from prover.poseidon import permute, poseidon
from prover.poseidon_opt import optimized_parameters, permute_optimized
from prover.poseidon_params import FULL_ROUNDS, load_parameters


@pytest.mark.parametrize("t", range(2, 18))
def test_optimized_permutation_equals_reference(t: int) -> None:
    rng = random.Random(1000 + t)
    states = [[rng.randrange(R) for _ in range(t)] for _ in range(4)]
    states += [[0] * t, [R - 1] * t, [0, *range(1, t)]]
    for s in states:
        assert permute_optimized(s) == permute(s)


def test_optimized_form_reproduces_the_known_hash() -> None:
    assert permute_optimized([0, 1, 2])[0] == poseidon([1, 2])
    assert permute_optimized([0, 1, 2])[0] == 7853200120776062878684798364095072458815029376092732009249414926327459813530


def test_optimized_parameters_shape_t17() -> None:
    op = optimized_parameters(17)
    c, m, rp = load_parameters(17)
    assert len(op.first_constants) == len(op.second_constants) == FULL_ROUNDS // 2
    assert len(op.partial) == rp == 68
    assert all(len(sr.w) == len(sr.v) == 16 for sr in op.partial)
    assert op.m == m
    # P differs from M (it absorbed diag(1, M-hat) of the first partial round) but keeps row 0
    assert op.p != m and op.p[0] == m[0]
    # the second half's first constants absorbed the moved partial-round constants
    half = FULL_ROUNDS // 2
    assert op.first_constants[0] == tuple(c[:17])
    assert op.second_constants[0] != tuple(c[(half + rp) * 17 : (half + rp + 1) * 17])
    assert op.second_constants[1] == tuple(c[(half + rp + 1) * 17 : (half + rp + 2) * 17])
    assert [sr.c for sr in op.partial][:1] == [c[half * 17]]


def test_a_wrong_sparse_entry_changes_the_output(monkeypatch: pytest.MonkeyPatch) -> None:
    # the test above could not pass by accident: perturb one sparse entry and the permutation differs
    import prover.poseidon_opt as opt

    op = optimized_parameters(5)
    bad = list(op.partial)
    bad[10] = replace(bad[10], v=(bad[10].v[0] + 1, *bad[10].v[1:]))
    monkeypatch.setattr(opt, "optimized_parameters", lambda t: replace(op, partial=tuple(bad)))
    assert opt.permute_optimized([1, 2, 3, 4, 5]) != permute([1, 2, 3, 4, 5])
