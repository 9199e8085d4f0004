"""Instruments, positions, collateral and portfolios (pydantic v2 models).

Conventions (the float risk engine; the integer epoch uses lots, see ``docs/ARCHITECTURE.md``):

* Sizes are in units of the underlying (BTC, ETH), signed: ``size > 0`` is long.
* Money is in USD (the quote/collateral currency).
* Perpetual swaps and dated futures are linear ("spot-like"): their value per unit is the mark
  price, and a position's unrealized PnL is ``size * (mark - entry_price)``.
* Options are European, cash settled in USD, priced with Black-76 on the forward with
  discounting; a position's value is ``size * option_mark`` (the premium paid or received is in
  the account's cash).
* Everlasting options (White & Bankman-Fried 2021) never expire; the long pays the short
  ``mark - payoff`` per ``funding_period_seconds`` (accrued pro rata). They are valued like
  options, ``size * mark`` with the premium in cash, at the price of
  :mod:`offchain.risk.pricing.everlasting` (the funding-weighted sum of dated options).
* Collateral: ``amount`` of an asset valued at its spot (USD-stable assets at 1) times
  ``1 - haircut``.

An account's equity is ``cash + sum(collateral value after haircut) + sum(linear uPnL) +
sum(option and everlasting option values)``.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from offchain.validation import finite
from zkmargin.errors import InputError

STABLE_ASSETS = frozenset({"USD", "USDC", "USDT", "DAI"})  # valued at 1 USD
#: the largest |size| of a position, in units of its underlying (more BTC than will ever exist;
#: catches typos such as 1e300 or -1e9 before they reach the maths)
MAX_ABS_SIZE = 1e8
#: the largest |amount| of money in an input file (USD; cash, collateral, isolated margin)
MAX_ABS_USD = 1e15


def parse_expiry(value: Any) -> int:
    """Expiry as unix seconds: an int, or an ISO-8601 date/time (UTC when no zone is given)."""
    if isinstance(value, bool):
        raise ValueError("expiry must be unix seconds or an ISO-8601 date")  # noqa: TRY004 - pydantic reports ValueError
    if isinstance(value, (int, float)):
        if not math.isfinite(float(value)) or value <= 0:
            raise ValueError("expiry must be positive unix seconds")
        return int(value)
    if isinstance(value, str):
        try:
            dt = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f"expiry {value!r} is not an ISO-8601 date") from None
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
        return int(dt.timestamp())
    raise ValueError("expiry must be unix seconds or an ISO-8601 date")


def _usd(v: float, what: str) -> float:
    finite(v, what)
    if abs(v) > MAX_ABS_USD:
        raise ValueError(f"|{what}| must be at most {MAX_ABS_USD:.0e}, got {v:g}")
    return v


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _InstrumentBase(_Model):
    symbol: str = Field(min_length=1, max_length=64)
    underlying: str = Field(min_length=1, max_length=16, pattern=r"^[A-Z0-9]+$")
    lot_size: float = Field(default=0.001, gt=0, description="units of underlying per lot (epoch)")

    @field_validator("lot_size")
    @classmethod
    def _finite_lot(cls, v: float) -> float:
        return finite(v, "lot_size")


class Perp(_InstrumentBase):
    """Linear perpetual swap (USD-margined)."""

    kind: Literal["perp"] = "perp"


class Future(_InstrumentBase):
    """Linear dated future, cash settled at ``expiry`` (unix seconds)."""

    kind: Literal["future"] = "future"
    expiry: int

    @field_validator("expiry", mode="before")
    @classmethod
    def _expiry(cls, v: Any) -> int:
        return parse_expiry(v)


class Option(_InstrumentBase):
    """European option on the underlying, cash settled in USD at ``expiry``."""

    kind: Literal["option"] = "option"
    expiry: int
    strike: float = Field(gt=0)
    option_type: Literal["call", "put"]

    @field_validator("expiry", mode="before")
    @classmethod
    def _expiry(cls, v: Any) -> int:
        return parse_expiry(v)

    @field_validator("strike")
    @classmethod
    def _finite_strike(cls, v: float) -> float:
        return finite(v, "strike")

    @property
    def is_call(self) -> bool:
        return self.option_type == "call"


#: funding periods accepted for everlasting options: one minute to ten years
MIN_FUNDING_PERIOD_SECONDS = 60
MAX_FUNDING_PERIOD_SECONDS = 10 * 365 * 86400


class EverlastingOption(_InstrumentBase):
    """Everlasting (perpetual) option: no expiry; the long pays ``mark - payoff`` per
    ``funding_period_seconds``, accrued pro rata (White & Bankman-Fried, 2021)."""

    kind: Literal["everlasting"] = "everlasting"
    strike: float = Field(gt=0)
    option_type: Literal["call", "put"]
    funding_period_seconds: int = Field(default=86_400, ge=MIN_FUNDING_PERIOD_SECONDS,
                                        le=MAX_FUNDING_PERIOD_SECONDS,
                                        description="the period over which mark - payoff is paid once")

    @field_validator("strike")
    @classmethod
    def _finite_strike(cls, v: float) -> float:
        return finite(v, "strike")

    @property
    def is_call(self) -> bool:
        return self.option_type == "call"

    @property
    def funding_period_years(self) -> float:
        return self.funding_period_seconds / (365.0 * 86400.0)

    def payoff(self, spot: float) -> float:
        """``max(S - K, 0)`` for a call, ``max(K - S, 0)`` for a put (USD per unit)."""
        return max(spot - self.strike, 0.0) if self.is_call else max(self.strike - spot, 0.0)


#: any listed instrument
AnyInstrument = Perp | Future | Option | EverlastingOption
#: the instruments valued as ``size * mark`` (premium style), not ``size * (mark - entry)``
OPTION_CLASSES = (Option, EverlastingOption)

Instrument = Annotated[AnyInstrument, Field(discriminator="kind")]


class Position(_Model):
    """A signed position in a listed instrument, referenced by symbol."""

    instrument: str = Field(min_length=1)
    size: float = Field(description="units of underlying, > 0 long, < 0 short")
    entry_price: float | None = Field(default=None, description="USD per unit (perps/futures)")
    margin: float | None = Field(default=None, ge=0, description="isolated margin allocated (USD)")

    @field_validator("size")
    @classmethod
    def _size(cls, v: float) -> float:
        finite(v, "size")
        if v == 0:
            raise ValueError("size must be non-zero")
        if abs(v) > MAX_ABS_SIZE:
            raise ValueError(f"|size| must be at most {MAX_ABS_SIZE:.0e} units of the underlying, got {v:g}")
        return v

    @field_validator("entry_price")
    @classmethod
    def _entry(cls, v: float | None) -> float | None:
        if v is not None:
            finite(v, "entry_price")
            if v <= 0:
                raise ValueError("entry_price must be > 0")
        return v

    @field_validator("margin")
    @classmethod
    def _margin(cls, v: float | None) -> float | None:
        return None if v is None else _usd(v, "margin")


class Collateral(_Model):
    """Collateral holding: ``amount`` units of ``asset`` counted at ``(1 - haircut)``."""

    asset: str = Field(min_length=1, max_length=16, pattern=r"^[A-Z0-9]+$")
    amount: float = Field(ge=0)
    haircut: float = Field(default=0.0, ge=0, lt=1)

    @field_validator("amount", "haircut")
    @classmethod
    def _finite(cls, v: float, info: ValidationInfo) -> float:
        return _usd(v, str(info.field_name))


class Portfolio(_Model):
    """An account: listed instruments it references, positions, collateral and cash (USD)."""

    instruments: list[Instrument]
    positions: list[Position]
    collateral: list[Collateral] = Field(default_factory=list)
    cash: float = 0.0
    account: str | None = Field(default=None, min_length=1, max_length=64,
                                description="account id (a venue's per-account parameter override)")

    @field_validator("cash")
    @classmethod
    def _cash(cls, v: float) -> float:
        return _usd(v, "cash")

    @field_validator("positions")
    @classmethod
    def _nonempty(cls, v: list[Position]) -> list[Position]:
        if not v:
            raise ValueError("portfolio has no positions")
        return v

    @model_validator(mode="after")
    def _references(self) -> Portfolio:
        seen: set[str] = set()
        for j, inst in enumerate(self.instruments):
            if inst.symbol in seen:
                raise InputError(f"instruments[{j}].symbol", f"duplicate instrument symbol {inst.symbol!r}")
            seen.add(inst.symbol)
        for k, pos in enumerate(self.positions):
            if pos.instrument not in seen:
                raise InputError(f"positions[{k}].instrument", f"unknown instrument {pos.instrument!r}")
        return self

    def instrument(self, symbol: str) -> AnyInstrument:
        for inst in self.instruments:
            if inst.symbol == symbol:
                return inst
        raise KeyError(symbol)

    def resolved(self) -> list[tuple[AnyInstrument, Position]]:
        """(instrument, position) pairs in position order."""
        table = {i.symbol: i for i in self.instruments}
        return [(table[p.instrument], p) for p in self.positions]

    def scaled(self, factor: float) -> Portfolio:
        """The same portfolio with every position size multiplied by ``factor`` (not cash)."""
        return self.model_copy(
            update={"positions": [p.model_copy(update={"size": p.size * factor}) for p in self.positions]}
        )
