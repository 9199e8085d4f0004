"""Replay the golden vectors (tests/vectors/*.json, produced by ``offchain.mirror``) on the contracts.

The pure libraries run through ``ProtocolMathHarness``; the vault sequences run on a real
``CollateralVault`` whose margin and liquidation modules are test accounts, so every module entry
point (withdrawFor, transferBalance, collectFee, coverShortfall) is driven directly. Every figure
must match to the last unit.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

VECTORS = Path(__file__).resolve().parents[1] / "vectors"


def _load(name):
    return json.loads((VECTORS / f"{name}.json").read_text())


@pytest.fixture(scope="module")
def harness(project, accounts):
    return project.ProtocolMathHarness.deploy(sender=accounts[0])


def test_discount_vectors(harness):
    for c in _load("auction")["discount_bps"]:
        assert harness.discountBps(c["start"], c["now"], c["duration"], c["start_bps"], c["max_bps"]) == c["expected"], c


def test_slice_vectors(harness):
    for c in _load("auction")["slice"]:
        assert harness.slice(int(c["amount"]), int(c["fraction_wad"])) == int(c["expected"]), c


def test_slice_value_and_discount_cap_vectors(harness):
    for c in _load("auction")["slice_value"]:
        assert harness.sliceValue(int(c["book_value"]), int(c["fraction_wad"])) == int(c["expected"]), c
    for c in _load("auction")["discount_cap"]:
        assert tuple(harness.discountCap(int(c["equity"]), int(c["gross"]))) == (int(c["rate_wad"]), c["underwater"]), c


def test_fill_terms_vectors(harness):
    for c in _load("auction")["fill_terms"]:
        cost, disc, fee = harness.fillTerms(int(c["value"]), int(c["gross"]), c["d_bps"], c["fee_bps"], int(c["rate_wad"]),
                                            c["underwater"])
        assert (cost, disc, fee) == (int(c["cost"]), int(c["discount"]), int(c["fee"])), c


def test_take_slice_vectors(harness):
    cases = _load("auction")["take_slice"]
    assert len(cases) >= 40
    for c in cases:
        out = harness.takeSlice([int(x) for x in c["positions"]], int(c["cash"]), [int(x) for x in c["marks"]],
                                int(c["fraction_wad"]))
        lots, cash_taken, value, gross, empty, nonzero, remaining = out
        assert [int(x) for x in lots] == [int(x) for x in c["lots"]], c
        assert (cash_taken, value, gross, empty, nonzero) == (int(c["cash_taken"]), int(c["value"]), int(c["gross"]),
                                                             c["empty"], True), c
        assert [int(x) for x in remaining] == [int(x) for x in c["remaining"]], c
        cost, disc, fee = harness.fillTerms(value, gross, c["d_bps"], c["fee_bps"], int(c["rate_wad"]), c["underwater"])
        assert (cost, disc, fee) == (int(c["cost"]), int(c["discount"]), int(c["fee"])), c


def test_share_math_vectors(harness):
    for c in _load("shares")["cases"]:
        assert harness.sharesForDeposit(c["amount"], c["units"], c["shares"]) == c["deposit"], c
        assert harness.sharesForWithdrawal(c["amount"], c["units"], c["shares"]) == c["withdrawal"], c
        assert harness.unitsOf(c["s"], c["units"], c["shares"]) == c["units_of"], c


def test_vault_sequences(project, accounts):
    data = _load("vault")
    owner, margin, liq = accounts[0], accounts[8], accounts[9]
    actor = {name: accounts[1 + i] for i, name in enumerate(data["actors"])}
    seen = {"socialized": 0, "uncovered": 0, "fee": 0}
    for steps in data["sequences"]:
        token = project.MockStablecoin.deploy(owner, sender=owner)
        vault = project.CollateralVault.deploy(token.address, sender=owner)
        vault.setModules(margin, liq, sender=owner)
        for a in [*actor.values(), owner]:
            token.mint(a, 10**14, sender=owner)
            token.approve(vault.address, 2**255, sender=a)
        for st in steps:
            op = st["op"]
            if op == "deposit":
                vault.deposit(st["amount"], sender=actor[st["account"]])
            elif op == "withdraw":
                who = actor[st["account"]]
                vault.withdrawFor(who, st["amount"], who, sender=margin)
            elif op == "insurance":
                vault.fundInsurance(st["amount"], sender=owner)
            elif op == "transfer":
                vault.transferBalance(actor[st["from"]], actor[st["to"]], st["amount"], sender=liq)
            elif op == "fee":
                receipt = vault.collectFee(actor[st["account"]], st["amount"], st["share_bps"], sender=liq)
                got = sum(e.toInsurance + e.toProtocol for e in receipt.decode_logs(vault.FeeCollected))
                assert got == st["fee"]
                seen["fee"] += st["fee"] > 0
            else:
                receipt = vault.coverShortfall(actor[st["account"]], actor[st["to"]], st["amount"], sender=liq)
                [ev] = list(receipt.decode_logs(vault.ShortfallCovered))
                assert (ev.fromAccount, ev.fromInsurance, ev.socialized, ev.uncovered) == (
                    st["from_account"], st["from_insurance"], st["socialized"], st["uncovered"]), st
                seen["socialized"] += st["socialized"] > 0
                seen["uncovered"] += st["uncovered"] > 0
            after = st["after"]
            assert (int(vault.totalDeposits()), int(vault.totalShares()), int(vault.insuranceFund()),
                    int(vault.protocolFees())) == (after["pool_units"], after["pool_shares"], after["insurance"],
                                                   after["fees"]), st
            for name, who in actor.items():
                assert int(vault.sharesOf(who)) == after["shares"][name], (st, name)
                assert int(vault.balanceOf(who)) == after["balances"][name], (st, name)
            assert int(token.balanceOf(vault.address)) == after["pool_units"] + after["insurance"] + after["fees"]
    assert seen["socialized"] > 0 and seen["fee"] > 0  # the vectors exercise every branch
