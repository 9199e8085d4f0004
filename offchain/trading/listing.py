"""The trading listing: per-instrument tick size and size limits of the order book.

Instrument ``i`` of the listing is instrument ``i`` of the risk epoch (its index in the epoch's
``instruments``, ``marks``, ...); the symbol is there for humans and is checked against orders.
Prices are integer collateral base units per lot and sizes integer lots (docs/ARCHITECTURE.md,
"Units"), so a tick is a number of base units and the lot is the size granularity itself.

``kind`` (``perp``, ``future``, ``option``, ``everlasting``) says which instruments pay funding
(:mod:`offchain.trading.funding`); it is optional, so listings written before it stay valid,
but the funding keeper refuses a listing that does not give it. An everlasting option also
carries its terms in the listing's units: ``strike`` (base units per lot), ``option_type`` and
``funding_period_seconds``.

:func:`listing_from_instruments` builds the listing from the risk engine's instruments with the
tick rule of :func:`tick_per_unit`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from offchain.risk.instruments import AnyInstrument, EverlastingOption
from offchain.validation import load_json, parse_model
from prover.statement import MAX_INSTRUMENTS, ORDER_FIELD_BITS
from zkmargin.errors import InputError

#: every limit price and size is < 2^64 (the order commitment's range)
FIELD_LIMIT = 1 << ORDER_FIELD_BITS
#: collateral base units per USD (6 decimals, as ``offchain.risk.epoch.VALUE_DECIMALS``)
VALUE_SCALE = 10**6
#: the tick per unit of underlying is the largest power of ten at most this fraction of the spot
TICK_FRACTION = Decimal("0.00001")

Kind = Literal["perp", "future", "option", "everlasting"]
#: the kinds that pay funding
FUNDED_KINDS = frozenset({"perp", "everlasting"})


class InstrumentSpec(BaseModel):
    """One listed instrument's order constraints (and, for the funding keeper, its kind)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    symbol: str = Field(min_length=1, max_length=64)
    tick_size: int = Field(ge=1, lt=FIELD_LIMIT, description="price granularity, base units per lot")
    min_size: int = Field(default=1, ge=1, lt=FIELD_LIMIT, description="smallest order, lots")
    max_size: int = Field(default=FIELD_LIMIT - 1, ge=1, lt=FIELD_LIMIT, description="largest order, lots")
    kind: Kind | None = Field(default=None, description="perp, future, option or everlasting (funding)")
    strike: int | None = Field(default=None, ge=1, lt=FIELD_LIMIT,
                               description="everlasting options: strike, base units per lot")
    option_type: Literal["call", "put"] | None = Field(default=None, description="everlasting options")
    funding_period_seconds: int | None = Field(default=None, ge=60, le=10 * 365 * 86400,
                                               description="everlasting options: mark - payoff is paid once per period")

    @model_validator(mode="after")
    def _sizes(self) -> InstrumentSpec:
        if self.max_size < self.min_size:
            raise ValueError(f"max_size {self.max_size} is below min_size {self.min_size}")
        terms = {"strike": self.strike, "option_type": self.option_type,
                 "funding_period_seconds": self.funding_period_seconds}
        if self.kind == "everlasting":
            missing = [k for k, v in terms.items() if v is None]
            if missing:
                raise ValueError(f"an everlasting option needs {', '.join(missing)}")
        else:
            given = [k for k, v in terms.items() if v is not None]
            if given:
                raise ValueError(f"{', '.join(given)} only for kind 'everlasting'")
        return self

    @property
    def pays_funding(self) -> bool:
        return self.kind in FUNDED_KINDS

    @property
    def max_price(self) -> int:
        """The highest limit price on the tick grid (< 2^64): a market buy's default bound."""
        return (FIELD_LIMIT - 1) // self.tick_size * self.tick_size


