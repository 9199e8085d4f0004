"""The exchange over the operator database: a restarted exchange rebuilds the live book (same
depth, priority and reports after, on seeded random flows), the pre-trade check counts the
unsettled fills, their fees and the unsettled funding to the base unit, refusals say why, nonces
stay used across restarts, cancels and expiry are recorded, and the settler's changes reach the
book."""

from __future__ import annotations

import random
import re
from pathlib import Path
from typing import Any

import pytest
from _exchange_testlib import FEE_BPS, LISTING, NOW, Signer, World, copy_database, exchange, snapshot
from _operator_fakes import CHAIN_ID, KEYS, SETTLEMENT, TRADERS, UNIT, FakeChain, epoch

from offchain.operator import Exchange, OperatorStore, Settler
from offchain.operator.provers import MockProver
from offchain.trading.book import OrderBook
from offchain.trading.events import Status
from offchain.trading.orders import Side
from offchain.trading.risk import EpochRiskCheck
from offchain.trading.signing import sign_order
from prover.statement import KIND_IM, Account
from prover.transitions import fee_of
from zkmargin.errors import InputError

MARK = 30_000_000  # BTC-PERP's mark per lot in the fake epoch


def _flow(rng: random.Random, signer: Signer, n: int, start: int) -> list[tuple[Any, ...]]:
    """``n`` seeded operations: signed orders around the marks (every kind, reduce-only, short
    expiries, a reused nonce now and then), cancels by id or commitment, cancel-alls, sweeps."""
    ops: list[tuple[Any, ...]] = []
    now = start
    placed: list[tuple[int, int]] = []  # (trader, commitment)
    for _ in range(n):
        now += rng.randrange(0, 3)
        u = rng.random()
        if u < 0.72 or not placed:
            who = rng.randrange(4)
            inst = rng.randrange(2)
            side = rng.choice(("buy", "sell"))
            mid = (MARK, 20_000_000)[inst]
            offset = rng.randrange(-4, 8) * (1 if side == "sell" else -1)
            kind = rng.choice(["limit"] * 6 + ["ioc", "market", "post_only"])
            price = (0 if side == "sell" else 10**12) if kind == "market" else mid + 1_000 * offset
            nonce = signer.nonces[who] if rng.random() < 0.04 and signer.nonces[who] else None
            order, sig = signer(who, side, price, rng.randrange(1, 6), instrument=inst, kind=kind,
                                reduce_only=rng.random() < 0.08, expiry=now + rng.randrange(2, 120), nonce=nonce)
            ops.append(("place", order, sig, now))
            placed.append((who, signer.commitments[order]))
        elif u < 0.9:
            who, c = rng.choice(placed[-12:])
            ops.append(("cancel", who, c, now))
        elif u < 0.95:
            ops.append(("cancel_all", rng.randrange(4), now))
        else:
            ops.append(("expire", now))
    return ops


def _run(ex: Exchange, ops: list[tuple[Any, ...]]) -> list[Any]:
    out: list[Any] = []
    for op in ops:
        try:
            if op[0] == "place":
                out.append(ex.place(op[1], op[2], op[3]))
            elif op[0] == "cancel":
                out.append(ex.cancel(TRADERS[op[1]], op[2], op[3]))
            elif op[0] == "cancel_all":
                out.append(ex.cancel_all(TRADERS[op[1]], op[2]))
            else:
                out.append(ex.expire(op[1]))
        except InputError as exc:
            out.append(("error", exc.field, exc.problem))
    return out


def _rows(store: OperatorStore) -> tuple[Any, ...]:
    orders = [(o.commitment, o.book_id, o.status, o.reason) for o in store.orders()]
    return sorted(orders), store.fills()


