"""The integer cumulative funding index the contracts use (``F`` of docs/ARCHITECTURE.md).

Each risk epoch carries, per listed instrument ``i``, a cumulative funding index ``F_i``: signed
collateral base units **per lot**, ``|F_i| < 2^64`` (:func:`prover.statement.check_funding`). An
account holding ``q_i`` lots that last settled at ``Fs_i`` owes ``sum_i q_i (F_i - Fs_i)``
(positive: it pays). :class:`FundingKeeper` keeps the index: between two epochs it samples the
order book's impact prices and the oracle's index prices, and at each epoch
(:meth:`FundingKeeper.advance`) it adds one integer step per instrument:

* **perpetuals** pay Binance's USDⓈ-M funding (:mod:`offchain.risk.funding` has the float
  formula and its sources). Per sample ``k`` (prices in base units per lot, so the ratios are
  the venue's): ``P_k = [max(0, B_k - I_k) - max(0, I_k - A_k)] / I_k`` with ``B_k`` / ``A_k``
  the average fill price of a market sell / buy of the impact notional against the book
  (:func:`impact_price`; a side too thin for it adds nothing) and ``I_k`` the index; over the
  samples since the last epoch ``P = sum k P_k / sum k``; ``F8 = P + clamp(r - P, -c, c)``; per
  ``N``-hour interval ``R = clamp(F8 * N / 8, -x MMR, x MMR)``; and the step is
  ``dF = m * R * dt / (N * 3600)`` with ``m`` the epoch's mark per lot and ``dt`` the seconds
  elapsed (funding accrues pro rata instead of at discrete funding times). With no sample since
  the last epoch the premium is the mark's, ``(m - I) / I``, one sample.
* **everlasting options** pay ``mark - payoff`` per funding period ``T`` (White & Bankman-Fried
  2021): ``dF = (m - payoff) * dt / T`` with ``payoff = max(I - K, 0)`` (call) or
  ``max(K - I, 0)`` (put), ``I`` the index and ``K`` the strike, both per lot.
* dated **futures** and **options** pay no funding: ``dF = 0``.

Rounding (all integer arithmetic; rates are fixed-point with 18 decimals, ``RATE_ONE = 10^18``):
each premium sample, the average premium and ``R`` are rounded to the nearest ``10^-18``, and
each step ``dF`` to the nearest base unit per lot, **half away from zero** (:func:`div_round`):
``|dF - exact| <= 1/2`` base unit per lot per step, so after ``k`` epochs the index is within
``k/2`` of the exact sum of the steps. Because the rounding is applied to the per-lot index and
every account pays ``q_i`` times the same integer step, funding is exactly zero-sum: when the
positions of an instrument sum to zero across accounts (every lot has a buyer and a seller),
``sum_accounts q_i dF_i = dF_i * sum_accounts q_i = 0`` to the base unit, whenever each account
settles.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from offchain.trading.book import OrderBook
from offchain.trading.listing import ListingSpec
from offchain.trading.orders import Side
from offchain.validation import parse_model
from prover.statement import EPOCH_VALUE_BITS
from zkmargin.errors import InputError

#: rates and premiums are integers in units of 10^-18
RATE_DECIMALS = 18
RATE_ONE = 10**RATE_DECIMALS
#: |F_i| < 2^64 (``prover.statement.check_funding``; the contracts' EPOCH_VALUE_BOUND)
FUNDING_LIMIT = 1 << EPOCH_VALUE_BITS
#: Binance's formula is per 8 hours
REFERENCE_HOURS = 8
HOUR = 3600


class FundingError(InputError):
    """The funding index cannot be advanced (``field`` names the offending input or index)."""


def div_round(num: int, den: int) -> int:
    """``num / den`` rounded to the nearest integer, halves away from zero (``den > 0``)."""
    if den <= 0:
        raise ValueError("den must be > 0")
    q, r = divmod(abs(num), den)
    if 2 * r >= den:
        q += 1
    return q if num >= 0 else -q


def frac_round(x: Fraction) -> int:
    """A rational rounded to the nearest integer, halves away from zero."""
    return div_round(x.numerator, x.denominator)


def to_rate(value: Decimal, field: str) -> int:
    """An exact decimal rate in units of ``10^-18`` (more decimals than that is an error)."""
    scaled = value.scaleb(RATE_DECIMALS)
    if scaled != scaled.to_integral_value():
        raise FundingError(field, f"{value} has more than {RATE_DECIMALS} decimals")
    return int(scaled)


class PerpFundingParams(BaseModel):
    """Binance USDⓈ-M funding parameters of a perpetual (rates as decimals, e.g. ``"0.0001"``;
    defaults: BTCUSDT's 125x tier, MMR 0.40%, IMR 0.80%, so the impact notional is 25,000 USD)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    interest_rate: Decimal = Field(default=Decimal("0.0001"), ge=Decimal("-0.01"), le=Decimal("0.01"),
                                   description="I per 8 hours (Binance: 0.01%)")
    clamp: Decimal = Field(default=Decimal("0.0005"), ge=0, le=Decimal("0.1"), description="clamp on I - P (0.05%)")
    interval_hours: int = Field(default=8, ge=1, le=REFERENCE_HOURS, description="N: hours per funding interval")
    maintenance_margin_rate: Decimal = Field(default=Decimal("0.004"), gt=0, lt=1,
                                             description="MMR at the maximum leverage")
    cap_multiplier: Decimal = Field(default=Decimal("0.75"), gt=0, le=10, description="cap = x * MMR")
    impact_notional: int = Field(default=25_000 * 10**6, gt=0, lt=FUNDING_LIMIT,
                                 description="IMN in collateral base units (200 USD / IMR)")

    @field_validator("interest_rate", "clamp", "maintenance_margin_rate", "cap_multiplier")
    @classmethod
    def _decimals(cls, v: Decimal) -> Decimal:
        if not v.is_finite():
            raise ValueError("must be finite")
        if v != v.quantize(Decimal(1).scaleb(-RATE_DECIMALS)):
            raise ValueError(f"at most {RATE_DECIMALS} decimals")
        return v

    @property
    def interest_wad(self) -> int:
        return to_rate(self.interest_rate, "interest_rate")

    @property
    def clamp_wad(self) -> int:
        return to_rate(self.clamp, "clamp")

    @property
    def cap_wad(self) -> int:
        """``cap_multiplier * MMR`` in ``10^-18``, rounded half away from zero."""
        return frac_round(Fraction(self.cap_multiplier) * Fraction(self.maintenance_margin_rate) * RATE_ONE)


