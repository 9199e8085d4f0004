"""The matching rules, one worked example each, run on both books (the fast one and the list-based
reference): order types, priorities, self-trade prevention, reduce-only, expiry, cancels and
every rejection reason."""

from __future__ import annotations

from typing import Any

import pytest
from _trading_testlib import LISTING, NOW, A, B, C, Orders

from offchain.trading.book import OrderBook
from offchain.trading.events import Cancel, CancelReason, Fill, Status
from offchain.trading.orders import OrderKind, Side
from offchain.trading.reference import ReferenceBook

BUY, SELL = Side.BUY, Side.SELL
BOOKS = [OrderBook, ReferenceBook]


@pytest.fixture(params=BOOKS, ids=["fast", "reference"])
def book(request: Any) -> Any:
    return request.param(LISTING)


@pytest.fixture
def o() -> Orders:
    return Orders()


def test_limit_rests_then_fills_at_the_makers_price(book: Any, o: Orders) -> None:
    r1 = book.submit(o(A, SELL, 1000, 5), NOW)
    assert (r1.order_id, r1.status, r1.resting, r1.fills) == (0, Status.RESTING, 5, [])
    assert book.best_ask(0) == 1000 and book.best_bid(0) is None
    r2 = book.submit(o(B, BUY, 1020, 3), NOW)
    assert r2.status == Status.FILLED and r2.filled == 3
    assert r2.fills == [Fill(0, 1, 0, 1000, 3, A, B, BUY, 0)]
    assert r2.fills[0].buyer == B and r2.fills[0].seller == A
    assert book.order(0).remaining == 2
    assert book.position(A, 0) == -3 and book.position(B, 0) == 3
    r3 = book.submit(o(C, BUY, 1010, 4), NOW)  # takes the 2 left, rests 2 at its own price
    assert (r3.status, r3.filled, r3.resting) == (Status.RESTING, 2, 2)
    assert book.best_bid(0) == 1010 and book.best_ask(0) is None and book.order(0) is None


def test_price_then_time_priority(book: Any, o: Orders) -> None:
    book.submit(o(A, SELL, 1010, 1), NOW)  # 0
    book.submit(o(B, SELL, 1000, 1), NOW)  # 1: better price
    book.submit(o(C, SELL, 1000, 1), NOW)  # 2: same price, later
    book.submit(o(A, SELL, 1000, 1), NOW)  # 3
    r = book.submit(o("0x" + "dd" * 20, BUY, 1010, 4), NOW)
    assert [(f.maker_order, f.price) for f in r.fills] == [(1, 1000), (2, 1000), (3, 1000), (0, 1010)]
    assert [f.seq for f in r.fills] == [0, 1, 2, 3]
    assert book.depth(0, SELL) == [] and len(book) == 0


def test_depth_and_sells_walk_bids_from_the_top(book: Any, o: Orders) -> None:
    for price, size in ((990, 2), (1000, 1), (1000, 3), (980, 5)):
        book.submit(o(A, BUY, price, size), NOW)
    assert book.depth(0, BUY) == [(1000, 4), (990, 2), (980, 5)]
    assert book.depth(0, BUY, levels=1) == [(1000, 4)]
    r = book.submit(o(B, SELL, 990, 7), NOW)
    assert [(f.price, f.size) for f in r.fills] == [(1000, 1), (1000, 3), (990, 2)]
    assert (r.status, r.resting) == (Status.RESTING, 1)
    assert book.best_ask(0) == 990 and book.best_bid(0) == 980


def test_market_takes_up_to_its_bound_and_cancels_the_rest(book: Any, o: Orders) -> None:
    book.submit(o(A, SELL, 1000, 2), NOW)
    book.submit(o(A, SELL, 1100, 2), NOW)
    book.submit(o(A, SELL, 1200, 2), NOW)
    r = book.submit(o(B, BUY, 1100, 10, kind=OrderKind.MARKET), NOW)
    assert [(f.price, f.size) for f in r.fills] == [(1000, 2), (1100, 2)]
    assert (r.status, r.filled, r.resting, r.cancelled) == (Status.CANCELLED, 4, 0, 6)
    assert r.reason == "market: unfilled remainder cancelled"
    assert book.best_bid(0) is None and book.best_ask(0) == 1200
    r = book.submit(o(B, BUY, LISTING.instruments[0].max_price, 2, kind=OrderKind.MARKET), NOW)
    assert r.status == Status.FILLED and r.fills[0].price == 1200


