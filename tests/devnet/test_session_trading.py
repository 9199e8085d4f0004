"""Trading through the Python session API (``Protocol``) with the real verifiers: accounts open by
buying from the house, trade with each other, prove MM, and a winner moves its realized profit
to its public balance and withdraws more than it deposited. Every commitment change is a settled
batch whose transitions were proven; the vault's books balance to the unit throughout."""

from __future__ import annotations

import pytest

from offchain.devnet.session import NotProvable
from zkmargin.errors import InputError

UNIT = 10**6


def books_balance(p) -> int:
    """deposits - withdrawals (the tokens the vault holds) - (balances + private cash + insurance +
    fees): 0 when the books are exact (every holder here is in the operator's book)."""
    v = p.d.vault
    return (int(p.d.token.balanceOf(v.address)) - sum(int(v.balanceOf(a.address)) for a in p.book)
            - int(v.totalPrivateCash()) - int(v.insuranceFund()) - int(v.protocolFees()))


def test_open_trade_cash_out_and_withdraw_profit(zkm_fresh_protocol, zkm_users, zkm_vols):
    p = zkm_fresh_protocol
    alice, bob = zkm_users[0], zkm_users[1]
    perp = p.listing[0].symbol
    p.open_accounts([(alice, {perp: 400}, 10_000 * UNIT, "alice"), (bob, {}, 10_000 * UNIT, "bob")])
    assert p.book.get(str(alice.address)).q[0] == 400
    assert str(p.house.address) in p.book  # the house took the other side
    p.trade(bob, alice, perp, 150)  # bob buys 150 lots from alice at the mark
    assert p.book.get(str(alice.address)).q[0] == 250 and p.book.get(str(bob.address)).q[0] == 150
    for a in (alice, bob, p.house):
        assert p.book.get(str(a.address)).commitment() == int(p.d.accounts.commitmentOf(a))
    # the market rises 10%: bob sells back at the new mark and realizes a profit
    up = {k: v * (1.10 if k == p.listing[0].underlying else 1.0) for k, v in p.spots.items()}
    p.advance(60)
    p.report_prices(up)
    p.post_epoch(vols=zkm_vols)
    assert set(p.prove_all().values()) <= {"proved", "already proven"}  # (the house is proven with the epoch)
    p.trade(alice, bob, perp, 150)
    gain = p.book.get(str(bob.address)).cash
    assert gain > 0 and p.book.get(str(bob.address)).q == [0] * len(p.listing)
    p.cash_out(bob, gain)
    p.withdraw(bob, 10_000 * UNIT + gain)
    assert int(p.d.token.balanceOf(bob)) >= 10_000 * UNIT + gain  # more than it deposited
    with pytest.raises(InputError):
        p.withdraw(bob, 1)  # nothing left
    with pytest.raises(NotProvable):
        p.trade(bob, alice, perp, 10**6)  # far beyond bob's margin: refused before any transaction
    assert books_balance(p) == 0


def test_the_operator_database_journals_every_transition(zkm_fresh_protocol, zkm_users, tmp_path):
    """With the operator's SQLite journal attached, every account's opening replays from the
    database's history exactly (fills, fees, funding, cash-outs)."""
    from offchain.operator.journal import StoreJournal
    from offchain.operator.store import OperatorStore

    p = zkm_fresh_protocol
    alice, bob = zkm_users[2], zkm_users[3]
    perp, fut = p.listing[0].symbol, p.listing[1].symbol
    with OperatorStore(tmp_path / "operator.sqlite", seed=1, instruments=p.book.instruments) as store:
        p.journal = StoreJournal(store)
        p.open_accounts([(alice, {perp: 300, fut: -100}, 12_000 * UNIT, "alice"), (bob, {perp: -50}, 9_000 * UNIT, "bob")])
        p.trade(alice, bob, perp, 25, price=p.epoch.marks[0] + 1_000)
        p.cash_out(bob, 10 * UNIT)
        for a in (alice, bob, p.house):
            replayed = store.replay(str(a.address))
            assert replayed is not None and replayed.commitment() == int(p.d.accounts.commitmentOf(a))
        kinds = [h.kind for h in store.history(str(bob.address))]
        assert kinds.count("fill") == 2 and "fee" not in kinds and kinds.count("cash_out") == 1  # fee_bps is 0
