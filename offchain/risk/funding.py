"""Perpetual-swap funding: premium index, clamp, funding rate, accrual and payments.

Source: BitMEX / Binance perpetual funding methodology.

* Premium index over a sampling window: the average of
  ``premium_t = (max(0, impact_bid_t - index_t) - max(0, index_t - impact_ask_t)) / index_t``;
  with only a mark price available, ``premium_t = (mark_t - index_t) / index_t``.
* Funding rate per interval: ``F = P + clamp(I - P, -clamp, +clamp)`` with ``I`` the interest
  rate per interval (BitMEX: 0.01% per 8h) and ``clamp`` 0.05%; then capped at ``+/-cap``.
* Payment at each funding time: ``payment = - size * mark * F`` (positive ``F``: longs pay
  shorts). Continuous accrual (dYdX-style) pays ``F * dt / interval`` pro rata.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from pydantic import Field

from offchain.risk.margin.base import ModelConfig
from zkmargin.errors import InputError

FUNDING_INTERVAL_SECONDS = 8 * 3600


class FundingConfig(ModelConfig):
    interest_rate_per_interval: float = Field(default=0.0001, ge=-0.01, le=0.01)
    clamp: float = Field(default=0.0005, ge=0, le=0.1)
    cap: float = Field(default=0.0075, gt=0, le=0.5)
    interval_seconds: int = Field(default=FUNDING_INTERVAL_SECONDS, gt=0)


def premium_index(
    index: ArrayLike,
    mark: ArrayLike | None = None,
    impact_bid: ArrayLike | None = None,
    impact_ask: ArrayLike | None = None,
) -> float:
    """Average premium over the samples (see module docstring)."""
    idx = np.asarray(index, dtype=np.float64)
    if idx.size == 0 or not np.all(np.isfinite(idx)) or np.any(idx <= 0):
        raise InputError("index", "need finite index prices > 0")
    if impact_bid is not None and impact_ask is not None:
        bid = np.asarray(impact_bid, dtype=np.float64)
        ask = np.asarray(impact_ask, dtype=np.float64)
        prem = (np.maximum(0.0, bid - idx) - np.maximum(0.0, idx - ask)) / idx
    elif mark is not None:
        mk = np.asarray(mark, dtype=np.float64)
        if not np.all(np.isfinite(mk)) or np.any(mk <= 0):
            raise InputError("mark", "need finite mark prices > 0")
        prem = (mk - idx) / idx
    else:
        raise InputError("mark", "need mark prices or impact bid/ask prices")
    return float(np.mean(prem))


def funding_rate(premium: float, cfg: FundingConfig | None = None) -> float:
    """``F = P + clamp(I - P, -c, c)``, capped at ``+/-cap``."""
    c = cfg or FundingConfig()
    f = premium + float(np.clip(c.interest_rate_per_interval - premium, -c.clamp, c.clamp))
    return float(np.clip(f, -c.cap, c.cap))


def funding_payment(size: ArrayLike, mark: ArrayLike, rate: float) -> NDArray[np.float64]:
    """Cash flow to each position at a funding time: ``-size * mark * rate`` (USD)."""
    return np.asarray(-np.asarray(size, dtype=np.float64) * np.asarray(mark, dtype=np.float64) * rate)


def accrued_funding(size: ArrayLike, mark: ArrayLike, rate: float, dt_seconds: float, cfg: FundingConfig | None = None) -> NDArray[np.float64]:
    """Continuous accrual over ``dt_seconds``: the payment pro rata of the interval."""
    c = cfg or FundingConfig()
    if dt_seconds < 0:
        raise InputError("dt_seconds", "must be >= 0")
    return funding_payment(size, mark, rate) * (dt_seconds / c.interval_seconds)
