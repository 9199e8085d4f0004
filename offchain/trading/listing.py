"""The trading listing: per-instrument tick size and size limits of the order book.

Instrument ``i`` of the listing is instrument ``i`` of the risk epoch (its index in the epoch's
``instruments``, ``marks``, ...); the symbol is there for humans and is checked against orders.
Prices are integer collateral base units per lot and sizes integer lots (docs/ARCHITECTURE.md,
"Units"), so a tick is a number of base units and the lot is the size granularity itself.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from offchain.validation import load_json, parse_model
from prover.statement import MAX_INSTRUMENTS, ORDER_FIELD_BITS
from zkmargin.errors import InputError

#: every limit price and size is < 2^64 (the order commitment's range)
FIELD_LIMIT = 1 << ORDER_FIELD_BITS


class InstrumentSpec(BaseModel):
    """One listed instrument's order constraints."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    symbol: str = Field(min_length=1, max_length=64)
    tick_size: int = Field(ge=1, lt=FIELD_LIMIT, description="price granularity, base units per lot")
    min_size: int = Field(default=1, ge=1, lt=FIELD_LIMIT, description="smallest order, lots")
    max_size: int = Field(default=FIELD_LIMIT - 1, ge=1, lt=FIELD_LIMIT, description="largest order, lots")

    @model_validator(mode="after")
    def _sizes(self) -> InstrumentSpec:
        if self.max_size < self.min_size:
            raise ValueError(f"max_size {self.max_size} is below min_size {self.min_size}")
        return self

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
