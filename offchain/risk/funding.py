"""Perpetual funding: premium index, clamp, funding rate, accrual and payments (floats).

Source: BitMEX / Binance perpetual funding methodology; the Binance USDⓈ-M formula exactly as
Binance documents it is in the second part of this module (``binance_*``). The integer index the
contracts use is :mod:`offchain.trading.funding`, tested against these functions.

* Premium index over a sampling window: the average of
  ``premium_t = (max(0, impact_bid_t - index_t) - max(0, index_t - impact_ask_t)) / index_t``;
  with only a mark price available, ``premium_t = (mark_t - index_t) / index_t``.
* Funding rate per interval: ``F = P + clamp(I - P, -clamp, +clamp)`` with ``I`` the interest
  rate per interval (BitMEX: 0.01% per 8h) and ``clamp`` 0.05%; then capped at ``+/-cap``.
* Payment at each funding time: ``payment = - size * mark * F`` (positive ``F``: longs pay
  shorts). Continuous accrual (dYdX-style) pays ``F * dt / interval`` pro rata.

Binance USDⓈ-M perpetuals (``binance_*``), as Binance documents them in "Introduction to Binance
Futures Funding Rates" (https://www.binance.com/en/support/faq/360033525031):

* Impact Margin Notional ``IMN = 200 USDT / IMR`` (IMR: the initial margin rate at the
  contract's maximum leverage; BNBUSDT at 20x: 200 / 5% = 4,000 USDT); the impact bid (ask)
  price is the average fill price of a market sell (buy) of ``IMN`` against the book.
* Premium index, every 5 seconds (5,760 samples per 8 hours): ``P_k = [max(0, impact bid -
  index) - max(0, index - impact ask)] / index``.
* Average premium over the interval, weighted ``1..n``: ``P = sum_k k P_k / sum_k k``.
* ``F = P + clamp(I - P, -0.05%, 0.05%)`` with ``I = 0.01%`` per 8 hours; for contracts that
  settle every ``N`` hours ``F / (8 / N)`` (Binance announcement of 2025-09-16).
* Capped rate ``clamp(F, -0.75 MMR, 0.75 MMR)`` (MMR at the maximum leverage; the multiplier is
  1 for some contracts: Binance's DODOBUSD announcement of 2023-08-08 states the formula).
* A position pays ``size * mark * F`` at each funding time (positive: longs pay shorts); here it
  accrues pro rata, ``F * dt / (N hours)``, as the protocol's funding index does.

Everlasting options: a long pays ``(mark - payoff) * dt / T`` (``everlasting_funding``).
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


def clamped_rate(premium: float, interest: float, clamp: float) -> float:
    """``F = P + clamp(I - P, -c, c)``: the premium, pulled to the interest rate by at most ``c``."""
    return premium + min(max(interest - premium, -clamp), clamp)


def funding_rate(premium: float, cfg: FundingConfig | None = None) -> float:
    """``F = P + clamp(I - P, -c, c)``, capped at ``+/-cap``."""
    c = cfg or FundingConfig()
    f = clamped_rate(premium, c.interest_rate_per_interval, c.clamp)
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


# ------------------------------------------------------------------------------ Binance USDⓈ-M
#: Binance's reference interval: the formula's interest rate and premium are per 8 hours
BINANCE_REFERENCE_HOURS = 8


class BinanceFundingConfig(ModelConfig):
    """Binance USDⓈ-M perpetual funding parameters of one contract (module docstring of
    :func:`binance_funding_rate`; defaults: BTCUSDT's 125x tier, MMR 0.40%, IMR 0.80%)."""

    interest_rate: float = Field(default=0.0001, ge=-0.01, le=0.01, description="I per 8 hours (0.01%)")
    clamp: float = Field(default=0.0005, ge=0, le=0.1, description="clamp on I - P (0.05%)")
    interval_hours: int = Field(default=8, ge=1, le=BINANCE_REFERENCE_HOURS,
                                description="N: funding settles every N hours")
    maintenance_margin_rate: float = Field(default=0.004, gt=0, lt=1,
                                           description="MMR at the contract's maximum leverage")
    initial_margin_rate: float = Field(default=0.008, gt=0, le=1,
                                       description="IMR at the contract's maximum leverage")
    cap_multiplier: float = Field(default=0.75, gt=0, le=10,
                                  description="capped rate = clamp(F, -x MMR, x MMR)")
    impact_margin: float = Field(default=200.0, gt=0, description="margin behind the impact notional (USDT)")
    sample_seconds: int = Field(default=5, gt=0, description="the premium index is sampled this often")

    @property
    def impact_notional(self) -> float:
        """IMN = impact margin / IMR (BTCUSDT 125x: 200 / 0.8% = 25,000 USDT)."""
        return self.impact_margin / self.initial_margin_rate

    @property
    def cap(self) -> float:
        """``cap_multiplier * MMR``: the capped rate's bound (BTCUSDT: 0.75 * 0.40% = 0.30%)."""
        return self.cap_multiplier * self.maintenance_margin_rate

    @property
    def interval_seconds(self) -> int:
        return self.interval_hours * 3600


def binance_impact_price(levels: list[tuple[float, float]], notional: float) -> float | None:
    """The average fill price of a market order of ``notional`` (quote) against ``levels``
    (``(price, size)``, best first): Binance's impact bid (bid levels) or ask (ask levels).
    None when the levels hold less than ``notional``."""
    if not notional > 0:
        raise InputError("notional", "must be > 0")
    left, size = notional, 0.0
    for price, qty in levels:
        if not (price > 0 and qty > 0):
            raise InputError("levels", "prices and sizes must be > 0")
        take = min(qty, left / price)
        size += take
        left -= take * price
        if left <= notional * 1e-15:
            return notional / size
    return None


def binance_premium_samples(
    index: ArrayLike, impact_bid: ArrayLike, impact_ask: ArrayLike
) -> NDArray[np.float64]:
    """Premium index per sample: ``[max(0, impact bid - index) - max(0, index - impact ask)] /
    index``. A NaN impact price (a side too thin for the impact notional) adds nothing."""
    idx = np.asarray(index, dtype=np.float64)
    if idx.size == 0 or not np.all(np.isfinite(idx)) or np.any(idx <= 0):
        raise InputError("index", "need finite index prices > 0")
    bid = np.asarray(impact_bid, dtype=np.float64)
    ask = np.asarray(impact_ask, dtype=np.float64)
    up = np.where(np.isnan(bid), 0.0, np.maximum(0.0, bid - idx))
    down = np.where(np.isnan(ask), 0.0, np.maximum(0.0, idx - ask))
    return np.asarray((up - down) / idx)


def binance_average_premium(samples: ArrayLike) -> float:
    """``P = (1 * P_1 + 2 * P_2 + ... + n * P_n) / (1 + 2 + ... + n)``: the time-weighted
    average of the interval's premium samples, later ones weighing more."""
    p = np.asarray(samples, dtype=np.float64)
    if p.ndim != 1 or p.size == 0 or not np.all(np.isfinite(p)):
        raise InputError("samples", "need at least one finite premium sample")
    w = np.arange(1, p.size + 1, dtype=np.float64)
    return float(w @ p / w.sum())


def binance_funding_rate(average_premium: float, cfg: BinanceFundingConfig | None = None) -> float:
    """The rate a position pays per funding interval (``rate * size * mark``; positive: longs pay).

    ``F = [P + clamp(I - P, -0.05%, 0.05%)] / (8 / N)`` for an ``N``-hour interval, then capped:
    ``clamp(F, -x * MMR, x * MMR)`` with ``x`` the cap multiplier (0.75; 1 for some contracts).
    """
    c = cfg or BinanceFundingConfig()
    f = clamped_rate(average_premium, c.interest_rate, c.clamp) * c.interval_hours / BINANCE_REFERENCE_HOURS
    return float(min(max(f, -c.cap), c.cap))


def binance_accrual(size: ArrayLike, mark: ArrayLike, rate: float, dt_seconds: float,
                    cfg: BinanceFundingConfig | None = None) -> NDArray[np.float64]:
    """Funding paid over ``dt_seconds``, pro rata of the interval: ``size * mark * rate * dt / (N h)``
    (positive: the position pays)."""
    c = cfg or BinanceFundingConfig()
    if dt_seconds < 0:
        raise InputError("dt_seconds", "must be >= 0")
    return np.asarray(np.asarray(size, dtype=np.float64) * np.asarray(mark, dtype=np.float64) * rate
                      * (dt_seconds / c.interval_seconds))


def everlasting_funding(mark: ArrayLike, payoff: ArrayLike, dt_seconds: float,
                        funding_period_seconds: float) -> NDArray[np.float64]:
    """Funding a long everlasting option pays over ``dt_seconds``: ``(mark - payoff) * dt / T``
    (White & Bankman-Fried 2021; accrued pro rata)."""
    if dt_seconds < 0:
        raise InputError("dt_seconds", "must be >= 0")
    if not funding_period_seconds > 0:
        raise InputError("funding_period_seconds", "must be > 0")
    return np.asarray((np.asarray(mark, dtype=np.float64) - np.asarray(payoff, dtype=np.float64))
                      * (dt_seconds / funding_period_seconds))

