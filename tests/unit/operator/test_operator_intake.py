"""The book-to-store recorder, the provers and the settler's process loop."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

import pytest
from _operator_fakes import CHAIN_ID, KEYS, SETTLEMENT, TRADERS, UNIT, FakeChain, epoch

from offchain.operator import BookRecorder, OperatorStore, Settler
from offchain.operator.errors import ProverUnavailable
from offchain.operator.provers import MockProver, real_prover, select_prover
from offchain.operator.runner import CRASH_ENV, StopFlag, crash_hook, parse_crash_at, run_settler
from offchain.trading.book import OrderBook
from offchain.trading.events import Status
from offchain.trading.listing import InstrumentSpec, ListingSpec
from offchain.trading.orders import Order
from offchain.trading.signing import sign_order
from prover.transitions import apply_transition
from zkmargin.errors import InputError

LISTING = ListingSpec(instruments=[InstrumentSpec(symbol="BTC-PERP", tick_size=1_000),
                                   InstrumentSpec(symbol="ETH-PERP", tick_size=1_000)])
NOW = 1_700_000_000


class Traders:
    def __init__(self) -> None:
        self.nonce = 0

    def order(self, who: int, side: str, price: int, size: int, kind: str = "limit", instrument: int = 0) -> Order:
        self.nonce += 1
        return Order.create(trader=TRADERS[who], instrument=instrument, side=side, limit_price=price, size=size,
                            expiry=NOW + 3_600, nonce=self.nonce, salt=500 + self.nonce, kind=kind)


def submit(rec: BookRecorder, who: int, order: Order) -> object:
    return rec.submit(order, sign_order(order, KEYS[who], CHAIN_ID, SETTLEMENT), NOW)


def test_the_recorder_stores_orders_fills_and_the_books_verdicts(tmp_path: Path) -> None:
    store = OperatorStore(tmp_path / "op.sqlite", seed=1)
    rec = BookRecorder(store, OrderBook(LISTING), CHAIN_ID, SETTLEMENT)
    t = Traders()
    ask1, ask2 = t.order(1, "sell", 30_000_000, 2), t.order(2, "sell", 30_001_000, 5)
    submit(rec, 1, ask1)
    submit(rec, 2, ask2)
    bid = t.order(0, "buy", 30_001_000, 4, kind="ioc")
    report = submit(rec, 0, bid)
    assert report.status == Status.FILLED  # type: ignore[attr-defined]
    fills = store.fills()
    assert [(f.price, f.size, f.buyer, f.seller) for f in fills] == [
        (30_000_000, 2, TRADERS[0], TRADERS[1]), (30_001_000, 2, TRADERS[0], TRADERS[2])]
    assert [(f.buy_order, f.sell_order) for f in fills] == [
        (bid.commitment(), ask1.commitment()), (bid.commitment(), ask2.commitment())]
    assert [f.book_seq for f in fills] == [0, 1] and {f.status for f in fills} == {"pending"}
    post = Order.create(trader=TRADERS[3], instrument=0, side="buy", limit_price=30_001_000, size=1, expiry=NOW + 60,
                        nonce=1, salt=3, kind="post_only")
    assert submit(rec, 3, post).status == Status.REJECTED  # type: ignore[attr-defined]
    assert store.order(post.commitment()).status == "rejected"
    ioc = t.order(3, "buy", 29_000_000, 1, kind="ioc")
    submit(rec, 3, ioc)
    assert store.order(ioc.commitment()).status == "cancelled"
    assert rec.cancel(1) is True and store.order(ask2.commitment()).status == "cancelled"
    assert rec.cancel(1) is False
    forged = t.order(4, "buy", 1_000, 1)
    with pytest.raises(InputError, match="signature"):
        rec.submit(forged, sign_order(t.order(5, "buy", 1_000, 1), KEYS[5], CHAIN_ID, SETTLEMENT), NOW)
    assert store.orders(TRADERS[4]) == []


def test_recorded_book_fills_settle(tmp_path: Path) -> None:
    store = OperatorStore(tmp_path / "op.sqlite", seed=1)
    chain = FakeChain()
    chain.post(epoch(1))
    for a in TRADERS:
        chain.balances[a] = 5_000 * UNIT
    rec = BookRecorder(store, OrderBook(LISTING), CHAIN_ID, SETTLEMENT)
    t = Traders()
    for who, side, price, size in [(1, "sell", 30_000_000, 3), (2, "sell", 30_002_000, 3), (0, "buy", 30_002_000, 5),
                                   (3, "buy", 29_990_000, 2), (1, "sell", 29_990_000, 2)]:
        submit(rec, who, t.order(who, side, price, size))
    assert len(store.fills()) == 3
    Settler(store, chain, MockProver(chain.allow_statement), slots=4).run_until_idle()
    assert {f.status for f in store.fills()} == {"settled"}
    assert {a.address: tuple(a.q) for a in store.openings()} == {
        TRADERS[0]: (5, 0), TRADERS[1]: (-5, 0), TRADERS[2]: (-2, 0), TRADERS[3]: (2, 0)}
    for a in store.openings():
        assert chain.commitments[a.address] == a.commitment()


def test_the_mock_prover_allows_exactly_the_statements_the_reference_holds(tmp_path: Path) -> None:
    store = OperatorStore(tmp_path / "op.sqlite", seed=1)
    chain = FakeChain()
    chain.post(epoch(1))
    allowed: list[list[int]] = []

    def allow(xs: Sequence[int]) -> None:
        allowed.append(list(xs))
        chain.allow_statement(xs)

    prover = MockProver(allow)
    for a in TRADERS:
        chain.balances[a] = 5_000 * UNIT
    rec = BookRecorder(store, OrderBook(LISTING), CHAIN_ID, SETTLEMENT)
    t = Traders()
    submit(rec, 1, t.order(1, "sell", 30_000_000, 3))
    submit(rec, 0, t.order(0, "buy", 30_000_000, 3))
    captured: list[object] = []

    def spy(requests: list) -> list[list[int]]:  # type: ignore[type-arg]
        captured.extend(requests)
        return prover(requests)

    Settler(store, chain, spy, slots=4).run_until_idle()
    assert len(captured) == 2 and allowed == [apply_transition(r).public for r in captured]  # type: ignore[arg-type]
    assert {f.status for f in store.fills()} == {"settled"} and prover([]) == []


def test_the_real_prover_fails_clearly_when_it_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "prover.transition_api", None)  # an import of it raises ImportError
    with pytest.raises(ProverUnavailable, match="prover.transition_api.prove_transitions"):
        real_prover()
    empty = ModuleType("prover.transition_api")
    monkeypatch.setitem(sys.modules, "prover.transition_api", empty)
    with pytest.raises(ProverUnavailable, match="has no prove_transitions"):
        select_prover("real", print)

    def prove_transitions(requests: list) -> list[list[int]]:  # type: ignore[type-arg]
        return [[1] * 8 for _ in requests]

    empty.prove_transitions = prove_transitions  # type: ignore[attr-defined]
    assert select_prover("real", print) is prove_transitions
    with pytest.raises(InputError) as err:
        select_prover("fast", print)
    assert err.value.field == "prover"


def test_crash_points_parse_and_count() -> None:
    assert parse_crash_at("submitted:2") == ("submitted", 2)
    for bad in ("submitted", "nowhere:1", "proved:0", "proved:x", ""):
        if bad:
            with pytest.raises(InputError) as err:
                parse_crash_at(bad)
            assert err.value.field == CRASH_ENV
    assert crash_hook(None) is None and crash_hook("") is None


def test_the_loop_stops_on_sigterm_after_the_step_in_progress(tmp_path: Path) -> None:
    store = OperatorStore(tmp_path / "op.sqlite", seed=1)
    chain = FakeChain()
    chain.post(epoch(1))
    previous = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    stop = StopFlag().install()
    lines: list[str] = []
    steps = [0]
    s = Settler(store, chain, MockProver(chain.allow_statement), slots=4)
    real_step = s.step

    def step():  # type: ignore[no-untyped-def]
        steps[0] += 1
        if steps[0] == 3:
            os.kill(os.getpid(), signal.SIGTERM)  # arrives while a step runs: that step finishes
        return real_step()

    s.step = step  # type: ignore[method-assign]
    try:
        assert run_settler(s, follow=True, poll_seconds=0.01, stop=stop, echo=lines.append) == 0
    finally:
        signal.signal(signal.SIGTERM, previous[0])
        signal.signal(signal.SIGINT, previous[1])
    assert steps[0] == 3 and lines == ["stopped"]
    assert run_settler(s, follow=False, poll_seconds=0.01, stop=StopFlag(), echo=lines.append) == 0
    assert lines[-1] == "idle"
