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

Parametric methods (RiskMetrics Technical Document, 4th ed. 1996, ch. 5-6), on the EWMA
covariance of the daily log returns ``Sigma_{t+1} = lambda Sigma_t + (1 - lambda) r_t r_t'``
(``lambda = 0.94``, seeded with the sample covariance of the first ``EWMA_SEED_DAYS`` returns),
scaled to the horizon ``h`` (``h Sigma``), with the portfolio's dollar deltas ``d_u = sum_i q_i
dV_i/dS_u S_u`` and dollar gammas ``G_uu = sum_i q_i d2V_i/dS_u2 S_u^2`` (Black-76, vols held):

* ``parametric_normal`` (delta-normal): ``PnL ~ N(0, d' Sigma d)``:
  ``VaR = z_c sigma``, ``ES = sigma phi(z_c) / (1 - c)``;
* ``delta_gamma``: ``PnL = d'x + x'Gx/2``, ``x ~ N(0, Sigma)``; with ``Sigma = L L'``, the
  eigenvalues ``l_i`` of ``L'GL`` and ``c = P'L'd``: cumulants ``k1 = sum l_i/2``,
  ``k2 = sum c_i^2 + l_i^2/2``, ``k3 = sum 3 c_i^2 l_i + l_i^3``, ``k4 = sum 12 c_i^2 l_i^2 + 3 l_i^4``;
  the PnL quantile by the Cornish-Fisher expansion
  ``w = z + (z^2-1) g1/6 + (z^3-3z) g2/24 - (2z^3-5z) g1^2/36`` (``g1 = k3/k2^1.5``, ``g2 = k4/k2^2``),
  ``VaR = -(k1 + sqrt(k2) w_{1-c})`` and ES the average of the expansion's quantiles over the tail.

Backtest: on each day ``t`` after the lookback, the VaR of a fixed exposure (USD notional per
underlying) from the preceding window is compared with the next ``h``-day PnL; an exception is
a loss above VaR. Kupiec (1995) proportion-of-failures:
``LR = -2 ln[(1-p)^(n-x) p^x] + 2 ln[(1-x/n)^(n-x) (x/n)^x]`` ~ chi2(1), ``p = 1 - c``.
Christoffersen (1998, International Economic Review 39:841-862) independence test on the
exception sequence's transition counts ``n_ij`` (``pi_0 = n01/(n00+n01)``, ``pi_1 = n11/(n10+n11)``,
``pi = (n01+n11)/n``): ``LR_ind = -2 ln[(1-pi)^(n00+n10) pi^(n01+n11)] + 2 ln[(1-pi_0)^n00 pi_0^n01
(1-pi_1)^n10 pi_1^n11]`` ~ chi2(1), conditional coverage ``LR_cc = LR_uc + LR_ind`` ~ chi2(2).
Basel traffic light (BCBS 1996, "Supervisory framework for the use of backtesting", Table 2):
green while the binomial probability of at most ``x`` exceptions is below 95%, yellow below
99.99%, red above; for 250 observations at 99% the plus factors 0 (0-4), 0.40, 0.50, 0.65,
0.75, 0.85 (5-9) and 1.00 (10 or more).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import Field, model_validator
from scipy.stats import binom, chi2, norm

from offchain.risk.instruments import Portfolio
from offchain.risk.margin.base import MarginModel, MarginResult, ModelConfig, net_positions
from offchain.risk.market import MarketState
from offchain.risk.valuation import InstrumentTable
from zkmargin.errors import InputError

EWMA_SEED_DAYS = 20
FloatArray = NDArray[np.float64]


PARAMETRIC = ("parametric_normal", "delta_gamma")
#: BCBS (1996) Table 2: plus factor by number of exceptions, 250 observations at 99%
BASEL_PLUS_FACTOR = {5: 0.40, 6: 0.50, 7: 0.65, 8: 0.75, 9: 0.85}


class VaRConfig(ModelConfig):
    method: Literal["historical", "filtered_historical", "monte_carlo", "parametric_normal", "delta_gamma"] = (
        "historical")
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
    if cfg.method in PARAMETRIC:
        raise InputError("config.method", f"{cfg.method} is parametric: it has no return scenarios")
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


def ewma_covariance(returns: FloatArray, lam: float) -> FloatArray:
    """RiskMetrics EWMA covariance forecast ``(U, U)`` for the day after ``returns`` ``(T, U)``."""
    r = returns if returns.ndim == 2 else returns[:, None]
    seed_n = min(EWMA_SEED_DAYS, r.shape[0])
    cov = (r[:seed_n].T @ r[:seed_n]) / seed_n
    for t in range(r.shape[0]):
        cov = lam * cov + (1.0 - lam) * np.outer(r[t], r[t])
    return np.asarray(cov, dtype=np.float64)