def test_ioc_never_rests(book: Any, o: Orders) -> None:
    r = book.submit(o(B, BUY, 1000, 3, kind=OrderKind.IOC), NOW)
    assert (r.status, r.filled, r.cancelled, r.reason) == (Status.CANCELLED, 0, 3, "ioc: unfilled remainder cancelled")
    book.submit(o(A, SELL, 1000, 1), NOW)
    r = book.submit(o(B, BUY, 1000, 3, kind=OrderKind.IOC), NOW)
    assert (r.filled, r.cancelled, r.resting) == (1, 2, 0) and len(book) == 0


def test_post_only_rests_or_is_rejected(book: Any, o: Orders) -> None:
    book.submit(o(A, SELL, 1000, 1), NOW)
    r = book.submit(o(B, BUY, 1000, 1, kind=OrderKind.POST_ONLY), NOW)
    assert (r.status, r.reason) == (Status.REJECTED, "post_only: would take liquidity (best ask 1000)")
    assert (r.filled, r.resting, r.cancelled) == (0, 0, 0) and len(book) == 1
    r = book.submit(o(B, BUY, 990, 1, kind=OrderKind.POST_ONLY), NOW)
    assert r.status == Status.RESTING and book.best_bid(0) == 990
    # crossing only its own trader's order still counts: post-only never takes
    r = book.submit(o(A, BUY, 1000, 1, kind=OrderKind.POST_ONLY), NOW)
    assert r.status == Status.REJECTED


def test_post_only_ignores_expired_orders(book: Any, o: Orders) -> None:
    book.submit(o(A, SELL, 1000, 1, expiry=NOW + 5), NOW)
    book.submit(o(A, SELL, 1010, 1), NOW)
    r = book.submit(o(B, BUY, 1000, 1, kind=OrderKind.POST_ONLY), NOW + 5)
    assert r.status == Status.RESTING
    r = book.submit(o(B, BUY, 1020, 1, kind=OrderKind.POST_ONLY), NOW + 5)
    assert r.reason == "post_only: would take liquidity (best ask 1010)"


def test_self_trade_cancels_the_resting_order(book: Any, o: Orders) -> None:
    book.submit(o(A, SELL, 1000, 2), NOW)  # 0
    book.submit(o(B, SELL, 1000, 2), NOW)  # 1
    r = book.submit(o(A, BUY, 1000, 3), NOW)
    assert r.cancels == [Cancel(0, A, 0, 2, CancelReason.SELF_TRADE)]
    assert [(f.maker, f.size) for f in r.fills] == [(B, 2)]
    assert (r.status, r.resting) == (Status.RESTING, 1)
    assert book.position(A, 0) == 2


def test_reduce_only_taker(book: Any, o: Orders) -> None:
    r = book.submit(o(A, SELL, 1000, 1, reduce_only=True), NOW)
    assert (r.status, r.reason) == (
        Status.REJECTED, "reduce_only: the trader's position in BTC-PERP is 0 lots; a sell would not reduce it")
    book.set_position(A, 0, 3)
    r = book.submit(o(A, BUY, 1000, 1, reduce_only=True), NOW)
    assert r.status == Status.REJECTED  # a long cannot be reduced by buying
    book.submit(o(B, BUY, 1000, 10), NOW)
    r = book.submit(o(A, SELL, 1000, 5, reduce_only=True), NOW)
    assert (r.status, r.filled, r.cancelled) == (Status.CANCELLED, 3, 2)
    assert r.reason == "reduce_only: size capped to the position (3 lots)"
    assert book.position(A, 0) == 0


