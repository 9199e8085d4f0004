"""From the order book to the operator database: every signed order and every fill is recorded.

:class:`BookRecorder` wraps an :class:`~offchain.trading.book.OrderBook`. :meth:`BookRecorder.submit`
verifies the order's EIP-712 signature (once, before the book sees it), submits it, and records
what the book did **in one transaction** (:meth:`~offchain.operator.store.OperatorStore.record_submission`):
the signed order and its verdict, each fill (with both orders' commitments, so the settler can
prove it against the signatures), the cancellation of what was left of it, and the resting orders
the match removed. Cancels and expiry sweeps are recorded the same way. A process that dies
between the book's move and the transaction loses only that one unacknowledged submission: the
store never holds half of it.

The book moves first, so when the store refuses a write (it raises) the book is ahead of the
store: rebuild the book from the store (:class:`offchain.operator.exchange.Exchange` does).
"""

from __future__ import annotations

from collections.abc import Callable

from offchain.operator.records import OrderRecord, OrderStatus
from offchain.operator.store import ClosedOrder, OperatorStore, SubmittedFill
from offchain.trading.book import OrderBook
from offchain.trading.events import Cancel, OpenOrder, Report, Status
from offchain.trading.orders import Order, Side, order_commitment
from offchain.trading.signing import OrderSignature, recover_signer
from zkmargin.errors import InputError

_VERDICT = {Status.REJECTED: OrderStatus.REJECTED, Status.CANCELLED: OrderStatus.CANCELLED}


class BookRecorder:
    """Records ``book``'s orders and fills in ``store`` (orders are checked against the EIP-712
    domain of ``chain_id`` and ``settlement``). ``on_write`` (optional) is told of every write
    with the store's :attr:`~offchain.operator.store.OperatorStore.book_version` before and after
    it, so its owner can tell its own changes from someone else's."""

    def __init__(self, store: OperatorStore, book: OrderBook, chain_id: int, settlement: str) -> None:
        self.store = store
        self.book = book
        self.chain_id = chain_id
        self.settlement = settlement
        self.on_write: Callable[[int, int], None] | None = None
        self._commitments: dict[int, int] = {}  # book order id -> order commitment

    def submit(self, order: Order, signature: OrderSignature, now: int) -> Report:
        """Verify, submit and record a signed order; returns the book's report. A signature that
        is not the trader's raises :class:`InputError` naming ``signature`` (nothing is recorded)."""
        commitment = order_commitment(order)
        try:
            signer = recover_signer(commitment, signature, self.chain_id, self.settlement)
        except InputError:
            signer = ""
        if signer.lower() != order.trader.lower():
            raise InputError("signature", f"is not {order.trader}'s signature of the order")
        report = self.book.submit(order, now)
        accepted = report.status != Status.REJECTED
        if accepted:
            self._commitments[report.order_id] = commitment
        fills: list[SubmittedFill] = []
        for f in report.fills:
            buy, sell = (f.taker_order, f.maker_order) if f.taker_side == Side.BUY else (f.maker_order, f.taker_order)
            fills.append((f.instrument, f.price, f.size, self._commitment(buy), self._commitment(sell), f.seq))
        verdict = _VERDICT.get(report.status, OrderStatus.OPEN)
        self._wrote(self.store.record_submission(
            commitment, order, signature, report.order_id, accepted=accepted, status=verdict,
            reason=report.reason if verdict != OrderStatus.OPEN else None, cancelled=report.cancelled, fills=fills,
            closed=self._closed(report.cancels)))
        return report

    def cancel(self, order_id: int, trader: str | None = None) -> bool:
        """Cancel a resting order in the book and record it; False if it was not resting (or,
        with ``trader``, is not that trader's)."""
        c = self.book.cancel(order_id, trader)
        if c is None:
            return False
        self._record([c])
        return True

    def cancel_all(self, trader: str, instrument: int | None = None) -> list[Cancel]:
        """Cancel every resting order of ``trader`` (in one instrument when given) and record it."""
        return self._record(self.book.cancel_all(trader, instrument))

    def expire(self, now: int) -> list[Cancel]:
        """Cancel every resting order with ``expiry <= now`` and record it."""
        return self._record(self.book.expire(now))

    def restore(self, record: OrderRecord, remaining: int, now: int) -> OpenOrder:
        """Put a recorded open order back in the book (``OrderBook.restore``) under its
        ``book_id``; nothing is written."""
        opened = self.book.restore(record.order, remaining, now, order_id=record.book_id)
        self._commitments[opened.order_id] = record.commitment
        return opened

    def commitment_of(self, order_id: int) -> int:
        """The commitment of the order the book numbers ``order_id`` (submitted or restored here)."""
        return self._commitment(order_id)

    def _record(self, cancels: list[Cancel]) -> list[Cancel]:
        if cancels:
            self._wrote(self.store.close_orders(self._closed(cancels)))
        return cancels

    def _wrote(self, versions: tuple[int, int]) -> None:
        if self.on_write is not None:
            self.on_write(*versions)

    def _closed(self, cancels: list[Cancel]) -> list[ClosedOrder]:
        return [(self._commitment(c.order_id), OrderStatus.CANCELLED, str(c.reason)) for c in cancels]

    def _commitment(self, order_id: int) -> int:
        if order_id not in self._commitments:
            raise InputError("order_id", f"book order {order_id} was not submitted through this recorder")
        return self._commitments[order_id]