def cornish_fisher(z: FloatArray | float, skew: float, excess_kurtosis: float, terms: str = "full") -> FloatArray:
    """Cornish-Fisher quantile of a standardized variable: ``z + (z^2-1) g1/6`` (``terms="skew"``,
    Hull's form) plus ``(z^3-3z) g2/24 - (2z^3-5z) g1^2/36`` (``"full"``, RiskMetrics TD ch. 6)."""
    z = np.asarray(z, dtype=np.float64)
    w = z + (z * z - 1.0) * skew / 6.0
    if terms == "full":
        w = w + (z**3 - 3.0 * z) * excess_kurtosis / 24.0 - (2.0 * z**3 - 5.0 * z) * skew * skew / 36.0
    return np.asarray(w, dtype=np.float64)


def delta_gamma_cumulants(delta: FloatArray, gamma: FloatArray, cov: FloatArray) -> tuple[float, float, float, float]:
    """First four cumulants of ``d'x + x'Gx/2``, ``x ~ N(0, cov)`` (module docstring)."""
    vals, vecs = np.linalg.eigh(cov)
    root = vecs @ np.diag(np.sqrt(np.maximum(vals, 0.0)))  # cov = root root'
    lam, p = np.linalg.eigh(root.T @ gamma @ root)
    c = p.T @ (root.T @ delta)
    k1 = 0.5 * float(lam.sum())
    k2 = float(np.sum(c * c + 0.5 * lam * lam))
    k3 = float(np.sum(3.0 * c * c * lam + lam**3))
    k4 = float(np.sum(12.0 * c * c * lam * lam + 3.0 * lam**4))
    return k1, k2, k3, k4


def parametric_var_es(
    delta: FloatArray, gamma: FloatArray | None, cov: FloatArray, confidence: float
) -> tuple[float, float, dict[str, float]]:
    """(VaR, ES, moments) of ``d'x (+ x'Gx/2)`` for ``x ~ N(0, cov)`` (losses positive)."""
    alpha = 1.0 - confidence
    if gamma is None or not np.any(gamma):
        sigma = math.sqrt(max(float(delta @ cov @ delta), 0.0))
        z = float(norm.ppf(confidence))
        var = z * sigma
        es = sigma * float(norm.pdf(z)) / alpha
        return var, es, {"mean": 0.0, "sigma": sigma, "skew": 0.0, "excess_kurtosis": 0.0}
    k1, k2, k3, k4 = delta_gamma_cumulants(delta, gamma, cov)
    sd = math.sqrt(max(k2, 0.0))
    g1 = k3 / sd**3 if sd > 0 else 0.0
    g2 = k4 / k2**2 if k2 > 0 else 0.0
    var = -(k1 + sd * float(cornish_fisher(norm.ppf(alpha), g1, g2)))
    # ES: the mean of the expansion's quantiles over the lower tail (midpoint rule)
    u = (np.arange(2000) + 0.5) / 2000 * alpha
    es = -float(np.mean(k1 + sd * cornish_fisher(norm.ppf(u), g1, g2)))
    return var, max(es, var), {"mean": k1, "sigma": sd, "skew": g1, "excess_kurtosis": g2}


