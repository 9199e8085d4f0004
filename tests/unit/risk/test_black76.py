"""Black-76 against Hull's textbook values, QuantLib (10,000 random inputs) and parity."""

from __future__ import annotations

import math

import numpy as np
import pytest
from _risk_testlib import FIXED
from hypothesis import given
from hypothesis import strategies as st

from offchain.risk.pricing.black76 import black76_greeks, black76_price, implied_vol
from zkmargin.errors import InputError

ql = pytest.importorskip("QuantLib")


def test_hull_example_call_and_put() -> None:
    # Hull, Options Futures and Other Derivatives, Example 15.6: S=42, K=40, r=10%, sigma=20%, T=0.5
    f = 42.0 * math.exp(0.1 * 0.5)
    assert float(black76_price(f, 40.0, 0.2, 0.5, 0.1, True)) == pytest.approx(4.7594, abs=5e-5)
    assert float(black76_price(f, 40.0, 0.2, 0.5, 0.1, False)) == pytest.approx(0.8086, abs=5e-5)


def test_hull_black76_futures_option_example() -> None:
    # Hull Example 18.7 (futures option): F=20, K=20, r=9%, T=4/12, sigma=25%: put = 1.12
    assert float(black76_price(20.0, 20.0, 0.25, 4 / 12, 0.09, False)) == pytest.approx(1.12, abs=5e-3)


def _random_inputs(n: int, seed: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    f = rng.uniform(50.0, 100000.0, n)
    k = f * np.exp(rng.normal(0.0, 0.3, n))
    t = rng.uniform(1.0 / 365.0, 3.0, n)
    vol = rng.uniform(0.05, 2.0, n)
    r = rng.uniform(-0.01, 0.1, n)
    call = rng.random(n) < 0.5
    return f, k, t, vol, r, call


def test_agrees_with_quantlib_on_10000_random_inputs() -> None:
    # 12,000 draws; the 1e-10 relative check uses the >= 10,000 whose price is >= 1e-5 F (below
    # that, both implementations lose relative digits to the cancellation in F N(d1) - K N(d2),
    # and the comparison is absolute, 1e-11 F).
    n = 12_000
    f, k, t, vol, r, call = _random_inputs(n, 7)
    ours = black76_greeks(f, k, vol, t, r, call)
    ref = np.empty(n)
    ref_delta = np.empty(n)
    ref_gamma = np.empty(n)
    for j in range(n):
        typ = ql.Option.Call if call[j] else ql.Option.Put
        std = vol[j] * math.sqrt(t[j])
        disc = math.exp(-r[j] * t[j])
        calc = ql.BlackCalculator(ql.PlainVanillaPayoff(typ, k[j]), f[j], std, disc)
        ref[j] = calc.value()
        ref_delta[j] = calc.deltaForward()
        ref_gamma[j] = calc.gammaForward()
    # relative agreement 1e-10 wherever the price is not vanishingly small
    big = ref > 1e-5 * f
    assert big.sum() >= 10_000
    np.testing.assert_allclose(ours.price[big], ref[big], rtol=1e-10)
    assert np.all(np.abs(ours.price - ref) <= 1e-11 * f)
    # QuantLib's forward delta/gamma are undiscounted-per-forward derivatives of the value
    np.testing.assert_allclose(ours.delta, ref_delta, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ours.gamma, ref_gamma, rtol=1e-9, atol=1e-15)


def test_greeks_match_finite_differences() -> None:
    f, k, t, vol, r, call = _random_inputs(200, 11)
    g = black76_greeks(f, k, vol, t, r, call)
    h = 1e-4 * f
    up = black76_price(f + h, k, vol, t, r, call)
    dn = black76_price(f - h, k, vol, t, r, call)
    np.testing.assert_allclose(g.delta, (up - dn) / (2 * h), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(g.gamma, (up - 2 * g.price + dn) / h**2, rtol=1e-3, atol=1e-8)
    dv = 1e-6
    vega_fd = (black76_price(f, k, vol + dv, t, r, call) - black76_price(f, k, vol - dv, t, r, call)) / (2 * dv)
    np.testing.assert_allclose(g.vega, vega_fd, rtol=1e-5, atol=1e-6)
    dt = 1e-6
    # theta: -d(price)/dT with F fixed
    theta_fd = -(black76_price(f, k, vol, t + dt, r, call) - black76_price(f, k, vol, t - dt, r, call)) / (2 * dt)
    np.testing.assert_allclose(g.theta, theta_fd, rtol=1e-4, atol=1e-4)


@FIXED
@given(
    f=st.floats(10.0, 1e5),
    moneyness=st.floats(-1.5, 1.5),
    vol=st.floats(0.05, 3.0),
    t=st.floats(1e-3, 5.0),
    r=st.floats(-0.02, 0.15),
)
def test_put_call_parity(f: float, moneyness: float, vol: float, t: float, r: float) -> None:
    k = f * math.exp(moneyness)
    c = float(black76_price(f, k, vol, t, r, True))
    p = float(black76_price(f, k, vol, t, r, False))
    assert c - p == pytest.approx(math.exp(-r * t) * (f - k), rel=1e-9, abs=1e-9 * f)


def test_implied_vol_round_trip_including_wings_and_short_expiries() -> None:
    rng = np.random.default_rng(np.random.SeedSequence(3))
    n = 20_000
    f = rng.uniform(10.0, 1e5, n)
    k = f * np.exp(rng.normal(0.0, 1.0, n))  # deep ITM and OTM strikes
    t = np.exp(rng.uniform(np.log(1 / (365 * 24)), np.log(3.0), n))  # one hour to three years
    vol = rng.uniform(0.05, 3.0, n)
    call = rng.random(n) < 0.5
    price = black76_price(f, k, vol, t, 0.03, call)
    # well-posed where the time value is representable next to the intrinsic value
    otm = black76_price(f, k, vol, t, 0.03, k >= f)
    ok = (otm > 1e-10 * f) & (otm > 1e-6 * price)
    assert ok.sum() > 0.5 * n
    # the kept set really contains deep wings and sub-day expiries
    assert np.sum(ok & (np.abs(np.log(k / f)) > 1.0)) > 500
    assert np.sum(ok & (t < 1 / 365)) > 500
    iv = implied_vol(price[ok], f[ok], k[ok], t[ok], 0.03, call[ok])
    np.testing.assert_allclose(iv, vol[ok], rtol=1e-8)


def test_implied_vol_textbook() -> None:
    f = 42.0 * math.exp(0.05)
    assert float(implied_vol(4.759422392871536, f, 40.0, 0.5, 0.1, True)) == pytest.approx(0.2, rel=1e-10)


def test_implied_vol_rejects_price_outside_bounds() -> None:
    with pytest.raises(InputError) as exc:
        implied_vol(150.0, 100.0, 100.0, 1.0, 0.0, True)  # call above the forward
    assert exc.value.field == "price"
    with pytest.raises(InputError):
        implied_vol(5.0, 100.0, 90.0, 1.0, 0.0, True)  # call below intrinsic


@pytest.mark.parametrize(
    "args,field",
    [
        ((math.nan, 100.0, 0.5, 1.0), "forward"),
        ((100.0, -1.0, 0.5, 1.0), "strike"),
        ((100.0, 100.0, math.inf, 1.0), "vol"),
        ((100.0, 100.0, -0.2, 1.0), "vol"),
        ((100.0, 100.0, 0.5, 0.0), "expiry"),
    ],
)
def test_bad_inputs_name_the_field(args: tuple[float, ...], field: str) -> None:
    with pytest.raises(InputError) as exc:
        black76_price(*args)
    assert exc.value.field == field
