"""The operator's central limit order book: price-time priority matching, one book per instrument.

Rules (docs/trading.md, "Matching"):

* An incoming order (the taker) matches the opposite side best price first, and at one price in
  arrival order; every fill is at the resting order's (the maker's) price.
* ``limit`` rests what it cannot fill; ``market`` and ``ioc`` cancel it; ``post_only`` is
  rejected, and nothing happens, if any live opposite order is at a price it would cross.
* ``reduce_only`` never increases the trader's absolute position in the instrument: on
  submission it is capped to the position (rejected when the position is zero or on the same
  side); when it is met as a resting order, its fill is capped to the position at that moment,
  and it is cancelled when that cap is zero or has been used up.
* Self-trade prevention: when a taker meets a resting order of its own trader, the resting order
  is cancelled (reason ``self_trade``) and the taker goes on matching.
* An order is live while ``now < expiry``. The book is lazy about expiry: a resting order whose
  expiry has passed is never matched and is cancelled (reason ``expired``) when a taker meets it,
  or by :meth:`OrderBook.expire`.
* A rejected order changes nothing. Given the same sequence of calls the book produces the same
  reports: it depends on no clock, randomness or hash order.

The hot path works on plain ints: per instrument and side a dict of price levels (deques of
resting orders in arrival order) and a heap of the level keys (``price`` for asks, ``-price``
for bids) with lazy deletion; a resting order is a small list; cancelling marks it dead in O(1)
and the dead records are dropped when they reach the front of their level (or by a compaction
when they outnumber the live ones).
"""

from __future__ import annotations

from collections import deque
from heapq import heapify, heappop, heappush
from typing import Any

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

_BUY = Side.BUY
_SELL = Side.SELL
_LIMIT = OrderKind.LIMIT
_POST_ONLY = OrderKind.POST_ONLY
_RESTING = Status.RESTING
_FILLED = Status.FILLED
_CANCELLED = Status.CANCELLED
_REJECTED = Status.REJECTED
_EXPIRED = CancelReason.EXPIRED
_SELF_TRADE = CancelReason.SELF_TRADE
_REDUCE_ONLY = CancelReason.REDUCE_ONLY
_new_tuple = tuple.__new__

# A resting order is a list: [order_id, trader, side, price, remaining, expiry, reduce_only,
# instrument]; remaining == 0 marks a dead (cancelled) record still in its level's deque.
_Rec = list[Any]
_Level = deque[_Rec]
#: compact the levels when there are more dead records than this and than live orders
_COMPACT_MIN = 4096


