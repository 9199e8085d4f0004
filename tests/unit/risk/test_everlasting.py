"""Everlasting option pricing (offchain/risk/pricing/everlasting.py) against independent references.

* Deri Protocol's published worked figures of the closed form (r = 0): docs.deri.io, "Numerical
  Examples of Everlasting Option Pricing" (K = 50000, funding period 7 days, vol 100%).
* Direct quadrature (scipy.integrate.quad) of the exponentially weighted Black-76 prices, eq. (2).
* The paper's series (1) of dated options (White & Bankman-Fried 2021): f = 1 term by term, and
  its limit f -> infinity, which is (2).
* Limits: funding period -> 0 gives the payoff; -> infinity the long-dated option's limit.
* Greeks against central finite differences; theta against the pricing equation.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.integrate import quad

from offchain.risk.pricing.black76 import black76_price
from offchain.risk.pricing.everlasting import (
    everlasting_greeks,
    everlasting_price,
    everlasting_series_price,
    series_weights,
)
from zkmargin.errors import InputError

DAY = 1 / 365


def quad_price(s: float, k: float, vol: float, period: float, rate: float, call: bool) -> float:
    """Eq. (2) by adaptive quadrature of Black-76 (an independent route to the closed form)."""

    def integrand(t: float) -> float:
        c = float(black76_price(s * math.exp(rate * t), k, vol, t, rate, call))
        return math.exp(-t / period) / period * c

    head, _ = quad(integrand, 1e-12, period, limit=400, epsabs=1e-11, epsrel=1e-12)
    tail, _ = quad(integrand, period, 80 * period, limit=400, epsabs=1e-11, epsrel=1e-12)
    return head + tail


def test_deri_worked_figures() -> None:
    """K = 50000, T = 7 days, sigma = 100%: u = 20.4485, a call worth 223.3667 at S = 40000 (its
    long pays (C - I) / 7 = 31.9095 per day) and 2445.1621 at S = 50000."""
    k, period, vol = 50_000.0, 7 * DAY, 1.0
    u = math.sqrt(1 + 8 / (vol**2 * period))
    assert round(u, 4) == 20.4485
    otm = everlasting_greeks(40_000.0, k, vol, period, 0.0, True)
    assert round(float(otm.price), 4) == 223.3667
    assert round(float(otm.funding_per_period) / 7, 4) == 31.9095
    atm = everlasting_price(50_000.0, k, vol, period, 0.0, True)
    assert round(float(atm), 4) == 2445.1621
    # the same time value for the put of the same strike (r = 0)
    assert float(everlasting_price(40_000.0, k, vol, period, 0.0, False)) == pytest.approx(10_000 + 223.3667, abs=1e-4)


@pytest.mark.parametrize("rate", [0.0, 0.05, -0.02])
@pytest.mark.parametrize("call", [True, False])
@pytest.mark.parametrize(("spot", "vol", "days"), [(30_000.0, 0.8, 30), (42_000.0, 0.5, 1), (50_000.0, 0.8, 30),
                                                   (60_000.0, 1.2, 7), (90_000.0, 0.6, 365)])
def test_closed_form_equals_quadrature_of_black76(rate: float, call: bool, spot: float, vol: float, days: int) -> None:
    k = 50_000.0
    want = quad_price(spot, k, vol, days * DAY, rate, call)
    got = float(everlasting_price(spot, k, vol, days * DAY, rate, call))
    assert got == pytest.approx(want, rel=1e-9, abs=1e-7)


def test_paper_series_f1_term_by_term() -> None:
    """f = 1: V = C(T)/2 + C(2T)/4 + C(3T)/8 + ..., summed here by hand."""
    s, k, vol, period, r = 2_900.0, 3_000.0, 0.9, 1 * DAY, 0.03
    by_hand = 0.0
    for i in range(1, 80):
        t = i * period
        by_hand += 0.5**i * float(black76_price(s * math.exp(r * t), k, vol, t, r, False))
    assert everlasting_series_price(s, k, vol, period, r, False, payments_per_period=1) == pytest.approx(by_hand, rel=1e-12)
    t_over_period, w = series_weights(1)
    assert t_over_period[:3].tolist() == [1.0, 2.0, 3.0] and w[:3].tolist() == [0.5, 0.25, 0.125]
    assert w.sum() == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("call", [True, False])
def test_paper_series_converges_to_continuous_funding(call: bool) -> None:
    """As funding is paid more often the series (1) tends to the closed form (2), error O(1/f)."""
    s, k, vol, period, r = 45_000.0, 50_000.0, 0.7, 7 * DAY, 0.04
    exact = float(everlasting_price(s, k, vol, period, r, call))
    errors = [abs(everlasting_series_price(s, k, vol, period, r, call, payments_per_period=f) - exact)
              for f in (10, 100, 1000)]
    assert errors[2] < 2e-3 * exact
    assert errors[0] / errors[1] == pytest.approx(10, rel=0.15)
    assert errors[1] / errors[2] == pytest.approx(10, rel=0.05)


def test_short_funding_period_gives_the_payoff() -> None:
    k, vol = 50_000.0, 0.8
    for spot in (40_000.0, 50_000.0, 65_000.0):
        for call in (True, False):
            payoff = max(spot - k, 0.0) if call else max(k - spot, 0.0)
            tv = [float(everlasting_price(spot, k, vol, h / (365 * 24), 0.0, call)) - payoff for h in (24.0, 1.0, 1 / 60)]
            assert tv[0] > tv[1] >= tv[2] >= 0
            assert tv[2] < 0.002 * k
    # at the money the time value shrinks like sqrt(T): K / u with u ~ sqrt(8 / (sigma^2 T))
    ratio = float(everlasting_price(k, k, vol, 4 * DAY, 0.0, True)) / float(everlasting_price(k, k, vol, DAY, 0.0, True))
    assert ratio == pytest.approx(2.0, rel=0.01)


def test_long_funding_period_approaches_the_long_dated_option() -> None:
    """r = 0: a call tends to S and a put to K, like a dated option as its expiry grows."""
    s, k, vol = 40_000.0, 50_000.0, 0.8
    gaps = []
    for years in (10.0, 100.0, 1_000.0, 10_000.0):
        call = float(everlasting_price(s, k, vol, years, 0.0, True))
        put = float(everlasting_price(s, k, vol, years, 0.0, False))
        assert call < s and put < k
        gaps.append(abs(call - float(black76_price(s, k, vol, years, 0.0, True))))
    assert gaps == sorted(gaps, reverse=True) and gaps[-1] < 1e-3 * s
    assert float(everlasting_price(s, k, vol, 10_000.0, 0.0, True)) == pytest.approx(s, rel=2e-3)
    assert float(everlasting_price(s, k, vol, 10_000.0, 0.0, False)) == pytest.approx(k, rel=2e-3)


def test_at_the_money_short_period_is_a_gamma_weighted_dated_option() -> None:
    """For small sigma^2 T an ATM option is ~ 0.4 sigma S sqrt(t), so the exponential weighting of
    (2) gives E[sqrt(tau)] = Gamma(3/2) sqrt(T): V / C(T) -> sqrt(pi) / 2."""
    s = 3_000.0
    ratio = float(everlasting_price(s, s, 0.5, DAY, 0.0, True)) / float(black76_price(s, s, 0.5, DAY, 0.0, True))
    assert ratio == pytest.approx(math.sqrt(math.pi) / 2, rel=2e-3)


@pytest.mark.parametrize("rate", [0.0, 0.05])
def test_parity_and_greeks(rate: float) -> None:
    k, vol, period = 50_000.0, 0.8, 30 * DAY
    spots = np.array([30_000.0, 44_000.0, 49_000.0, 51_000.0, 60_000.0, 90_000.0])
    c = everlasting_greeks(spots, k, vol, period, rate, True)
    p = everlasting_greeks(spots, k, vol, period, rate, False)
    # parity: call - put = the perpetual forward, worth S - K / (1 + r T)
    np.testing.assert_allclose(c.price - p.price, spots - k / (1 + rate * period), rtol=1e-12)
    np.testing.assert_allclose(c.delta - p.delta, 1.0, rtol=1e-12)
    np.testing.assert_array_equal(c.gamma, p.gamma)
    np.testing.assert_array_equal(c.vega, p.vega)
    for g, call in ((c, True), (p, False)):
        h = 1e-3 * spots
        up = everlasting_price(spots + h, k, vol, period, rate, call)
        dn = everlasting_price(spots - h, k, vol, period, rate, call)
        np.testing.assert_allclose(g.delta, (up - dn) / (2 * h), rtol=1e-5, atol=1e-9)
        np.testing.assert_allclose(g.gamma, (up - 2 * g.price + dn) / (h * h), rtol=1e-4)
        dv = 1e-5
        vu = everlasting_price(spots, k, vol + dv, period, rate, call)
        vd = everlasting_price(spots, k, vol - dv, period, rate, call)
        np.testing.assert_allclose(g.vega, (vu - vd) / (2 * dv), rtol=1e-6)
        # theta = -(mark - payoff)/T = -(sigma^2 S^2 gamma / 2 + r S delta - r V)
        pde = -(0.5 * vol**2 * spots**2 * g.gamma + rate * spots * g.delta - rate * g.price)
        np.testing.assert_allclose(g.theta, pde, rtol=1e-9)
        if rate == 0.0:  # (with r > 0 a deep in-the-money put is worth less than its payoff)
            assert np.all(g.price >= g.payoff) and np.all(g.theta <= 0)


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"vol": 0.0}, "vol"),
    ({"spot": -1.0}, "spot"),
    ({"strike": float("nan")}, "strike"),
    ({"funding_period": 0.0}, "funding_period"),
    ({"rate": -400.0}, "rate"),  # r + 1/T <= 0 (T = 1 day)
])
def test_bad_inputs_name_the_field(kwargs: dict[str, float], field: str) -> None:
    args = {"spot": 100.0, "strike": 100.0, "vol": 0.5, "funding_period": DAY, "rate": 0.0} | kwargs
    with pytest.raises(InputError) as exc:
        everlasting_price(**args)
    assert exc.value.field == field
    with pytest.raises(InputError) as exc:
        series_weights(0)
    assert exc.value.field == "payments_per_period"
