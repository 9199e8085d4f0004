"""Dynamic (EWMA volatility-scaled) margin with EMIR anti-procyclicality tools and a
liquidity/concentration add-on.

Volatility: RiskMetrics EWMA of daily log returns (``lambda``, default 0.94), see
:func:`offchain.risk.margin.var.ewma_variance`; ``s_u`` is tomorrow's forecast for underlying ``u``.
Base margin rate (fraction of the underlying's value) over the margin period of risk:

    rate_u = z_c * s_u * sqrt(mpor_days),      z_c = Phi^-1(confidence)

APC tools (EMIR, Commission Delegated Regulation (EU) No 153/2013, Article 28(1)), applied to
the rate used for IM (``apc_tool``):

* ``buffer`` (28(1)(a)): ``rate * (1 + buffer)`` with ``buffer >= 25%``, the buffer released
  (rate alone) while in stress, i.e. while ``s_u`` exceeds the ``stress_quantile`` quantile of
  its own EWMA history.
* ``stress_weight`` (28(1)(b)): ``z_c sqrt(mpor) sqrt((1 - w) s_u^2 + w s_stress^2)`` with
  ``w >= 25%`` and ``s_stress`` the highest EWMA volatility observed in the history.
* ``floor`` (28(1)(c)): ``max(rate, z_c * sd_long * sqrt(mpor))`` with ``sd_long`` the
  standard deviation of daily returns over the last ``floor_lookback_days`` (EMIR: 10 years;
  the whole history when shorter).

Requirement: the portfolio is fully revalued on the joint grid of spot moves
``{-rate_u, 0, +rate_u}`` per underlying (3^U scenarios, vols unchanged); the loss is the
largest scenario loss. MM uses the base rates; IM the APC rates. Both get the liquidity add-on:
the cost of liquidating each underlying's net delta notional ``D_u`` through its order-book
depth curve, ``cost = integral_0^|D_u| impact(n) dn`` with ``impact`` the price impact
(fraction) after ``n`` USD have been sold, interpolated linearly between the curve's points
``(cumulative_notional, impact)`` from ``(0, 0)`` and extrapolated with the last slope.
"""

from __future__ import annotations

import itertools
import math
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import Field, model_validator
from scipy.stats import norm

from offchain.risk.instruments import Portfolio
from offchain.risk.margin.base import MarginModel, MarginResult, ModelConfig, net_positions
from offchain.risk.margin.var import ewma_variance
from offchain.risk.market import MarketState
from offchain.risk.pricing.black76 import black76_greeks
from zkmargin.errors import InputError

EMIR_MIN_BUFFER = 0.25  # Art. 28(1)(a)
EMIR_MIN_STRESS_WEIGHT = 0.25  # Art. 28(1)(b)
EMIR_FLOOR_LOOKBACK_DAYS = 3650  # Art. 28(1)(c): ten years


class DepthCurve(ModelConfig):
    """Order-book depth: ``points`` = [[cumulative_notional_usd, price_impact_fraction], ...]."""

    points: list[tuple[float, float]] = Field(min_length=1)

    @model_validator(mode="after")
    def _monotone(self) -> DepthCurve:
        prev_n, prev_i = 0.0, 0.0
        for n, i in self.points:
            if not (math.isfinite(n) and math.isfinite(i)):
                raise ValueError("depth points must be finite")
            if n <= prev_n or i < prev_i:
                raise ValueError("depth points must have increasing notional and non-decreasing impact")
            prev_n, prev_i = n, i
        return self

    def liquidation_cost(self, notional: float) -> float:
        """``integral_0^notional impact(n) dn`` (USD), piecewise linear, last slope beyond."""
        if notional < 0 or not math.isfinite(notional):
            raise InputError("notional", "must be finite and >= 0")
        xs = [0.0] + [p[0] for p in self.points]
        ys = [0.0] + [p[1] for p in self.points]
        cost = 0.0
        for k in range(1, len(xs)):
            a, b = xs[k - 1], xs[k]
            if notional <= a:
                return cost
            hi = min(notional, b)
            slope = (ys[k] - ys[k - 1]) / (b - a)
            ya = ys[k - 1]
            yh = ya + slope * (hi - a)
            cost += 0.5 * (ya + yh) * (hi - a)
        if notional > xs[-1]:
            slope = (ys[-1] - ys[-2]) / (xs[-1] - xs[-2])
            extra = notional - xs[-1]
            cost += ys[-1] * extra + 0.5 * slope * extra * extra
        return cost


class DynamicConfig(ModelConfig):
    ewma_lambda: float = Field(default=0.94, gt=0, lt=1)
    confidence: float = Field(default=0.99, gt=0.5, lt=1)
    mpor_days: float = Field(default=2.0, gt=0, le=30)
    apc_tool: Literal["buffer", "stress_weight", "floor", "none"] = "buffer"
    buffer: float = Field(default=EMIR_MIN_BUFFER, ge=0, le=5)
    stress_weight: float = Field(default=EMIR_MIN_STRESS_WEIGHT, ge=0, le=1)
    stress_quantile: float = Field(default=0.95, gt=0, lt=1)
    floor_lookback_days: int = Field(default=EMIR_FLOOR_LOOKBACK_DAYS, ge=20)
    enforce_emir_minimums: bool = True
    liquidity: dict[str, DepthCurve] = Field(default_factory=dict)
    history_file: str | None = None
    history: dict[str, list[float]] | None = None

    @model_validator(mode="after")
    def _emir(self) -> DynamicConfig:
        if self.enforce_emir_minimums:
            if self.apc_tool == "buffer" and self.buffer < EMIR_MIN_BUFFER:
                raise ValueError(f"buffer must be >= {EMIR_MIN_BUFFER} (EMIR RTS Art. 28(1)(a))")
            if self.apc_tool == "stress_weight" and self.stress_weight < EMIR_MIN_STRESS_WEIGHT:
                raise ValueError(f"stress_weight must be >= {EMIR_MIN_STRESS_WEIGHT} (EMIR RTS Art. 28(1)(b))")
        return self


