"""The devnet scenario file (``config/devnet-demo.json``): what the demo and ``deploy`` run.

A validated pydantic model: the seed, the price path, the accounts to open (portfolio templates
with counts), vols, grace window, auction parameters, insurance fund and liquidator capital.
Holdings are in lots of the devnet listing (``offchain/chain/listing.py``): 1 lot = 0.001 BTC or
0.01 ETH; option symbols are the listing's roles ``BTC-CALL``/``BTC-PUT``/``ETH-CALL``/``ETH-PUT``,
resolved to the listed strikes.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from offchain.errors import InputError
from offchain.validation import load_json

ROLES = ("BTC-PERP", "BTC-FUT", "BTC-CALL", "BTC-PUT", "ETH-PERP", "ETH-FUT", "ETH-CALL", "ETH-PUT")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Wick(_Model):
    """An intraday extreme the daily closes miss, set at one step of a history path."""

    at: dt.datetime = Field(description="UTC time of a path step, e.g. 2021-05-19T12:00:00Z")
    prices: dict[str, float] = Field(description="underlying -> USD price at that step")
    note: str = ""

    @field_validator("prices")
    @classmethod
    def _positive(cls, v: dict[str, float]) -> dict[str, float]:
        for k, x in v.items():
            if not 0 < x < 1e9:
                raise ValueError(f"price of {k} must be positive, got {x}")
        return v


class PricePathSpec(_Model):
    source: Literal["history", "gbm", "garch"] = "history"
    start: dt.date = dt.date(2021, 5, 12)
    end: dt.date = dt.date(2021, 5, 21)
    days: float = Field(default=8.0, gt=0, le=365)
    steps_per_day: int = Field(default=2, ge=1, le=96)
    step_seconds: int = Field(default=3_600, ge=1, le=86_400)
    wicks: list[Wick] = Field(default_factory=list)

    @model_validator(mode="after")
    def _dates(self) -> PricePathSpec:
        if self.source == "history" and not self.start < self.end:
            raise ValueError("end must be after start")
        return self


class AccountTemplate(_Model):
    label: str = Field(min_length=1, max_length=40)
    count: int = Field(default=1, ge=1, le=500)
    holdings: dict[str, int] = Field(description="role -> signed lots")
    deposit_usd: float = Field(gt=0, le=1e12)

    @field_validator("holdings")
    @classmethod
    def _roles(cls, v: dict[str, int]) -> dict[str, int]:
        unknown = sorted(set(v) - set(ROLES))
        if unknown:
            raise ValueError(f"unknown instrument role(s) {unknown}; known: {list(ROLES)}")
        if not any(v.values()):
            raise ValueError("at least one non-zero holding")
        return v


class AuctionSpec(_Model):
    start_discount_bps: int = Field(default=200, ge=0, le=10_000)
    max_discount_bps: int = Field(default=1_500, ge=0, le=10_000)
    duration_seconds: int = Field(default=1_800, ge=1)
    liquidation_fee_bps: int = Field(default=100, ge=0, le=10_000)
    protocol_fee_share_bps: int = Field(default=2_000, ge=0, le=10_000)


class DevnetScenario(_Model):
    name: str = "devnet-demo"
    seed: int = Field(default=2021, ge=0)
    path: PricePathSpec = PricePathSpec()
    vols: dict[str, float] = Field(default_factory=lambda: {"BTC": 0.8, "ETH": 0.9})
    crash_vols: dict[str, float] = Field(default_factory=lambda: {"BTC": 1.2, "ETH": 1.4},
                                         description="vols once the price has fallen by crash_threshold")
    crash_threshold: float = Field(default=0.10, gt=0, lt=1)
    epoch_every_rounds: int = Field(default=4, ge=1, description="post an epoch every k price steps ...")
    epoch_on_move: float = Field(default=0.05, gt=0, lt=1, description="... or when a price moved this much since the last epoch")
    grace_period_seconds: int = Field(default=1_800, ge=0)
    auction: AuctionSpec = AuctionSpec()
    insurance_fund_usd: float = Field(default=20_000, ge=0)
    liquidator_capital_usd: float = Field(default=500_000, gt=0)
    max_deviation_bps: int = Field(default=5_000, ge=0, le=10_000)
    accounts: list[AccountTemplate] = Field(min_length=1)

    @field_validator("vols", "crash_vols")
    @classmethod
    def _vols(cls, v: dict[str, float]) -> dict[str, float]:
        for k, x in v.items():
            if not 0 < x < 10:
                raise ValueError(f"vol of {k} must be in (0, 10), got {x}")
        return v

    @property
    def n_accounts(self) -> int:
        return sum(t.count for t in self.accounts)


def load_scenario(path: str | Path) -> DevnetScenario:
    """Read and validate a scenario file; errors name the field (``scenario.accounts[2].holdings``)."""
    data = load_json(str(path), field="scenario")
    try:
        return DevnetScenario.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(x) for x in err["loc"]) or "scenario"
        raise InputError(f"scenario.{where}", err["msg"]) from None


def resolve_holdings(holdings: dict[str, int], symbols: list[str]) -> dict[str, int]:
    """Map roles (``BTC-CALL``) to the listed symbols (``BTC-C47000``), by listing position."""
    by_role = dict(zip(ROLES, symbols))
    return {by_role[role]: lots for role, lots in holdings.items() if lots}
