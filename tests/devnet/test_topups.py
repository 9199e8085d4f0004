"""``TopUpAuthorizations`` and ``CollateralVault.depositFor``: a keeper moves collateral from an
account's wallet into its vault balance only within the allowance the account set, and every
misuse reverts with a custom error leaving nothing half-done (mock verifier; the margin-call
keeper on real proofs is tests/devnet/test_margin_calls.py)."""

from __future__ import annotations

import pytest
from ape import reverts
from conftest import UNIT, Opening

ZERO = "0x0000000000000000000000000000000000000000"


def _wallet(env, user, units):
    env.d.token.mint(user, units, sender=env.owner)
    env.d.token.approve(env.d.topups.address, units, sender=user)


def _state(env, user, keeper):
    a = env.d.topups.authorization(user, keeper)
    return (bool(a.active), int(a.remaining), int(env.d.token.balanceOf(user)), int(env.d.vault.balanceOf(user)))


def _vault_exact(env):
    v = env.d.vault
    assert int(env.d.token.balanceOf(v.address)) == int(v.totalDeposits()) + int(v.insuranceFund()) + int(v.protocolFees())


@pytest.fixture
def opened(env, users):
    """users[0] with an open account (100 USD in the vault) and 1,000 USD in its wallet."""
    user = users[0]
    env.fund(user, 100 * UNIT)
    env.open(user, Opening([1, 0], -30 * UNIT, 77))
    _wallet(env, user, 1_000 * UNIT)
    return user


def test_the_vault_names_the_module_and_only_it_deposits_for_others(env, users, accounts):
    assert env.d.vault.topUpModule() == env.d.topups.address
    assert env.d.topups.vault() == env.d.vault.address
    assert env.d.topups.marginAccounts() == env.d.accounts.address
    assert env.d.topups.collateral() == env.d.token.address
    stranger = accounts[8]
    env.d.token.mint(stranger, 10 * UNIT, sender=env.owner)
    env.d.token.approve(env.d.vault.address, 10 * UNIT, sender=stranger)
    with reverts(env.d.vault.Vault_Unauthorized, caller=stranger.address):
        env.d.vault.depositFor(users[1], 10 * UNIT, sender=stranger)
    with reverts():  # Ownable
        env.d.vault.setTopUpModule(stranger, sender=stranger)
    receipt = env.d.vault.setTopUpModule(ZERO, sender=env.owner)
    assert [e.topUpModule for e in receipt.decode_logs(env.d.vault.TopUpModuleSet)] == [ZERO]


def test_top_up_within_the_allowance(env, opened, accounts):
    keeper = accounts[8]
    env.d.topups.authorize(keeper, 300 * UNIT, sender=opened)
    assert _state(env, opened, keeper) == (True, 300 * UNIT, 1_000 * UNIT, 100 * UNIT)
    receipt = env.d.topups.topUp(opened, 120 * UNIT, sender=keeper)
    ev = list(receipt.decode_logs(env.d.topups.ToppedUp))
    assert [(e.account, e.keeper, e.amount, e.remaining, e.newBalance) for e in ev] == [
        (opened.address, keeper.address, 120 * UNIT, 180 * UNIT, 220 * UNIT)]
    deposits = list(receipt.decode_logs(env.d.vault.Deposited))
    assert [(e.account, e.amount, e.newBalance) for e in deposits] == [(opened.address, 120 * UNIT, 220 * UNIT)]
    assert _state(env, opened, keeper) == (True, 180 * UNIT, 880 * UNIT, 220 * UNIT)
    assert int(env.d.token.balanceOf(env.d.topups.address)) == 0  # the module keeps nothing
    _vault_exact(env)
    assert receipt.gas_used < 150_000