class VolState:
    """EWMA state of one underlying, updated one observation at a time."""

    def __init__(self, prices: NDArray[np.float64], lam: float) -> None:
        if prices.size < 3:
            raise InputError("history", "need at least 3 prices per underlying")
        rets = np.diff(np.log(prices))
        var = ewma_variance(rets[:, None], lam)[:, 0]
        self.lam = lam
        self.last_price = float(prices[-1])
        self.var = float(var[-1])
        self.sigma_hist = list(np.sqrt(var[1:]))
        self.returns = list(rets)

    def observe(self, price: float) -> None:
        if not (math.isfinite(price) and price > 0):
            raise InputError("price", "must be finite and > 0")
        r = math.log(price / self.last_price)
        self.var = self.lam * self.var + (1 - self.lam) * r * r
        self.last_price = price
        self.returns.append(r)
        self.sigma_hist.append(math.sqrt(self.var))


class DynamicMargin(MarginModel[DynamicConfig]):
    """EWMA-scaled margin with APC tools and a liquidity add-on (module docstring)."""

    name = "dynamic"
    config_cls = DynamicConfig

    def __init__(self, config: DynamicConfig, history: dict[str, NDArray[np.float64]] | None = None) -> None:
        super().__init__(config)
        if history is None:
            if config.history is not None:
                history = {u: np.asarray(v, dtype=np.float64) for u, v in config.history.items()}
            elif config.history_file is not None:
                from offchain.risk.io import load_history

                history = load_history(config.history_file)
            else:
                raise InputError("config.history_file", "the dynamic model needs a price history")
        self.state = {u: VolState(np.asarray(p, dtype=np.float64), config.ewma_lambda) for u, p in history.items()}

    def observe(self, prices: dict[str, float]) -> None:
        """Feed one new daily observation per underlying (simulator streaming)."""
        for u, p in prices.items():
            if u not in self.state:
                raise InputError(f"prices.{u}", "underlying has no history in the dynamic model")
            self.state[u].observe(p)

    def rates(self, underlying: str) -> dict[str, float | bool]:
        """Base and APC margin rates of one underlying."""
        if underlying not in self.state:
            raise InputError("history", f"no price history for underlying {underlying!r}")
        cfg = self.config
        st = self.state[underlying]
        z = float(norm.ppf(cfg.confidence))
        k = z * math.sqrt(cfg.mpor_days)
        sigma = math.sqrt(st.var)
        base = k * sigma
        hist = np.asarray(st.sigma_hist)
        stressed = bool(sigma > float(np.quantile(hist, cfg.stress_quantile)))
        if cfg.apc_tool == "buffer":
            apc = base if stressed else base * (1 + cfg.buffer)
        elif cfg.apc_tool == "stress_weight":
            s_stress = float(hist.max())
            apc = k * math.sqrt((1 - cfg.stress_weight) * sigma**2 + cfg.stress_weight * s_stress**2)
        elif cfg.apc_tool == "floor":
            rets = np.asarray(st.returns[-cfg.floor_lookback_days :])
            apc = max(base, k * float(np.std(rets, ddof=1)))
        else:
            apc = base
        return {"sigma_daily": sigma, "base_rate": base, "apc_rate": max(apc, base), "stressed": stressed}

    def requirement(self, portfolio: Portfolio, market: MarketState) -> MarginResult:
        net = net_positions(portfolio, market)
        table = net.table
        unders = table.underlyings
        rates = {u: self.rates(u) for u in unders}
        grid = np.array(list(itertools.product((-1.0, 0.0, 1.0), repeat=len(unders))))  # (3^U, U)

        def loss(kind: str) -> float:
            r = np.array([float(rates[u][kind]) for u in unders])
            pnl = table.pnl(grid * r[None, :]) @ net.size
            return max(0.0, float(-pnl.min()))

        # net delta notional per underlying (USD): linear size * mark, options Black-76 delta
        d_units = np.where(table.is_option, 0.0, 1.0)
        if np.any(table.is_option):
            o = table.is_option
            g = black76_greeks(table.base[o], table.strike[o], table.vol[o], table.t[o], table.rate[o], table.is_call[o])
            d_units = d_units.copy()
            d_units[o] = g.delta
        delta = d_units * net.size * np.where(table.is_option, table.base, table.mark)
        addons: dict[str, float] = {}
        for k, u in enumerate(unders):
            d_u = float(delta[table.u_index == k].sum())
            curve = self.config.liquidity.get(u)
            addons[u] = curve.liquidation_cost(abs(d_u)) if curve is not None else 0.0
        liq = sum(addons.values())
        mm = loss("base_rate") + liq
        im = max(loss("apc_rate") + liq, mm)
        return MarginResult(
            model=self.name, im=im, mm=mm,
            details={"apc_tool": self.config.apc_tool, "rates": rates, "liquidity_addon": addons,
                     "scenarios": int(grid.shape[0])},
        )
