"""Market state: spot/index prices, perp marks, futures prices, rates, volatilities, SVI smiles.

* ``timestamp`` (unix seconds) is "now"; times to expiry are ``(expiry - timestamp) / YEAR_SECONDS``
  (ACT/365).
* The forward of an underlying for expiry T is ``forwards[underlying][expiry]`` when the market
  gives one (a forward curve, e.g. a venue's forward feed per expiry), else ``F = S exp(r_T T)``
  (no income, Hull ch. 5); a future is priced at ``futures_prices[symbol]`` when given.
* ``r_T`` is ``expiry_rates[underlying][expiry]`` when given (a rate curve: Derive's rate feed
  per expiry), else ``rate``; options are discounted with ``exp(-r_T T)``.
* ``confidence`` (optional) carries oracle confidences in ``[0, 1]`` per feed name (an
  underlying's spot, a perp or option symbol, a collateral asset); only Derive's PM2 reads it.
* Volatility of an option, in order: ``vols[symbol]``; the SVI smile of its (underlying, expiry)
  in ``smiles[underlying][expiry]``; ``default_vol[underlying]``. Otherwise an error names it.
* Raw SVI (Gatheral 2004): total implied variance ``w(k) = a + b (rho (k - m) + sqrt((k - m)^2 +
  sigma^2))`` at log-moneyness ``k = ln(K / F)``; implied vol ``sqrt(w(k) / T)``. Parameters must
  satisfy ``b >= 0``, ``|rho| < 1``, ``sigma > 0`` and ``a + b sigma sqrt(1 - rho^2) >= 0``
  (non-negative variance everywhere).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from offchain.risk.instruments import Future, Option, Perp, parse_expiry
from offchain.validation import finite
from zkmargin.errors import InputError

YEAR_SECONDS = 365.0 * 86400.0
DAY_SECONDS = 86400.0


class SVI(BaseModel):
    """Raw SVI parameters of one expiry's smile (total variance parametrization)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    a: float
    b: float = Field(ge=0)
    rho: float = Field(gt=-1, lt=1)
    m: float
    sigma: float = Field(gt=0)

    @field_validator("a", "b", "rho", "m", "sigma")
    @classmethod
    def _finite(cls, v: float) -> float:
        return finite(v)

    @model_validator(mode="after")
    def _no_negative_variance(self) -> SVI:
        if self.a + self.b * self.sigma * math.sqrt(1 - self.rho**2) < 0:
            raise ValueError("SVI total variance is negative somewhere (a + b sigma sqrt(1-rho^2) < 0)")
        return self

    def total_variance(self, k: ArrayLike) -> NDArray[np.float64]:
        kk = np.asarray(k, dtype=np.float64) - self.m
        return np.asarray(self.a + self.b * (self.rho * kk + np.sqrt(kk * kk + self.sigma**2)))

    def vol(self, k: ArrayLike, t: ArrayLike) -> NDArray[np.float64]:
        w = self.total_variance(k)
        return np.asarray(np.sqrt(np.maximum(w, 0.0) / np.asarray(t, dtype=np.float64)))


def _positive_map(v: dict[str, float], what: str) -> dict[str, float]:
    for key, x in v.items():
        if not math.isfinite(x):
            raise InputError(f"{what}.{key}", f"must be finite (got {x})")
        if x <= 0:
            raise InputError(f"{what}.{key}", f"must be > 0 (got {x})")
    return v


