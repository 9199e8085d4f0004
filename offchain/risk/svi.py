"""Fitting a raw SVI smile (Gatheral 2004) to implied volatilities of one expiry.

Minimizes ``sum_j w_j (w_svi(k_j) - T sigma_j^2)^2`` over ``(a, b, rho, m, sigma)`` with
``scipy.optimize.least_squares`` (trust-region reflective) inside the bounds
``b >= 0``, ``|rho| <= 0.999``, ``sigma >= 1e-4``. The fit starts from several points and
returns the best one that satisfies the no-negative-variance condition
``a + b sigma sqrt(1 - rho^2) >= 0`` (the returned :class:`offchain.risk.market.SVI` validates it).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import least_squares

from offchain.risk.market import SVI
from zkmargin.errors import InputError

RHO_LIMIT = 0.999
SIGMA_MIN = 1e-4


def fit_svi(log_moneyness: ArrayLike, vols: ArrayLike, t: float, weights: ArrayLike | None = None) -> SVI:
    """Best-fit raw SVI for implied ``vols`` at log-moneyness ``ln(K/F)`` and expiry ``t`` (years)."""
    k = np.asarray(log_moneyness, dtype=np.float64)
    v = np.asarray(vols, dtype=np.float64)
    if k.shape != v.shape or k.ndim != 1 or k.size < 5:
        raise InputError("vols", "need at least 5 (log_moneyness, vol) points of the same length")
    if not (np.all(np.isfinite(k)) and np.all(np.isfinite(v)) and np.all(v > 0)):
        raise InputError("vols", "must be finite and > 0")
    if not (math.isfinite(t) and t > 0):
        raise InputError("t", "must be finite and > 0")
    w_obs = t * v * v
    wt = np.ones_like(k) if weights is None else np.asarray(weights, dtype=np.float64)
    if wt.shape != k.shape or np.any(wt < 0) or not np.all(np.isfinite(wt)):
        raise InputError("weights", "must be finite, >= 0 and one per point")
    sw = np.sqrt(wt)

    def resid(p: NDArray[np.float64]) -> NDArray[np.float64]:
        a, b, rho, m, sig = p
        x = k - m
        return np.asarray(sw * (a + b * (rho * x + np.sqrt(x * x + sig * sig)) - w_obs))

    lo = [-float(w_obs.max()), 0.0, -RHO_LIMIT, 2 * float(k.min()) - 1, SIGMA_MIN]
    hi = [float(w_obs.max()), 10.0, RHO_LIMIT, 2 * float(k.max()) + 1, 5.0]
    best = None
    for rho0 in (-0.5, 0.0, 0.5):
        for sig0 in (0.05, 0.3):
            x0 = [float(w_obs.min()) * 0.5, 0.1, rho0, float(k[np.argmin(w_obs)]), sig0]
            x0 = list(np.clip(x0, np.array(lo) + 1e-12, np.array(hi) - 1e-12))
            res = least_squares(resid, x0, bounds=(lo, hi), method="trf", xtol=1e-15, ftol=1e-15, gtol=1e-15,
                                max_nfev=5000)
            a, b, rho, m, sig = res.x
            feasible = a + b * sig * math.sqrt(1 - rho * rho) >= 0
            if feasible and (best is None or res.cost < best.cost):
                best = res
    if best is None:
        raise InputError("vols", "no arbitrage-free (non-negative variance) SVI fits these vols")
    a, b, rho, m, sig = (float(x) for x in best.x)
    return SVI(a=a, b=b, rho=rho, m=m, sigma=sig)
