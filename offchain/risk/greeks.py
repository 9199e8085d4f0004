"""Portfolio greeks per underlying (Black-76 forward greeks, USD).

For each underlying ``u``, summed over the portfolio's net positions ``q_i``:

* ``delta`` (units of the underlying): linear instruments ``price / S`` per unit (1 for a perp
  at the index, ``e^{rT}`` for a future priced off the forward);
  options ``dV/dF * dF/dS = D N(d1) F/S`` (calls; ``-D N(-d1) F/S`` puts; ``F/S = e^{rT}``
  without a given forward), i.e. the spot delta of the forward-priced option.
* ``delta_usd`` = ``delta * S``; ``gamma`` = ``sum q D n(d1) / (F sigma sqrt T) * (F/S)^2``
  (per unit of spot, second derivative in S); ``vega`` (USD per 1.00 of vol) and ``theta``
  (USD per year, F fixed) from :func:`offchain.risk.pricing.black76.black76_greeks`.
* Everlasting options: their closed-form spot greeks
  (:func:`offchain.risk.pricing.everlasting.everlasting_greeks`); ``theta`` is the funding the
  position pays per year at today's price, ``-(mark - payoff) / T``.

The per-instrument greeks come from :meth:`offchain.risk.valuation.InstrumentTable.sensitivities`.
"""

from __future__ import annotations

from offchain.risk.instruments import Portfolio
from offchain.risk.margin.base import net_positions
from offchain.risk.market import MarketState


def portfolio_greeks(portfolio: Portfolio, market: MarketState) -> dict[str, dict[str, float]]:
    """``{underlying: {"delta", "delta_usd", "gamma", "vega", "theta"}}``."""
    net = net_positions(portfolio, market)
    t = net.table
    sens = t.sensitivities()
    delta, gamma, vega, theta = sens.delta, sens.gamma, sens.vega, sens.theta
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
