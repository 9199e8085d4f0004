"""The rows of the operator database as typed records, and the two order forms' conversion.

``offchain.trading.orders.Order`` (what the book matches: with ``kind``, ``reduce_only`` and
``symbol``, which are not committed) and ``prover.transitions.Order`` (the opening of the
commitment the circuit checks) are two views of one signed order; :func:`statement_order`
turns the first into the second with the same commitment.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction

from eth_utils import to_checksum_address

from offchain.trading.orders import Order as BookOrder
from offchain.trading.orders import normalize_address
from offchain.trading.signing import OrderSignature
from prover.statement import Account
from prover.transitions import Order as StatementOrder
from prover.transitions import order_state

#: an EIP-712 signature as the contracts take it: (v, r, s)
ContractSignature = tuple[int, bytes, bytes]


class FillStatus(StrEnum):
    """Where a fill is on its way to the chain."""

    PENDING = "pending"  # matched, in no live batch
    IN_BATCH = "in_batch"  # in a prepared, proved or submitted batch
    SETTLED = "settled"  # its batch is confirmed on chain
    REJECTED = "rejected"  # the transition reference refused it (``reason`` says why)


class BatchStatus(StrEnum):
    """A batch's life: prepared -> proved -> submitted -> confirmed, or abandoned."""

    PREPARED = "prepared"
    PROVED = "proved"
    SUBMITTED = "submitted"
    CONFIRMED = "confirmed"
    ABANDONED = "abandoned"


#: the statuses of a batch still on its way (recovered on every start)
LIVE_BATCH = (BatchStatus.PREPARED, BatchStatus.PROVED, BatchStatus.SUBMITTED)


class OrderStatus(StrEnum):
    """The order's standing with the operator (the book's view, and the settler's cancellations)."""

    OPEN = "open"
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"


def checksum(field: str, address: object) -> str:
    """The EIP-55 form of a 0x address (raises ``InputError`` naming ``field``)."""
    return str(to_checksum_address(normalize_address(field, address)))


def statement_order(order: BookOrder) -> StatementOrder:
    """The opening of ``order``'s commitment as the transition statement takes it."""
    return StatementOrder(int(order.trader, 16), order.instrument, int(order.side), order.limit_price, order.size,
                          order.expiry, order.nonce, order.salt)


def contract_signature(sig: OrderSignature) -> ContractSignature:
    """``(v, r, s)`` with ``r`` and ``s`` as 32-byte words (``ISettlement.Signature``)."""
    return (int(sig.v), int(sig.r).to_bytes(32, "big"), int(sig.s).to_bytes(32, "big"))


@dataclass(frozen=True)
class AccountRecord:
    """An account as the operator holds it: its opening (None before its first commitment and
    after a close), the commitment the chain should hold, and the epoch whose funding index the
    opening has settled."""

    address: str
    label: str
    opening: Account | None
    commitment: int
    settled_epoch: int | None
    status: str


@dataclass(frozen=True)
class OrderRecord:
    """A signed order, how much of it is settled on chain and the salt of its on-chain fill state."""

    commitment: int
    order: BookOrder
    signature: OrderSignature
    book_id: int | None
    filled: int
    state_salt: int
    status: str
    reason: str | None

    @property
    def trader(self) -> str:
        return checksum("trader", self.order.trader)

    def statement_order(self) -> StatementOrder:
        return statement_order(self.order)

    @property
    def state(self) -> int:
        """The fill state the chain should hold: ``sponge(6, [O, filled, r])``, 0 if never filled."""
        if self.filled == 0 and self.state_salt == 0:
            return 0
        return order_state(self.commitment, self.filled, self.state_salt)


@dataclass(frozen=True)
class FillRecord:
    """A matched trade between two signed orders (``id`` orders the settlement)."""

    id: int
    instrument: int
    price: int
    size: int
    buyer: str
    buy_order: int
    seller: str
    sell_order: int
    book_seq: int | None
    batch_id: int | None
    status: str
    attempts: int
    reason: str | None


@dataclass(frozen=True)
class HistoryEntry:
    """One change of an account's opening: ``dq`` lots per instrument and ``dc`` cash; a ``commit``
    entry closes a transition with the new salt and commitment (0: the account is closed)."""

    id: int
    address: str
    epoch_id: int | None
    kind: str
    batch_id: int | None
    fill_id: int | None
    dq: tuple[int, ...]
    dc: int
    salt: int | None
    commitment: int | None
    note: str


@dataclass(frozen=True)
class FundingSampleRecord:
    """One premium sample of a perpetual: its impact prices (exact, base units per lot; None when
    that side of the book was too thin for the impact notional), the oracle index per lot, the
    premium in ``10^-18`` and the funding step that used it (None while unused)."""

    id: int
    instrument: int
    at: int
    impact_bid: Fraction | None
    impact_ask: Fraction | None
    index_price: int
    premium: int
    step_id: int | None


@dataclass(frozen=True)
class FundingStepRecord:
    """One advance of the funding index: from the index of epoch ``base_epoch`` (``start``) to
    ``index`` over the ``elapsed`` seconds before ``at``; ``superseded`` when it was taken again
    before an epoch carried it."""

    id: int
    base_epoch: int
    at: int
    elapsed: int
    start: tuple[int, ...]
    index: tuple[int, ...]
    delta: tuple[int, ...]
    status: str
