"""Orders: their fields, the validated constructors, the listing checks and the commitment.

An order is what its trader signs (through its commitment, see :mod:`offchain.trading.signing`):

    trader       0x address (stored lower-case)
    instrument   index into the epoch's listing (< 256), plus ``symbol`` for humans
    side         buy (0) or sell (1)
    limit_price  integer collateral base units per lot, on the instrument's tick, in [0, 2^64);
                 a market order's worst acceptable price (highest for a buy, lowest for a sell)
    size         integer lots, in [1, 2^64), at least the instrument's ``min_size``
    kind         limit (good till cancelled or expiry), market, ioc, post_only
    reduce_only  never increases the trader's absolute position in the instrument
    expiry       unix seconds; the order is live while ``now < expiry``
    nonce        < 2^64, unique per trader (the book refuses a second order with the same nonce)
    salt         uniform in [0, r) (r: the BN254 scalar field), hides the order in its commitment

Commitment: ``sponge(TAG_ORDER, [trader, instrument, side, limit_price, size, expiry, nonce, salt])``
with ``TAG_ORDER = 3`` (:mod:`prover.statement`) and the address as a 160-bit integer. ``kind``
and ``reduce_only`` only restrict how the operator may execute the order; they are not part of
the commitment.

:class:`Order` is a plain slotted dataclass: the matching core reads it without any validation
layer. Build one with :meth:`Order.create` (range checks, raises :class:`InputError` naming the
field) or from a JSON request through :class:`OrderRequest` (pydantic, ``extra="forbid"``).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from offchain.trading.listing import FIELD_LIMIT, InstrumentSpec, ListingSpec
from offchain.validation import parse_model
from prover.field import R
from prover.poseidon import sponge
from prover.statement import ACCOUNT_BITS, MAX_INSTRUMENTS, TAG_ORDER
from zkmargin.errors import InputError

_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")


class Side(IntEnum):
    """The side; the value is what the commitment hashes (0 buy, 1 sell)."""

    BUY = 0
    SELL = 1


class OrderKind(StrEnum):
    """How the order executes: ``limit`` rests until filled, cancelled or expired; ``market`` and
    ``ioc`` take what they can up to the limit price and cancel the rest; ``post_only`` is
    rejected if it would take liquidity."""

    LIMIT = "limit"
    MARKET = "market"
    IOC = "ioc"
    POST_ONLY = "post_only"


def normalize_address(field: str, value: object) -> str:
    """A 0x-prefixed 20-byte hex address, lower-cased (raises InputError naming ``field``)."""
    if not isinstance(value, str) or not _ADDRESS.match(value):
        raise InputError(field, f"must be a 0x-prefixed 20-byte hex address, got {value!r}")
    return value.lower()


def _int_in(field: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(field, f"must be an integer, got {type(value).__name__}")
    if not low <= value < high:
        raise InputError(field, f"{value} must be in [{low}, {high})")
    return value


@dataclass(frozen=True, slots=True)
class Order:
    """A signed order's content (see the module docstring for each field)."""

    trader: str
    instrument: int
    side: Side
    limit_price: int
    size: int
    expiry: int
    nonce: int
    salt: int
    kind: OrderKind = OrderKind.LIMIT
    reduce_only: bool = False
    symbol: str = ""

    @classmethod
    def create(
        cls,
        *,
        trader: str,
        instrument: int,
        side: Side | str,
        limit_price: int,
        size: int,
        expiry: int,
        nonce: int,
        salt: int | None = None,
        kind: OrderKind | str = OrderKind.LIMIT,
        reduce_only: bool = False,
        symbol: str = "",
    ) -> Order:
        """Validate every field's range and build the order; ``salt`` defaults to a fresh
        uniform draw in ``[0, r)``. Listing constraints (tick, minimum size) are checked by the
        book or :func:`check_listing`."""
        t = normalize_address("trader", trader)
        i = _int_in("instrument", instrument, 0, MAX_INSTRUMENTS)
        try:
            s = Side[side.upper()] if isinstance(side, str) else Side(side)
        except (KeyError, ValueError):
            raise InputError("side", f"must be 'buy' or 'sell', got {side!r}") from None
        try:
            k = OrderKind(kind)
        except ValueError:
            raise InputError("kind", f"must be one of {[x.value for x in OrderKind]}, got {kind!r}") from None
        if not isinstance(reduce_only, bool):
            raise InputError("reduce_only", f"must be a boolean, got {reduce_only!r}")
        if not isinstance(symbol, str):
            raise InputError("symbol", f"must be a string, got {type(symbol).__name__}")
        price = _int_in("limit_price", limit_price, 0, FIELD_LIMIT)
        sz = _int_in("size", size, 1, FIELD_LIMIT)
        exp = _int_in("expiry", expiry, 0, FIELD_LIMIT)
        n = _int_in("nonce", nonce, 0, FIELD_LIMIT)
        sa = secrets.randbelow(R) if salt is None else _int_in("salt", salt, 0, R)
        return cls(t, i, s, price, sz, exp, n, sa, k, reduce_only, symbol)

    def commitment_inputs(self) -> list[int]:
        """``[trader, instrument, side, limit_price, size, expiry, nonce, salt]`` (range checked)."""
        return [
            _int_in("trader", int(normalize_address("trader", self.trader), 16), 0, 1 << ACCOUNT_BITS),
            _int_in("instrument", self.instrument, 0, MAX_INSTRUMENTS),
            _int_in("side", int(self.side), 0, 2),
            _int_in("limit_price", self.limit_price, 0, FIELD_LIMIT),
            _int_in("size", self.size, 1, FIELD_LIMIT),
            _int_in("expiry", self.expiry, 0, FIELD_LIMIT),
            _int_in("nonce", self.nonce, 0, FIELD_LIMIT),
            _int_in("salt", self.salt, 0, R),
        ]

    def commitment(self) -> int:
        return order_commitment(self)


