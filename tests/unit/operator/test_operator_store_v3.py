"""Schema version 3 (the exchange's): the migration from version 2 keeps every row and adds the
funding tables and the book version; one submission is one transaction; the book version moves
with every change that moves the book, whoever writes it; funding samples keep their exact
impact prices."""

from __future__ import annotations

import sqlite3
from fractions import Fraction
from pathlib import Path

import pytest
from _operator_fakes import CHAIN_ID, KEYS, SETTLEMENT, TRADERS, Orders, trade

from offchain.operator import OperatorStore, Rejection
from offchain.operator.errors import StoreError
from offchain.operator.records import OrderStatus
from offchain.operator.schema import SCHEMA_VERSION, migrate, statements
from offchain.trading.orders import Order, Side
from offchain.trading.signing import sign_order
from prover.statement import Account
from zkmargin.errors import InputError


def _order(who: int, side: str, price: int, size: int, nonce: int) -> tuple[Order, object]:
    o = Order.create(trader=TRADERS[who], instrument=0, side=side, limit_price=price, size=size, expiry=2**40,
                     nonce=nonce, salt=77 + nonce)
    return o, sign_order(o, KEYS[who], CHAIN_ID, SETTLEMENT)


def test_a_version_2_database_migrates_to_3_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "v2.sqlite"
    conn = sqlite3.connect(path, isolation_level=None)
    assert migrate(conn, target=2) == 0
    conn.execute("INSERT INTO settings (key, value) VALUES ('seed', '5'), ('salts_drawn', '0')")
    conn.execute("INSERT INTO accounts (address, label, q, cash, salt, commitment, settled_epoch, status, updated_at) "
                 "VALUES (?, 'bob', '[1, 0]', '7', '3', ?, 1, 'open', 0)",
                 (TRADERS[1], str(Account.create([1, 0], 7, 3).commitment())))
    conn.close()
    with OperatorStore(path) as store:
        assert store.schema_version == SCHEMA_VERSION == 3
        rec = store.account(TRADERS[1])
        assert rec is not None and rec.opening == Account.create([1, 0], 7, 3)
        assert store.book_version == 0 and store.funding_samples() == [] and store.funding_steps() == []
        order, sig = _order(0, "buy", 30_000_000, 2, 1)
        store.add_order(order, sig)  # the triggers exist after the migration
        assert store.book_version == 1
    with sqlite3.connect(path) as c:
        triggers = {r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
    assert len(triggers) == 5
    with pytest.raises(InputError) as err:
        statements("CREATE TRIGGER t AFTER INSERT ON x BEGIN UPDATE y SET a = 1;")
    assert err.value.field == "migration"


def test_one_submission_is_one_transaction(tmp_path: Path) -> None:
    store = OperatorStore(tmp_path / "op.sqlite", seed=1)
    ask, ask_sig = _order(1, "sell", 30_000_000, 2, 1)
    c_ask = ask.commitment()
    v = store.record_submission(c_ask, ask, ask_sig, 0, accepted=True)  # type: ignore[arg-type]
    assert v == (0, 1) and store.book_version == 1
    bid, bid_sig = _order(0, "buy", 30_000_000, 5, 1)
    c_bid = bid.commitment()
    with pytest.raises(InputError) as err:  # a fill beyond the ask's size: nothing of the bid is written
        store.record_submission(c_bid, bid, bid_sig, 1, accepted=True,  # type: ignore[arg-type]
                                fills=[(0, 30_000_000, 3, c_bid, c_ask, 0)])
    assert err.value.field == "size"
    assert [o.commitment for o in store.orders()] == [c_ask] and store.fills() == [] and store.book_version == 1
    # the book refuses a replay of an accepted order: the recorded order stands as it was
    store.record_submission(c_ask, ask, ask_sig, 7, accepted=False, status=OrderStatus.REJECTED,  # type: ignore[arg-type]
                            reason="nonce: 1 was already used")
    assert store.order(c_ask).status == "open" and store.order(c_ask).book_id == 0
    # rejected (risk), then accepted: the same commitment becomes open
    store.record_submission(c_bid, bid, bid_sig, 1, accepted=False, status=OrderStatus.REJECTED,  # type: ignore[arg-type]
                            reason="risk: ...")
    assert store.order(c_bid).status == "rejected" and store.used_nonces() == {(TRADERS[1].lower(), 1)}
    v = store.record_submission(c_bid, bid, bid_sig, 2, accepted=True, status=OrderStatus.CANCELLED,  # type: ignore[arg-type]
                                reason="ioc: unfilled remainder cancelled", fills=[(0, 30_000_000, 2, c_bid, c_ask, 0)])
    assert store.order(c_bid).status == "cancelled" and store.order(c_bid).book_id == 2 and v[1] == store.book_version
    with pytest.raises(StoreError, match="accepted it twice"):
        store.record_submission(c_ask, ask, ask_sig, 9, accepted=True)  # type: ignore[arg-type]
    assert store.next_book_numbers() == (3, 1) and [f.size for f in store.unsettled_fills(TRADERS[0])] == [2]
    assert store.unfilled_orders() == []  # the ask is matched in full (not settled yet), the bid is closed
    with pytest.raises(StoreError, match="not in the operator's book"):
        store.close_orders([(12345, OrderStatus.CANCELLED, "cancelled")])


def test_the_book_version_moves_with_every_change_that_moves_the_book(tmp_path: Path) -> None:
    store = OperatorStore(tmp_path / "op.sqlite", seed=1)
    orders = Orders(store)
    fid, bo, so = trade(store, orders, 0, 1, 0, 30_000_000, 2, buy_size=5)
    v = store.book_version
    assert v == 3  # two orders and a fill
    assert [(r.commitment, left) for r, left in store.unfilled_orders()] == [(bo, 3)]
    store.set_order_status(bo, OrderStatus.OPEN)  # no change, no move
    assert store.book_version == v
    other = OperatorStore(tmp_path / "op.sqlite")  # another process: the settler refuses the fill
    other.reject_fills([Rejection(fid, "below IM", TRADERS[0], bo)])
    assert store.book_version == v + 2  # the fill rejected and its order cancelled
    # the buy order is cancelled; the sell order's lots are unmatched again (its fill will never settle)
    assert [(r.commitment, left) for r, left in store.unfilled_orders()] == [(so, 2)]
    assert (TRADERS[1].lower(), orders.nonce) in store.used_nonces()
    other.record_transition(TRADERS[2], 1, [("takeover", [1, 0], -5)], Account.create([1, 0], -5, 9))
    assert store.book_version == v + 3  # an opening's positions moved
    other.close()


def test_funding_samples_and_steps_round_trip(tmp_path: Path) -> None:
    store = OperatorStore(tmp_path / "op.sqlite", seed=1)
    bid = Fraction(25_000_000_000, 595_237)
    ids = store.add_funding_samples(100, [(0, bid, None, 42_000_000, 12), (2, None, Fraction(7), 1_000, -3)])
    got = store.funding_samples(unused=True)
    assert [s.id for s in got] == ids and got[0].impact_bid == bid and got[0].impact_ask is None
    assert (got[1].impact_ask, got[1].premium, got[1].at) == (Fraction(7), -3, 100)
    sid = store.record_funding_step(1, 200, 100, [0, 0, 0], [5, 0, -1], [5, 0, -1], ids)
    assert store.funding_samples(unused=True) == [] and {s.step_id for s in store.funding_samples()} == {sid}
    with pytest.raises(StoreError, match="used already"):
        store.record_funding_step(1, 300, 100, [0, 0, 0], [5, 0, -1], [5, 0, -1], ids[:1])
    assert store.reopen_funding_steps(2) == []  # taken from epoch 1: an epoch after it carried it
    assert store.reopen_funding_steps(1) == [sid]
    assert [s.status for s in store.funding_steps()] == ["superseded"] and store.funding_steps(taken=True) == []
    assert [s.id for s in store.funding_samples(unused=True)] == ids
    exported = store.export()["operator"]
    assert exported["funding_samples"][0]["impact_bid"] == "25000000000/595237"
    assert exported["funding_steps"][0]["index"] == [5, 0, -1]
    store.record_setting("listing", '{"a": 1}')
    store.record_setting("listing", '{"a": 1}')
    with pytest.raises(InputError) as err:
        store.record_setting("listing", '{"a": 2}')
    assert err.value.field == "listing" and store.setting("listing") == '{"a": 1}'
    assert store.latest_epoch() is None


def test_the_sides_of_a_submission_are_checked_like_add_fill(tmp_path: Path) -> None:
    store = OperatorStore(tmp_path / "op.sqlite", seed=1)
    ask, ask_sig = _order(1, "sell", 30_000_000, 2, 1)
    store.record_submission(ask.commitment(), ask, ask_sig, 0, accepted=True)  # type: ignore[arg-type]
    bid, bid_sig = _order(0, "buy", 29_000_000, 2, 1)
    with pytest.raises(InputError) as err:
        store.record_submission(bid.commitment(), bid, bid_sig, 1, accepted=True,  # type: ignore[arg-type]
                                fills=[(0, 30_000_000, 1, bid.commitment(), ask.commitment(), 0)])
    assert err.value.field == "price"
    assert Side(store.order(ask.commitment()).order.side) == Side.SELL and len(store.orders()) == 1
