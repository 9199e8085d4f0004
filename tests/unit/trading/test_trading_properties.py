"""Properties of the matching engine on random sequences (hypothesis, derandomized): the fast book
gives exactly the reference book's reports (price-time priority), the book is never crossed, size
is conserved per order and per instrument, reduce-only never increases a position, post-only
never takes, IOC and market orders never rest, and the IOC risk plan is what the match does."""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from _trading_testlib import LISTING, NOW, A, B, C
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from offchain.trading.book import OrderBook
from offchain.trading.events import Cancel, Report, Status
from offchain.trading.orders import Order, OrderKind, Side
from offchain.trading.reference import ReferenceBook
from offchain.trading.synthetic import FlowSpec, listing_for, replay, synthetic_flow

TRADERS = (A, B, C)
FIXED = settings(derandomize=True, deadline=None, max_examples=150,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

submit_op = st.tuples(
    st.just("submit"),
    st.sampled_from((0, 1, 2)),  # trader
    st.sampled_from((0, 0, 1)),  # instrument
    st.sampled_from(Side),
    st.sampled_from((100, 99, 101, 98, 102, 97, 103)),  # price in ticks
    st.sampled_from((1, 2, 3, 4, 5, 7)),  # size
    st.sampled_from([OrderKind.LIMIT] * 4 + [OrderKind.IOC, OrderKind.MARKET, OrderKind.POST_ONLY]),
    st.sampled_from([False] * 4 + [True]),  # reduce-only
    st.sampled_from((12, 6, 3, 1)),  # lifetime
    st.sampled_from([None] * 30 + ["off_tick", "nonce_reuse", "too_big"]),
)
other_op = st.one_of(
    st.tuples(st.just("cancel"), st.integers(0, 40), st.sampled_from((None, 0, 1))),
    st.tuples(st.just("cancel_all"), st.integers(0, 2), st.sampled_from((None, 0, 1))),
    st.tuples(st.just("expire"), st.integers(0, 4)),
    st.tuples(st.just("tick"), st.integers(1, 4)),
)
ops_strategy = st.lists(
    st.sampled_from([True] * 4 + [False]).flatmap(lambda sub: submit_op if sub else other_op),
    min_size=30,
    max_size=80,
)
positions_strategy = st.lists(st.integers(-4, 4), min_size=6, max_size=6)


@dataclass
class Run:
    results: list[Any] = field(default_factory=list)
    calls: list[tuple[str, int, int, int]] = field(default_factory=list)
    resting: list[Any] = field(default_factory=list)
    positions: list[list[int]] = field(default_factory=list)


def play(book_cls: Any, ops: list[Any], start: list[int], risk: bool, check: bool) -> Run:
    """Replay ``ops`` on a fresh book; with ``check``, assert the properties along the way."""
    book = book_cls(LISTING)
    run = Run()
    for k, t in enumerate(TRADERS):
        for i in (0, 1):
            book.set_position(t, i, start[2 * k + i])
    if risk:
        def risk_check(trader: str, instrument: int, delta: int, price: int) -> str | None:
            run.calls.append((trader, instrument, delta, price))
            after = book.position(trader, instrument) + delta
            return f"position {after} beyond 6" if abs(after) > 6 or price > 1025 * (instrument + 1) else None
        book.risk_check = risk_check
    now = NOW
    nonces = [0, 0, 0]
    orders: dict[int, Order] = {}
    accepted: dict[int, int] = {}
    filled: dict[int, int] = defaultdict(int)
    cancelled: dict[int, int] = defaultdict(int)
    pos = {(t, i): start[2 * k + i] for k, t in enumerate(TRADERS) for i in (0, 1)}
    total = [sum(start[i::2]) for i in (0, 1)]

    def note_cancels(cs: list[Cancel]) -> None:
        for c in cs:
            cancelled[c.order_id] += c.size

    for op in ops:
        if op[0] == "submit":
            _, ti, inst, side, ticks, size, kind, ro, life, quirk = op
            tick = LISTING.instruments[inst].tick_size
            price = ticks * tick + (1 if quirk == "off_tick" else 0)
            if quirk != "nonce_reuse" or nonces[ti] == 0:
                nonces[ti] += 1
            order = Order(TRADERS[ti], inst, side, price, 200 if quirk == "too_big" else size, now + life,
                          nonces[ti], 1, kind, ro)
            n_calls = len(run.calls)
            rep: Report = book.submit(order, now)
            run.results.append(rep)
            if not check:
                continue
            orders[rep.order_id] = order
            assert rep.filled == sum(f.size for f in rep.fills)
            if rep.status == Status.REJECTED:
                assert rep.reason and (rep.filled, rep.resting, rep.cancelled, rep.fills, rep.cancels) == (0, 0, 0, [], [])
                continue
            accepted[rep.order_id] = order.size
            cancelled[rep.order_id] += rep.cancelled
            note_cancels(rep.cancels)
            if kind in (OrderKind.IOC, OrderKind.MARKET):
                assert rep.resting == 0 and rep.status != Status.RESTING  # IOC never rests
                if len(run.calls) > n_calls:  # the plan the risk check saw is what happened
                    _, _, delta, worst = run.calls[-1]
                    assert abs(delta) == rep.filled and rep.fills[-1].price == worst
            if kind == OrderKind.POST_ONLY:
                assert rep.fills == []  # post-only never takes
            for f in rep.fills:
                maker = orders[f.maker_order]
                assert f.price == maker.limit_price and f.taker_side == order.side and maker.side != order.side
                assert f.price <= order.limit_price if side == Side.BUY else f.price >= order.limit_price
                filled[f.maker_order] += f.size
                filled[f.taker_order] += f.size
                for who, d, o in ((f.buyer, f.size, orders[f.maker_order if f.buyer == f.maker else f.taker_order]),
                                  (f.seller, -f.size, orders[f.maker_order if f.seller == f.maker else f.taker_order])):
                    before = pos[(who, inst)]
                    pos[(who, inst)] = before + d
                    if o.reduce_only:  # never increases |position|, never flips it
                        assert abs(before + d) < abs(before) and (before + d) * before >= 0
        elif op[0] == "cancel":
            _, oid, who = op
            c = book.cancel(oid, None if who is None else TRADERS[who])
            run.results.append(c)
            if check and c is not None:
                note_cancels([c])
        elif op[0] == "cancel_all":
            cs = book.cancel_all(TRADERS[op[1]], op[2])
            run.results.append(cs)
            if check:
                note_cancels(cs)
        elif op[0] == "expire":
            cs = book.expire(now + op[1])
            run.results.append(cs)
            if check:
                note_cancels(cs)
        else:
            now += op[1]
        if check:
            for i in (0, 1):  # never crossed
                bid, ask = book.best_bid(i), book.best_ask(i)
                assert bid is None or ask is None or bid < ask
                assert sum(book.position(t, i) for t in TRADERS) == total[i]  # buys = sells
    run.resting = book.resting_orders()
    run.positions = [book.positions(t) for t in TRADERS]
    if check:
        assert {(t, i): book.position(t, i) for t in TRADERS for i in (0, 1)} == pos
        left = {o.order_id: o.remaining for o in run.resting}
        for oid, size in accepted.items():  # conservation of size per order
            assert size == filled[oid] + cancelled[oid] + left.get(oid, 0), oid
        assert all(orders[o].kind not in (OrderKind.IOC, OrderKind.MARKET) for o in left)
    return run


@FIXED
@given(ops=ops_strategy, start=positions_strategy)
def test_fast_book_equals_reference_and_keeps_the_invariants(ops: list[Any], start: list[int]) -> None:
    fast = play(OrderBook, ops, start, risk=False, check=True)
    ref = play(ReferenceBook, ops, start, risk=False, check=False)
    assert fast.results == ref.results
    assert fast.resting == ref.resting and fast.positions == ref.positions


@FIXED
@given(ops=ops_strategy, start=positions_strategy)
def test_with_a_risk_check_both_books_ask_and_decide_the_same(ops: list[Any], start: list[int]) -> None:
    fast = play(OrderBook, ops, start, risk=True, check=True)
    ref = play(ReferenceBook, ops, start, risk=True, check=False)
    assert fast.calls == ref.calls
    assert fast.results == ref.results
    assert fast.resting == ref.resting and fast.positions == ref.positions


def test_synthetic_flow_fast_equals_reference() -> None:
    for instruments in (1, 4):
        spec = FlowSpec(instruments=instruments)
        ops = synthetic_flow(4000, seed=11, spec=spec)
        listing = listing_for(spec)
        fast, ref = OrderBook(listing), ReferenceBook(listing)
        a, b = replay(fast, ops), replay(ref, ops)
        assert a == b
        assert fast.resting_orders() == ref.resting_orders()
        assert sum(len(r.fills) for r in a if isinstance(r, Report)) > 500
        statuses = {r.status for r in a if isinstance(r, Report)}
        assert statuses == set(Status)


def _random_ops(rng: random.Random, n: int) -> list[Any]:
    """A dense random sequence in the shape the hypothesis strategy draws."""
    ops: list[Any] = []
    for _ in range(n):
        u = rng.random()
        if u < 0.8:
            ops.append(("submit", rng.randrange(3), rng.choice((0, 0, 1)), rng.choice(list(Side)),
                        rng.randrange(96, 105), rng.choice((1, 2, 3, 4, 5, 7)),
                        rng.choice([OrderKind.LIMIT] * 4 + [OrderKind.IOC, OrderKind.MARKET, OrderKind.POST_ONLY]),
                        rng.random() < 0.2, rng.choice((12, 6, 3, 1)),
                        rng.choice([None] * 30 + ["off_tick", "nonce_reuse", "too_big"])))
        elif u < 0.88:
            ops.append(("cancel", rng.randrange(len(ops) + 1), rng.choice((None, 0, 1))))
        elif u < 0.91:
            ops.append(("cancel_all", rng.randrange(3), rng.choice((None, 0, 1))))
        elif u < 0.94:
            ops.append(("expire", rng.randrange(5)))
        else:
            ops.append(("tick", rng.randrange(1, 5)))
    return ops


def test_seeded_random_sequences() -> None:
    """200 fixed seeds of 150 operations each, with and without the risk check."""
    for seed in range(200):
        rng = random.Random(seed)
        ops = _random_ops(rng, 150)
        start = [rng.randrange(-4, 5) for _ in range(6)]
        risk = seed % 2 == 1
        fast = play(OrderBook, ops, start, risk=risk, check=True)
        ref = play(ReferenceBook, ops, start, risk=risk, check=False)
        assert (fast.results, fast.calls, fast.resting, fast.positions) == (
            ref.results, ref.calls, ref.resting, ref.positions), seed
