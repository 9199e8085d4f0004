"""Devnet tests of the foundation contracts: collateral token, vault and price oracle.

The fixtures deploy once per module through the public deploy API (``offchain.devnet.deploy``).
"""

from __future__ import annotations

import pytest
from ape import reverts

from offchain.devnet.deploy import deploy_protocol, feed_id, fund_and_deposit, push_price, to_price_units
from zkmargin.errors import InputError

UNIT = 10**6  # 6-decimals collateral
BTC = feed_id("BTC/USD")


@pytest.fixture(scope="module")
def owner(accounts):
    return accounts[0]


@pytest.fixture(scope="module")
def alice(accounts):
    return accounts[1]


@pytest.fixture(scope="module")
def bob(accounts):
    return accounts[2]


@pytest.fixture(scope="module")
def d(owner, alice, bob):
    dep = deploy_protocol(owner)
    fund_and_deposit(dep, [alice, bob], amount_units=1_000 * UNIT, deposit_units=600 * UNIT)
    return dep


def test_token_has_6_decimals(d):
    assert d.token.decimals() == 6
    assert d.token.symbol() == "dUSDC"


def test_deposit_credits_and_accounting_is_exact(d, alice, bob):
    assert d.vault.balanceOf(alice) == 600 * UNIT
    assert d.token.balanceOf(alice) == 400 * UNIT
    assert d.vault.totalDeposits() == 1_200 * UNIT == d.token.balanceOf(d.vault.address)


def test_deposit_emits_event(d, alice):
    d.token.approve(d.vault.address, 5 * UNIT, sender=alice)
    receipt = d.vault.deposit(5 * UNIT, sender=alice)
    [event] = list(receipt.decode_logs(d.vault.Deposited))
    assert event.account == alice.address and event.amount == 5 * UNIT and event.newBalance == 605 * UNIT


def test_withdraw_to_other_address(d, alice, accounts):
    receiver = accounts[5]
    before, vault_before = d.token.balanceOf(receiver), d.vault.balanceOf(alice)
    receipt = d.vault.withdraw(5 * UNIT, receiver, sender=alice)
    assert d.token.balanceOf(receiver) - before == 5 * UNIT
    [event] = list(receipt.decode_logs(d.vault.Withdrawn))
    assert event.to == receiver.address and event.newBalance == vault_before - 5 * UNIT
    assert d.vault.totalDeposits() == d.token.balanceOf(d.vault.address)


def test_zero_deposit_reverts(d, alice):
    with reverts(d.vault.Vault_ZeroAmount):
        d.vault.deposit(0, sender=alice)


def test_zero_withdraw_reverts(d, alice):
    with reverts(d.vault.Vault_ZeroAmount):
        d.vault.withdraw(0, alice, sender=alice)


def test_withdraw_more_than_deposited_reverts(d, bob):
    with reverts(d.vault.Vault_InsufficientBalance, account=bob.address, requested=600 * UNIT + 1, available=600 * UNIT):
        d.vault.withdraw(600 * UNIT + 1, bob, sender=bob)
    assert d.vault.balanceOf(bob) == 600 * UNIT  # nothing half-done


def test_withdraw_to_zero_address_reverts(d, bob):
    with reverts(d.vault.Vault_ZeroAddress, field="to"):
        d.vault.withdraw(1, "0x0000000000000000000000000000000000000000", sender=bob)


def test_deposit_without_allowance_reverts(d, bob):
    with reverts():
        d.vault.deposit(10 * UNIT, sender=bob)  # ERC20InsufficientAllowance from OpenZeppelin
    assert d.vault.balanceOf(bob) == 600 * UNIT


def test_push_and_read_price(d, chain):
    ts = chain.pending_timestamp
    rid = push_price(d, "BTC/USD", "36684.93", ts)
    r = d.oracle.latestRound(BTC)
    assert (r.roundId, r.answer, r.updatedAt) == (rid, 3_668_493_000_000, ts)
    chain.pending_timestamp += 60
    rid2 = push_price(d, "BTC/USD", 37_000, chain.pending_timestamp)
    assert rid2 == rid + 1
    assert d.oracle.latestRound(BTC).answer == 37_000 * 10**8


def test_unauthorized_push_reverts(d, bob, chain):
    with reverts(d.oracle.Oracle_Unauthorized, caller=bob.address):
        d.oracle.pushPrice(BTC, to_price_units(1), chain.pending_timestamp, sender=bob)


@pytest.mark.parametrize("answer", [0, -1, -(10**18)])
def test_non_positive_price_reverts(d, owner, chain, answer):
    with reverts(d.oracle.Oracle_InvalidPrice):
        d.oracle.pushPrice(BTC, answer, chain.pending_timestamp, sender=owner)


def test_stale_and_future_timestamps_revert(d, owner, chain):
    push_price(d, "BTC/USD", 30_000, chain.pending_timestamp)
    latest = d.oracle.latestRound(BTC)
    with reverts(d.oracle.Oracle_StaleTimestamp):
        d.oracle.pushPrice(BTC, to_price_units(1), latest.updatedAt, sender=owner)
    with reverts(d.oracle.Oracle_FutureTimestamp):
        d.oracle.pushPrice(BTC, to_price_units(1), chain.pending_timestamp + 3600, sender=owner)


def test_reading_an_unknown_feed_reverts(d):
    with reverts(d.oracle.Oracle_NoData):
        d.oracle.latestRound(feed_id("DOGE/USD"))


def test_only_owner_manages_reporters(d, owner, bob):
    with reverts():
        d.oracle.setReporter(bob, True, sender=bob)  # OwnableUnauthorizedAccount
    receipt = d.oracle.setReporter(bob, True, sender=owner)
    assert [e.allowed for e in receipt.decode_logs(d.oracle.ReporterSet)] == [True]
    d.oracle.setReporter(bob, False, sender=owner)


def test_python_helpers_validate_input():
    with pytest.raises(InputError, match="price"):
        to_price_units("nan")
    with pytest.raises(InputError, match="price"):
        to_price_units(-5)
    with pytest.raises(InputError, match="symbol"):
        feed_id("BTC")
