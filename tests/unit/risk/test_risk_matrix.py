"""Risk-matrix margin: preset grids, worked examples, and the properties of issue 3."""

from __future__ import annotations

import math

import numpy as np
import pytest
from _risk_testlib import FIXED, make_portfolio
from hypothesis import given
from hypothesis import strategies as st

from offchain.risk.instruments import Portfolio
from offchain.risk.margin import get_model
from offchain.risk.margin.risk_matrix import ScenarioSet, preset_config, shocked_vols
from offchain.risk.market import MarketState
from offchain.risk.valuation import InstrumentTable
from zkmargin.errors import ConfigError

MARKET = MarketState.model_validate(
    {"timestamp": "2024-01-01T00:00:00Z", "spots": {"BTC": 40000.0, "ETH": 2000.0}, "rate": 0.03,
     "default_vol": {"BTC": 0.6, "ETH": 0.75}}
)
SYMBOLS = ["BTC-PERP", "ETH-PERP", "BTC-29MAR24", "BTC-C-45000", "BTC-P-35000", "BTC-C-40000", "BTC-P-40000", "ETH-P-1800"]
LINEAR = {"BTC-PERP", "ETH-PERP", "BTC-29MAR24"}


def rm(preset: str, **kw: object):  # type: ignore[no-untyped-def]
    return get_model("risk_matrix", {"preset": preset, **kw})


def test_preset_grids() -> None:
    d = ScenarioSet(preset_config("deribit_pm"), ("BTC", "ETH"))
    assert d.size == 9 * 3 + 8
    # extended table: absolute moves, vol up only, dampened
    assert d.spot_shock[27:, 0] == pytest.approx([-0.66, -0.33, 0.5, 1.0, 2.0, 3.0, 4.0, 5.0])
    np.testing.assert_allclose(d.spot_shock[27:, 1], d.spot_shock[27:, 0])  # same move for ETH
    assert list(d.weight[27:]) == [0.21, 0.42, 0.2772, 0.1386, 0.0693, 0.0462, 0.03465, 0.02772]
    assert set(d.vol_dir[27:]) == {1}
    btc = sorted({round(x, 10) for x in d.spot_shock[: 27, 0]})
    assert btc == pytest.approx([-0.16, -0.12, -0.08, -0.04, 0.0, 0.04, 0.08, 0.12, 0.16])
    # joint scenarios: ETH moves in the same bucket, scaled to its own range (20%)
    np.testing.assert_allclose(d.spot_shock[:27, 1], d.spot_shock[:27, 0] / 0.16 * 0.20)
    c = ScenarioSet(preset_config("cme_span"), ("BTC",))
    assert c.size == 16
    fr = sorted({round(x / 0.16, 10) for x in c.spot_shock[:14, 0]})
    assert fr == pytest.approx([-1, -2 / 3, -1 / 3, 0, 1 / 3, 2 / 3, 1])
    assert list(c.weight[14:]) == [0.35, 0.35] and sorted(c.spot_shock[14:, 0]) == pytest.approx([-0.32, 0.32])
    assert set(c.vol_dir[:14]) == {1, -1}  # SPAN: vol up and down only



def test_derive_preset_reproduces_published_scenario_table() -> None:
    # Lyra v2 parameters: [spot %, vol] = [+20, up], [+15, up/static/down], ..., [-15, up/static/down], [-20, up]
    d = ScenarioSet(preset_config("derive_pmrm"), ("BTC",))
    got = sorted((round(float(x) * 100, 6), int(v)) for x, v in zip(d.spot_shock[:, 0], d.vol_dir))
    expected = sorted([(20.0, 1), (-20.0, 1)] + [(float(x), v) for x in range(-15, 16, 5) for v in (1, 0, -1)])
    assert got == expected and d.size == 23


def test_derive_option_contingency_is_per_net_short_contract() -> None:
    # OPTION_FACTOR 2% of spot per net short option; longs add nothing; perps 3% of spot
    model = rm("derive_pmrm")
    res = model.requirement(make_portfolio([("BTC-C-45000", -3.0), ("BTC-P-35000", 2.0), ("ETH-PERP", -4.0)]), MARKET)
    assert res.details["contingency"] == pytest.approx(3 * 0.02 * 40000 + 4 * 0.03 * 2000)


def test_tail_scenarios_with_dampening_and_vol_up() -> None:
    cfg = preset_config("deribit_pm", extreme_moves=[[-66 / 16, 0.21], [50 / 16, 0.27]], extreme_mode="multiple")
    s = ScenarioSet(cfg, ("BTC",))
    assert s.spot_shock[-2:, 0] == pytest.approx([-0.66, 0.50])
    assert list(s.weight[-2:]) == [0.21, 0.27] and list(s.vol_dir[-2:]) == [1, 1]
    pf = make_portfolio([("BTC-PERP", 1.0)])
    res = get_model("risk_matrix", cfg).requirement(pf, MARKET)
    assert res.details["scan_risk"] == pytest.approx(max(0.16, 0.66 * 0.21) * 40000)


