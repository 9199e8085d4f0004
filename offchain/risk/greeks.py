"""Portfolio greeks per underlying (Black-76 forward greeks, USD).

For each underlying ``u``, summed over the portfolio's net positions ``q_i``:

* ``delta`` (units of the underlying): linear instruments ``price / S`` per unit (1 for a perp
  at the index, ``e^{rT}`` for a future priced off the forward);
  options ``dV/dF * dF/dS = D N(d1) F/S`` (calls; ``-D N(-d1) F/S`` puts; ``F/S = e^{rT}``
  without a given forward), i.e. the spot delta of the forward-priced option.
* ``delta_usd`` = ``delta * S``; ``gamma`` = ``sum q D n(d1) / (F sigma sqrt T) * (F/S)^2``
  (per unit of spot, second derivative in S); ``vega`` (USD per 1.00 of vol) and ``theta``
  (USD per year, F fixed) from :func:`offchain.risk.pricing.black76.black76_greeks`.
"""

from __future__ import annotations

import numpy as np

from offchain.risk.instruments import Portfolio
from offchain.risk.margin.base import net_positions
from offchain.risk.market import MarketState
from offchain.risk.pricing.black76 import black76_greeks


def portfolio_greeks(portfolio: Portfolio, market: MarketState) -> dict[str, dict[str, float]]:
    """``{underlying: {"delta", "delta_usd", "gamma", "vega", "theta"}}``."""
    net = net_positions(portfolio, market)
    t = net.table
    # linear: d(price)/dS = price / S (marks and futures prices move with the index)
    delta = np.where(t.is_option, 0.0, t.base / t.spot)
    gamma = np.zeros(t.n)
    vega = np.zeros(t.n)
    theta = np.zeros(t.n)
    o = t.is_option
    if np.any(o):
        g = black76_greeks(t.base[o], t.strike[o], t.vol[o], t.t[o], t.rate[o], t.is_call[o])
        growth = t.base[o] / t.spot[o]  # dF/dS (the forward moves with the index)
        delta[o] = g.delta * growth
        gamma[o] = g.gamma * growth**2
        vega[o] = g.vega
        theta[o] = g.theta
    out: dict[str, dict[str, float]] = {}
    for k, u in enumerate(t.underlyings):
        m = t.u_index == k
        q = net.size[m]
        d = float(q @ delta[m])
        out[u] = {
            "delta": d,
            "delta_usd": d * float(market.spots[u]),
            "gamma": float(q @ gamma[m]),
            "vega": float(q @ vega[m]),
            "theta": float(q @ theta[m]),
        }
    return out
