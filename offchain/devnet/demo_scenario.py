"""The devnet scenario file (``config/devnet-demo.json``): what the demo and ``deploy`` run.

A validated pydantic model: the seed, the price path, the accounts to open (portfolio templates
with counts), vols, grace window, auction parameters, insurance fund and liquidator capital, and
the optional trading phase (``trading``: rounds of fills between accounts at prices near the
marks, and profit withdrawals; ``offchain.devnet.demo_trading``).
Holdings are in lots of the devnet listing (``offchain/devnet/listing.py``): 1 lot = 0.001 BTC or
0.01 ETH; option symbols are the listing's roles ``BTC-CALL``/``BTC-PUT``/``ETH-PUT`` and
``ETH-EVCALL`` (the everlasting call), resolved to the listed strikes.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from offchain.devnet.margin_calls import MarginCallConfig
from offchain.sim.paths import HistoryPathSpec, PathSpec
from offchain.validation import first_error, load_json
from prover.statement import BPS
from zkmargin.errors import InputError

ROLES = ("BTC-PERP", "BTC-FUT", "BTC-CALL", "BTC-PUT", "ETH-PERP", "ETH-FUT", "ETH-EVCALL", "ETH-PUT")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


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
    start_discount_bps: int = Field(default=200, ge=0, le=BPS)
    max_discount_bps: int = Field(default=1_500, ge=0, le=BPS)
    duration_seconds: int = Field(default=1_800, ge=1)
    liquidation_fee_bps: int = Field(default=100, ge=0, le=BPS)
    protocol_fee_share_bps: int = Field(default=2_000, ge=0, le=BPS)


class TopUpAccount(_Model):
    """An account of the scenario that authorizes the margin-call keeper's top-ups."""

    label: str = Field(min_length=1, max_length=40, description="the label of an account template with count 1")
    allowance_usd: float = Field(gt=0, le=1e12, description="the on-chain allowance it gives the keeper")
    wallet_usd: float = Field(default=0, ge=0, le=1e12, description="collateral in its wallet (minted on the devnet)")
    twin: str | None = Field(default=None, description="the label of the same account without top-up, to compare with")


class MarginCallSpec(_Model):
    """Margin-call automation in the demo: the keeper's config (tiers, retries, top-up policy;
    the alerts go to the demo's own signed-webhook inbox) and the accounts that opt in."""

    config: MarginCallConfig = MarginCallConfig()
    top_ups: list[TopUpAccount] = Field(default_factory=list)

    @field_validator("config")
    @classmethod
    def _no_webhooks(cls, v: MarginCallConfig) -> MarginCallConfig:
        if v.webhooks:
            raise ValueError("the demo delivers alerts to its own inbox: leave webhooks out")
        return v


class FillSpec(_Model):
    """One fill of a trading round: ``buyer`` buys ``lots`` of ``instrument`` from ``seller`` at the
    epoch's mark moved by ``price_vs_mark_bps`` (both are labels of account templates with count 1)."""

    buyer: str = Field(min_length=1, max_length=40)
    seller: str = Field(min_length=1, max_length=40)
    instrument: str = Field(description="a role of the devnet listing (ROLES)")
    lots: int = Field(gt=0, le=10**9)
    price_vs_mark_bps: int = Field(default=0, ge=-5_000, le=5_000,
                                   description="the fill's price: mark * (1 + bps / 10000), base units per lot")

    @field_validator("instrument")
    @classmethod
    def _role(cls, v: str) -> str:
        if v not in ROLES:
            raise ValueError(f"unknown instrument role {v!r}; known: {list(ROLES)}")
        return v

    @model_validator(mode="after")
    def _two_sides(self) -> FillSpec:
        if self.buyer == self.seller:
            raise ValueError(f"buyer and seller are the same account {self.buyer!r}")
        return self


class TradingRound(_Model):
    """Fills settled together after price step ``at_step`` (0: right after the accounts open)."""

    at_step: int = Field(ge=0)
    fills: list[FillSpec] = Field(min_length=1)


