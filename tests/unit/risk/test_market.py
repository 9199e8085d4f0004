"""Market state: forwards, SVI smiles, vol lookup order, validation; greeks vs textbooks."""

from __future__ import annotations

import math

import numpy as np
import pytest

from offchain.risk.instruments import Option, Portfolio
from offchain.risk.io import parse_market
from offchain.risk.market import SVI, MarketState
from offchain.risk.pricing.black76 import black76_greeks, black76_price
from zkmargin.errors import InputError

ql = pytest.importorskip("QuantLib")

BASE = {"timestamp": "2024-01-01T00:00:00Z", "spots": {"BTC": 40000.0}, "rate": 0.05}
CALL = Option(symbol="C", underlying="BTC", expiry="2024-07-01T00:00:00Z", strike=45000.0, option_type="call")


def test_svi_vol_matches_formula_and_is_used_for_pricing() -> None:
    svi = {"a": 0.02, "b": 0.1, "rho": -0.4, "m": 0.05, "sigma": 0.3}
    m = MarketState.model_validate({**BASE, "smiles": {"BTC": {"2024-07-01T00:00:00Z": svi}}})
    t = m.time_to_expiry(CALL.expiry)
    f = 40000.0 * math.exp(0.05 * t)
    k = math.log(45000.0 / f)
    w = 0.02 + 0.1 * (-0.4 * (k - 0.05) + math.sqrt((k - 0.05) ** 2 + 0.09))
    assert m.option_vol(CALL) == pytest.approx(math.sqrt(w / t), rel=1e-14)
    assert m.mark(CALL) == pytest.approx(float(black76_price(f, 45000.0, math.sqrt(w / t), t, 0.05, True)), rel=1e-14)
    # per-option vol wins over the smile, the smile over the default
    m2 = MarketState.model_validate({**BASE, "vols": {"C": 0.9}, "default_vol": {"BTC": 0.1},
                                     "smiles": {"BTC": {str(CALL.expiry): svi}}})
    assert m2.option_vol(CALL) == 0.9


def test_svi_rejects_negative_variance() -> None:
    with pytest.raises(InputError) as exc:
        parse_market({**BASE, "smiles": {"BTC": {"2024-07-01": {"a": -1.0, "b": 0.1, "rho": 0.0, "m": 0.0, "sigma": 0.1}}}})
    assert exc.value.field.startswith("market.smiles.BTC")
    assert SVI(a=0.04, b=0.0, rho=0.0, m=0.0, sigma=0.1).vol(0.3, 1.0) == pytest.approx(0.2)


def test_forward_and_futures_marks() -> None:
    m = MarketState.model_validate({**BASE, "futures_prices": {"BTC-F": 41000.0}})
    from offchain.risk.instruments import Future

    fut = Future(symbol="BTC-F", underlying="BTC", expiry="2024-07-01")
    assert m.mark(fut) == 41000.0
    other = Future(symbol="BTC-G", underlying="BTC", expiry="2024-07-01")
    assert m.mark(other) == pytest.approx(40000.0 * math.exp(0.05 * m.time_to_expiry(other.expiry)))
    moved = m.with_spots({"BTC": 44000.0})
    assert moved.mark(fut) == pytest.approx(41000.0 * 1.1)


def test_market_validation_messages() -> None:
    with pytest.raises(InputError) as exc:
        parse_market({**BASE, "spots": {"BTC": float("nan")}})
    assert exc.value.field == "market.spots.BTC" and "finite" in exc.value.problem
    with pytest.raises(InputError) as exc:
        parse_market({**BASE, "spots": {}})
    assert exc.value.field == "market.spots"
    with pytest.raises(InputError) as exc:
        parse_market({**BASE, "timestamp": "yesterday"})
    assert exc.value.field == "market.timestamp"
    m = MarketState.model_validate(BASE)
    with pytest.raises(InputError) as exc:
        m.option_vol(CALL, field="positions[0].instrument")
    assert exc.value.field == "positions[0].instrument" and "no volatility" in exc.value.problem


