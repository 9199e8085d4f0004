"""An example integration suite that uses only zkmargin's public API and pytest fixtures.

Another project's ape tests can do exactly this once zkmargin is installed: the fixtures
(``zkm_protocol``, ``zkm_users``, ``zkm_liquidator``, ...) come from the ``zkmargin`` pytest
plugin. Real Groth16 proofs (n = 8 instruments x S = 15 scenarios) are made and verified on-chain.
"""

from __future__ import annotations

import pytest

from offchain.devnet.session import NotProvable

UNIT = 10**6


@pytest.fixture(scope="module")
def crashed(zkm_protocol, zkm_users, zkm_liquidator, zkm_vols):
    """Two accounts open at epoch 1; BTC and ETH then fall 30% and epoch 2 is posted."""
    p = zkm_protocol
    careful, levered = zkm_users[0], zkm_users[1]
    p.open_account(careful, {"BTC-PERP": 200, "BTC-P39000": 200}, deposit_units=20_000 * UNIT, label="hedged")
    p.open_account(levered, {"BTC-PERP": 1_000, "ETH-PERP": 500}, deposit_units=15_000 * UNIT, label="levered")
    p.fund_insurance(50_000 * UNIT)
    p.fund_liquidator(zkm_liquidator, 100_000 * UNIT)
    before = {"BTC": p.spots["BTC"], "ETH": p.spots["ETH"]}
    p.advance(60)
    p.report_prices({"BTC": before["BTC"] * 0.7, "ETH": before["ETH"] * 0.7})
    p.post_epoch(vols=zkm_vols)
    return p, careful, levered


def test_hedged_account_proves_and_levered_cannot(crashed):
    p, careful, levered = crashed
    assert p.figures(careful.address).excess >= 0
    assert p.figures(levered.address).excess < 0
    with pytest.raises(NotProvable):
        p.prove(levered)
    outcome = p.prove_all()
    assert outcome[careful.address] == "proved"
    assert outcome[levered.address] == "not provable"
    state = p.d.accounts.accountState(careful)
    assert state.provenEpoch == p.epoch.epoch_id


def test_keeper_liquidates_only_the_unproven_account(crashed, zkm_liquidator):
    p, careful, levered = crashed
    if p.d.accounts.accountState(careful).provenEpoch < p.epoch.epoch_id:
        p.prove(careful)  # ape isolation may have rolled back the previous test's proof
    assert p.d.accounts.liquidationReason(levered) == 0  # still inside the grace window
    p.advance(p.grace_period_seconds + 1)
    assert p.d.accounts.liquidationReason(careful) == 0
    assert p.d.accounts.liquidationReason(levered) == 1  # no fresh proof
    vault, token = p.d.vault, p.d.token
    actions = p.keeper(zkm_liquidator).run(until_idle=True, poll_seconds=0)
    assert [a.kind for a in actions] == ["start", "bid"]  # one fill takes the whole book...
    assert [a.finished for a in actions] == [False, True]  # ...and closes the auction
    assert {a.account for a in actions} == {levered.address}
    assert p.d.accounts.commitmentOf(levered) == 0  # closed
    assert p.d.accounts.commitmentOf(careful) != 0
    # exact accounting: tokens held = account balances (share pool) + insurance fund + fees
    assert token.balanceOf(vault.address) == vault.totalDeposits() + vault.insuranceFund() + vault.protocolFees()
    # running the keeper again does nothing: idempotent
    assert p.keeper(zkm_liquidator).run(until_idle=True, poll_seconds=0) == []
