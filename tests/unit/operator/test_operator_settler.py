"""The settler against an in-memory chain: batch limits, partial fills, refusals, crash recovery
from every persisted point, epoch changes, reverts; and random runs where every account's opening
must equal its replayed history and the chain's commitment."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from _operator_fakes import TRADERS, UNIT, Crash, FakeChain, Orders, epoch, trade
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from offchain.operator import OperatorStore, Settler
from offchain.operator.errors import SettlerError
from offchain.operator.provers import MockProver
from offchain.operator.settler import STAGES
from offchain.trading.orders import Side
from prover.transitions import order_state

BTC, ETH = 0, 1
P_BTC, P_ETH = 30_000_000, 20_000_000


def setup(tmp_path: Path, seed: int = 5, balance: int = 10_000 * UNIT) -> tuple[OperatorStore, FakeChain, Orders]:
    store = OperatorStore(tmp_path / "op.sqlite", seed=seed)
    chain = FakeChain()
    chain.post(epoch(1))
    for t in TRADERS:
        chain.balances[t] = balance
    return store, chain, Orders(store)


def settler(store: OperatorStore, chain: FakeChain, slots: int = 4, **kw: object) -> Settler:
    return Settler(store, chain, MockProver(chain.allow_statement), slots=slots, **kw)  # type: ignore[arg-type]


def crash_at(stage: str, occurrence: int = 1):  # type: ignore[no-untyped-def]
    seen = Counter[str]()

    def hook(reached: str, batch_id: int) -> None:
        seen[reached] += 1
        if reached == stage and seen[reached] == occurrence:
            raise Crash(f"{stage} #{occurrence}")

    return hook


def check_consistent(store: OperatorStore, chain: FakeChain) -> None:
    """Nothing lost, nothing twice: every fill settled (or rejected) once, every settled batch is
    on chain once, and every account's opening is its history and its on-chain commitment."""
    fills = store.fills()
    assert {f.status for f in fills} <= {"settled", "rejected"}
    confirmed = store.batches("confirmed")
    in_batches = Counter(fid for b in confirmed for fid in b.payload.fill_ids)
    assert in_batches == Counter(f.id for f in fills if f.status == "settled")
    tables = [e[2] for e in chain.events if e[0] == "BatchSettled"]
    assert len(tables) == len(set(tables)) == len(confirmed)
    assert set(tables) == {b.fill_table for b in confirmed}
    for rec in store.accounts():
        assert chain.commitment_of(rec.address) == rec.commitment
        replayed = store.replay(rec.address)
        if rec.opening is None:
            assert replayed is None
        else:
            assert replayed is not None and (tuple(replayed.q), replayed.cash, replayed.salt) == (
                rec.opening.q, rec.opening.cash, rec.opening.salt)
    for o in store.orders():
        assert chain.order_state(o.commitment) == o.state
        settled = sum(f.size for f in fills if f.status == "settled" and o.commitment in (f.buy_order, f.sell_order))
        assert o.filled == settled


def test_a_batch_takes_at_most_16_fills_and_an_order_fills_across_batches(tmp_path: Path) -> None:
    store, chain, orders = setup(tmp_path)
    buy = orders(0, BTC, Side.BUY, P_BTC, 20)
    sell = orders(1, BTC, Side.SELL, P_BTC, 20)
    for _ in range(20):
        store.add_fill(BTC, P_BTC, 1, buy, sell)
    s = settler(store, chain, slots=16)
    first = s.step()
    assert len(first.confirmed) == 1
    b1 = store.batch(first.confirmed[0])
    assert len(b1.payload.fill_ids) == 16 and b1.payload.slots == 16
    rec = store.order(buy)
    assert rec.filled == 16 and chain.order_state(buy) == order_state(buy, 16, rec.state_salt) != 0
    s.run_until_idle()
    b2 = store.batches("confirmed")[1]
    assert len(b2.payload.fill_ids) == 4
    (party,) = [p for p in b2.payload.parties if p.address == TRADERS[0]]
    assert party.orders[0].filled_before == 16 and party.orders[0].r_before == rec.state_salt  # the state batch 1 left
    assert store.order(buy).filled == 20 and store.order(buy).status == "filled"
    assert store.account(TRADERS[0]).opening.q == (20, 0)  # type: ignore[union-attr]
    check_consistent(store, chain)


