"""Option pricing: Black-76 on the forward, with discounting (see :mod:`offchain.risk.pricing.black76`),
and everlasting options (:mod:`offchain.risk.pricing.everlasting`)."""

from __future__ import annotations

from offchain.risk.pricing.black76 import (
    Greeks,
    black76_greeks,
    black76_price,
    implied_vol,
)
from offchain.risk.pricing.everlasting import (
    EverlastingGreeks,
    everlasting_greeks,
    everlasting_price,
    everlasting_series_price,
)

__all__ = [
    "EverlastingGreeks",
    "Greeks",
    "black76_greeks",
    "black76_price",
    "everlasting_greeks",
    "everlasting_price",
    "everlasting_series_price",
    "implied_vol",
]