class MarketState(BaseModel):
    """Prices and volatilities at one instant (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    timestamp: int
    spots: dict[str, float] = Field(description="index price per underlying, USD")
    rate: float = 0.0
    perp_marks: dict[str, float] = Field(default_factory=dict, description="perp symbol -> mark")
    futures_prices: dict[str, float] = Field(default_factory=dict, description="future symbol -> price")
    vols: dict[str, float] = Field(default_factory=dict, description="option symbol -> implied vol")
    smiles: dict[str, dict[str, SVI]] = Field(default_factory=dict, description="underlying -> expiry -> SVI")
    default_vol: dict[str, float] = Field(default_factory=dict, description="underlying -> vol")
    forwards: dict[str, dict[str, float]] = Field(default_factory=dict, description="underlying -> expiry -> forward")
    expiry_rates: dict[str, dict[str, float]] = Field(default_factory=dict, description="underlying -> expiry -> rate")
    confidence: dict[str, float] = Field(default_factory=dict, description="feed -> oracle confidence in [0, 1]")

    @field_validator("timestamp", mode="before")
    @classmethod
    def _ts(cls, v: Any) -> int:
        return parse_expiry(v)

    @field_validator("rate")
    @classmethod
    def _rate(cls, v: float) -> float:
        return finite(v, "rate")

    @field_validator("spots")
    @classmethod
    def _spots(cls, v: dict[str, float]) -> dict[str, float]:
        if not v:
            raise ValueError("at least one spot price is required")
        return _positive_map(v, "spots")

    @field_validator("perp_marks")
    @classmethod
    def _marks(cls, v: dict[str, float]) -> dict[str, float]:
        return _positive_map(v, "perp_marks")

    @field_validator("futures_prices")
    @classmethod
    def _futs(cls, v: dict[str, float]) -> dict[str, float]:
        return _positive_map(v, "futures_prices")

    @field_validator("vols")
    @classmethod
    def _vols(cls, v: dict[str, float]) -> dict[str, float]:
        return _positive_map(v, "vols")

    @field_validator("default_vol")
    @classmethod
    def _dvol(cls, v: dict[str, float]) -> dict[str, float]:
        return _positive_map(v, "default_vol")

    @field_validator("smiles", "forwards", "expiry_rates", mode="before")
    @classmethod
    def _expiry_keys(cls, v: Any) -> Any:
        if isinstance(v, dict):
            out: dict[str, Any] = {}
            for u, per in v.items():
                if isinstance(per, dict):
                    out[u] = {str(parse_expiry(int(e) if str(e).isdigit() else e)): p for e, p in per.items()}
                else:
                    out[u] = per
            return out
        return v

    @field_validator("forwards")
    @classmethod
    def _fwds(cls, v: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        for u, per in v.items():
            _positive_map(per, f"forwards.{u}")
        return v

    @field_validator("expiry_rates")
    @classmethod
    def _rates(cls, v: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        for u, per in v.items():
            for e, r in per.items():
                if not math.isfinite(r):
                    raise InputError(f"expiry_rates.{u}.{e}", f"must be finite (got {r})")
        return v

    @field_validator("confidence")
    @classmethod
    def _conf(cls, v: dict[str, float]) -> dict[str, float]:
        for key, x in v.items():
            if not (math.isfinite(x) and 0.0 <= x <= 1.0):
                raise InputError(f"confidence.{key}", f"must be in [0, 1] (got {x})")
        return v

    # ---- queries -------------------------------------------------------------------------
    def spot(self, underlying: str, field: str = "underlying") -> float:
        try:
            return self.spots[underlying]
        except KeyError:
            raise InputError(field, f"no spot price for underlying {underlying!r} in the market") from None

    def time_to_expiry(self, expiry: int, field: str = "expiry") -> float:
        t = (expiry - self.timestamp) / YEAR_SECONDS
        if t <= 0:
            raise InputError(field, f"instrument expired (expiry {expiry} <= market timestamp {self.timestamp})")
        return t

    def rate_for(self, underlying: str, expiry: int) -> float:
        """The continuously compounded rate of ``underlying``'s expiry (``expiry_rates``, else ``rate``)."""
        return self.expiry_rates.get(underlying, {}).get(str(expiry), self.rate)

    def forward(self, underlying: str, expiry: int, field: str = "instrument") -> float:
        t = self.time_to_expiry(expiry, field)
        spot = self.spot(underlying, field)
        given = self.forwards.get(underlying, {}).get(str(expiry))
        if given is not None:
            return given
        return spot * math.exp(self.rate_for(underlying, expiry) * t)

    def conf(self, feed: str) -> float:
        """Oracle confidence of ``feed`` (1.0 when the market does not give one)."""
        return self.confidence.get(feed, 1.0)

    def mark(self, inst: Perp | Future | Option, field: str = "instrument") -> float:
        """Mark value per unit of underlying (USD)."""
        if isinstance(inst, Perp):
            self.spot(inst.underlying, field)
            return self.perp_marks.get(inst.symbol, self.spots[inst.underlying])
        if isinstance(inst, Future):
            if inst.symbol in self.futures_prices:
                self.time_to_expiry(inst.expiry, field)
                return self.futures_prices[inst.symbol]
            return self.forward(inst.underlying, inst.expiry, field)
        from offchain.risk.pricing.black76 import black76_price

        f = self.forward(inst.underlying, inst.expiry, field)
        t = self.time_to_expiry(inst.expiry, field)
        vol = self.option_vol(inst, field)
        return float(black76_price(f, inst.strike, vol, t, self.rate_for(inst.underlying, inst.expiry), inst.is_call))

    def option_vol(self, inst: Option, field: str = "instrument") -> float:
        if inst.symbol in self.vols:
            return self.vols[inst.symbol]
        smile = self.smiles.get(inst.underlying, {}).get(str(inst.expiry))
        if smile is not None:
            t = self.time_to_expiry(inst.expiry, field)
            f = self.forward(inst.underlying, inst.expiry, field)
            vol = float(smile.vol(math.log(inst.strike / f), t))
            if not vol > 0:
                raise InputError(field, f"SVI smile gives zero variance at strike {inst.strike}")
            return vol
        if inst.underlying in self.default_vol:
            return self.default_vol[inst.underlying]
        raise InputError(field, f"no volatility for option {inst.symbol!r} (vols, smiles or default_vol)")

    def with_spots(self, spots: dict[str, float]) -> MarketState:
        """A copy with some spots replaced; perp marks, futures prices and given forwards move
        proportionally."""
        new_spots = dict(self.spots)
        new_spots.update(spots)
        ratio = {u: new_spots[u] / self.spots[u] for u in spots if u in self.spots}
        return self.model_copy(update={"spots": new_spots})._rescaled(ratio)

    def _rescaled(self, ratio: dict[str, float]) -> MarketState:
        # Keep perp basis and futures basis proportional when the index moves. Perp and future
        # symbols do not say their underlying, so they are matched by a prefix convention
        # (``BTC-PERP``, ``BTC-27DEC24``); unknown symbols are left as they are.
        def scale(table: dict[str, float]) -> dict[str, float]:
            out = {}
            for sym, px in table.items():
                u = sym.split("-")[0]
                out[sym] = px * ratio.get(u, 1.0)
            return out

        forwards = {u: {e: f * ratio.get(u, 1.0) for e, f in per.items()} for u, per in self.forwards.items()}
        return self.model_copy(
            update={"perp_marks": scale(self.perp_marks), "futures_prices": scale(self.futures_prices),
                    "forwards": forwards}
        )