@pytest.mark.parametrize("seed", [1, 2])
def test_a_restarted_exchange_equals_the_live_one(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    world = World()
    world.balances[TRADERS[3]] = 15 * UNIT  # a small account: the pre-trade check refuses some of its orders
    signer = Signer()
    head = _flow(rng, signer, 70, NOW)
    tail = _flow(rng, signer, 45, head[-1][-1])
    live = exchange(tmp_path / "live.sqlite", world)
    done = _run(live, head)
    copy_database(tmp_path / "live.sqlite", tmp_path / "restarted.sqlite")
    again = exchange(tmp_path / "restarted.sqlite", world, now=head[-1][-1])
    live.expire(head[-1][-1])  # the restart swept the expired orders; so does the live one
    assert snapshot(again) == snapshot(live)
    assert len(live.book) >= 5
    assert _run(again, tail) == _run(live, tail)
    assert snapshot(again) == snapshot(live)
    assert _rows(again.store) == _rows(live.store)
    reports = [r for r in done if hasattr(r, "status")]
    statuses = {r.status for r in reports}
    assert {Status.RESTING, Status.FILLED, Status.REJECTED} <= statuses
    assert any(r.reason and r.reason.startswith("risk: initial margin") for r in reports)
    assert any(r.reason and r.reason.startswith("nonce:") for r in reports)
    assert len(live.store.fills()) >= 10


def test_the_pre_trade_check_counts_unsettled_fills_fees_and_funding(tmp_path: Path) -> None:
    world = World(epoch=epoch(2, funding=[1_500, -700]))
    store = OperatorStore(tmp_path / "op.sqlite", seed=3)
    store.record_epoch(epoch(1, funding=[1_000, -200]))
    alice = TRADERS[0]
    cash0 = -(4 * MARK - 3 * 20_000_000) - 5_000_000  # 5 USD under water at the marks before collateral
    opening = Account.create([4, -3], cash0, 99)
    store.record_transition(alice, 1, [("takeover", [4, -3], cash0)], opening)
    store.close()
    ex = exchange(tmp_path / "op.sqlite", world)
    signer = Signer()
    for who, side, price, size in ((1, "sell", MARK, 2), (2, "buy", MARK - 3_000, 1)):
        ex.place(*signer(who, side, price, size), NOW)
    for side, price, size in (("buy", MARK, 2), ("sell", MARK - 3_000, 1)):  # alice takes both
        assert ex.place(*signer(0, side, price, size, kind="ioc"), NOW).status == Status.FILLED
    state = ex.trader_state(alice)
    unsettled = 4 * (1_500 - 1_000) + (-3) * (-700 + 200)
    assert unsettled == ex.current_epoch().figures(KIND_IM, [4, -3], cash0, 0,  # type: ignore[union-attr]
                                                   settled=[1_000, -200]).unsettled_funding
    fees = fee_of(MARK, 2, FEE_BPS) + fee_of(MARK - 3_000, 1, FEE_BPS)
    flow = -2 * MARK + (MARK - 3_000)
    assert state.q == (5, -3) and state.opening_q == (4, -3) and state.unsettled_fills == 2
    assert (state.unsettled_funding, state.fees, state.fill_cash) == (unsettled, fees, flow)
    assert state.cash == cash0 - unsettled + flow - fees
    # the balance that makes a 3-lot buy exactly meet IM: one unit less and it is refused
    probe = EpochRiskCheck(OrderBook(LISTING), ex.current_epoch(), fee_bps=FEE_BPS)  # type: ignore[arg-type]
    probe.set_account(alice, q=state.q, cash=state.cash, collateral=0)
    fig = probe.figures(alice, [(0, 3, MARK)])
    edge = fig.im_requirement - fig.equity
    assert edge > 0
    world.balances[alice] = edge - 1
    rep = ex.place(*signer(0, "buy", MARK, 3), NOW)
    assert rep.status == Status.REJECTED and rep.reason is not None
    assert rep.reason.startswith(f"risk: initial margin: equity {fig.equity + edge - 1} would be below the "
                                 f"requirement {fig.im_requirement} (IM factor 15000 bps)")
    assert rep.reason.endswith(f"; the account: collateral {edge - 1}, cash {state.cash} = opening cash {cash0} "
                               f"- unsettled funding {unsettled} + 2 unsettled fills ({flow} cash, {fees} fees)")
    world.balances[alice] = edge
    assert ex.place(*signer(0, "buy", MARK, 3), NOW).status == Status.RESTING


def test_refusals_name_their_reason_and_nonces_stay_used_across_a_restart(tmp_path: Path) -> None:
    world = World(epoch=None)
    ex = exchange(tmp_path / "op.sqlite", world)
    signer = Signer()
    order, sig = signer(0, "buy", MARK, 1)
    rep = ex.place(order, sig, NOW)
    assert rep.reason == "risk: no risk epoch has been posted yet (the pre-trade check needs one)"
    assert ex.store.order(order.commitment()).status == "rejected"
    world.epoch = epoch(1)
    assert ex.place(order, sig, NOW).status == Status.RESTING  # the same signed order, now accepted
    assert ex.store.order(order.commitment()).status == "open"
    other, _ = signer(1, "sell", MARK + 1_000, 1)
    with pytest.raises(InputError) as err:  # trader 1's order signed by trader 0's key
        ex.place(other, sign_order(order, KEYS[0], CHAIN_ID, SETTLEMENT), NOW)
    assert err.value.field == "signature"
    assert [o.commitment for o in ex.store.orders()] == [order.commitment()]
    off_tick, off_sig = signer(1, "sell", MARK + 500, 1)
    assert ex.place(off_tick, off_sig, NOW).reason == (
        f"limit_price: {MARK + 500} is not a multiple of the tick size 1000 of BTC-PERP")
    reused, reused_sig = signer(1, "sell", MARK + 2_000, 1, nonce=off_tick.nonce)  # the rejected order's nonce is free
    assert ex.place(reused, reused_sig, NOW).status == Status.RESTING
    ex.store.close()
    ex = exchange(tmp_path / "op.sqlite", world)
    for who, nonce in ((0, order.nonce), (1, reused.nonce)):
        o, s = signer(who, "buy", MARK - 10_000, 1, nonce=nonce)
        assert ex.place(o, s, NOW).reason == f"nonce: {nonce} was already used by {TRADERS[who].lower()}"
    assert ex.place(order, sig, NOW).status == Status.REJECTED  # a replay of the open order...
    assert ex.store.order(order.commitment()).status == "open"  # ...leaves it as it was
    assert len(ex.book) == 2


def test_cancels_and_expiry_are_recorded_and_survive_a_restart(tmp_path: Path) -> None:
    world = World()
    ex = exchange(tmp_path / "op.sqlite", world)
    signer = Signer()
    a1 = signer(0, "buy", MARK - 1_000, 2)
    a2 = signer(0, "buy", MARK - 2_000, 2, expiry=NOW + 50)
    a3 = signer(0, "sell", MARK + 5_000, 2, instrument=1)
    b1 = signer(1, "sell", MARK + 1_000, 4)
    ids = [ex.place(*o, NOW).order_id for o in (a1, a2, a3, b1)]
    assert ex.cancel(TRADERS[0], ids[0], NOW).size == 2  # by book id
    assert ex.store.order(a1[0].commitment()).status == "cancelled"
    for trader, ref, says in ((TRADERS[1], a3[0].commitment(), "is not"),
                              (TRADERS[0], a1[0].commitment(), "is not resting: cancelled (cancelled)"),
                              (TRADERS[0], 424242, "is neither a resting order's id")):
        with pytest.raises(InputError, match=re.escape(says)) as err:
            ex.cancel(trader, ref, NOW)
        assert err.value.field == "order"
    ex.place(*signer(2, "buy", MARK + 1_000, 4, kind="ioc"), NOW)  # fills b1 in full
    with pytest.raises(InputError, match=r"is not resting: matched in full \(4 lots waiting to settle, 0 settled\)"):
        ex.cancel(TRADERS[1], b1[0].commitment(), NOW)
    views = {v.commitment: v for v in ex.orders(TRADERS[1])}
    assert (views[b1[0].commitment()].matched, views[b1[0].commitment()].resting) == (4, 0)
    ex.store.close()
    ex = exchange(tmp_path / "op.sqlite", world, now=NOW + 60)  # a2 expired while the exchange was down
    assert ex.store.order(a2[0].commitment()).status == "cancelled"
    assert ex.store.order(a2[0].commitment()).reason == "expired"
    assert [o.order_id for o in ex.book.resting_orders()] == [ids[2]]
    assert ex.cancel(TRADERS[0], a3[0].commitment(), NOW + 60).instrument == 1  # by commitment
    c = signer(0, "buy", MARK - 5_000, 1)
    ex.place(*c, NOW + 60)
    assert [x.size for x in ex.cancel_all(TRADERS[0])] == [1]
    assert ex.store.order(c[0].commitment()).status == "cancelled" and len(ex.book) == 0


def test_the_settlers_changes_reach_the_book(tmp_path: Path) -> None:
    world = World()
    chain = FakeChain()
    chain.post(epoch(1))
    chain.balances = world.balances  # one set of vault balances
    ex = exchange(tmp_path / "op.sqlite", world)
    signer = Signer()
    bid = signer(0, "buy", MARK, 5)
    ex.place(*bid, NOW)
    ex.place(*signer(1, "sell", MARK, 2), NOW)
    assert ex.book.depth(0, Side.BUY) == [(MARK, 3)]
    world.balances[TRADERS[1]] = 0  # the seller's collateral left before settlement: its fill is refused
    settler_store = OperatorStore(tmp_path / "op.sqlite")
    Settler(settler_store, chain, MockProver(chain.allow_statement), slots=4).run_until_idle()
    (fill,) = settler_store.fills()
    assert fill.status == "rejected"
    ex.expire(NOW)  # any call notices the database moved and rebuilds
    fresh = exchange(tmp_path / "op.sqlite", world)
    assert snapshot(ex) == snapshot(fresh)
    assert ex.book.depth(0, Side.BUY) == [(MARK, 5)]  # the refused fill's lots are the bid's again
    assert ex.trader_state(TRADERS[0]).q == (0, 0)
