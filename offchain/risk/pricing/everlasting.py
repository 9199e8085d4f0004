"""Everlasting options: price and greeks (White & Bankman-Fried, "Everlasting Options", 2021).

An everlasting option on strike ``K`` never expires. Instead its long side pays the short side
**funding = mark - payoff** per funding period ``T`` (``payoff = max(S - K, 0)`` for a call,
``max(K - S, 0)`` for a put, at the index ``S``). Source: Dave White and Sam Bankman-Fried,
*Everlasting Options*, Paradigm Research, May 2021, https://www.paradigm.xyz/2021/05/everlasting-options:
paying the funding is the cost of rolling a basket of dated options, so the no-arbitrage price
is the funding-weighted sum of dated options of the same strike. With funding paid ``f`` times
per period, each time ``(mark - payoff) / f``, the paper's price is

    V_f = sum_{i >= 1} (1/f) (f / (f + 1))^i C(i T / f)                                   (1)

(``f = 1``: ``V = C(T)/2 + C(2T)/4 + C(3T)/8 + ...``), where ``C(t)`` is the European option of
the same strike expiring after ``t`` (here Black-76 on the forward ``S e^{rt}``, discounted at
``e^{-rt}``). The project accrues funding pro rata in time (the funding index of
:mod:`offchain.trading.funding`), the limit ``f -> inf`` of (1), in which the weights become an
exponential density of mean ``T``:

    V = integral_0^inf (1/T) e^{-t/T} C(t) dt                                             (2)

Under Black-Scholes dynamics (flat vol ``sigma``, rate ``r``) (2) solves the stationary pricing
equation ``sigma^2 S^2 V''/2 + r S V' - r V = (V - payoff) / T`` (the holder's expected gain pays
the funding), whose solution is closed form. With ``beta = r + 1/T > 0`` the roots of
``sigma^2 a (a - 1)/2 + r a - beta = 0`` are ``a_- < 0 < 1 < a_+`` and, with ``x = S / K`` and
``K~ = K / (1 + r T)``:

    call:  S >= K:  V = S - K~ + A x^{a_-}        S < K:  V = B x^{a_+}
           A = (K - a_+ (K - K~)) / (a_+ - a_-),  B = K - K~ + A     (value and delta continuous at K)
    put:   V_put = V_call - (S - K~)              (parity: a call minus a put is a perpetual
                                                   forward paying S - K, worth S - K~)

For ``r = 0``: ``K~ = K``, ``a_+- = (1 +- u)/2`` with ``u = sqrt(1 + 8 / (sigma^2 T))``, and the
time value of a call or put is ``K/u (S/K)^{(1 -+ u)/2}`` (``S >= K`` / ``S < K``), the formula
Deri Protocol publishes with worked figures (docs.deri.io, "Numerical Examples of Everlasting
Option Pricing": ``K = 50000``, ``T = 7`` days, ``sigma = 100%`` gives ``u = 20.4485``, a call
worth 223.3667 at ``S = 40000`` and 2445.1621 at ``S = 50000``); the tests check both, and (2)
against direct quadrature of Black-76 and (1) for growing ``f``. (Only the paper's introduction
was available to this project: (1) is as implementations citing the paper state it, and its
``f = 1`` basket as the authors' thread of May 2021 describes the replication.)

Greeks (per unit of underlying, spot greeks, analytic): ``delta = dV/dS``, ``gamma = d2V/dS2``
(the same for a call and a put of one strike, whose deltas differ by 1), ``vega = dV/dsigma``
(through ``a_+-``, ``A`` and ``B``; per 1.00 of vol), and ``theta = -(V - payoff) / T`` per year:
the price does not decay (nothing expires), the holder's carry is the funding it pays, which by
the pricing equation equals ``-(sigma^2 S^2 gamma / 2 + r S delta - r V)``, the Black-Scholes
theta identity.

Limits: ``T -> 0`` gives the payoff (intrinsic value); ``T -> inf`` with ``r = 0`` gives ``S``
for a call and ``K`` for a put, the limits of a long-dated option.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from offchain.risk.pricing.black76 import _as_arrays, _is_call, black76_price
from zkmargin.errors import InputError

FloatArray = NDArray[np.float64]

#: the series (1) is summed until the weight left over is below this
SERIES_TAIL = 1e-13
#: at most this many terms of (1) (``f`` up to about 10^4 at ``SERIES_TAIL``)
SERIES_MAX_TERMS = 2_000_000


def _check(spot: FloatArray, strike: FloatArray, vol: FloatArray, period: FloatArray, rate: FloatArray) -> None:
    for name, arr in (("spot", spot), ("strike", strike), ("vol", vol), ("funding_period", period), ("rate", rate)):
        if not np.all(np.isfinite(arr)):
            raise InputError(name, "must be finite (got NaN or infinity)")
    for name, arr in (("spot", spot), ("strike", strike), ("vol", vol), ("funding_period", period)):
        if np.any(arr <= 0):
            raise InputError(name, "must be > 0")
    if np.any(rate + 1.0 / period <= 0):
        raise InputError("rate", "must be > -1 / funding_period (otherwise the funding does not discount)")


def _roots(vol: FloatArray, period: FloatArray, rate: FloatArray) -> tuple[FloatArray, FloatArray]:
    """``(a_-, a_+)``: the roots of ``sigma^2 a (a - 1) / 2 + r a - (r + 1/T) = 0``."""
    s2 = vol * vol
    beta = rate + 1.0 / period
    b = rate - 0.5 * s2
    disc = np.sqrt(b * b + 2.0 * s2 * beta)
    return (-b - disc) / s2, (-b + disc) / s2


@dataclass(frozen=True)
class EverlastingGreeks:
    """Price, payoff and greeks of everlasting options (arrays; see the module docstring)."""

    price: FloatArray
    payoff: FloatArray
    delta: FloatArray
    gamma: FloatArray
    vega: FloatArray
    theta: FloatArray

    @property
    def funding_per_period(self) -> FloatArray:
        """``mark - payoff``: what a long pays per funding period at this price."""
        return np.asarray(self.price - self.payoff)


def everlasting_greeks(
    spot: ArrayLike,
    strike: ArrayLike,
    vol: ArrayLike,
    funding_period: ArrayLike,
    rate: ArrayLike = 0.0,
    is_call: ArrayLike = True,
) -> EverlastingGreeks:
    """Closed-form price (2) and greeks of continuously funded everlasting options.

    ``funding_period`` is ``T`` in years, ``rate`` the continuously compounded rate, ``vol`` the
    (flat) implied vol. Every argument broadcasts.
    """
    s, k, sigma, per, r = _as_arrays(spot, strike, vol, funding_period, rate)
    call = np.broadcast_to(_is_call(is_call), s.shape)
    _check(s, k, sigma, per, r)
    a_lo, a_hi = _roots(sigma, per, r)
    k_t = k / (1.0 + r * per)
    d = k - k_t
    width = a_hi - a_lo
    big_a = (k - a_hi * d) / width
    big_b = d + big_a
    x = s / k
    above = s >= k
    log_x = np.log(x)
    # x^a on the side where it is used only (the other side may overflow)
    p_lo = np.where(above, np.exp(np.where(above, a_lo * log_x, 0.0)), 0.0)
    p_hi = np.where(above, 0.0, np.exp(np.where(above, 0.0, a_hi * log_x)))
    call_v = np.where(above, s - k_t + big_a * p_lo, big_b * p_hi)
    delta_c = np.where(above, 1.0 + a_lo * big_a * p_lo / s, a_hi * big_b * p_hi / s)
    gamma = np.where(above, a_lo * (a_lo - 1.0) * big_a * p_lo, a_hi * (a_hi - 1.0) * big_b * p_hi) / (s * s)
    # vega: da/dsigma = -sigma a (a - 1) / (sigma^2 (a - 1/2) + r) at each root
    da_lo = -sigma * a_lo * (a_lo - 1.0) / (sigma * sigma * (a_lo - 0.5) + r)
    da_hi = -sigma * a_hi * (a_hi - 1.0) / (sigma * sigma * (a_hi - 0.5) + r)
    d_a = (-d * da_hi * width - (k - a_hi * d) * (da_hi - da_lo)) / (width * width)
    vega = np.where(above, d_a * p_lo + big_a * p_lo * log_x * da_lo, d_a * p_hi + big_b * p_hi * log_x * da_hi)
    price = np.where(call, call_v, call_v - (s - k_t))
    delta = np.where(call, delta_c, delta_c - 1.0)
    payoff = np.where(call, np.maximum(s - k, 0.0), np.maximum(k - s, 0.0))
    theta = -(price - payoff) / per
    return EverlastingGreeks(
        price=np.asarray(price), payoff=np.asarray(payoff), delta=np.asarray(delta), gamma=np.asarray(gamma),
        vega=np.asarray(vega), theta=np.asarray(theta),
    )


def everlasting_price(
    spot: ArrayLike,
    strike: ArrayLike,
    vol: ArrayLike,
    funding_period: ArrayLike,
    rate: ArrayLike = 0.0,
    is_call: ArrayLike = True,
) -> FloatArray:
    """Price (2) per unit of underlying of continuously funded everlasting options."""
    return everlasting_greeks(spot, strike, vol, funding_period, rate, is_call).price


def series_weights(payments_per_period: int, tail: float = SERIES_TAIL) -> tuple[FloatArray, FloatArray]:
    """``(t_i / T, w_i)`` of the paper's series (1): expiries in funding periods and weights, up to
    the first ``i`` where the weight left over, ``(f / (f + 1))^i``, is below ``tail``."""
    f = payments_per_period
    if isinstance(f, bool) or not isinstance(f, int) or f < 1:
        raise InputError("payments_per_period", "must be an integer >= 1")
    if not 0 < tail < 1:
        raise InputError("tail", "must be in (0, 1)")
    ratio = f / (f + 1.0)
    n = int(np.ceil(np.log(tail) / np.log(ratio)))
    if n > SERIES_MAX_TERMS:
        raise InputError("payments_per_period", f"{f} needs {n} terms (more than {SERIES_MAX_TERMS})")
    i = np.arange(1, n + 1, dtype=np.float64)
    return i / f, ratio**i / f


def everlasting_series_price(
    spot: float,
    strike: float,
    vol: float,
    funding_period: float,
    rate: float = 0.0,
    is_call: bool = True,
    payments_per_period: int = 1,
    tail: float = SERIES_TAIL,
) -> float:
    """The paper's price (1): funding paid ``payments_per_period`` times per period, the series of
    Black-76 prices summed term by term (truncated where the weight left over is below ``tail``;
    the truncation error is below ``tail`` times the largest option price, ``S`` for a call and
    ``K`` for a put)."""
    _check(*(np.asarray(float(v)) for v in (spot, strike, vol, funding_period, rate)))
    tt, w = series_weights(payments_per_period, tail)
    t = tt * funding_period
    fwd = spot * np.exp(rate * t)
    return float(w @ black76_price(fwd, strike, vol, t, rate, is_call))


__all__ = [
    "EverlastingGreeks",
    "everlasting_greeks",
    "everlasting_price",
    "everlasting_series_price",
    "series_weights",
]