def test_an_account_brings_at_most_two_orders_and_its_fills_keep_their_order(tmp_path: Path) -> None:
    store, chain, orders = setup(tmp_path)
    big = orders(1, BTC, Side.SELL, P_BTC, 10)
    mine = [orders(0, BTC, Side.BUY, P_BTC, 1) for _ in range(3)]
    ids = [store.add_fill(BTC, P_BTC, 1, o, big) for o in mine]
    other = store.add_fill(ETH, P_ETH, 1, orders(2, ETH, Side.BUY, P_ETH, 1), orders(3, ETH, Side.SELL, P_ETH, 1))
    later = store.add_fill(BTC, P_BTC, 1, orders(4, BTC, Side.BUY, P_BTC, 1), big)  # account 1 again: after ids[2]
    settler(store, chain, slots=16).run_until_idle()
    batches = store.batches("confirmed")
    assert [list(b.payload.fill_ids) for b in batches] == [[ids[0], ids[1], other], [ids[2], later]]
    for b in batches:
        assert all(len(p.orders) <= 2 for p in b.payload.parties)
    check_consistent(store, chain)


def test_a_refused_fill_is_rejected_with_its_reason_and_blocks_nothing(tmp_path: Path) -> None:
    store, chain, orders = setup(tmp_path)
    chain.balances[TRADERS[5]] = 0  # no collateral: any position it takes is below initial margin
    ok1, _, _ = trade(store, orders, 0, 1, BTC, P_BTC, 2)
    bad, bad_buy, _ = trade(store, orders, 5, 2, BTC, P_BTC, 3)
    ok2, _, _ = trade(store, orders, 2, 3, ETH, P_ETH, 1)
    s = settler(store, chain)
    rep = s.step()
    assert [r.fill_id for r in rep.rejected] == [bad]
    assert rep.rejected[0].reason.startswith(f"{TRADERS[5]}: new state: below initial margin")
    assert store.fill(bad).status == "rejected" and "below initial margin" in (store.fill(bad).reason or "")
    assert store.order(bad_buy).status == "cancelled" and f"refused fill {bad}" in (store.order(bad_buy).reason or "")
    assert [list(b.payload.fill_ids) for b in store.batches("confirmed")] == [[ok1, ok2]]
    assert s.step().idle
    assert TRADERS[5] not in chain.commitments
    check_consistent(store, chain)


@pytest.mark.parametrize("stage", STAGES)
def test_a_crash_at_any_stage_loses_nothing_and_settles_nothing_twice(tmp_path: Path, stage: str) -> None:
    store, chain, orders = setup(tmp_path)
    trade(store, orders, 0, 1, BTC, P_BTC, 2)
    trade(store, orders, 1, 2, ETH, P_ETH, 1)
    with pytest.raises(Crash):
        settler(store, chain, on_stage=crash_at(stage)).run_until_idle()
    store.close()
    reopened = OperatorStore(tmp_path / "op.sqlite")
    reports = settler(reopened, chain).run_until_idle()
    sent_before = stage in ("sent", "submitted", "confirmed")
    assert chain.submits == 1  # the batch went to the chain exactly once, before or after the crash
    assert reports[0].confirmed == ([] if stage == "confirmed" else [1]) and not reports[0].abandoned
    assert sent_before or reports[0].submitted == [1]
    check_consistent(reopened, chain)


def test_a_crash_after_the_transaction_was_mined_confirms_from_the_payload(tmp_path: Path) -> None:
    store, chain, orders = setup(tmp_path)
    trade(store, orders, 0, 1, BTC, P_BTC, 2)
    chain.crash_after_send = True  # mined, then the process died before it saw the receipt
    with pytest.raises(Crash):
        settler(store, chain).step()
    assert store.batch(1).status == "proved" and chain.tables == {store.batch(1).fill_table}
    settler(OperatorStore(tmp_path / "op.sqlite"), chain).run_until_idle()
    assert chain.submits == 1 and store.batch(1).status == "confirmed" and store.batch(1).tx_hash is None
    check_consistent(store, chain)


def test_an_epoch_change_abandons_the_batch_and_reprepares_it_with_the_new_funding(tmp_path: Path) -> None:
    store, chain, orders = setup(tmp_path)
    trade(store, orders, 0, 1, BTC, P_BTC, 4)  # epoch 1: account 0 long 4, account 1 short 4
    settler(store, chain).run_until_idle()
    fid, _, _ = trade(store, orders, 1, 0, BTC, P_BTC, 1)
    with pytest.raises(Crash):
        settler(store, chain, on_stage=crash_at("proved")).step()
    chain.post(epoch(2, funding=[7_000, -3_000]))  # longs pay 7000 per lot of BTC-PERP
    rep = settler(store, chain).step()
    assert rep.abandoned == [(2, "its epoch 1 is no longer the current one (2)")]
    assert rep.confirmed == [3] and store.batch(2).status == "abandoned"
    new = store.batch(3).payload
    assert new.epoch_id == 2 and list(new.fill_ids) == [fid]
    paid = {r.address: r.funding_paid for r in new.results}
    assert paid == {TRADERS[0]: 4 * 7_000, TRADERS[1]: -4 * 7_000}
    funding = [h for h in store.history(TRADERS[0]) if h.kind == "funding"]
    assert [(h.epoch_id, h.dc) for h in funding] == [(2, -28_000)]
    assert store.account(TRADERS[0]).settled_epoch == 2  # type: ignore[union-attr]
    check_consistent(store, chain)


