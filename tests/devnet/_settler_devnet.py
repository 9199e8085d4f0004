"""Shared pieces of the settler's devnet tests: signed book orders from test accounts recorded in an
operator database, the deployment file the settler processes attach through, and the checks that
the chain and the database agree (every fill settled once, every commitment the store's)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
from conftest import MARKS

from offchain.operator import BookRecorder, OperatorStore
from offchain.trading.book import OrderBook
from offchain.trading.listing import InstrumentSpec, ListingSpec
from offchain.trading.orders import Order, Side
from offchain.trading.signing import sign_order

TICK = 10_000  # 0.01 USD per lot
LISTING = ListingSpec(instruments=[InstrumentSpec(symbol="BTC-PERP", tick_size=TICK, max_size=1_000),
                                   InstrumentSpec(symbol="ETH-PERP", tick_size=TICK, max_size=1_000)])


def write_deployment(state_dir: Path, d: Any) -> None:
    """The fields of ``deployment.json`` the settler reads (Protocol.save writes more)."""
    state_dir.mkdir(parents=True, exist_ok=True)
    (state_dir / "deployment.json").write_text(json.dumps({
        "version": 1, "chain_id": d.chain_id, "owner": str(d.owner.address), "contracts": d.addresses(),
        "verifier_type": "MockVerifier"}))


def random_orders(store: OperatorStore, d: Any, users: list[Any], rng: np.random.Generator, count: int,
                  now: int, min_fills: int = 3) -> BookRecorder:
    """``count`` signed orders of ``users`` around the marks (about half willing to cross, sizes
    1-4 lots), more until the book made ``min_fills`` fills, through an order book whose fills are
    recorded in ``store``."""
    rec = BookRecorder(store, OrderBook(LISTING), d.chain_id, str(d.settlement.address))
    nonce = int(rng.integers(1, 2**32))
    submitted = 0
    while submitted < count or len(store.fills()) < min_fills:
        submitted += 1
        who = users[int(rng.integers(0, len(users)))]
        i = int(rng.integers(0, 2))
        side = Side(int(rng.integers(0, 2)))
        ticks = int(rng.integers(-2, 4))  # positive: willing to cross
        price = MARKS[i] + (ticks if side == Side.BUY else -ticks) * TICK
        nonce += 1
        order = Order.create(trader=str(who.address), instrument=i, side=side, limit_price=price,
                             size=int(rng.integers(1, 5)), expiry=now + 86_400, nonce=nonce,
                             salt=int(rng.integers(1, 2**62)))
        rec.submit(order, sign_order(order, who.private_key, d.chain_id, str(d.settlement.address)), now)
    return rec


def check_chain_matches_store(store: OperatorStore, d: Any, first_block: int, head: int) -> dict[str, int]:
    """No fill lost, none settled twice, every commitment and order state as the store says;
    returns counts for the report."""
    fills = store.fills()
    assert {f.status for f in fills} <= {"settled", "rejected"}, [(f.id, f.status) for f in fills]
    assert store.live_batches() == []
    confirmed = store.batches("confirmed")
    per_fill = Counter(fid for b in confirmed for fid in b.payload.fill_ids)
    assert per_fill == Counter(f.id for f in fills if f.status == "settled")  # each settled fill in one batch
    settled = [int(e.fillTable) for e in d.settlement.BatchSettled.range(first_block, head + 1)]
    assert Counter(settled) == Counter(b.fill_table for b in confirmed)  # each batch once on chain, none unknown
    order_events = Counter(int(e.order) for e in d.settlement.OrderFilled.range(first_block, head + 1))
    used = Counter(o for b in confirmed for r in b.payload.results for o, *_ in r.orders)
    assert order_events == used
    for rec in store.accounts():
        assert int(d.accounts.commitmentOf(rec.address)) == rec.commitment, rec.address
        replayed = store.replay(rec.address)
        if rec.opening is None:
            assert replayed is None
        else:
            assert replayed is not None and (tuple(replayed.q), replayed.cash, replayed.salt) == (
                rec.opening.q, rec.opening.cash, rec.opening.salt)
    for o in store.orders():
        assert int(d.settlement.orderState(o.commitment)) == o.state
    return {"fills": len(fills), "settled": sum(per_fill.values()), "rejected": sum(f.status == "rejected" for f in fills),
            "batches": len(confirmed), "abandoned": len(store.batches("abandoned"))}
