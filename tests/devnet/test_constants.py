"""The compiled protocol constants (``contracts/libraries/Constants.sol``) equal the Python ones.

Each statement constant is defined once in Solidity and once in Python (``prover.statement``;
``WAD`` in ``offchain.mirror.auction``, the oracle decimals in ``offchain.mirror.oracle``, the
liquidation reasons in ``offchain.mirror.model``); ``ProtocolMathHarness.constants`` returns
the compiled values.
"""

from __future__ import annotations

import pytest

from offchain.mirror import auction, model, oracle
from prover import statement
from prover.field import R


@pytest.fixture(scope="module")
def compiled(project, accounts):
    return project.ProtocolMathHarness.deploy(sender=accounts[0]).constants()


def test_statement_constants_match_prover_statement(compiled):
    assert compiled.bps == statement.BPS
    assert compiled.imFactorMinBps == statement.IM_FACTOR_MIN
    assert compiled.maxDimension == statement.MAX_INSTRUMENTS == statement.MAX_SCENARIOS
    assert compiled.positionBound == 2**statement.POSITION_BITS
    assert compiled.cashBound == 2**statement.CASH_BITS
    assert compiled.epochValueBound == 2**statement.EPOCH_VALUE_BITS
    assert (compiled.kindMm, compiled.kindIm, compiled.kindInsolvency) == (
        statement.KIND_MM, statement.KIND_IM, statement.KIND_INSOLVENCY)
    assert compiled.numPublicInputs == len(statement.PUBLIC_INPUT_NAMES)
    assert (compiled.tagEpoch, compiled.tagAccount) == (statement.TAG_EPOCH, statement.TAG_ACCOUNT)
    assert compiled.snarkScalarField == R


def test_protocol_constants_match_offchain_mirror(compiled):
    assert compiled.wad == auction.WAD
    assert compiled.bps == auction.BPS
    assert compiled.priceDecimals == oracle.PRICE_DECIMALS
    assert (compiled.reasonNoFreshProof, compiled.reasonInsolvent) == (
        model.REASON_NO_FRESH_PROOF, model.REASON_INSOLVENT)