def order_commitment(order: Order) -> int:
    """``sponge(TAG_ORDER, [trader, instrument, side, limit_price, size, expiry, nonce, salt])``."""
    return sponge(TAG_ORDER, order.commitment_inputs())


def market_bound(side: Side, spec: InstrumentSpec) -> int:
    """The default worst acceptable price of a market order: for a buy the highest price on the
    tick grid, for a sell 0."""
    return spec.max_price if side == Side.BUY else 0


def listing_reason(order: Order, listing: ListingSpec) -> str | None:
    """Why ``order`` breaks the listing (``"field: problem"``), or None when it fits.

    Checks, in this order: the instrument index, the symbol (when given), the tick, the
    minimum and the maximum size."""
    i = order.instrument
    if not 0 <= i < listing.n:
        return f"instrument: {i} is not listed (the listing has {listing.n} instruments)"
    spec = listing.instruments[i]
    if order.symbol and order.symbol != spec.symbol:
        return f"symbol: {order.symbol!r} is not instrument {i} ({spec.symbol!r})"
    if order.limit_price % spec.tick_size:
        return f"limit_price: {order.limit_price} is not a multiple of the tick size {spec.tick_size} of {spec.symbol}"
    if order.size < spec.min_size:
        return f"size: {order.size} lots is below the minimum size {spec.min_size} of {spec.symbol}"
    if order.size > spec.max_size:
        return f"size: {order.size} lots is above the maximum size {spec.max_size} of {spec.symbol}"
    return None


def admission_reason(order: Order, listing: ListingSpec, now: int, nonce_used: bool) -> str | None:
    """Why a book refuses ``order`` before looking at the market (``"field: problem"``), or None:
    :func:`listing_reason`, then the expiry (the order must be live: ``now < expiry``), then the
    nonce (``nonce_used``: the trader already had an order accepted with it)."""
    reason = listing_reason(order, listing)
    if reason is not None:
        return reason
    if order.expiry <= now:
        return f"expiry: {order.expiry} is not after now ({now})"
    if nonce_used:
        return f"nonce: {order.nonce} was already used by {order.trader}"
    return None