def test_a_batch_whose_account_moved_is_abandoned_and_the_account_waits(tmp_path: Path) -> None:
    store, chain, orders = setup(tmp_path)
    fid, _, _ = trade(store, orders, 0, 1, BTC, P_BTC, 1)
    with pytest.raises(Crash):
        settler(store, chain, on_stage=crash_at("prepared")).step()
    chain.commitments[TRADERS[1]] = 12345  # a transition the store never recorded
    rep = settler(store, chain).step()
    assert rep.abandoned == [(1, f"{TRADERS[1]}'s commitment moved on chain")]
    assert "not the store's" in rep.deferred[TRADERS[1]] and rep.idle is False
    assert store.fill(fid).status == "pending" and settler(store, chain).step().idle
    assert chain.submits == 0


def test_a_refused_submission_is_retried_then_its_fills_rejected(tmp_path: Path) -> None:
    store, chain, orders = setup(tmp_path)
    fid, _, _ = trade(store, orders, 0, 1, BTC, P_BTC, 1)
    chain.refuse = ["Guard_Paused()"]
    reports = settler(store, chain).run_until_idle()
    assert reports[0].abandoned == [(1, "Guard_Paused()")] and store.fill(fid).status == "settled"
    assert store.fill(fid).attempts == 1 and chain.submits == 2
    fid2, _, _ = trade(store, orders, 2, 3, ETH, P_ETH, 1)
    chain.refuse = ["Guard_Paused()"] * 3
    reports = settler(store, chain, max_attempts=3).run_until_idle()
    assert store.fill(fid2).status == "rejected"
    assert store.fill(fid2).reason == "its batches failed 3 times; the last: Guard_Paused()"
    assert sum(len(r.failed) for r in reports) == 1
    check_consistent(store, chain)


def test_the_settler_refuses_a_fee_rate_that_is_not_the_chains(tmp_path: Path) -> None:
    store, chain, orders = setup(tmp_path)
    trade(store, orders, 0, 1, BTC, P_BTC, 1)
    with pytest.raises(SettlerError, match="the settlement's fee is 5 bps, the settler was started with 7"):
        settler(store, chain, fee_bps=7).step()
    with pytest.raises(SettlerError, match="max_fills"):
        settler(store, chain, max_fills=5)


def test_the_same_seed_and_inputs_give_the_same_batches(tmp_path: Path) -> None:
    runs = []
    for k in range(2):
        store, chain, orders = setup(tmp_path / str(k), seed=99)
        trade(store, orders, 0, 1, BTC, P_BTC, 2)
        trade(store, orders, 2, 0, ETH, P_ETH, 1)
        settler(store, chain).run_until_idle()
        runs.append([(b.fill_table, [r.commitment_new for r in b.payload.results]) for b in store.batches()])
    assert runs[0] == runs[1]


# --- random runs ----------------------------------------------------------------------------------
ROUND = st.tuples(
    st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3), st.integers(0, 1), st.integers(-2, 2), st.integers(1, 4)),
             min_size=1, max_size=5),
    st.sampled_from((None, *STAGES)),  # where the settler dies in this round
    st.booleans(),  # a new epoch (with funding) before the restart
)


@settings(derandomize=True, deadline=None, max_examples=6, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rounds=st.lists(ROUND, min_size=1, max_size=3))
def test_random_runs_keep_every_opening_equal_to_its_history_and_the_chain(tmp_path_factory: pytest.TempPathFactory,
                                                                           rounds: list) -> None:  # type: ignore[type-arg]
    tmp = tmp_path_factory.mktemp("run")
    store, chain, orders = setup(tmp, balance=2_000 * UNIT)
    chain.balances[TRADERS[3]] = 6 * UNIT  # thin: some of its fills break initial margin
    funding = [0, 0]
    for fills, stage, new_epoch in rounds:
        for buyer, seller, instrument, ticks, size in fills:
            if buyer == seller:
                continue
            price = (P_BTC, P_ETH)[instrument] + ticks * 500_000
            trade(store, orders, buyer, seller, instrument, price, size)
        if stage is not None:
            try:
                settler(store, chain, on_stage=crash_at(stage)).run_until_idle()
            except Crash:
                pass
        if new_epoch:
            funding = [funding[0] + 9_000, funding[1] - 4_000]
            chain.post(epoch(chain.current + 1, funding=funding))
        settler(OperatorStore(tmp / "op.sqlite"), chain).run_until_idle()
        check_consistent(store, chain)