def test_span_grid_futures_scan_risk_is_the_psr() -> None:
    # SPAN scenarios 15-16: +/-2 x PSR covered at 35% (McMillan, Options as a Strategic
    # Investment ch. 34: a long S&P future with PSR $10,000 shows +/-7,000 there), so for one
    # long future the full down move binds: scan risk = max(PSR, 0.35 * 2 * PSR) = PSR
    pf = make_portfolio([("BTC-29MAR24", 1.0)])
    res = rm("cme_span").requirement(pf, MARKET)
    fwd = res.per_position[0]["mark"]
    assert res.details["scan_risk"] == pytest.approx(0.16 * fwd, rel=1e-12)
    sc = res.scenarios
    assert sc[res.details["worst_scenario"]]["spot_shock"]["BTC"] == pytest.approx(-0.16)
    ext = [i for i, s in enumerate(sc) if s["weight"] == 0.35]
    assert sorted(res.scenario_pnl[i] for i in ext) == pytest.approx([-0.7 * 0.16 * fwd, 0.7 * 0.16 * fwd])
    # scenario table: +1/3 PSR scenarios give +PSR/3 for a long future
    up13 = [i for i, s in enumerate(sc) if s["spot_shock"]["BTC"] == pytest.approx(0.16 / 3)]
    assert all(res.scenario_pnl[i] == pytest.approx(0.16 / 3 * fwd) for i in up13)


def test_span_short_option_minimum() -> None:
    # a far OTM short call: the scan risk is tiny, the short option minimum binds
    pf = make_portfolio([("BTC-C-45000", -1.0)])
    res = rm("cme_span", short_option_minimum=0.2).requirement(pf, MARKET)
    assert res.mm == pytest.approx(0.2 * 40000.0)
    assert res.details["short_option_minimum_applied"]


def test_deribit_legacy_all_options_contingency_worked_example() -> None:
    # an older Deribit PM page: contingency of 1% of the underlying value of all options, long
    # and short: 200 options -> 1% of 200 BTC = 2 BTC (https://www.deribit.com/docs/category/uncategorized/)
    cfg = {"contingency": {"perp": 0.0, "future": 0.0, "option": 0.01}, "option_contingency_side": "all"}
    pf = make_portfolio([("BTC-C-40000", 100.0), ("BTC-P-40000", -100.0)])
    res = rm("deribit_pm", **cfg).requirement(pf, MARKET)
    assert res.details["contingency"] == pytest.approx(2.0 * 40000.0)


def test_deribit_vol_shock_scaling() -> None:
    # Deribit: IV change (30 / DTE)^0.30 x range for DTE < 30, power 0.13 beyond; relative shocks,
    # vol up at least min_vol_up; DTE floored
    cfg = preset_config("deribit_pm")
    m = MARKET.model_copy(update={"default_vol": {"BTC": 0.4, "ETH": 0.8}})
    insts = [i for i in make_portfolio([("BTC-PERP", 1.0)]).instruments if i.symbol in ("BTC-C-45000", "ETH-P-1800")]
    table = InstrumentTable.build(insts, m)
    dirs = np.array([1, 0, -1])
    v = shocked_vols(cfg, table, dirs)
    for j, vol in enumerate(table.vol):
        dte = table.dte[j]
        p = 0.30 if dte < 30 else 0.13
        scale = (30 / max(dte, 1.0)) ** p
        assert v[0, j] == pytest.approx(max(vol * (1 + 0.5 * scale), 0.5))
        assert v[1, j] == pytest.approx(vol)
        assert v[2, j] == pytest.approx(vol * (1 - 0.25 * scale))
    # 15 days: (30/15)^0.3 = 1.2311
    assert (30 / 15) ** 0.30 == pytest.approx(1.2311, abs=1e-4)


def test_scenario_pnl_output_consistent() -> None:
    pf = make_portfolio([("BTC-PERP", 1.0), ("BTC-C-40000", -2.0), ("ETH-P-1800", 5.0)])
    res = rm("deribit_pm").requirement(pf, MARKET)
    assert len(res.scenario_pnl) == len(res.scenarios) == res.details["n_scenarios"]
    assert res.details["scan_risk"] == pytest.approx(max(0.0, -min(res.scenario_pnl)))
    assert res.mm == pytest.approx(res.details["scan_risk"] + res.details["contingency"])
    assert res.im == pytest.approx(1.25 * res.mm)


def test_unknown_preset_and_bad_config() -> None:
    with pytest.raises(ConfigError) as exc:
        get_model("risk_matrix", {"preset": "nope"})
    assert exc.value.field == "config.preset"
    with pytest.raises(ConfigError) as exc:
        get_model("risk_matrix", {"price_range": -0.1})
    assert exc.value.field == "config.price_range"
    with pytest.raises(ConfigError) as exc:
        get_model("risk_matrix", {"price_rnge": 0.1})
    assert exc.value.field == "config.price_rnge"