def check_listing(order: Order, listing: ListingSpec) -> Order:
    """Raise :class:`InputError` naming the field when ``order`` breaks the listing."""
    reason = listing_reason(order, listing)
    if reason is not None:
        field, _, problem = reason.partition(": ")
        raise InputError(field, problem)
    return order


def check_restorable(order: Order, remaining: int, listing: ListingSpec) -> None:
    """Raise :class:`InputError` naming the field unless ``remaining`` lots of ``order`` may be
    put back in a book (``OrderBook.restore``): the order fits the listing, its kind rests
    (``limit`` or ``post_only``), and ``remaining`` is in ``[1, size]``."""
    check_listing(order, listing)
    if order.kind not in (OrderKind.LIMIT, OrderKind.POST_ONLY):
        raise InputError("kind", f"a {order.kind.value} order never rests, so it cannot be restored")
    if isinstance(remaining, bool) or not isinstance(remaining, int) or not 1 <= remaining <= order.size:
        raise InputError("remaining", f"must be an integer in [1, {order.size}] (the order's size), got {remaining!r}")


def restore_cross_reason(side: Side, best: int) -> str:
    """Why a restored order cannot rest: it is live and crosses the live opposite order at ``best``."""
    return f"would cross the live best {'ask' if side == Side.BUY else 'bid'} {best} (a book never rests crossed orders)"


class OrderRequest(BaseModel):
    """An order as it arrives at the operator's API (JSON)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    trader: str = Field(pattern=r"^0x[0-9a-fA-F]{40}$")
    instrument: int = Field(ge=0, lt=MAX_INSTRUMENTS)
    symbol: str = ""
    side: Literal["buy", "sell"]
    kind: Literal["limit", "market", "ioc", "post_only"] = "limit"
    limit_price: int | None = Field(default=None, ge=0, lt=FIELD_LIMIT)
    size: int = Field(ge=1, lt=FIELD_LIMIT)
    reduce_only: bool = False
    expiry: int = Field(ge=0, lt=FIELD_LIMIT)
    nonce: int = Field(ge=0, lt=FIELD_LIMIT)
    salt: int | None = Field(default=None, ge=0, lt=R)

    def to_order(self, listing: ListingSpec) -> Order:
        """The :class:`Order`, checked against ``listing``; a market order without a price gets
        :func:`market_bound`; any other order needs ``limit_price``."""
        if not self.instrument < listing.n:
            raise InputError("instrument", f"{self.instrument} is not listed (the listing has {listing.n} instruments)")
        spec = listing.instruments[self.instrument]
        side = Side.BUY if self.side == "buy" else Side.SELL
        price = self.limit_price
        if price is None:
            if self.kind != "market":
                raise InputError("limit_price", f"is required for a {self.kind} order")
            price = market_bound(side, spec)
        order = Order.create(
            trader=self.trader, instrument=self.instrument, side=side, limit_price=price, size=self.size,
            expiry=self.expiry, nonce=self.nonce, salt=self.salt, kind=self.kind,
            reduce_only=self.reduce_only, symbol=self.symbol or spec.symbol,
        )
        return check_listing(order, listing)


def parse_order(data: Any, listing: ListingSpec, prefix: str = "order") -> Order:
    """Validate a JSON order against :class:`OrderRequest` and ``listing``; a bad field raises
    :class:`InputError` naming it (``order.size: ...``)."""
    req = parse_model(OrderRequest, data, prefix)
    try:
        return req.to_order(listing)
    except InputError as exc:
        raise InputError(f"{prefix}.{exc.field}" if prefix else exc.field, exc.problem) from None
