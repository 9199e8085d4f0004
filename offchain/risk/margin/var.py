"""Value at Risk and Expected Shortfall margin, with backtesting (Kupiec POF).

Scenario generation over a daily price history (log returns ``r_t``, one column per underlying):

* ``historical``: the last ``lookback_days`` overlapping ``h``-day log returns
  ``R_t = r_{t-h+1} + ... + r_t``, applied jointly to all underlyings (same dates).
* ``filtered_historical`` (Barone-Adesi et al. 1999; Hull ch. 22): EWMA variance
  ``s2_t = lambda s2_{t-1} + (1 - lambda) r_{t-1}^2`` (RiskMetrics, ``lambda = 0.94``, seeded
  with the sample variance of the first ``EWMA_SEED_DAYS`` returns); standardized residuals
  ``z_t = r_t / s_t`` rescaled by today's forecast ``s_{T+1}``; ``h``-day scenarios are
  overlapping sums of ``h`` rescaled residuals.
* ``monte_carlo``: ``paths`` draws of ``h`` daily returns ``s_{T+1} * L e_t`` with ``L`` the
  Cholesky factor of the residuals' correlation and ``e_t`` Student-t(``t_dof``) innovations
  scaled to unit variance (``sqrt((nu - 2) / nu)``), fixed ``seed``.

Each scenario moves the spots by ``exp(R) - 1`` and the portfolio is fully revalued
(Black-76 for options, vols unchanged). With PnL sample ``X`` and confidence ``c``:
``VaR = -quantile(X, 1 - c)`` (linear interpolation), ``ES = -mean(X | X <= -VaR)``.
Margin: ``MM = ES`` (``measure = "es"``) or ``VaR``; ``IM = im_factor * MM``.

Backtest: on each day ``t`` after the lookback, the VaR of a fixed exposure (USD notional per
underlying) from the preceding window is compared with the next ``h``-day PnL; an exception is
a loss above VaR. Kupiec (1995) proportion-of-failures:
``LR = -2 ln[(1-p)^(n-x) p^x] + 2 ln[(1-x/n)^(n-x) (x/n)^x]`` ~ chi2(1), ``p = 1 - c``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import Field, model_validator
from scipy.stats import chi2

from offchain.risk.instruments import Portfolio
from offchain.risk.margin.base import MarginModel, MarginResult, ModelConfig, net_positions
from offchain.risk.market import MarketState
from offchain.risk.valuation import InstrumentTable
from zkmargin.errors import InputError

EWMA_SEED_DAYS = 20
FloatArray = NDArray[np.float64]


class VaRConfig(ModelConfig):
    method: Literal["historical", "filtered_historical", "monte_carlo"] = "historical"
    confidence: float = Field(default=0.99, gt=0.5, lt=1)
    horizon_days: int = Field(default=1, ge=1, le=30)
    lookback_days: int = Field(default=250, ge=20, le=10_000)
    ewma_lambda: float = Field(default=0.94, gt=0, lt=1)
    paths: int = Field(default=10_000, ge=100, le=2_000_000)
    t_dof: float = Field(default=4.0, gt=2, le=1000)
    seed: int = Field(default=0, ge=0)
    measure: Literal["var", "es"] = "es"
    im_factor: float = Field(default=1.0, ge=1, le=10)
    history_file: str | None = None
    history: dict[str, list[float]] | None = None

    @model_validator(mode="after")
    def _history_source(self) -> VaRConfig:
        if self.history_file is not None and self.history is not None:
            raise ValueError("give history_file or history, not both")
        return self


def ewma_variance(returns: FloatArray, lam: float) -> FloatArray:
    """EWMA variance ``(T+1, U)``: row t is the forecast for return t (row T is tomorrow's)."""
    r = np.atleast_2d(returns.T).T if returns.ndim == 1 else returns
    t_len, u = r.shape
    out = np.empty((t_len + 1, u))
    seed_n = min(EWMA_SEED_DAYS, t_len)
    out[0] = np.mean(r[:seed_n] ** 2, axis=0)
    for t in range(t_len):
        out[t + 1] = lam * out[t] + (1.0 - lam) * r[t] ** 2
    return out


def _overlapping_sums(x: FloatArray, h: int) -> FloatArray:
    if h == 1:
        return x
    c = np.cumsum(np.vstack([np.zeros((1, x.shape[1])), x]), axis=0)
    return np.asarray(c[h:] - c[:-h], dtype=np.float64)


def scenario_returns(returns: FloatArray, cfg: VaRConfig) -> FloatArray:
    """Joint ``h``-day log-return scenarios ``(N, U)`` from daily log returns ``(T, U)``."""
    r = returns[-cfg.lookback_days - cfg.horizon_days + 1 :] if cfg.method != "monte_carlo" else returns
    if cfg.method == "historical":
        return np.asarray(_overlapping_sums(r, cfg.horizon_days)[-cfg.lookback_days :], dtype=np.float64)
    var = ewma_variance(returns, cfg.ewma_lambda)
    sigma = np.sqrt(var)
    z = returns / sigma[:-1]
    today = sigma[-1]
    if cfg.method == "filtered_historical":
        zz = z[-cfg.lookback_days - cfg.horizon_days + 1 :]
        return _overlapping_sums(zz * today[None, :], cfg.horizon_days)[-cfg.lookback_days :]
    # Monte Carlo with Student-t innovations and the residual correlation
    zz = z[-cfg.lookback_days :]
    corr = np.corrcoef(zz.T) if zz.shape[1] > 1 else np.ones((1, 1))
    chol = np.linalg.cholesky(corr + 1e-12 * np.eye(corr.shape[0]))
    rng = np.random.default_rng(np.random.SeedSequence(cfg.seed))
    nu = cfg.t_dof
    u = zz.shape[1]
    g = rng.standard_normal((cfg.paths, cfg.horizon_days, u))
    w = rng.chisquare(nu, (cfg.paths, cfg.horizon_days, 1))
    eps = g @ chol.T * np.sqrt(nu / w) * math.sqrt((nu - 2.0) / nu)
    return np.asarray((eps * today[None, None, :]).sum(axis=1))


def var_es(pnl: FloatArray, confidence: float) -> tuple[float, float]:
    """(VaR, ES) of a PnL sample, both as positive losses."""
    q = float(np.quantile(pnl, 1.0 - confidence))
    tail = pnl[pnl <= q]
    es = -float(np.mean(tail)) if tail.size else -q
    return -q, es


def kupiec_pof(n: int, x: int, p: float) -> tuple[float, float]:
    """Kupiec proportion-of-failures LR statistic and its chi2(1) p-value."""
    if n <= 0 or not 0 <= x <= n:
        raise InputError("backtest", f"invalid counts n={n}, x={x}")

    def xlogy(a: float, b: float) -> float:
        return 0.0 if a == 0 else a * math.log(b)

    phat = x / n
    ll0 = xlogy(n - x, 1 - p) + xlogy(x, p)
    ll1 = xlogy(n - x, 1 - phat) + xlogy(x, phat)
    lr = max(0.0, -2.0 * (ll0 - ll1))
    return lr, float(chi2.sf(lr, 1))


@dataclass
class BacktestResult:
    method: str
    confidence: float
    observations: int
    exceptions: int
    expected_exceptions: float
    exception_rate: float
    kupiec_lr: float
    kupiec_p_value: float
    reject_at_5pct: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def history_matrix(history: dict[str, FloatArray], underlyings: tuple[str, ...], field: str = "history") -> FloatArray:
    """Price matrix ``(T, U)`` for the given underlyings."""
    cols = []
    for u in underlyings:
        if u not in history:
            raise InputError(field, f"no price history for underlying {u!r}")
        cols.append(np.asarray(history[u], dtype=np.float64))
    return np.column_stack(cols)


def backtest(history: dict[str, FloatArray], exposure: dict[str, float], cfg: VaRConfig) -> BacktestResult:
    """Rolling VaR backtest of a fixed USD exposure per underlying (module docstring)."""
    unders = tuple(exposure)
    prices = history_matrix(history, unders)
    rets = np.diff(np.log(prices), axis=0)
    h = cfg.horizon_days
    w = np.array([exposure[u] for u in unders])
    need = cfg.lookback_days + h + (EWMA_SEED_DAYS if cfg.method != "historical" else 0)
    if rets.shape[0] < need + 1:
        raise InputError("history", f"need more than {need} returns for this lookback (have {rets.shape[0]})")
    n = x = 0
    start = need
    t = start
    while t + h <= rets.shape[0]:
        window = rets[:t] if cfg.method != "historical" else rets[t - cfg.lookback_days - h + 1 : t]
        scen = scenario_returns(window, cfg)
        pnl = (np.expm1(scen) * w[None, :]).sum(axis=1)
        v, _ = var_es(pnl, cfg.confidence)
        realized = float((np.expm1(rets[t : t + h].sum(axis=0)) * w).sum())
        n += 1
        x += int(realized < -v)
        t += h  # non-overlapping test windows
    lr, pv = kupiec_pof(n, x, 1.0 - cfg.confidence)
    return BacktestResult(
        method=cfg.method, confidence=cfg.confidence, observations=n, exceptions=x,
        expected_exceptions=n * (1.0 - cfg.confidence), exception_rate=x / n, kupiec_lr=lr,
        kupiec_p_value=pv, reject_at_5pct=bool(pv < 0.05),
    )


def portfolio_pnl(table: InstrumentTable, size: FloatArray, scen_log_returns: FloatArray) -> FloatArray:
    """Full-revaluation PnL of net sizes under joint log-return scenarios ``(N, U)``."""
    return np.asarray(table.pnl(np.expm1(scen_log_returns)) @ size)


class VaRMargin(MarginModel[VaRConfig]):
    """VaR/ES margin on a price history (historical, filtered historical or Monte Carlo)."""

    name = "var"
    config_cls = VaRConfig

    def __init__(self, config: VaRConfig, history: dict[str, FloatArray] | None = None) -> None:
        super().__init__(config)
        if history is not None:
            self.history = history
        elif config.history is not None:
            self.history = {u: np.asarray(v, dtype=np.float64) for u, v in config.history.items()}
            for u, arr in self.history.items():
                if arr.size < 3 or not np.all(np.isfinite(arr)) or np.any(arr <= 0):
                    raise InputError(f"config.history.{u}", "need >= 3 finite prices > 0")
        elif config.history_file is not None:
            from offchain.risk.io import load_history

            self.history = load_history(config.history_file)
        else:
            raise InputError("config.history_file", "the var model needs a price history")

    def requirement(self, portfolio: Portfolio, market: MarketState) -> MarginResult:
        net = net_positions(portfolio, market)
        prices = history_matrix(self.history, net.table.underlyings)
        rets = np.diff(np.log(prices), axis=0)
        cfg = self.config
        if rets.shape[0] < min(cfg.lookback_days, 20) + cfg.horizon_days:
            raise InputError("history", "history too short for the configured lookback and horizon")
        scen = scenario_returns(rets, cfg)
        pnl = portfolio_pnl(net.table, net.size, scen)
        v, es = var_es(pnl, cfg.confidence)
        mm = max(0.0, es if cfg.measure == "es" else v)
        return MarginResult(
            model=self.name, im=cfg.im_factor * mm, mm=mm,
            details={"method": cfg.method, "confidence": cfg.confidence, "horizon_days": cfg.horizon_days,
                     "var": v, "es": es, "scenarios": int(pnl.size), "measure": cfg.measure},
        )
