"""The venue's order book (market makers' linear depth curve) and the arbitrage trade.

Market makers quote a linear book: ``d`` USD of notional moves the price by 1 %, i.e. a
density of ``rho = d / (0.01 P^2)`` units per USD of price. Selling ``Q`` units from price
``P`` therefore moves the price to ``P' = P - Q / rho = P (1 - 0.01 Q P / d)`` and fills at
the average ``(P + P') / 2``. A move larger than ``max_move`` (a fraction of ``P``) exhausts
the book: the rest fills at the book's last level ``P (1 -+ max_move)`` (the market makers'
backstop), so the price never reaches zero. All functions work on ``(A,)`` arrays (one
entry per asset); a negative ``Q`` is a buy.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
#: ``d`` USD of notional moves the price by this fraction (1 %).
DEPTH_MOVE = 0.01


def book_density(price: FloatArray, depth_usd_per_pct: FloatArray) -> FloatArray:
    """Units per USD of price move: ``rho = d / (0.01 P^2)``."""
    return depth_usd_per_pct / (DEPTH_MOVE * price * price)


def trade_through_book(
    qty_sold: FloatArray, price: FloatArray, depth_usd_per_pct: FloatArray, max_move: float
) -> tuple[FloatArray, FloatArray]:
    """Sell ``qty_sold`` units (negative: buy) into the book; return ``(new_price, avg_fill)``.

    Without the ``max_move`` cap: ``new = P (1 - 0.01 Q P / d)``, ``avg = (P + new) / 2``.
    """
    move = DEPTH_MOVE * qty_sold * price / depth_usd_per_pct  # signed relative move
    capped = np.abs(move) > max_move
    if not np.any(capped):
        new_price = price * (1.0 - move)
        return new_price, 0.5 * (price + new_price)
    sign = np.sign(move)
    eff_move = np.where(capped, sign * max_move, move)
    new_price = price * (1.0 - eff_move)
    # capped: the in-book part fills at the mid of the linear segment, the rest at the floor
    frac_in = np.where(capped, max_move / np.where(capped, np.abs(move), 1.0), 1.0)
    avg = price * (1.0 - frac_in * 0.5 * eff_move - (1.0 - frac_in) * eff_move)
    return new_price, avg


def arbitrage_quantity(
    price: FloatArray,
    reference: FloatArray,
    depth_usd_per_pct: FloatArray,
    recovery: float,
    capacity_usd: float,
) -> FloatArray:
    """Units arbitrageurs buy on the venue (negative: sell) this step.

    They close ``recovery`` of the gap to the reference (exogenous) price through the book,
    ``Q = recovery (reference - P) rho``, with ``|Q| P <= capacity_usd``.
    """
    qty = recovery * (reference - price) * book_density(price, depth_usd_per_pct)
    cap = capacity_usd / price
    return np.clip(qty, -cap, cap)


def depth_at_vol(
    depth0: FloatArray, vol: FloatArray, reference_vol: FloatArray, elasticity: float
) -> FloatArray:
    """Depth withdrawn in volatile markets: ``d = d0 (v_ref / max(v_ref, v))^elasticity``."""
    if elasticity == 0.0:
        return depth0
    return np.asarray(depth0 * (reference_vol / np.maximum(reference_vol, vol)) ** elasticity)