class FundingParams(BaseModel):
    """The keeper's configuration: default perpetual parameters and per-symbol overrides."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    defaults: PerpFundingParams = Field(default_factory=PerpFundingParams,
                                        description="the parameters of every perpetual without an override")
    overrides: dict[str, PerpFundingParams] = Field(default_factory=dict,
                                                    description="symbol -> parameters of that perpetual")

    @classmethod
    def parse(cls, data: object, prefix: str = "funding") -> FundingParams:
        """Validate a funding config document (unknown keys and bad values name their field)."""
        return parse_model(cls, data, prefix)

    def for_symbol(self, symbol: str) -> PerpFundingParams:
        return self.overrides.get(symbol, self.defaults)


def impact_price(levels: Sequence[tuple[int, int]], notional: int) -> Fraction | None:
    """The exact average fill price (base units per lot) of a market order of ``notional`` base
    units against ``levels`` (``(price per lot, lots)``, best first); None when they hold less."""
    if notional <= 0:
        raise FundingError("impact_notional", "must be > 0")
    left = Fraction(notional)
    lots = Fraction(0)
    for price, size in levels:
        if price <= 0 or size <= 0:
            continue  # a zero price cannot be walked (it would fill any notional)
        level = Fraction(price * size)
        if level >= left:
            lots += left / price
            return Fraction(notional) / lots
        lots += size
        left -= level
    return None


def premium_sample(index: int, impact_bid: Fraction | int | None, impact_ask: Fraction | int | None) -> int:
    """``[max(0, B - I) - max(0, I - A)] / I`` in units of ``10^-18``, rounded half away from zero
    (a missing side adds nothing)."""
    if index <= 0:
        raise FundingError("index", "must be > 0")
    up = max(Fraction(0), Fraction(impact_bid) - index) if impact_bid is not None else Fraction(0)
    down = max(Fraction(0), index - Fraction(impact_ask)) if impact_ask is not None else Fraction(0)
    return frac_round((up - down) * RATE_ONE / index)


def average_premium(samples: Sequence[int]) -> int:
    """``sum_k k P_k / sum_k k`` (``k = 1..n``), rounded half away from zero."""
    if not samples:
        raise FundingError("samples", "need at least one premium sample")
    n = len(samples)
    return div_round(sum(k * p for k, p in enumerate(samples, start=1)), n * (n + 1) // 2)


def perp_rate(premium: int, params: PerpFundingParams) -> int:
    """The rate per ``N``-hour interval in ``10^-18``: ``clamp([P + clamp(I - P, -c, c)] * N / 8,
    -cap, cap)``."""
    c = params.clamp_wad
    f8 = premium + min(max(params.interest_wad - premium, -c), c)
    r = div_round(f8 * params.interval_hours, REFERENCE_HOURS)
    cap = params.cap_wad
    return min(max(r, -cap), cap)


@dataclass(frozen=True)
class FundingStep:
    """One epoch's advance of the index."""

    index: tuple[int, ...]  # F after the step
    delta: tuple[int, ...]  # dF per instrument (base units per lot)
    rates: tuple[int | None, ...]  # perps: R per interval (10^-18); others None
    premiums: tuple[int | None, ...]  # perps: the average premium P (10^-18); others None
    samples: tuple[int, ...]  # premium samples taken in the window, per instrument
    elapsed_seconds: int


