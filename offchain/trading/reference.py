"""A straightforward list-based order book: the oracle the fast book is tested and benchmarked against.

Same rules and same reports as :class:`offchain.trading.book.OrderBook` (see its docstring and
docs/trading.md), written for clarity, not speed: every resting order of every instrument sits
in one list in arrival order; a taker sorts the crossing opposite orders by price, then arrival,
and walks them. What a market or IOC order can fill (for the risk check) is found by running the
match on a copy of the book.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from offchain.trading.events import (
    Cancel,
    CancelReason,
    Fill,
    FillListener,
    OpenOrder,
    Report,
    RiskCheck,
    Status,
    capped_reason,
    post_only_reason,
    reduce_only_reason,
    remainder_reason,
    risk_reason,
)
from offchain.trading.listing import ListingSpec
from offchain.trading.orders import (
    Order,
    OrderKind,
    Side,
    admission_reason,
    check_restorable,
    restore_cross_reason,
)
from zkmargin.errors import InputError


@dataclass
class _Resting:
    order_id: int
    trader: str
    instrument: int
    side: Side
    price: int
    remaining: int
    expiry: int
    reduce_only: bool


class ReferenceBook:
    """The list-based book (same public API as :class:`~offchain.trading.book.OrderBook`)."""

    def __init__(
        self,
        listing: ListingSpec,
        *,
        risk_check: RiskCheck | None = None,
        fill_listener: FillListener | None = None,
    ) -> None:
        self.listing = listing
        self.risk_check = risk_check
        self.fill_listener = fill_listener
        self.resting: list[_Resting] = []
        self.pos: dict[tuple[str, int], int] = {}
        self.used_nonces: set[tuple[str, int]] = set()
        self.next_id = 0
        self.seq = 0

    def _crossing(self, instrument: int, side: Side, price: int) -> list[_Resting]:
        """The opposite orders a taker at ``price`` crosses, best price first, then oldest."""
        if side == Side.BUY:
            asks = [o for o in self.resting if o.instrument == instrument and o.side == Side.SELL and o.price <= price]
            return sorted(asks, key=lambda o: (o.price, o.order_id))
        bids = [o for o in self.resting if o.instrument == instrument and o.side == Side.BUY and o.price >= price]
        return sorted(bids, key=lambda o: (-o.price, o.order_id))

    def _remove(self, o: _Resting, reason: CancelReason) -> Cancel:
        self.resting.remove(o)
        out = Cancel(o.order_id, o.trader, o.instrument, o.remaining, reason)
        o.remaining = 0
        return out

    def submit(self, order: Order, now: int) -> Report:
        oid = self.next_id
        self.next_id += 1
        t, i = order.trader, order.instrument
        reason = admission_reason(order, self.listing, now, (t, order.nonce) in self.used_nonces)
        if reason is not None:
            return Report(oid, Status.REJECTED, 0, 0, 0, reason, [], [])
        symbol = self.listing.instruments[i].symbol
        size = order.size
        cancelled = 0
        note: str | None = None
        if order.reduce_only:
            position = self.pos.get((t, i), 0)
            reducible = -position if order.side == Side.BUY else position
            if reducible <= 0:
                return Report(oid, Status.REJECTED, 0, 0, 0, reduce_only_reason(order.side, position, symbol), [], [])
            if size > reducible:
                cancelled = size - reducible
                size = reducible
                note = capped_reason(reducible)
        if order.kind == OrderKind.POST_ONLY:
            live = [o for o in self._crossing(i, order.side, order.limit_price) if o.expiry > now]
            if live:
                return Report(oid, Status.REJECTED, 0, 0, 0, post_only_reason(order.side, live[0].price), [], [])
        if self.risk_check is not None:
            if order.kind in (OrderKind.LIMIT, OrderKind.POST_ONLY):
                delta, worst = size, order.limit_price
            else:
                trial = copy.copy(self)
                trial.risk_check = trial.fill_listener = None
                trial.resting = [copy.copy(o) for o in self.resting]
                trial.pos = dict(self.pos)
                fills = trial._match(oid, order, size, now, [])
                delta = sum(f.size for f in fills)
                worst = fills[-1].price if fills else 0
            if delta:
                msg = self.risk_check(t, i, delta if order.side == Side.BUY else -delta, worst)
                if msg is not None:
                    return Report(oid, Status.REJECTED, 0, 0, 0, risk_reason(msg), [], [])
        self.used_nonces.add((t, order.nonce))
        cancels: list[Cancel] = []
        fills = self._match(oid, order, size, now, cancels)
        filled = sum(f.size for f in fills)
        rem = size - filled
        resting = 0
        if rem:
            if order.kind in (OrderKind.LIMIT, OrderKind.POST_ONLY):
                self.resting.append(_Resting(oid, t, i, order.side, order.limit_price, rem, order.expiry,
                                             order.reduce_only))
                resting = rem
            else:
                cancelled += rem
                note = note or remainder_reason(order.kind.value)
        if self.fill_listener is not None:
            for f in fills:
                self.fill_listener(f)
        status = Status.RESTING if resting else Status.CANCELLED if cancelled else Status.FILLED
        return Report(oid, status, filled, resting, cancelled, note, fills, cancels)

    def _match(self, oid: int, order: Order, size: int, now: int, cancels: list[Cancel]) -> list[Fill]:
        t, i = order.trader, order.instrument
        buy = order.side == Side.BUY
        fills: list[Fill] = []
        rem = size
        for o in self._crossing(i, order.side, order.limit_price):
            if rem == 0:
                break
            if o.expiry <= now:
                cancels.append(self._remove(o, CancelReason.EXPIRED))
                continue
            if o.trader == t:
                cancels.append(self._remove(o, CancelReason.SELF_TRADE))
                continue
            maker_pos = self.pos.get((o.trader, i), 0)
            reducible = maker_pos if o.side == Side.SELL else -maker_pos
            if o.reduce_only and reducible <= 0:
                cancels.append(self._remove(o, CancelReason.REDUCE_ONLY))
                continue
            f = min(rem, o.remaining, reducible) if o.reduce_only else min(rem, o.remaining)
            rem -= f
            o.remaining -= f
            self.pos[(t, i)] = self.pos.get((t, i), 0) + (f if buy else -f)
            self.pos[(o.trader, i)] = maker_pos - (f if buy else -f)
            fills.append(Fill(o.order_id, oid, i, o.price, f, o.trader, t, order.side, self.seq))
            self.seq += 1
            if o.remaining == 0:
                self.resting.remove(o)
            elif o.reduce_only and f == reducible:
                cancels.append(self._remove(o, CancelReason.REDUCE_ONLY))
        return fills

    def cancel(self, order_id: int, trader: str | None = None) -> Cancel | None:
        for o in self.resting:
            if o.order_id == order_id and (trader is None or o.trader == trader.lower()):
                return self._remove(o, CancelReason.CANCELLED)
        return None

    def cancel_all(self, trader: str, instrument: int | None = None) -> list[Cancel]:
        mine = [o for o in self.resting if o.trader == trader.lower() and instrument in (None, o.instrument)]
        return [self._remove(o, CancelReason.CANCELLED) for o in sorted(mine, key=lambda o: o.order_id)]

    def expire(self, now: int) -> list[Cancel]:
        old = [o for o in self.resting if o.expiry <= now]
        return [self._remove(o, CancelReason.EXPIRED) for o in sorted(old, key=lambda o: o.order_id)]

    def restore(self, order: Order, remaining: int, now: int, order_id: int | None = None) -> OpenOrder:
        check_restorable(order, remaining, self.listing)
        oid = self.next_id if order_id is None else order_id
        if isinstance(oid, bool) or not isinstance(oid, int) or oid < self.next_id:
            raise InputError("order_id", f"must be an integer >= the next order id {self.next_id}, got {oid!r}")
        if (order.trader, order.nonce) in self.used_nonces:
            raise InputError("nonce", f"{order.nonce} was already used by {order.trader}")
        if order.expiry > now:
            live = [o for o in self._crossing(order.instrument, order.side, order.limit_price) if o.expiry > now]
            if live:
                raise InputError("limit_price", restore_cross_reason(order.side, live[0].price))
        o = _Resting(oid, order.trader, order.instrument, order.side, order.limit_price, remaining, order.expiry,
                     order.reduce_only)
        self.resting.append(o)
        self.used_nonces.add((order.trader, order.nonce))
        self.next_id = oid + 1
        return self._open(o)

    def use_nonce(self, trader: str, nonce: int) -> None:
        self.used_nonces.add((trader.lower(), nonce))

    def resume(self, next_order_id: int, next_fill_seq: int) -> None:
        if next_order_id < self.next_id:
            raise InputError("next_order_id", f"{next_order_id} is below the next order id {self.next_id}")
        if next_fill_seq < self.seq:
            raise InputError("next_fill_seq", f"{next_fill_seq} is below the next fill seq {self.seq}")
        self.next_id = next_order_id
        self.seq = next_fill_seq

    def position(self, trader: str, instrument: int) -> int:
        return self.pos.get((trader.lower(), instrument), 0)

    def positions(self, trader: str) -> list[int]:
        return [self.position(trader, i) for i in range(self.listing.n)]

    def set_position(self, trader: str, instrument: int, lots: int) -> None:
        if not 0 <= instrument < self.listing.n:
            raise IndexError(f"instrument {instrument} is not listed")
        self.pos[(trader.lower(), instrument)] = int(lots)

    def best_bid(self, instrument: int) -> int | None:
        bids = [o.price for o in self.resting if o.instrument == instrument and o.side == Side.BUY]
        return max(bids) if bids else None

    def best_ask(self, instrument: int) -> int | None:
        asks = [o.price for o in self.resting if o.instrument == instrument and o.side == Side.SELL]
        return min(asks) if asks else None

    def depth(self, instrument: int, side: Side, levels: int = 10) -> list[tuple[int, int]]:
        totals: dict[int, int] = {}
        for o in self.resting:
            if o.instrument == instrument and o.side == side:
                totals[o.price] = totals.get(o.price, 0) + o.remaining
        prices = sorted(totals, reverse=side == Side.BUY)[:levels]
        return [(p, totals[p]) for p in prices]

    @staticmethod
    def _open(o: _Resting) -> OpenOrder:
        return OpenOrder(o.order_id, o.trader, o.instrument, o.side, o.price, o.remaining, o.expiry, o.reduce_only)

    def order(self, order_id: int) -> OpenOrder | None:
        for o in self.resting:
            if o.order_id == order_id:
                return self._open(o)
        return None

    def open_orders(self, trader: str) -> list[OpenOrder]:
        return [self._open(o) for o in self.resting if o.trader == trader.lower()]

    def resting_orders(self) -> list[OpenOrder]:
        return [self._open(o) for o in self.resting]

    def __len__(self) -> int:
        return len(self.resting)

    @property
    def next_order_id(self) -> int:
        return self.next_id

    @property
    def next_fill_seq(self) -> int:
        return self.seq
