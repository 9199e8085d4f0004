"""Black-76: European options on a forward, vectorized over numpy arrays.

Formulas (Black 1976; Hull, *Options, Futures and Other Derivatives*, ch. 18):

    d1 = (ln(F/K) + sigma^2 T / 2) / (sigma sqrt(T)),   d2 = d1 - sigma sqrt(T)
    call = D (F N(d1) - K N(d2)),   put = D (K N(-d2) - F N(-d1)),   D = exp(-r T)

For an underlying with spot S and no income, ``F = S exp(r T)``, which makes Black-76 equal to
Black-Scholes (Hull's example: S=42, K=40, r=10%, sigma=20%, T=0.5 gives call 4.7594, put 0.8086).

Greeks are with respect to the *forward* (Black-76 convention):
``delta_call = D N(d1)``, ``delta_put = -D N(-d1)``, ``gamma = D n(d1) / (F sigma sqrt T)``,
``vega = D F n(d1) sqrt T`` (per unit of volatility, i.e. per 100 vol points),
``theta = -D F n(d1) sigma / (2 sqrt T) + r * price`` (per year, calendar time decay of the
discounted price with F held fixed).

Implied volatility: the price is first checked against the no-arbitrage bounds
``D max(F-K,0) <= call < D F`` (puts likewise), then inverted with a safeguarded Newton
iteration inside a bracket maintained by bisection (Newton steps that leave the bracket or do
not shrink it fast enough are replaced by bisection), which converges for deep in/out of the
money strikes and very short expiries where plain Newton diverges because vega vanishes.
Out-of-the-money prices are used for the inversion (a call is turned into the put with the
same strike by parity when it is in the money) to avoid cancellation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import ndtr

from zkmargin.errors import InputError

FloatArray = NDArray[np.float64]

SQRT_2PI = float(np.sqrt(2.0 * np.pi))
IV_MIN = 1e-6  # lowest implied vol searched (annualized fraction)
IV_MAX = 20.0  # highest implied vol searched (2000% per year)
IV_PRICE_TOL_REL = 1e-13  # relative price tolerance of the inversion
IV_MAX_ITER = 200


def _pdf(x: FloatArray) -> FloatArray:
    return np.asarray(np.exp(-0.5 * x * x) / SQRT_2PI, dtype=np.float64)


def _as_arrays(*xs: ArrayLike) -> list[FloatArray]:
    arrs = np.broadcast_arrays(*[np.asarray(x, dtype=np.float64) for x in xs])
    return [np.array(a, dtype=np.float64) for a in arrs]


def _is_call(is_call: ArrayLike) -> NDArray[np.bool_]:
    arr = np.asarray(is_call)
    if arr.dtype.kind in ("U", "S", "O"):
        lowered = np.char.lower(arr.astype(str))
        ok = np.isin(lowered, ["call", "put", "c", "p"])
        if not np.all(ok):
            raise InputError("option_type", "must be 'call' or 'put'")
        return np.isin(lowered, ["call", "c"])
    return arr.astype(bool)


def _check_inputs(forward: FloatArray, strike: FloatArray, vol: FloatArray | None, t: FloatArray) -> None:
    for name, arr in (("forward", forward), ("strike", strike), ("expiry", t)):
        if not np.all(np.isfinite(arr)):
            raise InputError(name, "must be finite (got NaN or infinity)")
    if np.any(forward <= 0):
        raise InputError("forward", "must be > 0")
    if np.any(strike <= 0):
        raise InputError("strike", "must be > 0")
    if np.any(t <= 0):
        raise InputError("expiry", "option is expired (time to expiry must be > 0)")
    if vol is not None:
        if not np.all(np.isfinite(vol)):
            raise InputError("vol", "must be finite (got NaN or infinity)")
        if np.any(vol <= 0):
            raise InputError("vol", "must be > 0")


def _d1_d2(f: FloatArray, k: FloatArray, sigma: FloatArray, t: FloatArray) -> tuple[FloatArray, FloatArray]:
    s = sigma * np.sqrt(t)
    d1 = (np.log(f / k) + 0.5 * s * s) / s
    return d1, d1 - s


def black76_price(
    forward: ArrayLike,
    strike: ArrayLike,
    vol: ArrayLike,
    t: ArrayLike,
    rate: ArrayLike = 0.0,
    is_call: ArrayLike = True,
) -> FloatArray:
    """Discounted Black-76 price per unit of underlying (see the module docstring).

    ``t`` is the time to expiry in years, ``rate`` the continuously compounded discount rate.
    Every argument broadcasts; the result is a float array (0-d for scalar input).
    """
    f, k, sigma, tt, r = _as_arrays(forward, strike, vol, t, rate)
    call = np.broadcast_to(_is_call(is_call), f.shape)
    _check_inputs(f, k, sigma, tt)
    d1, d2 = _d1_d2(f, k, sigma, tt)
    disc = np.exp(-r * tt)
    c = disc * (f * ndtr(d1) - k * ndtr(d2))
    p = disc * (k * ndtr(-d2) - f * ndtr(-d1))
    out: FloatArray = np.where(call, c, p)
    return out


@dataclass(frozen=True)
class Greeks:
    """Black-76 price and greeks (arrays); see the module docstring for the conventions."""

    price: FloatArray
    delta: FloatArray
    gamma: FloatArray
    vega: FloatArray
    theta: FloatArray


def black76_greeks(
    forward: ArrayLike,
    strike: ArrayLike,
    vol: ArrayLike,
    t: ArrayLike,
    rate: ArrayLike = 0.0,
    is_call: ArrayLike = True,
) -> Greeks:
    """Price, delta, gamma, vega and theta of Black-76 (forward greeks; theta per year)."""
    f, k, sigma, tt, r = _as_arrays(forward, strike, vol, t, rate)
    call = np.broadcast_to(_is_call(is_call), f.shape)
    _check_inputs(f, k, sigma, tt)
    d1, d2 = _d1_d2(f, k, sigma, tt)
    disc = np.exp(-r * tt)
    sqrt_t = np.sqrt(tt)
    nd1 = _pdf(d1)
    c = disc * (f * ndtr(d1) - k * ndtr(d2))
    p = disc * (k * ndtr(-d2) - f * ndtr(-d1))
    price = np.where(call, c, p)
    delta = np.where(call, disc * ndtr(d1), -disc * ndtr(-d1))
    gamma = disc * nd1 / (f * sigma * sqrt_t)
    vega = disc * f * nd1 * sqrt_t
    theta = -disc * f * nd1 * sigma / (2.0 * sqrt_t) + r * price
    return Greeks(price=price, delta=delta, gamma=gamma, vega=vega, theta=theta)


def implied_vol(
    price: ArrayLike,
    forward: ArrayLike,
    strike: ArrayLike,
    t: ArrayLike,
    rate: ArrayLike = 0.0,
    is_call: ArrayLike = True,
) -> FloatArray:
    """Black-76 implied volatility, vectorized and robust (see the module docstring).

    Raises :class:`InputError` (field ``price``) when a price is outside the no-arbitrage
    bounds, since no volatility reproduces it.
    """
    pr, f, k, tt, r = _as_arrays(price, forward, strike, t, rate)
    call = np.broadcast_to(_is_call(is_call), f.shape)
    _check_inputs(f, k, None, tt)
    if not np.all(np.isfinite(pr)):
        raise InputError("price", "must be finite (got NaN or infinity)")
    disc = np.exp(-r * tt)
    # Undiscounted price, turned into the out-of-the-money option by put-call parity.
    undisc = pr / disc
    otm_call = k >= f  # the call is OTM (or ATM): invert a call, otherwise invert the put
    # parity (undiscounted): call - put = F - K
    target = np.where(call == otm_call, undisc, np.where(call, undisc - (f - k), undisc + (f - k)))
    upper = np.where(otm_call, f, k)
    intrinsic_tol = 1e-14 * np.maximum(f, k)
    if np.any(target < -intrinsic_tol) or np.any(target >= upper):
        bad = np.flatnonzero((target < -intrinsic_tol) | (target >= upper))
        raise InputError("price", f"outside the no-arbitrage bounds (index {int(bad[0])})")
    target = np.maximum(target, 0.0)

    lo = np.full(f.shape, IV_MIN)
    hi = np.full(f.shape, IV_MAX)
    # Initial guess: Brenner-Subrahmanyam around ATM, clipped into the bracket.
    sqrt_t = np.sqrt(tt)
    sigma = np.clip(np.sqrt(2.0 * np.pi / tt) * target / f, 0.05, 3.0)
    log_fk = np.log(f / k)
    active = target > 0
    for _ in range(IV_MAX_ITER):
        s = sigma * sqrt_t
        d1 = (log_fk + 0.5 * s * s) / s
        d2 = d1 - s
        model = np.where(otm_call, f * ndtr(d1) - k * ndtr(d2), k * ndtr(-d2) - f * ndtr(-d1))
        diff = model - target
        converged = np.abs(diff) <= IV_PRICE_TOL_REL * np.maximum(target, 1e-300) + 1e-300
        active = active & ~converged
        if not np.any(active):
            break
        # Price is increasing in sigma: shrink the bracket.
        hi = np.where(active & (diff > 0), sigma, hi)
        lo = np.where(active & (diff < 0), sigma, lo)
        vega = f * _pdf(d1) * sqrt_t
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            newton = sigma - diff / vega
        ok = np.isfinite(newton) & (newton > lo) & (newton < hi)
        bisect = 0.5 * (lo + hi)
        # Near the wings Newton on the price can crawl; bisect in log space when it stalls.
        new_sigma = np.where(ok, newton, np.sqrt(lo * hi))
        new_sigma = np.where(np.isfinite(new_sigma), new_sigma, bisect)
        sigma = np.where(active, new_sigma, sigma)
        if np.all(hi - lo <= 1e-15 * hi):
            break
    out: FloatArray = np.where(target > 0, sigma, IV_MIN)
    return out
