"""Parametric VaR/ES (delta-normal, delta-gamma with Cornish-Fisher) on an EWMA covariance, and
the backtest's Christoffersen tests and Basel traffic-light zones."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import norm

from offchain.risk.io import load_history
from offchain.risk.margin import get_model, load_config
from offchain.risk.margin.var import (
    backtest,
    basel_zone,
    christoffersen,
    cornish_fisher,
    delta_gamma_cumulants,
    ewma_covariance,
    ewma_variance,
    kupiec_pof,
    parametric_var_es,
)
from offchain.risk.market import MarketState

ROOT = Path(__file__).resolve().parents[3]
HISTORY = load_history(ROOT / "examples" / "history_btc_eth_2021.csv")


def test_hull_two_asset_delta_normal_example() -> None:
    # Hull, Options, Futures, and Other Derivatives, 'Value at Risk' chapter, linear model:
    # $10M in Microsoft (daily vol 2%) and $5M in AT&T (1%), correlation 0.3: daily sd of the
    # portfolio $220,227; with Hull's z = 2.33 the 10-day 99% VaRs are 1,473,621 (Microsoft),
    # 368,405 (AT&T) and 1,622,657 (portfolio): diversification saves 219,369
    w = np.array([10e6, 5e6])
    sd = np.array([0.02, 0.01])
    cov = np.outer(sd, sd) * np.array([[1.0, 0.3], [0.3, 1.0]])
    var1, _, m = parametric_var_es(w, None, cov, 0.99)
    assert m["sigma"] == pytest.approx(220227, abs=1)
    hull = 2.33 / norm.ppf(0.99)  # the engine uses the exact quantile 2.3263
    var10, es10, _ = parametric_var_es(w, None, 10 * cov, 0.99)
    assert var10 == pytest.approx(math.sqrt(10) * var1)
    assert hull * var10 == pytest.approx(1622657, abs=2)
    alone = [hull * parametric_var_es(w * e, None, 10 * cov, 0.99)[0] for e in np.eye(2)]
    assert alone == pytest.approx([1473621, 368405], abs=1)
    assert sum(alone) - hull * var10 == pytest.approx(219369, abs=3)
    # normal ES: sigma phi(z) / (1 - c)
    assert es10 == pytest.approx(math.sqrt(10) * m["sigma"] * norm.pdf(norm.ppf(0.99)) / 0.01)


def test_cornish_fisher_hull_example() -> None:
    # Hull, 'Cornish-Fisher expansion': mean -0.2, sd 2.2, skewness -0.4: the 1 percentile is
    # -0.2 - 2.2 x 2.620 = -5.965 (versus -5.318 ignoring the skewness)
    w = float(cornish_fisher(norm.ppf(0.01), -0.4, 0.0, terms="skew"))
    assert w == pytest.approx(-2.620, abs=5e-4)
    assert -0.2 + 2.2 * w == pytest.approx(-5.965, abs=1e-3)


def test_ewma_covariance_is_the_riskmetrics_recursion() -> None:
    rng = np.random.default_rng(np.random.SeedSequence(3))
    r = rng.normal(0, 0.03, (120, 2))
    cov = ewma_covariance(r, 0.94)
    ref = (r[:20].T @ r[:20]) / 20
    for t in range(120):
        ref = 0.94 * ref + 0.06 * np.outer(r[t], r[t])
    np.testing.assert_allclose(cov, ref, rtol=1e-12)
    # the diagonal is the engine's univariate EWMA variance forecast
    np.testing.assert_allclose(np.diag(cov), ewma_variance(r, 0.94)[-1], rtol=1e-12)


def test_delta_gamma_cumulants_against_quadrature_and_simulation() -> None:
    # one factor: Q = d x + G x^2 / 2, x ~ N(0, s^2): moments by Gauss-Hermite quadrature
    d, g, s = 3.0, -40.0, 0.05
    k1, k2, k3, k4 = delta_gamma_cumulants(np.array([d]), np.array([[g]]), np.array([[s * s]]))
    x, wts = np.polynomial.hermite_e.hermegauss(80)
    q = d * s * x + 0.5 * g * (s * x) ** 2
    wts = wts / wts.sum()
    mean = q @ wts
    c = q - mean
    m2, m3, m4 = (c**2) @ wts, (c**3) @ wts, (c**4) @ wts
    assert (k1, k2, k3, k4 + 3 * k2**2) == pytest.approx((mean, m2, m3, m4), rel=1e-10)
    # two correlated factors: against a seeded simulation
    cov = np.array([[0.0016, 0.0009], [0.0009, 0.0025]])
    dd, gg = np.array([2.0, -1.0]), np.array([[-30.0, 0.0], [0.0, 15.0]])
    xs = np.random.default_rng(np.random.SeedSequence(11)).multivariate_normal([0, 0], cov, 400_000)
    sim = xs @ dd + 0.5 * np.einsum("ni,ij,nj->n", xs, gg, xs)
    k = delta_gamma_cumulants(dd, gg, cov)
    assert k[0] == pytest.approx(sim.mean(), abs=2e-4) and k[1] == pytest.approx(sim.var(), rel=1e-2)


def _option_book(market: MarketState):  # type: ignore[no-untyped-def]
    from offchain.risk.instruments import Portfolio

    return Portfolio.model_validate({"instruments": [
        {"kind": "option", "symbol": "C", "underlying": "BTC", "expiry": "2021-07-30T08:00:00Z", "strike": 36000,
         "option_type": "call"},
        {"kind": "perp", "symbol": "ETH-PERP", "underlying": "ETH"}],
        "positions": [{"instrument": "C", "size": -3.0}, {"instrument": "ETH-PERP", "size": 10.0}]})


def test_delta_gamma_var_of_a_short_option_book_against_full_revaluation() -> None:
    # the same EWMA covariance, normal returns: full revaluation of 200,000 draws vs the
    # delta-gamma Cornish-Fisher quantile (a second-order approximation: within a few percent)
    market = MarketState.model_validate({"timestamp": "2021-06-30T00:00:00Z", "spots": {"BTC": 35000.0, "ETH": 2200.0},
                                         "default_vol": {"BTC": 0.8}})
    pf = _option_book(market)
    hist = {u: v[:181] for u, v in HISTORY.items()}
    dg = get_model("var", {"method": "delta_gamma", "history": {u: list(v) for u, v in hist.items()}})
    dn = get_model("var", {"method": "parametric_normal", "history": {u: list(v) for u, v in hist.items()}})
    r_dg, r_dn = dg.requirement(pf, market), dn.requirement(pf, market)
    assert r_dg.details["skew"] < 0  # short gamma: a fat left tail
    from offchain.risk.margin.base import net_positions

    net = net_positions(pf, market)
    rets = np.diff(np.log(np.column_stack([hist["BTC"], hist["ETH"]])), axis=0)
    cov = ewma_covariance(rets, 0.94)
    x = np.random.default_rng(np.random.SeedSequence(5)).multivariate_normal([0, 0], cov, 200_000)
    pnl = net.table.pnl(x) @ net.size
    full_var = -np.quantile(pnl, 0.01)
    assert r_dg.details["var"] == pytest.approx(full_var, rel=0.05)
    assert abs(r_dg.details["var"] - full_var) < abs(r_dn.details["var"] - full_var)


def test_parametric_var_diversifies_correlated_exposures() -> None:
    cov = np.array([[0.04**2, 0.5 * 0.04 * 0.05], [0.5 * 0.04 * 0.05, 0.05**2]])
    both = parametric_var_es(np.array([1e6, 1e6]), None, cov, 0.99)[0]
    alone = sum(parametric_var_es(np.array(w), None, cov, 0.99)[0] for w in ([1e6, 0.0], [0.0, 1e6]))
    assert both < alone
    perfect = np.array([[0.04**2, 0.04 * 0.05], [0.04 * 0.05, 0.05**2]])
    assert parametric_var_es(np.array([1e6, 1e6]), None, perfect, 0.99)[0] == pytest.approx(
        sum(parametric_var_es(np.array(w), None, perfect, 0.99)[0] for w in ([1e6, 0.0], [0.0, 1e6])))


# ------------------------------------------------------------------------------- backtests
def _days(idx: list[int], n: int = 250) -> list[bool]:
    return [i + 1 in set(idx) for i in range(n)]


@pytest.mark.parametrize("days, n01, n11, lr_ind, lr_cc", [
    ([10, 60, 110, 160, 210], 5, 0, 0.20493237652149787, 2.1617421647521198),
    ([246, 247, 248, 249, 250], 1, 4, 35.98064014816716, 37.93744993639778),
    ([100, 101, 150, 151, 200, 201], 3, 3, 15.915296651119732, 19.470651422181476),
])
def test_christoffersen_independence_and_conditional_coverage(
    days: list[int], n01: int, n11: int, lr_ind: float, lr_cc: float
) -> None:
    # Christoffersen (1998) LR_ind ~ chi2(1) on the transition counts, LR_cc = LR_uc + LR_ind ~
    # chi2(2); values worked by hand for 250 days at p = 1% (LR_uc over all 250 days)
    ch = christoffersen(_days(days), 0.01)
    assert (ch["n01"], ch["n11"]) == (n01, n11)
    assert ch["lr_ind"] == pytest.approx(lr_ind, rel=1e-10)
    assert ch["lr_cc"] == pytest.approx(lr_cc, rel=1e-10)
    assert ch["lr_cc"] - ch["lr_ind"] == pytest.approx(kupiec_pof(250, len(days), 0.01)[0])
    # independent exceptions are not rejected, clustered ones are
    assert (ch["p_ind"] < 0.05) == (n11 > 0)


# BCBS (1996) 'Supervisory framework for the use of backtesting...', Table 2 (250 observations,
# 99% VaR): zone, plus factor and cumulative probability (%) per number of exceptions
BASEL = [(0, "green", 0.0, 8.11), (1, "green", 0.0, 28.58), (2, "green", 0.0, 54.32), (3, "green", 0.0, 75.81),
         (4, "green", 0.0, 89.22), (5, "yellow", 0.40, 95.88), (6, "yellow", 0.50, 98.63), (7, "yellow", 0.65, 99.60),
         (8, "yellow", 0.75, 99.89), (9, "yellow", 0.85, 99.97), (10, "red", 1.00, 99.99)]


@pytest.mark.parametrize("x, zone, plus, cum_pct", BASEL)
def test_basel_traffic_light_table(x: int, zone: str, plus: float, cum_pct: float) -> None:
    z, p, cum = basel_zone(250, x, 0.01)
    assert (z, p) == (zone, plus)
    assert round(100 * cum, 2) == cum_pct


@pytest.mark.parametrize("method", ["parametric_normal", "delta_gamma"])
def test_parametric_backtest_on_2021_history(method: str) -> None:
    cfg = load_config("var", {"method": method, "lookback_days": 100})
    res = backtest(HISTORY, {"BTC": 1e6, "ETH": -5e5}, cfg)
    assert res.observations > 200 and 0 <= res.exceptions <= res.observations
    assert res.basel_zone in ("green", "yellow", "red") and res.basel_plus_factor is None
    assert sum(res.transitions.values()) == res.observations - 1
    assert res.christoffersen_lr_cc == pytest.approx(res.kupiec_lr + res.christoffersen_lr_ind)
