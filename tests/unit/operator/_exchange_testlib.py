"""Helpers of the exchange tests: a listing of two perpetuals, a fake epoch source and balances,
signed orders, and an exchange over a store."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _operator_fakes import CHAIN_ID, KEYS, SETTLEMENT, TRADERS, UNIT, epoch

from offchain.operator import Exchange, OperatorStore
from offchain.trading.listing import ListingSpec
from offchain.trading.orders import Order, Side
from offchain.trading.signing import OrderSignature, sign_commitment
from prover.statement import Epoch

LISTING = ListingSpec.parse({"instruments": [
    {"symbol": "BTC-PERP", "tick_size": 1_000, "kind": "perp"},
    {"symbol": "ETH-PERP", "tick_size": 1_000, "kind": "perp"},
]})
NOW = 1_700_000_000
FEE_BPS = 5


@dataclass
class World:
    """The exchange's outside: the current epoch and the vault balances."""

    epoch: Epoch | None = field(default_factory=lambda: epoch(1))
    balances: dict[str, int] = field(default_factory=lambda: {t: 100_000 * UNIT for t in TRADERS})

    def current(self) -> Epoch | None:
        return self.epoch

    def balance(self, address: str) -> int:
        return self.balances.get(address, 0)


class Signer:
    """Signed orders of the test traders with increasing nonces (or a given one)."""

    def __init__(self) -> None:
        self.nonces = [0] * len(TRADERS)
        self.commitments: dict[Order, int] = {}  # each order's commitment, computed once

    def __call__(self, who: int, side: str | Side, price: int, size: int, *, instrument: int = 0,
                 kind: str = "limit", reduce_only: bool = False, expiry: int = NOW + 86_400, nonce: int | None = None,
                 salt: int | None = None) -> tuple[Order, OrderSignature]:
        if nonce is None:
            self.nonces[who] += 1
            nonce = self.nonces[who]
        order = Order.create(trader=TRADERS[who], instrument=instrument, side=side, limit_price=price, size=size,
                             expiry=expiry, nonce=nonce, salt=salt if salt is not None else 7_000 + 97 * nonce + who,
                             kind=kind, reduce_only=reduce_only, symbol=LISTING.instruments[instrument].symbol)
        c = self.commitments[order] = order.commitment()
        return order, sign_commitment(c, KEYS[who], CHAIN_ID, SETTLEMENT)


def exchange(path: Path, world: World, now: int = NOW, **kw: Any) -> Exchange:
    store = OperatorStore(path, seed=3)
    return Exchange(store, kw.pop("listing", LISTING), world.current, world.balance, fee_bps=FEE_BPS,
                    chain_id=CHAIN_ID, settlement=SETTLEMENT, now=now, **kw)


def copy_database(src: Path, dst: Path) -> None:
    """A consistent copy of a live database (SQLite's online backup)."""
    with sqlite3.connect(src) as a, sqlite3.connect(dst) as b:
        a.backup(b)


def snapshot(ex: Exchange) -> tuple[Any, ...]:
    """Everything a book shows: depth of every level, best prices, resting orders in priority
    order, positions, and the counters."""
    book = ex.book
    depth = [(book.depth(i, s, 10**6), book.best_bid(i), book.best_ask(i)) for i in range(LISTING.n) for s in Side]
    return (depth, book.resting_orders(), [book.positions(t) for t in TRADERS], book.next_order_id,
            book.next_fill_seq)