def dollar_greeks(table: InstrumentTable, size: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Dollar delta ``(U,)`` and dollar gamma ``(U, U)`` (diagonal) per underlying: the PnL of a
    simple return ``x_u`` is ``d'x + x'Gx/2`` to second order."""
    from offchain.risk.pricing.black76 import black76_greeks

    n = table.n
    ds = table.base / table.spot  # dPrice/dS of linear instruments, dF/dS of options
    dv = np.where(table.is_option, 0.0, ds)
    d2v = np.zeros(n)
    o = table.is_option
    if np.any(o):
        g = black76_greeks(table.base[o], table.strike[o], table.vol[o], table.t[o], table.rate[o], table.is_call[o])
        dv[o] = g.delta * ds[o]
        d2v[o] = g.gamma * ds[o] ** 2
    u_n = len(table.underlyings)
    delta = np.zeros(u_n)
    gamma = np.zeros((u_n, u_n))
    for j in range(n):
        u = int(table.u_index[j])
        delta[u] += size[j] * dv[j] * table.spot[j]
        gamma[u, u] += size[j] * d2v[j] * table.spot[j] ** 2
    return delta, gamma


def exposure_var_es(weights: FloatArray, returns: FloatArray, cfg: VaRConfig) -> tuple[float, float]:
    """(VaR, ES) of fixed USD exposures ``weights`` ``(U,)`` from daily log returns ``(T, U)``."""
    if cfg.method in PARAMETRIC:
        cov = ewma_covariance(returns, cfg.ewma_lambda) * cfg.horizon_days
        var, es, _ = parametric_var_es(weights, None, cov, cfg.confidence)
        return var, es
    scen = scenario_returns(returns, cfg)
    return var_es((np.expm1(scen) * weights[None, :]).sum(axis=1), cfg.confidence)


def christoffersen(exceptions: Sequence[bool] | NDArray[np.bool_], p: float) -> dict[str, float | int]:
    """Transition counts and the independence / conditional-coverage LR statistics (module docstring)."""
    e = np.asarray(exceptions, dtype=bool)
    if e.size < 2:
        raise InputError("backtest", "need at least two observations")
    prev, cur = e[:-1], e[1:]
    n00 = int(np.sum(~prev & ~cur))
    n01 = int(np.sum(~prev & cur))
    n10 = int(np.sum(prev & ~cur))
    n11 = int(np.sum(prev & cur))

    def ll(k0: int, k1: int, prob: float) -> float:  # k0 log(1-prob) + k1 log(prob), 0 log 0 = 0
        return (k0 * math.log(1 - prob) if k0 else 0.0) + (k1 * math.log(prob) if k1 else 0.0)

    pi0 = n01 / (n00 + n01) if n00 + n01 else 0.0
    pi1 = n11 / (n10 + n11) if n10 + n11 else 0.0
    pi = (n01 + n11) / (n00 + n01 + n10 + n11)
    lr_ind = max(0.0, -2.0 * (ll(n00 + n10, n01 + n11, pi) - ll(n00, n01, pi0) - ll(n10, n11, pi1)))
    lr_uc, _ = kupiec_pof(int(e.size), int(e.sum()), p)
    lr_cc = lr_uc + lr_ind
    return {"n00": n00, "n01": n01, "n10": n10, "n11": n11, "lr_ind": lr_ind, "p_ind": float(chi2.sf(lr_ind, 1)),
            "lr_cc": lr_cc, "p_cc": float(chi2.sf(lr_cc, 2))}


def basel_zone(n: int, x: int, p: float) -> tuple[str, float | None, float]:
    """(zone, plus factor, P(X <= x)) of ``x`` exceptions in ``n`` days at exception rate ``p``;
    the plus factor only for the BCBS table's 250 observations at 99%."""
    cum = float(binom.cdf(x, n, p))
    zone = "green" if cum < 0.95 else ("yellow" if cum < 0.9999 else "red")
    plus: float | None = None
    if n == 250 and abs(p - 0.01) < 1e-12:
        plus = 0.0 if x <= 4 else BASEL_PLUS_FACTOR.get(x, 1.0)
    return zone, plus, cum


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
    christoffersen_lr_ind: float
    christoffersen_p_ind: float
    christoffersen_lr_cc: float
    christoffersen_p_cc: float
    transitions: dict[str, int]
    basel_zone: str
    basel_plus_factor: float | None
    basel_cumulative_probability: float

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
    start = need
    t = start
    hits: list[bool] = []
    while t + h <= rets.shape[0]:
        window = rets[:t] if cfg.method != "historical" else rets[t - cfg.lookback_days - h + 1 : t]
        v, _ = exposure_var_es(w, window, cfg)
        realized = float((np.expm1(rets[t : t + h].sum(axis=0)) * w).sum())
        hits.append(realized < -v)
        t += h  # non-overlapping test windows
    n, x = len(hits), int(sum(hits))
    p = 1.0 - cfg.confidence
    lr, pv = kupiec_pof(n, x, p)
    ch = christoffersen(hits, p)
    zone, plus, cum = basel_zone(n, x, p)
    return BacktestResult(
        method=cfg.method, confidence=cfg.confidence, observations=n, exceptions=x,
        expected_exceptions=n * p, exception_rate=x / n, kupiec_lr=lr,
        kupiec_p_value=pv, reject_at_5pct=bool(pv < 0.05),
        christoffersen_lr_ind=float(ch["lr_ind"]), christoffersen_p_ind=float(ch["p_ind"]),
        christoffersen_lr_cc=float(ch["lr_cc"]), christoffersen_p_cc=float(ch["p_cc"]),
        transitions={k: int(ch[k]) for k in ("n00", "n01", "n10", "n11")},
        basel_zone=zone, basel_plus_factor=plus, basel_cumulative_probability=cum,
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
        if cfg.method in PARAMETRIC:
            delta, gamma = dollar_greeks(net.table, net.size)
            cov = ewma_covariance(rets, cfg.ewma_lambda) * cfg.horizon_days
            v, es, moments = parametric_var_es(delta, gamma if cfg.method == "delta_gamma" else None, cov,
                                               cfg.confidence)
            extra: dict[str, Any] = {"scenarios": 0, **moments,
                                     "dollar_delta": {u: float(d) for u, d in zip(net.table.underlyings, delta)}}
        else:
            scen = scenario_returns(rets, cfg)
            pnl = portfolio_pnl(net.table, net.size, scen)
            v, es = var_es(pnl, cfg.confidence)
            extra = {"scenarios": int(pnl.size)}
        mm = max(0.0, es if cfg.measure == "es" else v)
        return MarginResult(
            model=self.name, im=cfg.im_factor * mm, mm=mm,
            details={"method": cfg.method, "confidence": cfg.confidence, "horizon_days": cfg.horizon_days,
                     "var": v, "es": es, "measure": cfg.measure, **extra},
        )
