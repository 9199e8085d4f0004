"""Option pricing: Black-76 on the forward, with discounting (see :mod:`offchain.risk.pricing.black76`)."""

from __future__ import annotations

from offchain.risk.pricing.black76 import (
    Greeks,
    black76_greeks,
    black76_price,
    implied_vol,
)

__all__ = ["Greeks", "black76_greeks", "black76_price", "implied_vol"]
