"""The operator's exchange: the order book as a persistent service over the operator database.

Orders flow trader -> :class:`Exchange` -> :class:`~offchain.operator.store.OperatorStore` ->
:class:`~offchain.operator.settler.Settler` -> chain (docs/trading.md, "The exchange service").

* **Start.** The book is rebuilt from the database: every open order with lots neither settled
  nor matched (``size - filled`` less its pending and in-batch fills) rests again at its price,
  oldest first under its recorded book id, so time priority is what it was; nothing is matched.
  Every accepted order's nonce stays used, the positions are the openings plus the unsettled
  fills (reduce-only), and order ids and fill numbers go on after the highest recorded. An
  order that can no longer rest (a market or IOC remainder freed by a fill the settler refused,
  or an order that would now cross a live one) is cancelled in the database with the reason.
  Then the orders whose expiry passed are cancelled.
* **Orders.** :meth:`Exchange.place` verifies the EIP-712 signature, runs the pre-trade IM check
  (:class:`~offchain.trading.risk.EpochRiskCheck`) on the trader's state once everything matched
  settles (:mod:`offchain.operator.exposure`: the opening, its unsettled funding, every unsettled
  fill and its fees, the vault balance as collateral) in the current epoch, and records the
  order, its fills and the book's cancellations in one transaction
  (:class:`~offchain.operator.intake.BookRecorder`). A refusal is a rejected report whose reason
  names the figures. :meth:`Exchange.cancel`, :meth:`Exchange.cancel_all` and
  :meth:`Exchange.expire` are recorded the same way.
* **Others' changes.** Before each call the exchange compares the database's ``book_version``
  with the one its book reflects; when another writer moved it (the settler cancelled an order
  whose fill it refused, a liquidation took over positions) the book is rebuilt. One exchange
  writes orders to a database; settlers and readers may share it.
* **Funding.** :meth:`Exchange.sample_funding` and :meth:`Exchange.funding_step` keep the funding
  keeper's window in the database (:mod:`offchain.operator.funding_window`).

The listing and the funding parameters are recorded in the database on the first start; a later
start with others is refused.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import NamedTuple

from offchain.operator.errors import StoreError
from offchain.operator.exposure import TraderState, trader_state
from offchain.operator.funding_window import record_samples, take_step
from offchain.operator.intake import BookRecorder
from offchain.operator.records import OrderRecord, OrderStatus, checksum
from offchain.operator.store import OperatorStore
from offchain.trading.book import OrderBook
from offchain.trading.events import Cancel, CancelReason, Report
from offchain.trading.funding import FundingParams, FundingStep
from offchain.trading.listing import ListingSpec
from offchain.trading.orders import Order, OrderKind, normalize_address
from offchain.trading.risk import EpochRiskCheck
from offchain.trading.signing import OrderSignature
from prover.statement import BPS, Epoch
from zkmargin.errors import InputError

#: the current risk epoch (None before the first one is posted)
EpochSource = Callable[[], "Epoch | None"]
#: an account's public vault balance in base units (called with the EIP-55 address)
Balances = Callable[[str], int]
#: rebuilds in a row before giving up on a database that keeps changing under the exchange
_MAX_REBUILDS = 20


class OrderView(NamedTuple):
    """A trader's order as the exchange sees it: ``settled`` lots (on chain), ``matched`` lots
    (filled in the book, not yet settled), ``resting`` lots (in the book now)."""

    commitment: int
    book_id: int | None
    order: Order
    status: str
    reason: str | None
    settled: int
    matched: int
    resting: int


class Exchange:
    """The order book of ``listing`` over ``store`` (see the module docstring).

    ``epoch_source()`` gives the current risk epoch, ``balances(address)`` an account's vault
    balance; ``fee_bps`` is the settlement's fee rate; ``chain_id`` and ``settlement`` the EIP-712
    domain of the order signatures; ``now`` (unix seconds) the time of the start; ``funding``
    the funding keeper's parameters (default: the ones recorded, else Binance's defaults).
    """

    def __init__(self, store: OperatorStore, listing: ListingSpec, epoch_source: EpochSource, balances: Balances, *,
                 fee_bps: int, chain_id: int, settlement: str, now: int, funding: FundingParams | None = None) -> None:
        if isinstance(fee_bps, bool) or not isinstance(fee_bps, int) or not 0 <= fee_bps < BPS:
            raise InputError("fee_bps", f"must be an integer in [0, {BPS}), got {fee_bps!r}")
        self.store = store
        self.listing = listing
        self.epoch_source = epoch_source
        self.balances = balances
        self.fee_bps = fee_bps
        self.chain_id = chain_id
        self.settlement = normalize_address("settlement", settlement)
        self.funding_params = self._bind(listing, funding)
        self._epoch: Epoch | None = None
        self._check: EpochRiskCheck | None = None
        self._states: dict[str, TraderState] = {}
        self._version = -1
        self._stale = False
        self._now = now
        self._book = OrderBook(listing)
        self._recorder = BookRecorder(store, self._book, chain_id, settlement)
        self.rebuild(now)
        self.expire(now)

    def _bind(self, listing: ListingSpec, funding: FundingParams | None) -> FundingParams:
        names = self.store.setting("instruments")
        if names is not None and json.loads(names) != [s.symbol for s in listing.instruments]:
            raise InputError("listing", f"lists {[s.symbol for s in listing.instruments]}, the database "
                                        f"{self.store.path} holds instruments {json.loads(names)}")
        self.store.record_setting("listing", json.dumps(listing.model_dump(mode="json"), sort_keys=True))
        recorded = self.store.setting("funding_params")
        params = funding if funding is not None else (
            FundingParams.model_validate_json(recorded) if recorded is not None else FundingParams())
        self.store.record_setting("funding_params", json.dumps(params.model_dump(mode="json"), sort_keys=True))
        return params

    @property
    def book(self) -> OrderBook:
        """The live book (read it: depth, best prices, resting orders; write only through the exchange)."""
        return self._book

    # --- rebuilding ----------------------------------------------------------------------------
    def rebuild(self, now: int) -> None:
        """Rebuild the book from the database (see the module docstring); nothing is matched."""
        for _ in range(_MAX_REBUILDS):
            self._version = self.store.book_version
            self._stale = False
            self._build(now)
            if not self._stale:
                return
        raise StoreError(f"{self.store.path} kept changing while the book was rebuilt ({_MAX_REBUILDS} tries)")

    def _build(self, now: int) -> None:
        book = OrderBook(self.listing)
        recorder = BookRecorder(self.store, book, self.chain_id, self.settlement)
        recorder.on_write = self._wrote
        renumbered: list[tuple[int, int]] = []
        dropped: list[tuple[int, OrderStatus, str | None]] = []
        restored: set[tuple[str, int]] = set()
        for rec, left in self.store.unfilled_orders():
            if rec.book_id is None or rec.book_id < book.next_order_id:
                rec = _renumbered(rec, book.next_order_id)
                renumbered.append((rec.commitment, book.next_order_id))
            try:
                recorder.restore(rec, left, now)
            except InputError as exc:
                dropped.append((rec.commitment, OrderStatus.CANCELLED, f"not restored: {exc.field}: {exc.problem}"))
                continue
            restored.add((rec.order.trader, rec.order.nonce))
        for trader, nonce in sorted(self.store.used_nonces() - restored):
            book.use_nonce(trader, nonce)
        for address, q in self._positions().items():
            for i, lots in enumerate(q):
                if lots:
                    book.set_position(address, i, lots)
        next_id, next_seq = self.store.next_book_numbers()
        book.resume(max(next_id, book.next_order_id), max(next_seq, book.next_fill_seq))
        if renumbered:
            self.store.set_book_ids(renumbered)
        if dropped:
            self._wrote(*self.store.close_orders(dropped))
        self._book = book
        self._recorder = recorder
        self._check = None
        self._states = {}
        book.risk_check = self._risk
        if self._epoch is not None:
            self._wire(self._epoch)

    def _positions(self) -> dict[str, list[int]]:
        n = self.listing.n
        out: dict[str, list[int]] = {}
        for acct in self.store.accounts():
            if acct.opening is not None:
                out[acct.address.lower()] = list(acct.opening.q) + [0] * (n - len(acct.opening.q))
        for f in self.store.unsettled_fills():
            for who, sign in ((f.buyer, 1), (f.seller, -1)):
                out.setdefault(who.lower(), [0] * n)[f.instrument] += sign * f.size
        return out

    def _wrote(self, before: int, after: int) -> None:
        if before != self._version:
            self._stale = True  # someone else changed the book's inputs before this write
        self._version = after

    def _sync(self, now: int) -> None:
        self._now = max(self._now, now)
        if self._stale or self.store.book_version != self._version:
            self.rebuild(now)

    def _after_write(self, now: int) -> None:
        """After a write: rebuild when it showed that someone else had changed the database."""
        if self._stale:
            self.rebuild(now)

    # --- the epoch and the pre-trade check ---------------------------------------------------------
    def current_epoch(self) -> Epoch | None:
        """The epoch source's current epoch, recorded in the database (None before the first)."""
        epoch = self.epoch_source()
        if epoch is not None and epoch != self._epoch:
            if epoch.n != self.listing.n:
                raise InputError("epoch", f"has {epoch.n} instruments, the listing {self.listing.n}")
            self.store.record_epoch(epoch)
            self._epoch = epoch
            self._wire(epoch)
        return self._epoch

    def _wire(self, epoch: Epoch) -> None:
        if self._check is None or self._check.book is not self._book:
            self._check = EpochRiskCheck(self._book, epoch, fee_bps=self.fee_bps)
        else:
            self._check.set_epoch(epoch)
        self._book.risk_check = self._risk

    def _risk(self, trader: str, instrument: int, delta: int, price: int) -> str | None:
        check = self._check
        if check is None:
            return "no risk epoch has been posted yet (the pre-trade check needs one)"
        message = check(trader, instrument, delta, price)
        if message is None:
            return None
        state = self._states.get(trader)
        return message if state is None else f"{message}; the account: {state.describe()}"

    def trader_state(self, trader: str) -> TraderState:
        """``trader``'s positions and cash once everything matched settles, in the current epoch,
        with its vault balance (:mod:`offchain.operator.exposure`)."""
        address = checksum("trader", trader)
        return trader_state(self.store, address, self.current_epoch(), int(self.balances(address)), self.fee_bps,
                            self.listing.n)

    # --- orders ------------------------------------------------------------------------------------
    def place(self, order: Order, signature: OrderSignature, now: int) -> Report:
        """Verify, check, match and record a signed order at ``now``; returns the book's report
        (``status`` rejected with the ``reason`` when refused). A signature that is not the
        trader's raises :class:`InputError` naming ``signature`` and records nothing."""
        self._sync(now)
        self.expire(now)
        epoch = self.current_epoch()
        if epoch is not None and self._check is not None:
            state = self.trader_state(order.trader)
            self._check.set_account(order.trader, q=state.q, cash=state.cash, collateral=state.collateral)
            self._states[order.trader.lower()] = state
        before = self._book.next_order_id
        try:
            report = self._recorder.submit(order, signature, now)
        except BaseException:
            if self._book.next_order_id != before:  # the book moved, the database did not take it
                self.rebuild(now)
            raise
        self._after_write(now)
        return report

    def cancel(self, trader: str, order: int, now: int) -> Cancel:
        """Cancel ``trader``'s resting order ``order`` (its book id, or its commitment) and record
        it; an unknown order, another trader's, or one that is not resting raises
        :class:`InputError` naming ``order``."""
        self._sync(now)
        t = normalize_address("trader", trader)
        oid = self._book_id(t, order)
        rest = self._book.order(oid)
        assert rest is not None
        self._recorder.cancel(oid, t)
        self._after_write(now)
        return Cancel(oid, rest.trader, rest.instrument, rest.remaining, CancelReason.CANCELLED)

    def _book_id(self, trader: str, order: int) -> int:
        try:
            rec = self.store.order(order)
        except InputError:
            if self._book.order(order) is None:
                raise InputError("order", f"{order} is neither a resting order's id nor a recorded order's "
                                          "commitment") from None
            rec = self.store.order(self._recorder.commitment_of(order))
        if rec.order.trader != trader:
            raise InputError("order", f"{_short(rec.commitment)} is not {checksum('trader', trader)}'s order")
        rest = self._book.order(rec.book_id) if rec.book_id is not None else None
        if rest is None or self._recorder.commitment_of(rest.order_id) != rec.commitment:
            why = rec.status + (f" ({rec.reason})" if rec.reason else "")
            if rec.status == OrderStatus.OPEN:
                matched = sum(f.size for f in self.store.unsettled_fills(trader)
                              if rec.commitment in (f.buy_order, f.sell_order))
                why = f"matched in full ({matched} lots waiting to settle, {rec.filled} settled)"
            raise InputError("order", f"{_short(rec.commitment)} is not resting: {why}")
        return rest.order_id

    def cancel_all(self, trader: str, now: int | None = None) -> list[Cancel]:
        """Cancel every resting order of ``trader`` and record it (oldest first); ``now``
        (default: the latest time the exchange was given) is the clock of a rebuild it may need."""
        t = normalize_address("trader", trader)
        at = self._now if now is None else now
        self._sync(at)
        cancels = self._recorder.cancel_all(t)
        self._after_write(at)
        return cancels

    def expire(self, now: int) -> list[Cancel]:
        """Cancel every resting order whose expiry is ``<= now`` and record it."""
        self._sync(now)
        cancels = self._recorder.expire(now)
        self._after_write(now)
        return cancels

    def orders(self, trader: str) -> list[OrderView]:
        """``trader``'s recorded orders, oldest first, with their settled, matched and resting lots."""
        self._sync(self._now)
        return order_views(self.store, trader, self._now)

    # --- funding -----------------------------------------------------------------------------------
    def sample_funding(self, index_prices: Sequence[int], now: int) -> list[int | None]:
        """Record one premium sample per perpetual from the book (after cancelling the expired
        orders) and the oracle's ``index_prices`` (base units per lot); returns the premiums
        (``10^-18``; None for the other instruments)."""
        self.expire(now)
        return record_samples(self.store, self._book, self.listing, self.funding_params, index_prices, now)

    def funding_step(self, marks: Sequence[int], index_prices: Sequence[int], now: int) -> FundingStep:
        """The cumulative funding index for a new epoch: from the latest recorded epoch's index
        (the epoch source's current epoch is recorded first), over the samples since the last
        step, which it marks used; ``marks`` per lot as the new epoch's."""
        self.current_epoch()
        return take_step(self.store, self.listing, self.funding_params, marks, index_prices, now)


def order_views(store: OperatorStore, trader: str, now: int) -> list[OrderView]:
    """``trader``'s recorded orders, oldest first, with their settled and matched lots and the
    lots an exchange started at ``now`` has resting (reads only: a rebuilt book's view)."""
    address = checksum("trader", trader)
    matched: dict[int, int] = {}
    for f in store.unsettled_fills(address):
        for o in (f.buy_order, f.sell_order):
            matched[o] = matched.get(o, 0) + f.size
    resting = {rec.commitment: left for rec, left in store.unfilled_orders()
               if rec.order.trader == address.lower() and rec.order.expiry > now
               and rec.order.kind in (OrderKind.LIMIT, OrderKind.POST_ONLY)}
    return [OrderView(rec.commitment, rec.book_id, rec.order, rec.status, rec.reason, rec.filled,
                      matched.get(rec.commitment, 0), resting.get(rec.commitment, 0)) for rec in store.orders(address)]


def _renumbered(rec: OrderRecord, book_id: int) -> OrderRecord:
    return OrderRecord(rec.commitment, rec.order, rec.signature, book_id, rec.filled, rec.state_salt, rec.status,
                       rec.reason)


def _short(commitment: int) -> str:
    return f"0x{commitment:064x}"[:14] + "..."
