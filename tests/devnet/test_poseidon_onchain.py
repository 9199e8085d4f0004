"""The generated on-chain Poseidon (t = 17) and sponge against ``prover.poseidon``."""

from __future__ import annotations

import random

import pytest
from ape import reverts

from prover.field import R
from prover.poseidon import poseidon, sponge
from prover.statement import commitment, epoch_digest


def test_hash16_matches_prover(deployed):
    rng = random.Random(5)
    for _ in range(3):
        xs = [rng.randrange(R) for _ in range(16)]
        assert deployed.poseidon.hash16(xs) == poseidon(xs)
    assert deployed.poseidon.hash16(list(range(1, 17))) == poseidon(list(range(1, 17)))


@pytest.mark.parametrize("length", [0, 1, 14, 15, 16, 31, 48])
def test_sponge_matches_prover(deployed, length):
    rng = random.Random(length)
    xs = [rng.randrange(R) for _ in range(length)]
    assert deployed.poseidon.sponge(3, xs) == sponge(3, xs)


def test_commitment_and_digest_match_statement(deployed):
    q, cash, salt = [5, -3, 0, 7], -123_456_789, 987654321
    xs = [4, 5, R - 3, 0, 7, R - 123_456_789, salt]
    assert deployed.poseidon.sponge(2, xs) == commitment(q, cash, salt)
    marks, pnl, addons = [10, -20, 30, 40], [[1, -2, 3]] * 4, [1, 2, 3, 4]
    flat = [x % R for row in pnl for x in row]
    xs = [4, 3, 7, 12_000, *[m % R for m in marks], *flat, *addons]
    assert deployed.poseidon.sponge(1, xs) == epoch_digest(7, 12_000, marks, pnl, addons)


def test_inputs_outside_the_field_revert(deployed):
    with reverts(deployed.poseidon.Poseidon_InputNotInField, index=3):
        deployed.poseidon.sponge(1, [0, 1, 2, R])
    with reverts(deployed.poseidon.Poseidon_InputNotInField, index=0):
        deployed.poseidon.hash16([R] + [0] * 15)


def test_constant_stores_are_checked(project, proto_owner, deployed):
    # swapping the two stores must be refused by the code-hash check
    stores = [getattr(deployed.poseidon, f"data{k}")() for k in range(5)]
    with reverts(deployed.poseidon.Poseidon_BadConstants, index=0):
        project.PoseidonSponge.deploy(stores[1], stores[0], *stores[2:], sender=proto_owner)
    with reverts(deployed.poseidon.Poseidon_BadConstants, index=4):
        project.PoseidonSponge.deploy(*stores[:4], stores[3], sender=proto_owner)


def test_poseidon_gas(deployed, proto_owner):
    one = deployed.poseidon.sponge.estimate_gas_cost(2, list(range(7)), sender=proto_owner)
    four = deployed.poseidon.sponge.estimate_gas_cost(1, list(range(48)), sender=proto_owner)
    print(f"poseidon sponge gas: 1 chunk {one}, 4 chunks {four}")
    # the optimized form (sparse partial rounds): ~0.2M gas per 15-element chunk, where the dense
    # reference form took ~1.85M; the cold reads of the 5 stores are paid once per call
    assert one < 300_000 and 3 * one < four < 4.5 * one