def test_reduce_only_maker_is_capped_when_met(book: Any, o: Orders) -> None:
    book.set_position(A, 0, 4)
    book.submit(o(A, SELL, 1010, 4, reduce_only=True), NOW)  # 0: rests
    book.submit(o(B, BUY, 1000, 3), NOW)  # 1
    book.submit(o(A, SELL, 1000, 3), NOW)  # 2: A now long 1
    assert book.position(A, 0) == 1
    r = book.submit(o(C, BUY, 1010, 5), NOW)
    # order 0 may only sell the 1 lot A still holds; its other 3 lots are cancelled
    assert [(f.maker_order, f.size) for f in r.fills] == [(0, 1)]
    assert r.cancels == [Cancel(0, A, 0, 3, CancelReason.REDUCE_ONLY)]
    assert book.position(A, 0) == 0 and (r.resting, r.status) == (4, Status.RESTING)
    # a reduce-only order whose trader went flat is cancelled, not filled
    book.set_position(B, 0, 2)
    book.submit(o(B, SELL, 1020, 2, reduce_only=True), NOW)  # 4
    book.set_position(B, 0, 0)
    r = book.submit(o(A, BUY, 1020, 1), NOW)
    assert r.fills == [] and r.cancels == [Cancel(4, B, 0, 2, CancelReason.REDUCE_ONLY)]


def test_expiry(book: Any, o: Orders) -> None:
    r = book.submit(o(A, SELL, 1000, 1, expiry=NOW), NOW)
    assert (r.status, r.reason) == (Status.REJECTED, f"expiry: {NOW} is not after now ({NOW})")
    book.submit(o(A, SELL, 1000, 1, expiry=NOW + 10), NOW)  # 1
    book.submit(o(B, SELL, 1010, 1, expiry=NOW + 20), NOW)  # 2
    book.submit(o(C, SELL, 1020, 1, expiry=NOW + 30), NOW)  # 3
    r = book.submit(o(C, BUY, 1010, 1), NOW + 10)  # meets 1 (expired), fills 2
    assert r.cancels == [Cancel(1, A, 0, 1, CancelReason.EXPIRED)]
    assert [f.maker_order for f in r.fills] == [2]
    assert book.expire(NOW + 29) == []
    assert book.expire(NOW + 30) == [Cancel(3, C, 0, 1, CancelReason.EXPIRED)]
    assert len(book) == 0


def test_cancels(book: Any, o: Orders) -> None:
    book.submit(o(A, SELL, 1000, 1), NOW)  # 0
    book.submit(o(A, SELL, 1010, 2, instrument=1), NOW)  # 1
    book.submit(o(A, BUY, 900, 3), NOW)  # 2
    book.submit(o(B, BUY, 900, 4), NOW)  # 3
    assert book.cancel(0, trader=B) is None  # not B's order: nothing happens
    assert book.cancel(0) == Cancel(0, A, 0, 1, CancelReason.CANCELLED)
    assert book.cancel(0) is None and book.cancel(99) is None
    assert book.cancel_all(A, instrument=0) == [Cancel(2, A, 0, 3, CancelReason.CANCELLED)]
    assert [c.order_id for c in book.cancel_all(A.upper().replace("0X", "0x"))] == [1]
    assert book.cancel_all(A) == [] and [x.order_id for x in book.resting_orders()] == [3]
    assert book.open_orders(B)[0].remaining == 4 and book.open_orders(A) == []
    r = book.submit(o(C, SELL, 900, 4), NOW)
    assert r.fills[0].maker_order == 3


@pytest.mark.parametrize(("kw", "reason"), [
    ({"price": 1005}, "limit_price: 1005 is not a multiple of the tick size 10 of BTC-PERP"),
    ({"size": 101}, "size: 101 lots is above the maximum size 100 of BTC-PERP"),
    ({"instrument": 1, "size": 1, "price": 1005}, "size: 1 lots is below the minimum size 2 of ETH-PERP"),
    ({"instrument": 3}, "instrument: 3 is not listed (the listing has 2 instruments)"),
])
def test_listing_rejections(book: Any, o: Orders, kw: dict[str, Any], reason: str) -> None:
    args = {"price": 1000, "size": 1, **kw}
    r = book.submit(o(A, BUY, args.pop("price"), args.pop("size"), **args), NOW)
    assert (r.status, r.reason, r.fills) == (Status.REJECTED, reason, [])
    assert len(book) == 0