class ListingSpec(BaseModel):
    """The listing the book trades: instrument ``i`` is the epoch's instrument ``i``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    instruments: list[InstrumentSpec] = Field(min_length=1, max_length=MAX_INSTRUMENTS)

    @model_validator(mode="after")
    def _unique(self) -> ListingSpec:
        seen: set[str] = set()
        for spec in self.instruments:
            if spec.symbol in seen:
                raise ValueError(f"symbol {spec.symbol!r} is listed twice")
            seen.add(spec.symbol)
        return self

    @property
    def n(self) -> int:
        return len(self.instruments)

    def index(self, symbol: str) -> int:
        """The index of ``symbol`` (raises :class:`~zkmargin.errors.InputError` naming ``symbol``)."""
        for i, spec in enumerate(self.instruments):
            if spec.symbol == symbol:
                return i
        raise InputError("symbol", f"{symbol!r} is not listed")

    @classmethod
    def parse(cls, data: Any, prefix: str = "") -> ListingSpec:
        """Validate a listing document; a bad field raises InputError naming it."""
        return parse_model(cls, data, prefix)

    @classmethod
    def load(cls, path: str) -> ListingSpec:
        return cls.parse(load_json(path, "listing"), "listing")


def tick_per_unit(spot: float) -> Decimal:
    """The tick per unit of underlying: the largest power of ten ``<= 10^-5 * spot`` (USD).

    BTC at 42,000 -> 0.1 USD, ETH at 2,300 -> 0.01 USD, an asset at 0.5 -> 0.000001 USD: about a
    thousandth of a percent of the price, close to the venues' ticks (Deribit's BTC perpetual
    trades in 0.5 USD, its ETH perpetual in 0.05 USD) and never coarser than 10 ppm of the spot.
    Every instrument of an underlying (perps, futures, options, everlasting options) gets its
    underlying's tick.
    """
    if not (math.isfinite(spot) and spot > 0):
        raise InputError("spot", "must be finite and > 0")
    target = Decimal(repr(spot)) * TICK_FRACTION
    exp = target.adjusted()  # floor(log10(target)) for a positive Decimal
    return Decimal(1).scaleb(exp)


def _per_lot(value_usd: Decimal, lot_size: float) -> Decimal:
    return value_usd * Decimal(repr(lot_size)) * VALUE_SCALE


def listing_from_instruments(
    instruments: Sequence[AnyInstrument],
    spots: Mapping[str, float],
    *,
    min_size: int = 1,
    max_size: int = FIELD_LIMIT - 1,
) -> ListingSpec:
    """The order book's listing of the risk engine's ``instruments`` (same order: instrument ``i``
    of the epoch is instrument ``i`` of the book).

    ``tick_size = max(1, floor(tick_per_unit(spot) * lot_size * 10^6))`` base units per lot, with
    ``spot`` the underlying's reference price from ``spots``; ``kind`` is the instrument's; an
    everlasting option's strike becomes base units per lot, ``round(strike * lot_size * 10^6)``
    (exact in decimal arithmetic; half-even when it is not a whole number of units).
    """
    specs: list[InstrumentSpec] = []
    for j, inst in enumerate(instruments):
        if inst.underlying not in spots:
            raise InputError(f"instruments[{j}].underlying", f"no reference price for {inst.underlying!r} in spots")
        tick = _per_lot(tick_per_unit(float(spots[inst.underlying])), inst.lot_size)
        extra: dict[str, Any] = {}
        if isinstance(inst, EverlastingOption):
            strike = _per_lot(Decimal(repr(inst.strike)), inst.lot_size).to_integral_value()
            extra = {"strike": int(strike), "option_type": inst.option_type,
                     "funding_period_seconds": inst.funding_period_seconds}
        specs.append(InstrumentSpec(symbol=inst.symbol, tick_size=max(1, int(tick)), min_size=min_size,
                                    max_size=max_size, kind=inst.kind, **extra))
    return ListingSpec(instruments=specs)

