"""Rebuilding a book: ``restore`` (resting orders, oldest first), ``use_nonce`` and ``resume`` give a
book equal to the live one (same depth, same priority, the same reports for whatever comes next),
for the fast book and the reference book, on seeded synthetic flows cut at seeded points; and
``restore`` refuses what could not have been resting, naming the field, changing nothing."""

from __future__ import annotations

import random
from typing import Any

import pytest
from _trading_testlib import LATER, LISTING, NOW, A, B, C, Orders

from offchain.trading.book import OrderBook
from offchain.trading.events import Report, Status
from offchain.trading.orders import Order, Side
from offchain.trading.reference import ReferenceBook
from offchain.trading.synthetic import SUBMIT, FlowSpec, listing_for, replay, synthetic_flow, trader_address
from zkmargin.errors import InputError


def rebuild(book_cls: Any, live: Any, orders: dict[int, Order], nonces: set[tuple[str, int]], traders: list[str],
            now: int) -> Any:
    """A new book from what an operator keeps: the resting orders (oldest first) with what is
    left of them, the used nonces, the positions and the counters."""
    out = book_cls(live.listing)
    resting = live.resting_orders()
    for o in resting:
        out.restore(orders[o.order_id], o.remaining, now, order_id=o.order_id)
    for trader, nonce in sorted(nonces):
        out.use_nonce(trader, nonce)
    for t in traders:
        for i, q in enumerate(live.positions(t)):
            out.set_position(t, i, q)
    out.resume(live.next_order_id, live.next_fill_seq)
    return out


def state(book: Any, n: int, traders: list[str]) -> tuple[Any, ...]:
    depth = [(book.depth(i, s, 10**6), book.best_bid(i), book.best_ask(i)) for i in range(n) for s in Side]
    return (depth, book.resting_orders(), [book.open_orders(t) for t in traders], [book.positions(t) for t in traders],
            book.next_order_id, book.next_fill_seq, len(book))


@pytest.mark.parametrize("instruments", [1, 3])
def test_a_rebuilt_book_equals_the_live_one_and_fills_the_same(instruments: int) -> None:
    rng = random.Random(20240512 + instruments)
    spec = FlowSpec(traders=6, instruments=instruments, lifetime=120.0, expire_every=700)
    listing = listing_for(spec)
    traders = [trader_address(k) for k in range(spec.traders)]
    compared = 0
    for trial in range(6):
        ops = synthetic_flow(1_500, seed=1_000 + trial, spec=spec)
        orders = {k: op[1] for k, op in enumerate(o for o in ops if o[0] == SUBMIT)}  # ids number submissions
        live, ref = OrderBook(listing), ReferenceBook(listing)
        done = 0
        for cut in sorted(rng.sample(range(50, len(ops) - 50), 3)):
            head = ops[done:cut]
            results = replay(live, head)
            assert results == replay(ref, head)
            done = cut
        nonces = set()
        for k, rep in enumerate(r for r, op in zip(replay(OrderBook(listing), ops[:done]), ops) if op[0] == SUBMIT):
            assert isinstance(rep, Report)
            if rep.status != Status.REJECTED:
                nonces.add((orders[k].trader, orders[k].nonce))
        now = ops[done][2]
        fast = rebuild(OrderBook, live, orders, nonces, traders, now)
        slow = rebuild(ReferenceBook, live, orders, nonces, traders, now)
        assert state(fast, instruments, traders) == state(live, instruments, traders) == state(slow, instruments, traders)
        assert len(live) > 10
        tail = ops[done:]
        expected = replay(live, tail)
        assert replay(fast, tail) == expected
        assert replay(slow, tail) == expected
        assert state(fast, instruments, traders) == state(live, instruments, traders)
        compared += sum(len(r.fills) for r in expected if isinstance(r, Report))
    assert compared > 300  # the continuations really matched against restored orders


def test_restore_refuses_what_could_not_rest_and_changes_nothing() -> None:
    mk = Orders()
    for book_cls in (OrderBook, ReferenceBook):
        book = book_cls(LISTING)
        ask = mk(B, "sell", 1_000, 5)
        book.restore(ask, 3, NOW, order_id=7)
        assert book.next_order_id == 8 and book.depth(0, Side.SELL) == [(1_000, 3)]
        before = (book.resting_orders(), book.next_order_id)
        cases = [
            (mk(A, "buy", 1_000, 2), 2, None, "limit_price"),  # crosses the live ask
            (mk(A, "buy", 995, 2), 2, None, "limit_price"),  # off the tick of 10
            (mk(A, "buy", 990, 2, kind="ioc"), 1, None, "kind"),
            (mk(A, "buy", 990, 2), 3, None, "remaining"),
            (mk(A, "buy", 990, 2), 0, None, "remaining"),
            (mk(A, "buy", 990, 2), 2, 7, "order_id"),  # below the next id
            (Order.create(trader=B, instrument=0, side="sell", limit_price=1_100, size=1, expiry=LATER,
                          nonce=ask.nonce, salt=1), 1, None, "nonce"),
        ]
        for order, remaining, oid, field in cases:
            with pytest.raises(InputError) as err:
                book.restore(order, remaining, NOW, order_id=oid)
            assert err.value.field == field, (book_cls, field, err.value)
            assert (book.resting_orders(), book.next_order_id) == before
        # a crossing order may rest next to an expired one (a post-only order placed after it expired)
        stale = mk(B, "sell", 980, 1, expiry=NOW + 10)
        book.restore(stale, 1, NOW + 20)
        bid = mk(A, "buy", 990, 4)
        book.restore(bid, 4, NOW + 20)
        assert [o.order_id for o in book.resting_orders()] == [7, 8, 9]
        rep = book.submit(mk(C, "sell", 990, 1), NOW + 20)  # meets the bid; the expired ask was never live
        assert rep.fills[0].maker_order == 9 and rep.order_id == 10
        assert [c.reason for c in book.expire(NOW + 20)] == ["expired"]
        with pytest.raises(InputError) as err:
            book.resume(5, 0)
        assert err.value.field == "next_order_id"
        book.resume(20, 40)
        assert book.submit(mk(B, "buy", 900, 1), NOW + 20).order_id == 20
        assert book.submit(mk(B, "sell", 990, 1), NOW + 20).fills[0].seq == 40
        book.use_nonce(A, 99)
        again = Order.create(trader=A, instrument=0, side="buy", limit_price=900, size=1, expiry=LATER, nonce=99, salt=1)
        assert book.submit(again, NOW + 20).reason == f"nonce: 99 was already used by {A}"
