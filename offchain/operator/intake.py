"""From the order book to the operator database: every signed order and every fill is recorded.

:class:`BookRecorder` wraps an :class:`~offchain.trading.book.OrderBook`: :meth:`BookRecorder.submit`
records the signed order, submits it, and records what the book did: each fill (with both
orders' commitments, so the settler can prove it against the signatures), the order's rejection
or the cancellation of what was left of it, and the resting orders the match removed. The
signature is verified here, once per order, before the book sees it.
"""

from __future__ import annotations

from offchain.operator.records import OrderStatus
from offchain.operator.store import OperatorStore
from offchain.trading.book import OrderBook
from offchain.trading.events import Report, Status
from offchain.trading.orders import Order, Side
from offchain.trading.signing import OrderSignature, verify_order
from zkmargin.errors import InputError


class BookRecorder:
    """Records ``book``'s orders and fills in ``store`` (orders are checked against the EIP-712
    domain of ``chain_id`` and ``settlement``)."""

    def __init__(self, store: OperatorStore, book: OrderBook, chain_id: int, settlement: str) -> None:
        self.store = store
        self.book = book
        self.chain_id = chain_id
        self.settlement = settlement
        self._commitments: dict[int, int] = {}  # book order id -> order commitment

    def submit(self, order: Order, signature: OrderSignature, now: int) -> Report:
        """Verify, record and submit a signed order; returns the book's report."""
        if not verify_order(order, signature, self.chain_id, self.settlement):
            raise InputError("signature", f"is not {order.trader}'s signature of the order")
        oid = self.book.next_order_id
        commitment = self.store.add_order(order, signature, book_id=oid)
        self._commitments[oid] = commitment
        report = self.book.submit(order, now)
        for f in report.fills:
            buy, sell = (f.taker_order, f.maker_order) if f.taker_side == Side.BUY else (f.maker_order, f.taker_order)
            self.store.add_fill(f.instrument, f.price, f.size, self._commitment(buy), self._commitment(sell), f.seq)
        for c in report.cancels:
            self.store.set_order_status(self._commitment(c.order_id), OrderStatus.CANCELLED, str(c.reason))
        if report.status == Status.REJECTED:
            self.store.set_order_status(commitment, OrderStatus.REJECTED, report.reason)
        elif report.status == Status.CANCELLED:
            self.store.set_order_status(commitment, OrderStatus.CANCELLED, report.reason)
        return report

    def cancel(self, order_id: int, trader: str | None = None) -> bool:
        """Cancel a resting order in the book and record it; False if it was not resting."""
        if self.book.cancel(order_id, trader) is None:
            return False
        self.store.set_order_status(self._commitment(order_id), OrderStatus.CANCELLED, "cancelled")
        return True

    def _commitment(self, order_id: int) -> int:
        if order_id not in self._commitments:
            raise InputError("order_id", f"book order {order_id} was not submitted through this recorder")
        return self._commitments[order_id]
