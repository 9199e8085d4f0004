"""What the order book reports: fills, cancellations, the outcome of each submission.

Both books (:class:`offchain.trading.book.OrderBook` and the reference
:class:`offchain.trading.reference.ReferenceBook`) emit exactly these records, so a run of one
can be compared with the other field by field.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import NamedTuple

from offchain.trading.orders import Side


class Fill(NamedTuple):
    """One match: ``size`` lots of ``instrument`` at the maker's ``price`` (base units per lot).

    The taker bought when ``taker_side`` is BUY (then the maker sold), and sold otherwise. ``seq``
    numbers the fills of a book 0, 1, 2, ... in the order they happened."""

    maker_order: int
    taker_order: int
    instrument: int
    price: int
    size: int
    maker: str
    taker: str
    taker_side: Side
    seq: int

    @property
    def buyer(self) -> str:
        return self.taker if self.taker_side == Side.BUY else self.maker

    @property
    def seller(self) -> str:
        return self.maker if self.taker_side == Side.BUY else self.taker


class CancelReason(StrEnum):
    """Why a resting order (or what remained of it) left the book without a fill."""

    #: the trader (or the operator on its behalf) cancelled it
    CANCELLED = "cancelled"
    #: its expiry passed (``expiry <= now``)
    EXPIRED = "expired"
    #: a taker of the same trader met it (self-trade prevention cancels the resting order)
    SELF_TRADE = "self_trade"
    #: reduce-only and the trader's position no longer allows it
    REDUCE_ONLY = "reduce_only"


class Cancel(NamedTuple):
    """``size`` lots of resting order ``order_id`` were cancelled for ``reason``."""

    order_id: int
    trader: str
    instrument: int
    size: int
    reason: CancelReason


class Status(StrEnum):
    """The outcome of one submission."""

    #: refused: nothing happened (``reason`` names the field or the rule)
    REJECTED = "rejected"
    #: some of it rests in the book (it may also have filled or been capped)
    RESTING = "resting"
    #: filled completely
    FILLED = "filled"
    #: done without resting: an IOC or market remainder, or a reduce-only cap (``reason``)
    CANCELLED = "cancelled"


class Report(NamedTuple):
    """The outcome of a submission. For an accepted order ``size = filled + resting + cancelled``;
    a rejected order has all three 0. ``fills`` are this order's matches in order; ``cancels``
    are other resting orders the match removed (expired, self-trade, reduce-only)."""

    order_id: int
    status: Status
    filled: int
    resting: int
    cancelled: int
    reason: str | None
    fills: list[Fill]
    cancels: list[Cancel]


class OpenOrder(NamedTuple):
    """A resting order as the book holds it (``remaining`` lots left)."""

    order_id: int
    trader: str
    instrument: int
    side: Side
    price: int
    remaining: int
    expiry: int
    reduce_only: bool


# --- the reasons the books give (one text, used by both books) ----------------------------
def reduce_only_reason(side: int, position: int, symbol: str) -> str:
    """A reduce-only order rejected because it cannot reduce the position."""
    word = "buy" if side == Side.BUY else "sell"
    return f"reduce_only: the trader's position in {symbol} is {position} lots; a {word} would not reduce it"


def capped_reason(cap: int) -> str:
    """A reduce-only order larger than the position: the excess is cancelled."""
    return f"reduce_only: size capped to the position ({cap} lots)"


def post_only_reason(side: int, best: int) -> str:
    """A post-only order that would cross the live opposite order at ``best``."""
    return f"post_only: would take liquidity (best {'ask' if side == Side.BUY else 'bid'} {best})"


def remainder_reason(kind: str) -> str:
    """The unfilled remainder of a market or IOC order."""
    return f"{kind}: unfilled remainder cancelled"


def risk_reason(message: str) -> str:
    """The pre-trade risk check refused the order."""
    return f"risk: {message}"


#: the pre-trade risk check: ``(trader, instrument, signed size delta in lots, worst price)`` ->
#: None to accept, or the reason to reject (see docs/trading.md, "Pre-trade risk")
RiskCheck = Callable[[str, int, int, int], "str | None"]
#: called once per fill, after the book has applied it
FillListener = Callable[[Fill], None]