def test_symbol_and_nonce_rejections(book: Any, o: Orders) -> None:
    from dataclasses import replace

    order = o(A, BUY, 1000, 1)
    r = book.submit(replace(order, symbol="ETH-PERP"), NOW)
    assert r.reason == "symbol: 'ETH-PERP' is not instrument 0 ('BTC-PERP')"
    assert book.submit(replace(order, symbol="BTC-PERP"), NOW).status == Status.RESTING
    r = book.submit(replace(order, limit_price=990), NOW)  # same trader, same nonce
    assert (r.status, r.reason) == (Status.REJECTED, f"nonce: {order.nonce} was already used by {A}")
    assert book.submit(replace(order, trader=B), NOW).status == Status.RESTING  # nonces are per trader
    assert [x.order_id for x in book.resting_orders()] == [1, 3]  # a rejection consumes an id, nothing else


def test_risk_callback_sees_the_worst_case_and_can_reject(book: Any, o: Orders) -> None:
    calls: list[tuple[str, int, int, int]] = []

    def risk(trader: str, instrument: int, delta: int, price: int) -> str | None:
        calls.append((trader, instrument, delta, price))
        return "too big" if abs(delta) > 4 else None

    book.risk_check = risk
    book.submit(o(A, SELL, 1000, 2), NOW)
    book.submit(o(A, SELL, 1030, 2), NOW)
    book.submit(o(B, SELL, 1010, 1), NOW)
    r = book.submit(o(C, BUY, 1040, 6), NOW)
    assert (r.status, r.reason) == (Status.REJECTED, "risk: too big") and len(book) == 3
    # an IOC is checked for what it can fill now, at the worst price it reaches
    r = book.submit(o(C, BUY, 1020, 6, kind=OrderKind.IOC), NOW)
    assert calls[-1] == (C, 0, 3, 1010) and r.filled == 3
    # nothing to fill: no call, the order is cancelled
    n = len(calls)
    book.submit(o(C, BUY, 1000, 6, kind=OrderKind.IOC), NOW)
    assert len(calls) == n
    # a sell limit order: the full size at its limit price, negative
    book.submit(o(B, SELL, 2000, 4), NOW)
    assert calls[-1] == (B, 0, -4, 2000)
    # the IOC plan skips the trader's own orders (they would be cancelled, not filled)
    r = book.submit(o(A, BUY, 2000, 3, kind=OrderKind.IOC), NOW)
    assert calls[-1] == (A, 0, 3, 2000) and r.filled == 3 and r.fills[0].price == 2000


def test_fill_listener_gets_every_fill_in_order(book: Any, o: Orders) -> None:
    seen: list[Fill] = []
    book.fill_listener = seen.append
    book.submit(o(A, SELL, 1000, 1), NOW)
    book.submit(o(A, SELL, 1010, 1), NOW)
    r = book.submit(o(B, BUY, 1010, 2), NOW)
    assert seen == r.fills and len(seen) == 2


def test_set_position_rejects_an_unlisted_instrument(book: Any) -> None:
    with pytest.raises(IndexError):
        book.set_position(A, 2, 1)
    book.set_position(A, 1, -3)
    assert book.positions(A) == [0, -3]


def test_fast_book_compacts_dead_records() -> None:
    book = OrderBook(LISTING)
    o = Orders()
    ids = [book.submit(o(A, SELL, 1000 + 10 * (k % 50), 1), NOW).order_id for k in range(10_000)]
    for oid in ids[:-10]:
        book.cancel(oid)
    assert len(book) == 10
    assert sum(len(q) for side in book._levels[0] for q in side.values()) < 5000  # compacted
    r = book.submit(o(B, BUY, 2000, 20, kind=OrderKind.IOC), NOW)
    assert [f.maker_order for f in r.fills] == sorted(ids[-10:], key=lambda i: (1000 + 10 * (i % 50), i))
    assert len(book) == 0 and book.best_ask(0) is None
