"""Isolated, cross, standard options, dynamic and VaR models; account view; funding."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from _risk_testlib import FIXED, make_portfolio
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import norm

from offchain.risk.account import (
    HealthConfig,
    account_view,
    equity,
    exhausting_move,
    health_tier,
    single_position_liquidation_price,
)
from offchain.risk.funding import FundingConfig, accrued_funding, funding_payment, funding_rate, premium_index
from offchain.risk.io import load_history
from offchain.risk.margin import get_model, model_names
from offchain.risk.margin.dynamic import DepthCurve, DynamicConfig, DynamicMargin
from offchain.risk.margin.isolated import DEFAULT_BRACKETS, liquidation_price, tiered_requirement
from offchain.risk.margin.standard_options import StandardOptionsConfig, short_option_margin
from offchain.risk.margin.var import VaRConfig, backtest, kupiec_pof, scenario_returns, var_es
from offchain.risk.market import MarketState
from zkmargin.errors import ConfigError, InputError

MARKET = MarketState.model_validate(
    {"timestamp": "2024-01-01T00:00:00Z", "spots": {"BTC": 40000.0, "ETH": 2000.0}, "rate": 0.03,
     "default_vol": {"BTC": 0.6, "ETH": 0.75}}
)
ROOT = Path(__file__).resolve().parents[3]
HISTORY = load_history(ROOT / "examples" / "history_btc_eth_2021.csv")
HIST_CFG = {"history": {u: v.tolist() for u, v in HISTORY.items()}}


# ------------------------------------------------------------------------------ isolated
def test_isolated_tiers_are_continuous() -> None:
    for attr in ("mmr", "imr"):
        for b in DEFAULT_BRACKETS[:-1]:
            cap = float(b.max_notional)  # type: ignore[arg-type]
            below, _ = tiered_requirement(cap, DEFAULT_BRACKETS, attr)
            above, _ = tiered_requirement(cap * (1 + 1e-12), DEFAULT_BRACKETS, attr)
            assert above == pytest.approx(below, rel=1e-9)


def test_isolated_binance_style_worked_example() -> None:
    # 300,000 USD notional in bracket 3 (250k-1M, mmr 1%): deduction 50k*0.001 + 250k*0.005 = 1300
    mm, k = tiered_requirement(300_000.0, DEFAULT_BRACKETS, "mmr")
    assert k == 2 and mm == pytest.approx(300_000 * 0.01 - 1300.0)


@FIXED
@given(size=st.floats(0.01, 500.0), side=st.sampled_from([1.0, -1.0]), entry=st.floats(1000.0, 100000.0),
       lev=st.floats(1.5, 100.0))
def test_isolated_liquidation_price_solves_equity_equals_mm(size: float, side: float, entry: float, lev: float) -> None:
    q = side * size
    margin = abs(q) * entry / lev
    p = liquidation_price(q, entry, margin, DEFAULT_BRACKETS)
    if p is None:
        assert side > 0 and margin >= abs(q) * entry * 0.5  # only well-collateralized longs
        return
    eq = margin + q * (p - entry)
    mm, _ = tiered_requirement(abs(q) * p, DEFAULT_BRACKETS, "mmr")
    assert eq == pytest.approx(mm, rel=1e-7, abs=1e-6 * abs(q) * entry)
    if margin > tiered_requirement(abs(q) * entry, DEFAULT_BRACKETS, "mmr")[0]:
        assert (p < entry) if side > 0 else (p > entry)  # a healthy position is liquidated by an adverse move


def test_isolated_rejects_options() -> None:
    with pytest.raises(InputError) as exc:
        get_model("isolated").requirement(make_portfolio([("BTC-PERP", 1.0), ("BTC-C-40000", 1.0)]), MARKET)
    assert exc.value.field == "positions[1].instrument"


# --------------------------------------------------------------------------------- cross
def test_cross_scalings() -> None:
    pf = make_portfolio([("BTC-PERP", 100.0)])
    plain = get_model("cross").requirement(pf, MARKET)
    assert plain.im == pytest.approx(100 * 40000 * 0.02) and plain.mm == pytest.approx(100 * 40000 * 0.01)
    size = get_model("cross", {"scaling": "size", "imf_factor": 0.005}).requirement(pf, MARKET)
    assert size.im == pytest.approx(100 * 40000 * max(0.02, 0.005 * math.sqrt(100)))
    oi = get_model("cross", {"scaling": "open_interest", "open_interest": {"BTC": 275e6}}).requirement(pf, MARKET)
    # halfway between 50M and 500M: imf = 0.02 + 0.5 * (0.2 - 0.02)
    assert oi.im == pytest.approx(100 * 40000 * 0.11)
    with pytest.raises(ConfigError) as exc:
        get_model("cross", {"imf_base": 0.005, "mmf": 0.01})
    assert exc.value.field == "config"


# ---------------------------------------------------------------------- standard options
def test_deribit_standard_option_formulas() -> None:
    cfg = StandardOptionsConfig()
    # short call, OTM by 5000 at S=40000, mark 500: IM = max(0.15 - 0.125, 0.1) S + 500
    im, mm = short_option_margin(True, 40000.0, 45000.0, 500.0, cfg)
    assert im == pytest.approx(0.1 * 40000 + 500) and mm == pytest.approx(0.075 * 40000 + 500)
    # short ATM put, mark 2000: IM = 0.15 S + 2000; MM = max(0.075 S, 0.075 * 2000) + 2000
    im, mm = short_option_margin(False, 40000.0, 40000.0, 2000.0, cfg)
    assert im == pytest.approx(0.15 * 40000 + 2000) and mm == pytest.approx(0.075 * 40000 + 2000)
    # longs pay the premium: no venue margin, but their value is not margin either (the equity
    # already counts it, so the equity-basis requirement is the long value)
    res = get_model("standard_options").requirement(make_portfolio([("BTC-C-40000", 3.0)]), MARKET)
    assert res.details["venue_im"] == 0 and res.details["venue_mm"] == 0
    assert res.im == res.mm == pytest.approx(res.details["long_option_value"]) and res.mm > 0


# ---------------------------------------------------------------- IM >= MM, every model
SYMS = ["BTC-PERP", "ETH-PERP", "BTC-29MAR24", "BTC-C-45000", "BTC-P-35000", "ETH-P-1800"]


@FIXED
@given(qs=st.lists(st.floats(-10, 10).filter(lambda x: abs(x) > 1e-3), min_size=6, max_size=6),
       name=st.sampled_from(["cross", "standard_options", "risk_matrix", "var", "dynamic", "isolated"]))
def test_im_ge_mm_every_model(qs: list[float], name: str) -> None:
    syms = SYMS[:3] if name == "isolated" else SYMS
    pf = make_portfolio(list(zip(syms, qs)))
    cfg = HIST_CFG if name in ("var", "dynamic") else None
    res = _model(name, cfg).requirement(pf, MARKET)
    assert res.im >= res.mm >= 0


_CACHE: dict[str, object] = {}


def _model(name: str, cfg: object):  # type: ignore[no-untyped-def]
    if name not in _CACHE:
        _CACHE[name] = get_model(name, cfg)
    return _CACHE[name]


def test_registry_names_and_unknown_model() -> None:
    assert set(model_names()) == {"isolated", "cross", "standard_options", "risk_matrix", "var", "dynamic",
                                  "derive_pm2", "span"}
    with pytest.raises(InputError) as exc:
        get_model("nope")
    assert exc.value.field == "model"


# ------------------------------------------------------------------------------- dynamic
def test_depth_curve_cost_matches_analytic_linear_book() -> None:
    # impact(n) = n / D  ->  cost(N) = N^2 / (2 D), also beyond the last point (extrapolated)
    d = 1e8
    curve = DepthCurve(points=[(1e6, 1e6 / d), (5e6, 5e6 / d)])
    for n in (0.0, 3e5, 1e6, 4e6, 2e7):
        assert curve.liquidation_cost(n) == pytest.approx(n * n / (2 * d), rel=1e-12, abs=1e-12)


def test_dynamic_base_rate_and_apc_tools() -> None:
    pf = make_portfolio([("BTC-PERP", 1.0)])
    base = DynamicMargin(DynamicConfig(apc_tool="none", **HIST_CFG))
    r = base.rates("BTC")
    z = norm.ppf(0.99)
    assert r["base_rate"] == pytest.approx(z * r["sigma_daily"] * math.sqrt(2.0))
    res = base.requirement(pf, MARKET)
    assert res.mm == pytest.approx(r["base_rate"] * 40000.0)  # linear: loss at -rate
    buf = DynamicMargin(DynamicConfig(apc_tool="buffer", **HIST_CFG))
    rb = buf.rates("BTC")
    assert rb["apc_rate"] == pytest.approx(r["base_rate"] * (1.0 if rb["stressed"] else 1.25))
    sw = DynamicMargin(DynamicConfig(apc_tool="stress_weight", **HIST_CFG)).rates("BTC")
    assert sw["apc_rate"] >= sw["base_rate"]
    fl = DynamicMargin(DynamicConfig(apc_tool="floor", **HIST_CFG)).rates("BTC")
    sd = float(np.std(np.diff(np.log(HISTORY["BTC"])), ddof=1))
    assert fl["apc_rate"] == pytest.approx(max(fl["base_rate"], z * sd * math.sqrt(2.0)))


def test_dynamic_buffer_released_in_stress() -> None:
    m = DynamicMargin(DynamicConfig(apc_tool="buffer", **HIST_CFG))
    calm = m.rates("BTC")
    price = float(HISTORY["BTC"][-1])
    for _ in range(3):  # three -20% days: EWMA vol jumps above its 95% quantile
        price *= 0.8
        m.observe({"BTC": price, "ETH": float(HISTORY["ETH"][-1])})
    stressed = m.rates("BTC")
    assert stressed["stressed"] and not calm["stressed"]
    assert stressed["apc_rate"] == stressed["base_rate"]  # buffer released
    assert stressed["base_rate"] > calm["apc_rate"]


def test_dynamic_emir_minimums_enforced() -> None:
    with pytest.raises(ConfigError) as exc:
        get_model("dynamic", {"apc_tool": "buffer", "buffer": 0.1, **HIST_CFG})
    assert exc.value.field == "config"
    with pytest.raises(InputError):
        get_model("dynamic", {})


def test_dynamic_liquidity_addon_added() -> None:
    pf = make_portfolio([("BTC-PERP", 50.0)])
    liq = {"BTC": {"points": [[1e6, 0.01]]}}
    a = get_model("dynamic", HIST_CFG).requirement(pf, MARKET)
    b = get_model("dynamic", {**HIST_CFG, "liquidity": liq}).requirement(pf, MARKET)
    n = 50 * 40000.0
    assert b.mm - a.mm == pytest.approx(n * n * 0.01 / 1e6 / 2)


# ----------------------------------------------------------------------------------- VaR
@pytest.mark.parametrize(
    "t,p,lo,hi",
    [(510, 0.01, 1, 11), (1000, 0.01, 4, 17), (255, 0.05, 6, 21), (510, 0.05, 16, 36), (1000, 0.05, 37, 65)],
)
def test_kupiec_nonrejection_regions_match_published_table(t: int, p: float, lo: int, hi: int) -> None:
    # Kupiec (1995) / Jorion, Value at Risk, "model backtesting": non-rejection regions lo < N < hi
    # of the POF test at the 95% level (LR < 3.841)
    accepted = [x for x in range(t) if kupiec_pof(t, x, p)[0] < 3.841]
    assert (accepted[0], accepted[-1]) == (lo + 1, hi - 1)
    assert kupiec_pof(t, accepted[0], p)[1] > 0.05 > kupiec_pof(t, hi, p)[1]


def test_kupiec_99pct_255_days_upper_bound() -> None:
    # same table, p = 1%, T = 255: N < 7
    assert kupiec_pof(255, 6, 0.01)[0] < 3.841 < kupiec_pof(255, 7, 0.01)[0]
    assert kupiec_pof(100, 1, 0.01)[0] == pytest.approx(0.0)


def test_var_es_of_known_sample() -> None:
    pnl = -np.arange(1.0, 101.0)  # losses 1..100
    v, es = var_es(pnl, 0.95)
    assert v == pytest.approx(-np.quantile(pnl, 0.05))
    assert es == pytest.approx(np.mean(np.sort(-pnl)[-5:]))  # mean of the 5 worst... tail beyond VaR
    assert es >= v


def test_historical_scenarios_are_the_last_lookback_returns() -> None:
    rets = np.diff(np.log(HISTORY["BTC"]))[:, None]
    s = scenario_returns(rets, VaRConfig(lookback_days=100))
    np.testing.assert_allclose(s[:, 0], rets[-100:, 0])
    s2 = scenario_returns(rets, VaRConfig(lookback_days=100, horizon_days=5))
    assert s2.shape[0] == 100 and s2[-1, 0] == pytest.approx(rets[-5:, 0].sum())


def test_monte_carlo_is_seeded_and_fat_tailed() -> None:
    rets = np.column_stack([np.diff(np.log(HISTORY[u])) for u in ("BTC", "ETH")])
    a = scenario_returns(rets, VaRConfig(method="monte_carlo", paths=20000, seed=1))
    b = scenario_returns(rets, VaRConfig(method="monte_carlo", paths=20000, seed=1))
    np.testing.assert_array_equal(a, b)
    z = a[:, 0] / a[:, 0].std()
    kurt = float(np.mean(z**4))
    assert kurt > 4.0  # Student-t(4) innovations: excess kurtosis, normal would be 3
    assert np.corrcoef(a.T)[0, 1] > 0.5  # BTC/ETH residual correlation carried over


@pytest.mark.parametrize("method", ["historical", "filtered_historical", "monte_carlo"])
def test_backtest_on_2021_history(method: str) -> None:
    res = backtest(HISTORY, {"BTC": 1e6}, VaRConfig(method=method, lookback_days=120, paths=2000))
    assert res.observations > 200
    assert res.exceptions == pytest.approx(res.exception_rate * res.observations)
    lr, p = kupiec_pof(res.observations, res.exceptions, 0.01)
    assert res.kupiec_lr == pytest.approx(lr) and res.kupiec_p_value == pytest.approx(p)
    assert 0 <= res.exceptions <= 15


def test_var_margin_needs_history_for_every_underlying() -> None:
    model = get_model("var", {"history": {"BTC": HISTORY["BTC"].tolist()}})
    with pytest.raises(InputError) as exc:
        model.requirement(make_portfolio([("ETH-PERP", 1.0)]), MARKET)
    assert exc.value.field == "history"


# ---------------------------------------------------------------------------- account
def test_account_view_and_health() -> None:
    pf = make_portfolio([("BTC-PERP", 1.0)], {"collateral": [{"asset": "USDC", "amount": 5000.0},
                                                             {"asset": "BTC", "amount": 0.1, "haircut": 0.2}]})
    view, _ = account_view(pf, MARKET, get_model("cross"))
    assert view.equity == pytest.approx(5000 + 0.1 * 40000 * 0.8)
    assert view.mm == pytest.approx(400) and view.margin_ratio == pytest.approx(400 / 8200)
    assert view.free_collateral == pytest.approx(8200 - 800) and view.health == "healthy"
    cfg = HealthConfig()
    assert [health_tier(x, cfg) for x in (0.5, 0.85, 0.95, 1.0, 2.0)] == [
        "healthy", "warning", "reduce_only", "liquidation", "liquidation"]


def test_single_position_liquidation_closed_form_matches_root_finding() -> None:
    pf = make_portfolio([("BTC-PERP", 2.0)], {"collateral": [{"asset": "USDC", "amount": 10000.0}]})
    model = get_model("cross", {"imf_base": 0.02, "mmf": 0.01})
    eq = equity(pf, MARKET)
    p = single_position_liquidation_price(2.0, 40000.0, eq, 0.01)
    moves = exhausting_move(pf, MARKET, model)
    assert moves["up"] is None
    assert 40000.0 * (1 + moves["down"]) == pytest.approx(p, rel=1e-8)


def test_exhausting_move_of_option_portfolio() -> None:
    pf = make_portfolio([("BTC-P-40000", -2.0)], {"collateral": [{"asset": "USDC", "amount": 30000.0}]})
    model = get_model("risk_matrix", {"preset": "deribit_pm"})
    x = exhausting_move(pf, MARKET, model)["down"]
    assert x is not None and -0.99 < x < 0
    m = MARKET.with_spots({"BTC": 40000.0 * (1 + x)})
    assert equity(pf, m) == pytest.approx(model.requirement(pf, m).mm, rel=1e-6)


# ---------------------------------------------------------------------------- funding
def test_funding_bitmex_clamp() -> None:
    cfg = FundingConfig()
    # premium within +/-0.05% of the 0.01% interest rate: funding = the interest rate
    assert funding_rate(0.0003, cfg) == pytest.approx(0.0001)
    assert funding_rate(-0.0003, cfg) == pytest.approx(0.0001)
    assert funding_rate(-0.003, cfg) == pytest.approx(-0.003 + 0.0005)
    # large premium: F = P + clamp(I - P) = P - 0.05%
    assert funding_rate(0.003, cfg) == pytest.approx(0.003 - 0.0005)
    assert funding_rate(0.5, cfg) == pytest.approx(0.0075)  # capped
    assert premium_index([100.0, 100.0], mark=[101.0, 99.0]) == pytest.approx(0.0)
    assert premium_index([100.0], impact_bid=[100.5], impact_ask=[101.0]) == pytest.approx(0.005)
    assert funding_payment([2.0, -2.0], [100.0, 100.0], 0.001).tolist() == [-0.2, 0.2]
    assert accrued_funding([2.0], [100.0], 0.001, 4 * 3600).tolist() == [pytest.approx(-0.1)]


def test_config_file_history_path_resolves_next_to_the_config(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import json as _json
    import shutil

    shutil.copy(ROOT / "examples" / "history_btc_eth_2021.csv", tmp_path / "h.csv")
    cfg = tmp_path / "var.json"
    cfg.write_text(_json.dumps({"history_file": "h.csv", "lookback_days": 100}))
    elsewhere = tmp_path / "run"
    elsewhere.mkdir()
    cfg_abs = cfg.resolve()
    monkeypatch.chdir(elsewhere)
    res = get_model("var", str(cfg_abs)).requirement(make_portfolio([("BTC-PERP", 1.0)]), MARKET)
    assert res.mm > 0
    cfg.write_text(_json.dumps({"history_file": "missing.csv"}))
    with pytest.raises(InputError) as exc:
        get_model("var", str(cfg_abs))
    assert exc.value.field == "history" and "not found" in exc.value.problem