class WithdrawalSpec(_Model):
    """After step ``at_step`` (and its trading round) the account moves all its positive private
    cash (realized PnL, settled funding) to its public balance and withdraws all but
    ``keep_im_multiple`` times the initial margin of the book it keeps."""

    label: str = Field(min_length=1, max_length=40)
    at_step: int = Field(ge=0)
    keep_im_multiple: float = Field(default=1.5, ge=1, le=100)


class TradingSpec(_Model):
    """The trading phase: fills between the scenario's accounts at prices near the marks (their
    perpetual premia are the funding keeper's samples), and profit withdrawals."""

    rounds: list[TradingRound] = Field(default_factory=list)
    withdrawals: list[WithdrawalSpec] = Field(default_factory=list)


class DevnetScenario(_Model):
    name: str = "devnet-demo"
    seed: int = Field(default=2021, ge=0)
    path: PathSpec = Field(
        default=HistoryPathSpec(kind="history", assets=["BTC", "ETH"], start=dt.date(2021, 5, 12),
                                end=dt.date(2021, 5, 21), steps_per_day=2),
        description="the price path (offchain.sim.paths: history, gbm_jump or garch, with wicks)")
    step_seconds: int = Field(default=3_600, ge=1, le=86_400, description="chain seconds between two price steps")
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
    max_deviation_bps: int = Field(default=5_000, ge=0, le=BPS)
    accounts: list[AccountTemplate] = Field(min_length=1)
    margin_calls: MarginCallSpec | None = Field(default=None, description="alerts and top-ups (offchain.devnet.margin_calls)")
    trading: TradingSpec | None = Field(default=None, description="fills between accounts, funding and withdrawals")

    @field_validator("vols", "crash_vols")
    @classmethod
    def _vols(cls, v: dict[str, float]) -> dict[str, float]:
        for k, x in v.items():
            if not 0 < x < 10:
                raise ValueError(f"vol of {k} must be in (0, 10), got {x}")
        return v

    @model_validator(mode="after")
    def _path_assets(self) -> DevnetScenario:
        if sorted(self.path.assets) != ["BTC", "ETH"]:
            raise ValueError(f"path.assets must be BTC and ETH (the devnet listing), got {self.path.assets}")
        if isinstance(self.path, HistoryPathSpec) and not self.path.start < self.path.end:
            raise ValueError("path.end must be after path.start")
        if self.margin_calls is not None:
            singles = {t.label for t in self.accounts if t.count == 1}
            for k, t in enumerate(self.margin_calls.top_ups):
                for name, label in (("label", t.label), ("twin", t.twin)):
                    if label is not None and label not in singles:
                        raise ValueError(f"margin_calls.top_ups[{k}].{name}: no account with count 1 is labelled {label!r}")
        if self.trading is not None:
            singles = {t.label for t in self.accounts if t.count == 1}
            for r, rnd in enumerate(self.trading.rounds):
                for k, f in enumerate(rnd.fills):
                    for name in ("buyer", "seller"):
                        if getattr(f, name) not in singles:
                            raise ValueError(f"trading.rounds[{r}].fills[{k}].{name}: no account with count 1 is "
                                             f"labelled {getattr(f, name)!r}")
            for k, w in enumerate(self.trading.withdrawals):
                if w.label not in singles:
                    raise ValueError(f"trading.withdrawals[{k}].label: no account with count 1 is labelled {w.label!r}")
        return self

    @property
    def n_accounts(self) -> int:
        return sum(t.count for t in self.accounts)


def load_scenario(path: str | Path) -> DevnetScenario:
    """Read and validate a scenario file; errors name the field (``scenario.accounts[2].holdings``)."""
    data = load_json(str(path), field="scenario")
    try:
        return DevnetScenario.model_validate(data)
    except ValidationError as exc:
        where, msg = first_error(exc, DevnetScenario)  # an unknown key first, by name
        loc = [str(x) for x in where if x not in ("history", "gbm_jump", "garch")]  # union tags
        raise InputError(".".join(["scenario", *loc]), msg) from None


def resolve_holdings(holdings: dict[str, int], symbols: list[str]) -> dict[str, int]:
    """Map roles (``BTC-CALL``) to the listed symbols (``BTC-C47000``), by listing position."""
    by_role = dict(zip(ROLES, symbols))
    return {by_role[role]: lots for role, lots in holdings.items() if lots}
