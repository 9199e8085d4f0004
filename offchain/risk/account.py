"""Account view: equity, IM, MM, margin ratio, free collateral, health tier, liquidation.

    equity          = cash + sum_c amount_c * price_c * (1 - haircut_c)     (stablecoins at 1 unless
                      the market quotes them)
                      + sum_linear size * (mark - entry) + sum_options size * option_mark
    margin_ratio    = MM / equity            (Deribit's "maintenance margin %"; inf if equity <= 0)
    free_collateral = equity - IM
    health tier     = "healthy" if ratio < warning, "warning" if < reduce_only,
                      "reduce_only" if < liquidation, else "liquidation"

Liquidation price of a single linear position under a flat maintenance rate ``mmr`` (closed
form): ``equity + q (P - mark) = |q| P mmr`` gives ``P = (q mark - equity) / (q - |q| mmr)``.

For a portfolio, :func:`exhausting_move` finds the common relative spot move ``x`` (applied to
every underlying, or to one) at which ``equity(x) - MM(x) = 0``, with Brent's method on the
bracket ``[-0.99, 0]`` (down) and ``[0, up_limit]`` (up), re-running the chosen margin model at
each trial market.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from pydantic import Field, model_validator
from scipy.optimize import brentq

from offchain.risk.instruments import STABLE_ASSETS, Option, Portfolio
from offchain.risk.margin.base import MarginModel, MarginResult, ModelConfig
from offchain.risk.market import MarketState
from zkmargin.errors import InputError

MAX_DOWN_MOVE = -0.99
MAX_UP_MOVE = 10.0


class HealthConfig(ModelConfig):
    warning: float = Field(default=0.8, gt=0)
    reduce_only: float = Field(default=0.9, gt=0)
    liquidation: float = Field(default=1.0, gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> HealthConfig:
        if not self.warning <= self.reduce_only <= self.liquidation:
            raise ValueError("thresholds must satisfy warning <= reduce_only <= liquidation")
        return self


def collateral_price(asset: str, market: MarketState, field: str = "asset") -> float:
    """USD price of a collateral asset: its spot; a USD stablecoin counts at 1 unless the market
    quotes it (a de-peg)."""
    if asset in STABLE_ASSETS and asset not in market.spots:
        return 1.0
    return market.spot(asset, field)


def collateral_value(portfolio: Portfolio, market: MarketState) -> float:
    total = 0.0
    for j, c in enumerate(portfolio.collateral):
        price = collateral_price(c.asset, market, f"collateral[{j}].asset")
        total += c.amount * price * (1.0 - c.haircut)
    return total


def equity(portfolio: Portfolio, market: MarketState) -> float:
    """Account equity in USD (module docstring)."""
    eq = portfolio.cash + collateral_value(portfolio, market)
    for k, (inst, pos) in enumerate(portfolio.resolved()):
        mark = market.mark(inst, f"positions[{k}].instrument")
        if isinstance(inst, Option):
            eq += pos.size * mark
        else:
            entry = pos.entry_price if pos.entry_price is not None else mark
            eq += pos.size * (mark - entry)
    return eq


def health_tier(ratio: float, cfg: HealthConfig) -> str:
    if ratio < cfg.warning:
        return "healthy"
    if ratio < cfg.reduce_only:
        return "warning"
    if ratio < cfg.liquidation:
        return "reduce_only"
    return "liquidation"


@dataclass
class AccountView:
    equity: float
    im: float
    mm: float
    margin_ratio: float
    free_collateral: float
    health: str
    model: str

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        if math.isinf(d["margin_ratio"]):
            d["margin_ratio"] = None
        return d


def account_view(
    portfolio: Portfolio, market: MarketState, model: MarginModel[Any], health: HealthConfig | None = None
) -> tuple[AccountView, MarginResult]:
    cfg = health or HealthConfig()
    res = model.requirement(portfolio, market)
    eq = equity(portfolio, market)
    ratio = res.mm / eq if eq > 0 else math.inf
    if res.mm == 0 and eq > 0:
        ratio = 0.0
    view = AccountView(
        equity=eq, im=res.im, mm=res.mm, margin_ratio=ratio, free_collateral=eq - res.im,
        health=health_tier(ratio, cfg), model=res.model,
    )
    return view, res


def single_position_liquidation_price(size: float, mark: float, equity_usd: float, mmr: float) -> float | None:
    """Closed-form liquidation price of one linear position under a flat MM rate."""
    if size == 0 or not math.isfinite(size):
        raise InputError("size", "must be finite and non-zero")
    if not 0 <= mmr < 1:
        raise InputError("mmr", "must be in [0, 1)")
    p = (size * mark - equity_usd) / (size - abs(size) * mmr)
    return p if p > 0 else None


def pin_entries(portfolio: Portfolio, market: MarketState) -> Portfolio:
    """Copy of ``portfolio`` whose linear positions without ``entry_price`` get today's mark,
    so that their PnL is measured from today when the market moves."""
    new = []
    for k, (inst, pos) in enumerate(portfolio.resolved()):
        if pos.entry_price is None and not isinstance(inst, Option):
            pos = pos.model_copy(update={"entry_price": market.mark(inst, f"positions[{k}].instrument")})
        new.append(pos)
    return portfolio.model_copy(update={"positions": new})


def _shifted(market: MarketState, x: float, underlying: str | None) -> MarketState:
    targets = [underlying] if underlying else list(market.spots)
    return market.with_spots({u: market.spots[u] * (1.0 + x) for u in targets})


def exhausting_move(
    portfolio: Portfolio, market: MarketState, model: MarginModel[Any], underlying: str | None = None
) -> dict[str, float | None]:
    """Relative spot moves (down, up) at which equity falls to MM; ``None`` if none in range.

    Returns ``{"down": x_down or None, "up": x_up or None}`` with ``x_down`` in ``[-0.99, 0)``
    and ``x_up`` in ``(0, 10]``. If the account is already below MM both are ``0.0``.
    """
    if underlying is not None and underlying not in market.spots:
        raise InputError("underlying", f"no spot price for {underlying!r}")
    portfolio = pin_entries(portfolio, market)

    def excess(x: float) -> float:
        m = _shifted(market, x, underlying)
        return equity(portfolio, m) - model.requirement(portfolio, m).mm

    e0 = excess(0.0)
    if e0 <= 0:
        return {"down": 0.0, "up": 0.0}
    out: dict[str, float | None] = {}
    for name, end in (("down", MAX_DOWN_MOVE), ("up", MAX_UP_MOVE)):
        # scan outward for a sign change, then Brent on the bracket
        grid = [end * f for f in (0.01, 0.02, 0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0)]
        prev_x, found = 0.0, None
        for x in grid:
            if excess(x) <= 0:
                found = brentq(excess, prev_x, x, xtol=1e-10)
                break
            prev_x = x
        out[name] = found
    return out
