"""Seeded synthetic order flow for the matching benchmark and the tests.

A flow is a list of operations ``(op, arg, now)``: ``SUBMIT`` with an :class:`Order`, ``CANCEL``
with the id of an earlier submission (a book numbers its submissions 0, 1, 2, ... so the flow
knows the ids in advance), or ``EXPIRE`` (a sweep of the expired orders, ``arg`` unused). Orders
come from a few traders around a slowly wandering mid price: limit orders on both sides (some
crossing) with exponentially distributed lifetimes, market and IOC orders, post-only orders, a
few reduce-only ones, and cancels of recent orders; the sweeps keep the book's size stationary.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Protocol

from offchain.trading.events import Cancel, Report
from offchain.trading.listing import FIELD_LIMIT, InstrumentSpec, ListingSpec
from offchain.trading.orders import Order, OrderKind, Side
from prover.field import R

SUBMIT = 0
CANCEL = 1
EXPIRE = 2
Op = tuple[int, "Order | int", int]


@dataclass(frozen=True)
class FlowSpec:
    """The shape of a synthetic flow (fractions of operations)."""

    traders: int = 16
    instruments: int = 1
    mid: int = 42_000_000  # base units per lot (42 USD: 0.001 BTC at 42,000 USD)
    tick: int = 1_000  # 0.001 USD
    cancel: float = 0.20
    market: float = 0.06
    ioc: float = 0.10
    post_only: float = 0.08
    reduce_only: float = 0.05
    lifetime: float = 300.0  # mean life of a resting order, seconds (time advances 1 s per 8 operations)
    cancel_window: int = 64  # cancels target one of the last ``cancel_window`` submissions
    expire_every: int = 1024  # an EXPIRE sweep after this many operations
    start_time: int = 1_700_000_000


def listing_for(spec: FlowSpec) -> ListingSpec:
    """The listing the flow trades: ``spec.instruments`` instruments with tick ``spec.tick``."""
    return ListingSpec(instruments=[InstrumentSpec(symbol=f"I{k}-PERP", tick_size=spec.tick)
                                    for k in range(spec.instruments)])


def trader_address(k: int) -> str:
    return "0x" + f"{k + 1:040x}"


def synthetic_flow(n_ops: int, seed: int, spec: FlowSpec | None = None) -> list[Op]:
    """``n_ops`` submissions and cancels (plus the EXPIRE sweeps) drawn from ``random.Random(seed)`` (the same seed, the same flow)."""
    sp = spec or FlowSpec()
    rng = random.Random(seed)
    traders = [trader_address(k) for k in range(sp.traders)]
    nonces = [0] * sp.traders
    mids = [sp.mid] * sp.instruments
    max_price = (FIELD_LIMIT - 1) // sp.tick * sp.tick
    ops: list[Op] = []
    submitted = 0
    now = sp.start_time
    c_cancel = sp.cancel
    c_market = c_cancel + sp.market
    c_ioc = c_market + sp.ioc
    c_post = c_ioc + sp.post_only
    for k in range(n_ops):
        if k % 8 == 0:
            now += 1
        if k and k % sp.expire_every == 0:
            ops.append((EXPIRE, 0, now))
        u = rng.random()
        if u < c_cancel and submitted:
            ops.append((CANCEL, submitted - 1 - rng.randrange(min(submitted, sp.cancel_window)), now))
            continue
        inst = rng.randrange(sp.instruments)
        if rng.random() < 0.01:
            mids[inst] = max(sp.tick * 100, mids[inst] + sp.tick * rng.choice((-2, -1, 1, 2)))
        mid = mids[inst]
        t = rng.randrange(sp.traders)
        side = Side.BUY if rng.random() < 0.5 else Side.SELL
        sgn = 1 if side == Side.BUY else -1
        if u < c_market:
            kind = OrderKind.MARKET
            price = max_price if side == Side.BUY else 0
        else:
            if u < c_ioc:
                kind = OrderKind.IOC
                offset = rng.randrange(-2, 6)  # ticks through the mid
            elif u < c_post:
                kind = OrderKind.POST_ONLY
                offset = -rng.randrange(-2, 20)
            else:
                kind = OrderKind.LIMIT
                offset = 2 - int(rng.expovariate(0.12))  # mostly passive, some crossing
            price = max(0, mid + sgn * offset * sp.tick)
        size = 1 + int(rng.expovariate(0.2))
        expiry = now + 1 + int(rng.expovariate(1.0 / sp.lifetime))
        nonces[t] += 1
        order = Order(traders[t], inst, side, price, size, expiry, nonces[t], rng.randrange(R), kind,
                      rng.random() < sp.reduce_only, f"I{inst}-PERP")
        ops.append((SUBMIT, order, now))
        submitted += 1
    return ops


class _Book(Protocol):
    def submit(self, order: Order, now: int) -> Report: ...

    def cancel(self, order_id: int, trader: str | None = None) -> Cancel | None: ...

    def expire(self, now: int) -> list[Cancel]: ...


def replay(book: _Book, ops: list[Op]) -> list[Report | Cancel | list[Cancel] | None]:
    """Run ``ops`` on ``book``; one result per operation (a report, a cancel or None, the sweep's cancels)."""
    out: list[Report | Cancel | list[Cancel] | None] = []
    for op, arg, now in ops:
        if op == SUBMIT:
            assert isinstance(arg, Order)
            out.append(book.submit(arg, now))
        elif op == CANCEL:
            assert isinstance(arg, int)
            out.append(book.cancel(arg))
        else:
            out.append(book.expire(now))
    return out