def _check_int(field: str, v: object) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise FundingError(field, f"must be an integer, got {type(v).__name__}")
    return v


class FundingKeeper:
    """Accumulates the integer funding index of a listing (module docstring).

    ``listing`` must give every instrument's ``kind`` (and an everlasting option's terms);
    ``index`` is the index to start from (default zeros) and ``samples`` the premium samples
    already taken in the current window, per instrument (default none: a keeper restarted from
    persisted samples goes on exactly). Call :meth:`sample` (or :meth:`sample_prices`) at a
    regular cadence between epochs, e.g. every 5 seconds as Binance does, and :meth:`advance` at
    each epoch: it returns the new index and starts a new window.
    """

    def __init__(self, listing: ListingSpec, params: FundingParams | None = None,
                 index: Sequence[int] | None = None, samples: Sequence[Sequence[int]] | None = None) -> None:
        self.listing = listing
        self.params = params or FundingParams()
        symbols = {s.symbol for s in listing.instruments}
        for sym in self.params.overrides:
            if sym not in symbols:
                raise FundingError(f"funding.overrides.{sym}", "is not a listed symbol")
            if listing.instruments[listing.index(sym)].kind != "perp":
                raise FundingError(f"funding.overrides.{sym}", "is not a perpetual")
        self.kinds: tuple[Literal["perp", "future", "option", "everlasting"], ...] = tuple(
            self._kind(i) for i in range(listing.n))
        n = listing.n
        start = [0] * n if index is None else list(index)
        if len(start) != n:
            raise FundingError("index", f"has {len(start)} entries, the listing has {n} instruments")
        for i, f in enumerate(start):
            if abs(_check_int(f"index[{i}]", f)) >= FUNDING_LIMIT:
                raise FundingError(f"index[{i}]", f"|{f}| must be < 2^{EPOCH_VALUE_BITS}")
        self._index = tuple(start)
        self._samples: list[list[int]] = [[] for _ in range(n)]
        if samples is not None:
            if len(samples) != n:
                raise FundingError("samples", f"has {len(samples)} entries, the listing has {n} instruments")
            for i, window in enumerate(samples):
                if window and self.kinds[i] != "perp":
                    raise FundingError(f"samples[{i}]", "only perpetuals take premium samples")
                self._samples[i] = [_check_int(f"samples[{i}]", p) for p in window]
        self._perp_params = [self.params.for_symbol(s.symbol) if k == "perp" else None
                             for s, k in zip(listing.instruments, self.kinds)]

    def _kind(self, i: int) -> Literal["perp", "future", "option", "everlasting"]:
        kind = self.listing.instruments[i].kind
        if kind is None:
            raise FundingError(f"listing.instruments[{i}].kind",
                               "the funding keeper needs every instrument's kind (perp, future, option, everlasting)")
        return kind

    @property
    def index(self) -> tuple[int, ...]:
        """The cumulative index ``F`` after the last :meth:`advance`."""
        return self._index

    def pending_samples(self, instrument: int) -> tuple[int, ...]:
        """The premium samples of ``instrument`` taken since the last :meth:`advance`."""
        return tuple(self._samples[instrument])

    def _check_index_prices(self, index_prices: Sequence[int]) -> list[int]:
        if len(index_prices) != self.listing.n:
            raise FundingError("index_prices", f"has {len(index_prices)} entries, the listing has {self.listing.n}")
        out = []
        for i, p in enumerate(index_prices):
            v = _check_int(f"index_prices[{i}]", p)
            if self.kinds[i] in ("perp", "everlasting") and v <= 0:
                raise FundingError(f"index_prices[{i}]", "must be > 0 (base units per lot)")
            out.append(v)
        return out

    def sample_prices(self, index_prices: Sequence[int],
                      impact_bids: Sequence[Fraction | int | None],
                      impact_asks: Sequence[Fraction | int | None]) -> list[int | None]:
        """Record one premium sample per perpetual from given impact prices (per lot; None: the
        side is too thin). Returns the samples (None for the other instruments)."""
        idx = self._check_index_prices(index_prices)
        if len(impact_bids) != self.listing.n or len(impact_asks) != self.listing.n:
            raise FundingError("impact_bids", f"impact bids and asks need {self.listing.n} entries")
        out: list[int | None] = []
        for i, kind in enumerate(self.kinds):
            if kind != "perp":
                out.append(None)
                continue
            p = premium_sample(idx[i], impact_bids[i], impact_asks[i])
            self._samples[i].append(p)
            out.append(p)
        return out

    def sample(self, book: OrderBook, index_prices: Sequence[int]) -> list[int | None]:
        """Record one premium sample per perpetual from ``book``'s impact prices for each one's
        impact notional and the oracle's ``index_prices`` (base units per lot)."""
        bids, asks = self.impact_prices(book)
        return self.sample_prices(index_prices, bids, asks)

    def impact_prices(self, book: OrderBook) -> tuple[list[Fraction | None], list[Fraction | None]]:
        """Each perpetual's impact bid and ask in ``book`` (:func:`impact_price` of its impact
        notional; None for a side too thin and for the other instruments); records nothing."""
        if book.listing.n != self.listing.n:
            raise FundingError("book", f"lists {book.listing.n} instruments, the keeper {self.listing.n}")
        bids: list[Fraction | None] = []
        asks: list[Fraction | None] = []
        for i, params in enumerate(self._perp_params):
            if params is None:
                bids.append(None)
                asks.append(None)
                continue
            depth = 1 << 30  # every level: depth() stops at the last one
            bids.append(impact_price(book.depth(i, Side.BUY, depth), params.impact_notional))
            asks.append(impact_price(book.depth(i, Side.SELL, depth), params.impact_notional))
        return bids, asks

    def advance(self, marks: Sequence[int], index_prices: Sequence[int], elapsed_seconds: int) -> FundingStep:
        """Add one epoch's funding: ``marks`` per lot (as ``Epoch.marks``), ``index_prices`` per lot
        (the oracle's index, base units per lot) and the seconds since the last epoch. Returns the
        step and the new index; the premium samples start again."""
        n = self.listing.n
        if len(marks) != n:
            raise FundingError("marks", f"has {len(marks)} entries, the listing has {n} instruments")
        m = [_check_int(f"marks[{i}]", x) for i, x in enumerate(marks)]
        for i, x in enumerate(m):
            if abs(x) >= FUNDING_LIMIT:
                raise FundingError(f"marks[{i}]", f"|{x}| must be < 2^{EPOCH_VALUE_BITS}")
        idx = self._check_index_prices(index_prices)
        dt = _check_int("elapsed_seconds", elapsed_seconds)
        if dt < 0:
            raise FundingError("elapsed_seconds", "must be >= 0")
        delta: list[int] = []
        rates: list[int | None] = []
        premiums: list[int | None] = []
        counts: list[int] = []
        for i, kind in enumerate(self.kinds):
            spec = self.listing.instruments[i]
            samples = self._samples[i]
            counts.append(len(samples))
            if kind == "perp":
                params = self._perp_params[i]
                assert params is not None
                prem = average_premium(samples) if samples else premium_sample(idx[i], m[i], m[i])
                rate = perp_rate(prem, params)
                delta.append(div_round(m[i] * rate * dt, RATE_ONE * params.interval_hours * HOUR))
                rates.append(rate)
                premiums.append(prem)
            elif kind == "everlasting":
                assert spec.strike is not None and spec.funding_period_seconds is not None
                intrinsic = idx[i] - spec.strike if spec.option_type == "call" else spec.strike - idx[i]
                payoff = max(0, intrinsic)
                delta.append(div_round((m[i] - payoff) * dt, spec.funding_period_seconds))
                rates.append(None)
                premiums.append(None)
            else:
                delta.append(0)
                rates.append(None)
                premiums.append(None)
        new = tuple(f + d for f, d in zip(self._index, delta))
        for i, f in enumerate(new):
            if abs(f) >= FUNDING_LIMIT:
                raise FundingError(f"funding[{i}]", f"the index would reach {f}, beyond 2^{EPOCH_VALUE_BITS} "
                                                    f"({self.listing.instruments[i].symbol})")
        self._index = new
        self._samples = [[] for _ in range(n)]
        return FundingStep(index=new, delta=tuple(delta), rates=tuple(rates), premiums=tuple(premiums),
                           samples=tuple(counts), elapsed_seconds=dt)


def funding_owed(q: Sequence[int], index: Sequence[int], settled: Sequence[int]) -> int:
    """``sum_i q_i (F_i - Fs_i)``: what an account with positions ``q`` (lots) that last settled
    at ``settled`` owes at ``index`` (positive: it pays), as the statement counts it."""
    if not len(q) == len(index) == len(settled):
        raise FundingError("q", "positions, index and settled index differ in length")
    return sum(qi * (fi - si) for qi, fi, si in zip(q, index, settled))


__all__ = [
    "FUNDING_LIMIT",
    "RATE_ONE",
    "FundingError",
    "FundingKeeper",
    "FundingParams",
    "FundingStep",
    "PerpFundingParams",
    "average_premium",
    "div_round",
    "frac_round",
    "funding_owed",
    "impact_price",
    "perp_rate",
    "premium_sample",
]