def test_portfolio_validation_messages() -> None:
    from offchain.risk.io import parse_portfolio

    inst = [{"kind": "perp", "symbol": "P", "underlying": "BTC"}]
    with pytest.raises(InputError) as exc:
        parse_portfolio({"instruments": inst + inst, "positions": [{"instrument": "P", "size": 1}]})
    assert exc.value.field == "instruments[1].symbol"
    with pytest.raises(InputError) as exc:
        parse_portfolio({"instruments": inst, "positions": [{"instrument": "P", "size": 0}]})
    assert exc.value.field == "positions[0].size"
    with pytest.raises(InputError) as exc:
        parse_portfolio({"instruments": [{"kind": "swap", "symbol": "X", "underlying": "BTC"}],
                         "positions": [{"instrument": "X", "size": 1}]})
    assert exc.value.field.startswith("instruments[0]")
    with pytest.raises(InputError) as exc:
        parse_portfolio({"instruments": inst, "positions": [{"instrument": "P", "size": 1, "colour": "red"}]})
    assert exc.value.field == "positions[0].colour"
    pf = Portfolio.model_validate({"instruments": inst, "positions": [{"instrument": "P", "size": 2.0}]})
    assert pf.scaled(0.5).positions[0].size == 1.0


def test_hull_delta_example() -> None:
    # Hull Example 19.1: S=49, K=50, r=5%, sigma=20%, T=20 weeks: call 2.40, N(d1) = 0.522
    t = 0.3846
    f = 49.0 * math.exp(0.05 * t)
    g = black76_greeks(f, 50.0, 0.2, t, 0.05, True)
    assert float(g.price) == pytest.approx(2.40, abs=5e-3)
    assert float(g.delta) * math.exp(0.05 * t) == pytest.approx(0.522, abs=5e-4)  # spot delta


def test_vega_theta_against_quantlib() -> None:
    rng = np.random.default_rng(np.random.SeedSequence(17))
    n = 2000
    f = rng.uniform(100, 1e5, n)
    k = f * np.exp(rng.normal(0, 0.3, n))
    t = rng.uniform(0.01, 3, n)
    v = rng.uniform(0.1, 1.5, n)
    r = rng.uniform(0, 0.08, n)
    call = rng.random(n) < 0.5
    g = black76_greeks(f, k, v, t, r, call)
    ref_vega = np.array([
        ql.BlackCalculator(ql.PlainVanillaPayoff(ql.Option.Call if call[j] else ql.Option.Put, k[j]), f[j],
                           v[j] * math.sqrt(t[j]), math.exp(-r[j] * t[j])).vega(t[j])
        for j in range(n)
    ])
    np.testing.assert_allclose(g.vega, ref_vega, rtol=1e-9, atol=1e-12 * f.max())


def test_portfolio_greeks_match_bump_and_reprice() -> None:
    from _risk_testlib import make_portfolio

    from offchain.risk.account import equity, pin_entries
    from offchain.risk.greeks import portfolio_greeks

    m = MarketState.model_validate({**BASE, "spots": {"BTC": 40000.0, "ETH": 2000.0},
                                    "default_vol": {"BTC": 0.6, "ETH": 0.8}})
    pf = pin_entries(make_portfolio([("BTC-PERP", 1.5), ("BTC-29MAR24", -1.0), ("BTC-C-45000", -2.0), ("BTC-P-35000", 3.0),
                                     ("ETH-P-1800", -4.0)]), m)
    g = portfolio_greeks(pf, m)
    for u, s0 in (("BTC", 40000.0), ("ETH", 2000.0)):
        h = s0 * 1e-4
        up, mid, dn = (equity(pf, m.with_spots({u: s0 + x})) for x in (h, 0.0, -h))
        assert g[u]["delta"] == pytest.approx((up - dn) / (2 * h), rel=1e-6)
        assert g[u]["gamma"] == pytest.approx((up - 2 * mid + dn) / h**2, rel=1e-3)
    dv = 1e-5
    bumped = m.model_copy(update={"default_vol": {"BTC": 0.6 + dv, "ETH": 0.8}})
    dropped = m.model_copy(update={"default_vol": {"BTC": 0.6 - dv, "ETH": 0.8}})
    assert g["BTC"]["vega"] == pytest.approx((equity(pf, bumped) - equity(pf, dropped)) / (2 * dv), rel=1e-6)


def test_fit_svi_recovers_known_parameters() -> None:
    from offchain.risk.svi import fit_svi

    true = SVI(a=0.01, b=0.12, rho=-0.35, m=0.03, sigma=0.25)
    k = np.linspace(-0.8, 0.6, 25)
    t = 0.25
    vols = true.vol(k, t)
    fit = fit_svi(k, vols, t)
    np.testing.assert_allclose(fit.vol(k, t), vols, rtol=1e-8)
    for name in ("a", "b", "rho", "m", "sigma"):
        assert getattr(fit, name) == pytest.approx(getattr(true, name), rel=1e-5, abs=1e-7)
    with pytest.raises(InputError) as exc:
        fit_svi(k[:3], vols[:3], t)
    assert exc.value.field == "vols"