def test_an_exhausted_allowance_reverts(env, opened, accounts):
    keeper = accounts[8]
    env.d.topups.authorize(keeper, 50 * UNIT, sender=opened)
    env.d.topups.topUp(opened, 50 * UNIT, sender=keeper)
    before = _state(env, opened, keeper)
    assert before == (True, 0, 950 * UNIT, 150 * UNIT)
    with reverts(env.d.topups.TopUp_AllowanceExceeded, requested=1, remaining=0):
        env.d.topups.topUp(opened, 1, sender=keeper)
    assert _state(env, opened, keeper) == before
    # more than what is left is refused whole, not filled in part
    env.d.topups.authorize(keeper, 10 * UNIT, sender=opened)
    with reverts(env.d.topups.TopUp_AllowanceExceeded, requested=10 * UNIT + 1, remaining=10 * UNIT):
        env.d.topups.topUp(opened, 10 * UNIT + 1, sender=keeper)


def test_a_revoked_authorization_reverts(env, opened, accounts):
    keeper = accounts[8]
    env.d.topups.authorize(keeper, 500 * UNIT, sender=opened)
    receipt = env.d.topups.revoke(keeper, sender=opened)
    assert [(e.account, e.keeper) for e in receipt.decode_logs(env.d.topups.TopUpRevoked)] == [(opened.address, keeper.address)]
    before = _state(env, opened, keeper)
    assert before[:2] == (False, 0)
    with reverts(env.d.topups.TopUp_NotAuthorized, account=opened.address, keeper=keeper.address):
        env.d.topups.topUp(opened, 1 * UNIT, sender=keeper)
    assert _state(env, opened, keeper) == before


def test_only_the_authorized_keeper(env, opened, accounts):
    env.d.topups.authorize(accounts[8], 500 * UNIT, sender=opened)
    with reverts(env.d.topups.TopUp_NotAuthorized, keeper=accounts[9].address):
        env.d.topups.topUp(opened, 1 * UNIT, sender=accounts[9])


def test_bad_inputs(env, opened, accounts):
    keeper = accounts[8]
    with reverts(env.d.topups.TopUp_ZeroAddress, field="keeper"):
        env.d.topups.authorize(ZERO, 1, sender=opened)
    with reverts(env.d.topups.TopUp_ZeroAmount):
        env.d.topups.authorize(keeper, 0, sender=opened)
    with reverts(env.d.topups.TopUp_AllowanceTooLarge):
        env.d.topups.authorize(keeper, 2**128, sender=opened)
    env.d.topups.authorize(keeper, 5 * UNIT, sender=opened)
    with reverts(env.d.topups.TopUp_ZeroAmount):
        env.d.topups.topUp(opened, 0, sender=keeper)


def test_token_approval_too_small_reverts_whole(env, opened, accounts):
    keeper = accounts[8]
    env.d.topups.authorize(keeper, 500 * UNIT, sender=opened)
    env.d.token.approve(env.d.topups.address, 10 * UNIT, sender=opened)
    before = _state(env, opened, keeper)
    with reverts():  # OpenZeppelin's ERC20InsufficientAllowance
        env.d.topups.topUp(opened, 11 * UNIT, sender=keeper)
    assert _state(env, opened, keeper) == before  # the allowance was not spent


def test_no_top_up_without_an_open_account_or_during_its_liquidation(env, users, accounts):
    keeper, user = accounts[8], users[2]
    _wallet(env, user, 100 * UNIT)
    env.d.topups.authorize(keeper, 100 * UNIT, sender=user)
    with reverts(env.d.topups.TopUp_AccountNotOpen, account=user.address):
        env.d.topups.topUp(user, 1 * UNIT, sender=keeper)
    env.fund(user, 100 * UNIT)
    op = Opening([3, 1], -50 * UNIT, 9)
    env.open(user, op)
    env.post_epoch(2)
    env.pass_grace()
    env.start(user, accounts[9])  # the opening of its book as the chain holds it
    with reverts(env.d.topups.TopUp_AccountNotOpen, account=user.address):
        env.d.topups.topUp(user, 1 * UNIT, sender=keeper)


def test_paused_vault_refuses_top_ups(env, opened, accounts):
    keeper = accounts[8]
    env.d.topups.authorize(keeper, 100 * UNIT, sender=opened)
    env.d.vault.pause(sender=env.owner)
    before = _state(env, opened, keeper)
    with reverts(env.d.vault.Guard_Paused):
        env.d.topups.topUp(opened, 1 * UNIT, sender=keeper)
    assert _state(env, opened, keeper) == before