# ------------------------------------------------------------------------- properties
sizes = st.floats(-20.0, 20.0).filter(lambda x: abs(x) > 1e-3)
PRESETS = ["deribit_pm", "cme_span", "derive_pmrm"]


def _pf(qs: list[float]) -> Portfolio:
    return make_portfolio([(s, q) for s, q in zip(SYMBOLS, qs) if q != 0])


portfolios = st.lists(st.one_of(st.just(0.0), sizes), min_size=len(SYMBOLS), max_size=len(SYMBOLS)).filter(
    lambda v: any(v)
)


@FIXED
@given(qs=portfolios, preset=st.sampled_from(PRESETS))
def test_im_ge_mm_ge_0(qs: list[float], preset: str) -> None:
    res = rm(preset).requirement(_pf(qs), MARKET)
    assert res.im >= res.mm >= 0.0


@FIXED
@given(qs=portfolios, lam=st.floats(0.01, 100.0), preset=st.sampled_from(PRESETS))
def test_scales_linearly_with_position_size(qs: list[float], lam: float, preset: str) -> None:
    a = rm(preset).requirement(_pf(qs), MARKET).mm
    b = rm(preset).requirement(_pf([lam * q for q in qs]), MARKET).mm
    assert b == pytest.approx(lam * a, rel=1e-9, abs=1e-7)


@FIXED
@given(a=portfolios, b=portfolios, preset=st.sampled_from(PRESETS))
def test_sub_additive(a: list[float], b: list[float], preset: str) -> None:
    model = rm(preset)
    ab = [x + y for x, y in zip(a, b)]
    if not any(abs(x) > 1e-12 for x in ab):
        return
    joint = model.requirement(_pf(ab), MARKET).mm
    assert joint <= model.requirement(_pf(a), MARKET).mm + model.requirement(_pf(b), MARKET).mm + 1e-7


def test_hedge_reduces_requirement() -> None:
    model = rm("deribit_pm")
    short_put = make_portfolio([("BTC-P-40000", -3.0)])
    hedge = make_portfolio([("BTC-PERP", -1.5)])
    both = make_portfolio([("BTC-P-40000", -3.0), ("BTC-PERP", -1.5)])
    r1, r2, r12 = (model.requirement(p, MARKET).mm for p in (short_put, hedge, both))
    assert r12 < r1 < r1 + r2


# short-gamma portfolios: loss is convex in the spot move, so a wider grid cannot lower it
short_gamma = st.lists(
    st.one_of(st.just(0.0), st.floats(-20.0, -1e-3)), min_size=5, max_size=5
)
linear_sizes = st.lists(st.one_of(st.just(0.0), sizes), min_size=3, max_size=3)


@FIXED
@given(lin=linear_sizes, opt=short_gamma, r1=st.floats(0.02, 0.3), dr=st.floats(0.0, 0.3),
       preset=st.sampled_from(PRESETS))
def test_requirement_grows_with_shock_size(lin: list[float], opt: list[float], r1: float, dr: float, preset: str) -> None:
    qs = lin + opt
    if not any(qs):
        return
    pf = _pf(qs)
    small = rm(preset, price_range=r1, price_range_by_underlying={}).requirement(pf, MARKET).mm
    big = rm(preset, price_range=min(r1 + dr, 0.33), price_range_by_underlying={}).requirement(pf, MARKET).mm
    assert big >= small - 1e-9 * max(1.0, small)


def test_requirement_grows_with_vol_shock() -> None:
    pf = make_portfolio([("BTC-C-40000", -2.0), ("BTC-P-35000", -1.0)])
    vals = [rm("deribit_pm", vol_up=v).requirement(pf, MARKET).mm for v in (0.1, 0.3, 0.6, 1.0)]
    assert vals == sorted(vals) and vals[0] < vals[-1]
    assert not math.isnan(vals[0])


def test_deribit_extended_table_catches_far_otm_short_calls() -> None:
    # the extended table exists for large far-OTM short options: a +100% move dominates
    inst = [{"kind": "option", "symbol": "FAR-C", "underlying": "BTC", "expiry": "2024-03-29T08:00:00Z",
             "strike": 80000.0, "option_type": "call"}]
    pf = Portfolio.model_validate({"instruments": inst, "positions": [{"instrument": "FAR-C", "size": -10.0}]})
    with_ext = rm("deribit_pm").requirement(pf, MARKET)
    without = rm("deribit_pm", extreme_moves=[]).requirement(pf, MARKET)
    assert with_ext.details["scan_risk"] > 3 * without.details["scan_risk"]
    worst = with_ext.scenarios[with_ext.details["worst_scenario"]]
    assert worst["weight"] < 1 and worst["spot_shock"]["BTC"] >= 1.0