class OrderBook:
    """Price-time priority books for every instrument of ``listing``.

    ``risk_check`` (optional) is consulted before an order is accepted with ``(trader,
    instrument, signed size delta in lots, worst price)``: for a ``limit`` or ``post_only`` order
    its (capped) size at its limit price; for a ``market`` or ``ioc`` order the size it can fill
    now and the worst price it would fill at. It returns None to accept or a reason to reject.
    ``fill_listener`` (optional) is called with every fill once the submission is done.
    """

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
        n = listing.n
        self._specs = [(s.tick_size, s.min_size, s.max_size, s.symbol) for s in listing.instruments]
        # [instrument][0 bids (keys -price) | 1 asks (keys price)]
        self._levels: list[list[dict[int, _Level]]] = [[{}, {}] for _ in range(n)]
        self._heaps: list[list[list[int]]] = [[[], []] for _ in range(n)]
        self._pos: list[dict[str, int]] = [{} for _ in range(n)]
        self._live: dict[int, _Rec] = {}
        self._by_trader: dict[str, dict[int, _Rec]] = {}
        self._nonces: set[tuple[str, int]] = set()
        self._next_id = 0
        self._seq = 0
        self._dead = 0

    # --- submission -----------------------------------------------------------------------
    def submit(self, order: Order, now: int) -> Report:
        """Match ``order`` at time ``now`` (unix seconds) and rest, cancel or reject what is left."""
        oid = self._next_id
        self._next_id = oid + 1
        i = order.instrument
        trader = order.trader
        price = order.limit_price
        size = order.size
        specs = self._specs
        if not 0 <= i < len(specs):
            return self._reject(oid, order, now)
        tick, min_size, max_size, symbol = specs[i]
        nonce_key = (trader, order.nonce)
        if (
            price % tick
            or size < min_size
            or size > max_size
            or order.expiry <= now
            or (order.symbol and order.symbol != symbol)
            or nonce_key in self._nonces
        ):
            return self._reject(oid, order, now)

        side = order.side
        kind = order.kind
        buy = side == _BUY
        sgn = 1 if buy else -1
        posd = self._pos[i]
        cancelled = 0
        reason: str | None = None
        if order.reduce_only:
            cap = -sgn * posd.get(trader, 0)
            if cap <= 0:
                return self._rejected(oid, reduce_only_reason(side, posd.get(trader, 0), symbol))
            if size > cap:
                cancelled = size - cap
                size = cap
                reason = capped_reason(cap)
        book_sides = self._levels[i]
        heaps = self._heaps[i]
        levels = book_sides[1] if buy else book_sides[0]
        heap = heaps[1] if buy else heaps[0]
        lim = price if buy else -price
        if kind is _POST_ONLY:
            key = self._first_live(levels, heap, lim, now)
            if key is not None:
                return self._rejected(oid, post_only_reason(side, key * sgn))
        risk = self.risk_check
        if risk is not None:
            if kind is _LIMIT or kind is _POST_ONLY:
                delta, worst = size, price
            else:
                delta, worst = self._plan(levels, heap, lim, now, trader, size, posd, sgn)
            if delta:
                msg = risk(trader, i, sgn * delta, worst)
                if msg is not None:
                    return self._rejected(oid, risk_reason(msg))
        self._nonces.add(nonce_key)

        fills: list[Fill] = []
        cancels: list[Cancel] = []
        rem = size
        live = self._live
        by_trader = self._by_trader
        seq = self._seq
        while rem and heap:
            key = heap[0]
            if key > lim:
                break
            q = levels.get(key)
            if q is None:
                heappop(heap)
                continue
            while q:
                m = q[0]
                mrem = m[4]
                if not mrem:
                    q.popleft()
                    self._dead -= 1
                    continue
                mt = m[1]
                if m[5] <= now:
                    q.popleft()
                    cancels.append(self._drop(m, _EXPIRED))
                    continue
                if mt == trader:
                    q.popleft()
                    cancels.append(self._drop(m, _SELF_TRADE))
                    continue
                if m[6]:
                    cap = sgn * posd.get(mt, 0)
                    if cap <= 0:
                        q.popleft()
                        cancels.append(self._drop(m, _REDUCE_ONLY))
                        continue
                    f = min(rem, mrem, cap)
                else:
                    cap = 0
                    f = rem if rem < mrem else mrem  # noqa: FURB136 - hot path, min() is a call
                rem -= f
                mrem -= f
                m[4] = mrem
                posd[trader] = posd.get(trader, 0) + sgn * f
                posd[mt] = posd.get(mt, 0) - sgn * f
                fills.append(_new_tuple(Fill, (m[0], oid, i, key * sgn, f, mt, trader, side, seq)))
                seq += 1
                if not mrem:
                    q.popleft()
                    mid = m[0]
                    del live[mid]
                    del by_trader[mt][mid]
                elif f == cap:
                    q.popleft()
                    cancels.append(self._drop(m, _REDUCE_ONLY))
                if not rem:
                    break
            if not q:
                del levels[key]
                heappop(heap)
        self._seq = seq

        resting = 0
        if rem:
            if kind is _LIMIT or kind is _POST_ONLY:
                rec = [oid, trader, side, price, rem, order.expiry, order.reduce_only, i]
                if buy:
                    mykey = -price
                    mylevels = book_sides[0]
                    myheap = heaps[0]
                else:
                    mykey = price
                    mylevels = book_sides[1]
                    myheap = heaps[1]
                lv = mylevels.get(mykey)
                if lv is None:
                    lv = mylevels[mykey] = deque()
                    heappush(myheap, mykey)
                lv.append(rec)
                live[oid] = rec
                mine = by_trader.get(trader)
                if mine is None:
                    mine = by_trader[trader] = {}
                mine[oid] = rec
                resting = rem
            else:
                cancelled += rem
                if reason is None:
                    reason = remainder_reason(kind.value)
        listener = self.fill_listener
        if listener is not None:
            for fill in fills:
                listener(fill)
        status = _RESTING if resting else (_CANCELLED if cancelled else _FILLED)
        return _new_tuple(Report, (oid, status, size - rem, resting, cancelled, reason, fills, cancels))

    def _reject(self, oid: int, order: Order, now: int) -> Report:
        reason = admission_reason(order, self.listing, now, (order.trader, order.nonce) in self._nonces)
        assert reason is not None, "the fast admission check and admission_reason disagree"
        return self._rejected(oid, reason)

    @staticmethod
    def _rejected(oid: int, reason: str) -> Report:
        return Report(oid, _REJECTED, 0, 0, 0, reason, [], [])

    def _drop(self, m: _Rec, reason: CancelReason) -> Cancel:
        """Take resting record ``m`` (already out of its deque, or about to be) off the book."""
        rem = m[4]
        m[4] = 0
        mid = m[0]
        del self._live[mid]
        del self._by_trader[m[1]][mid]
        return Cancel(mid, m[1], m[7], rem, reason)

    def _first_live(self, levels: dict[int, _Level], heap: list[int], lim: int, now: int) -> int | None:
        """The best key ``<= lim`` holding a live (not expired) order, or None. Changes nothing
        but dropping dead records from the front of levels."""
        while heap:
            key = heap[0]
            q = levels.get(key)
            if q is None:
                heappop(heap)
                continue
            while q and not q[0][4]:
                q.popleft()
                self._dead -= 1
            if not q:
                del levels[key]
                heappop(heap)
                continue
            break
        if not heap or heap[0] > lim:
            return None
        top = heap[0]
        for m in levels[top]:
            if m[4] and m[5] > now:
                return top
        for key in sorted(k for k in levels if top < k <= lim):
            for m in levels[key]:
                if m[4] and m[5] > now:
                    return key
        return None

    def _plan(
        self, levels: dict[int, _Level], heap: list[int], lim: int, now: int, trader: str, size: int,
        posd: dict[str, int], sgn: int,
    ) -> tuple[int, int]:
        """What a taker that cannot rest would fill now: ``(lots, worst price)``, by the same
        rules as the match (expired, own and exhausted reduce-only orders are skipped), without
        changing the book."""
        rem = size
        worst = 0
        used: dict[str, int] = {}
        for key in sorted(k for k in levels if k <= lim):
            for m in levels[key]:
                mrem = m[4]
                mt = m[1]
                if not mrem or m[5] <= now or mt == trader:
                    continue
                if m[6]:
                    cap = sgn * posd.get(mt, 0) - used.get(mt, 0)
                    if cap <= 0:
                        continue
                    f = min(rem, mrem, cap)
                else:
                    f = min(rem, mrem)
                used[mt] = used.get(mt, 0) + f
                rem -= f
                worst = key
                if not rem:
                    return size, worst * sgn
        return size - rem, worst * sgn

    # --- cancels and expiry ---------------------------------------------------------------
    def cancel(self, order_id: int, trader: str | None = None) -> Cancel | None:
        """Cancel resting order ``order_id``; None (and nothing changes) when it is not resting,
        or when ``trader`` is given and is not the order's trader."""
        m = self._live.get(order_id)
        if m is None or (trader is not None and m[1] != trader.lower()):
            return None
        return self._kill(m, CancelReason.CANCELLED)

    def _kill(self, m: _Rec, reason: CancelReason) -> Cancel:
        out = self._drop(m, reason)
        self._dead += 1
        if self._dead > _COMPACT_MIN and self._dead > len(self._live):
            self._compact()
        return out

    def cancel_all(self, trader: str, instrument: int | None = None) -> list[Cancel]:
        """Cancel every resting order of ``trader`` (in one instrument when given), oldest first."""
        mine = self._by_trader.get(trader.lower())
        if not mine:
            return []
        recs = [m for m in mine.values() if instrument is None or m[7] == instrument]
        return [self._kill(m, CancelReason.CANCELLED) for m in recs]

    def expire(self, now: int) -> list[Cancel]:
        """Cancel every resting order with ``expiry <= now``, oldest first."""
        recs = [m for m in self._live.values() if m[5] <= now]
        return [self._kill(m, _EXPIRED) for m in recs]

    def _compact(self) -> None:
        for sides, heaps in zip(self._levels, self._heaps):
            for s in (0, 1):
                levels = sides[s]
                for key in list(levels):
                    kept = deque(m for m in levels[key] if m[4])
                    if kept:
                        levels[key] = kept
                    else:
                        del levels[key]
                heap = list(levels)
                heapify(heap)
                heaps[s] = heap
        self._dead = 0

    # --- rebuilding a book ----------------------------------------------------------------
    def restore(self, order: Order, remaining: int, now: int, order_id: int | None = None) -> OpenOrder:
        """Put ``remaining`` lots of an order a previous book accepted back at the end of its
        price level, without matching and without the risk check or the fill listener. A book is
        rebuilt by restoring its resting orders oldest first (so each level keeps its time
        priority), marking the other orders' nonces used (:meth:`use_nonce`) and setting the
        positions and the counters (:meth:`set_position`, :meth:`resume`).

        ``order_id`` (default :attr:`next_order_id`) must be at least :attr:`next_order_id`, which
        then moves past it: ids keep their arrival order. The order's nonce counts as used. An
        order whose expiry has passed may be restored (the book drops it lazily, as it would
        have). Raises :class:`~zkmargin.errors.InputError` naming the field, and changes nothing,
        for an order that breaks the listing, a kind that never rests (market, IOC), ``remaining``
        outside ``[1, size]``, an ``order_id`` below :attr:`next_order_id`, a nonce already used,
        or an order live at ``now`` that crosses a live opposite order."""
        check_restorable(order, remaining, self.listing)
        oid = self._next_id if order_id is None else order_id
        if isinstance(oid, bool) or not isinstance(oid, int) or oid < self._next_id:
            raise InputError("order_id", f"must be an integer >= the next order id {self._next_id}, got {oid!r}")
        trader = order.trader
        nonce_key = (trader, order.nonce)
        if nonce_key in self._nonces:
            raise InputError("nonce", f"{order.nonce} was already used by {trader}")
        i = order.instrument
        buy = order.side == _BUY
        price = order.limit_price
        book_sides = self._levels[i]
        heaps = self._heaps[i]
        if order.expiry > now:
            if buy:
                key = self._first_live(book_sides[1], heaps[1], price, now)
            else:
                key = self._first_live(book_sides[0], heaps[0], -price, now)
            if key is not None:
                raise InputError("limit_price", restore_cross_reason(order.side, key if buy else -key))
        rec = [oid, trader, order.side, price, remaining, order.expiry, order.reduce_only, i]
        s = 0 if buy else 1
        mykey = -price if buy else price
        lv = book_sides[s].get(mykey)
        if lv is None:
            lv = book_sides[s][mykey] = deque()
            heappush(heaps[s], mykey)
        lv.append(rec)
        self._live[oid] = rec
        self._by_trader.setdefault(trader, {})[oid] = rec
        self._nonces.add(nonce_key)
        self._next_id = oid + 1
        return self._open(rec)

    def use_nonce(self, trader: str, nonce: int) -> None:
        """Count ``(trader, nonce)`` as used: the book refuses another order with it (an order a
        previous book accepted that is no longer resting)."""
        self._nonces.add((trader.lower(), nonce))

    def resume(self, next_order_id: int, next_fill_seq: int) -> None:
        """Continue numbering orders from ``next_order_id`` and fills from ``next_fill_seq`` (a
        rebuilt book goes on where its predecessor stopped); neither may go backwards."""
        if next_order_id < self._next_id:
            raise InputError("next_order_id", f"{next_order_id} is below the next order id {self._next_id}")
        if next_fill_seq < self._seq:
            raise InputError("next_fill_seq", f"{next_fill_seq} is below the next fill seq {self._seq}")
        self._next_id = next_order_id
        self._seq = next_fill_seq

    # --- positions ------------------------------------------------------------------------
    def position(self, trader: str, instrument: int) -> int:
        """The trader's position (signed lots) as the book knows it: what it was set to plus fills."""
        return self._pos[instrument].get(trader.lower(), 0)

    def positions(self, trader: str) -> list[int]:
        t = trader.lower()
        return [p.get(t, 0) for p in self._pos]

    def set_position(self, trader: str, instrument: int, lots: int) -> None:
        """Seed the trader's position (from the operator's private state) for reduce-only."""
        if not 0 <= instrument < len(self._pos):
            raise IndexError(f"instrument {instrument} is not listed")
        self._pos[instrument][trader.lower()] = int(lots)

    # --- market data and inspection -------------------------------------------------------
    def _best_key(self, instrument: int, book_side: int) -> int | None:
        levels = self._levels[instrument][book_side]
        heap = self._heaps[instrument][book_side]
        while heap:
            key = heap[0]
            q = levels.get(key)
            if q is None:
                heappop(heap)
                continue
            while q and not q[0][4]:
                q.popleft()
                self._dead -= 1
            if q:
                return key
            del levels[key]
            heappop(heap)
        return None

    def best_bid(self, instrument: int) -> int | None:
        """The highest resting buy price (None when there is none)."""
        key = self._best_key(instrument, 0)
        return None if key is None else -key

    def best_ask(self, instrument: int) -> int | None:
        """The lowest resting sell price (None when there is none)."""
        return self._best_key(instrument, 1)

    def depth(self, instrument: int, side: Side, levels: int = 10) -> list[tuple[int, int]]:
        """``(price, resting lots)`` of the best ``levels`` price levels of one side, best first."""
        book_side = 0 if side == _BUY else 1
        sgn = -1 if side == _BUY else 1
        lv = self._levels[instrument][book_side]
        out: list[tuple[int, int]] = []
        for key in sorted(lv):
            total = sum(m[4] for m in lv[key])
            if total:
                out.append((key * sgn, total))
                if len(out) == levels:
                    break
        return out

    @staticmethod
    def _open(m: _Rec) -> OpenOrder:
        return _new_tuple(OpenOrder, (m[0], m[1], m[7], m[2], m[3], m[4], m[5], m[6]))

    def order(self, order_id: int) -> OpenOrder | None:
        """The resting order ``order_id`` (None when it is not resting)."""
        m = self._live.get(order_id)
        return None if m is None else self._open(m)

    def open_orders(self, trader: str) -> list[OpenOrder]:
        """The trader's resting orders, oldest first."""
        mine = self._by_trader.get(trader.lower())
        return [self._open(m) for m in mine.values()] if mine else []

    def resting_orders(self) -> list[OpenOrder]:
        """Every resting order, oldest first."""
        return [self._open(m) for m in self._live.values()]

    def __len__(self) -> int:
        return len(self._live)

    @property
    def next_order_id(self) -> int:
        return self._next_id

    @property
    def next_fill_seq(self) -> int:
        return self._seq
