"""Vectorized valuation of a set of instruments under joint spot and volatility scenarios.

:class:`InstrumentTable` freezes everything about a list of instruments that does not change
across scenarios (kind, underlying, strike, time to expiry, forward, base vol, rate) into numpy
arrays, so that the value per unit of every instrument under ``S`` scenarios is one vectorized
Black-76 call on an ``(S, n)`` grid. The risk matrix, the epoch export and the batch engine all
use it, so they agree by construction.

Scenario convention (spot-like shocks, Deribit/SPAN style): a spot shock ``x_u`` of the
underlying ``u`` multiplies the index, the perp mark, the futures price and the option forward
of that underlying by ``(1 + x_u)``; time to expiry and rates are held fixed.

Everlasting options (kind ``everlasting``) are priced off the spot (their ``base``) with
:func:`offchain.risk.pricing.everlasting.everlasting_price`; their ``t`` is the funding period in
years and ``dte`` in days (the mean maturity of the dated options they are a sum of, which the
risk matrix's vega scaling reads), and they count as options (``is_option``) for vol shocks,
option contingencies and short-option minimums.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from offchain.risk.instruments import AnyInstrument, EverlastingOption, Future, Option
from offchain.risk.market import DAY_SECONDS, MarketState
from offchain.risk.pricing.black76 import black76_greeks, black76_price
from offchain.risk.pricing.everlasting import everlasting_greeks, everlasting_price

KIND_PERP, KIND_FUTURE, KIND_OPTION, KIND_EVERLASTING = 0, 1, 2, 3
KIND_CODES = {"perp": KIND_PERP, "future": KIND_FUTURE, "option": KIND_OPTION, "everlasting": KIND_EVERLASTING}

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class Sensitivities:
    """Per-unit spot greeks ``(n,)`` of an :class:`InstrumentTable`'s instruments (USD)."""

    delta: FloatArray  # dV/dS
    gamma: FloatArray  # d2V/dS2
    vega: FloatArray  # dV/dsigma, per 1.00 of vol
    theta: FloatArray  # per year


@dataclass(frozen=True)
class InstrumentTable:
    """Per-instrument arrays (length n) for vectorized revaluation."""

    symbols: tuple[str, ...]
    underlyings: tuple[str, ...]  # distinct underlyings, order of first appearance
    u_index: NDArray[np.int64]  # underlying index per instrument
    kind: NDArray[np.int64]
    base: FloatArray  # price that the spot shock multiplies: perp mark / futures price / forward / spot
    spot: FloatArray  # index price of the instrument's underlying
    strike: FloatArray  # NaN for linear
    t: FloatArray  # years to expiry (NaN for perps; the funding period for everlasting options)
    dte: FloatArray  # days to expiry (NaN for perps; the funding period for everlasting options)
    vol: FloatArray  # base implied vol (NaN for linear)
    is_call: NDArray[np.bool_]
    rate: FloatArray  # discount rate per instrument (the market's rate of its expiry)
    mark: FloatArray  # value per unit at the current market

    @property
    def n(self) -> int:
        return len(self.symbols)

    @property
    def is_option(self) -> NDArray[np.bool_]:
        """Dated and everlasting options (anything with a strike and a vol)."""
        return np.asarray((self.kind == KIND_OPTION) | (self.kind == KIND_EVERLASTING))

    @property
    def is_dated_option(self) -> NDArray[np.bool_]:
        return np.asarray(self.kind == KIND_OPTION)

    @property
    def is_everlasting(self) -> NDArray[np.bool_]:
        return np.asarray(self.kind == KIND_EVERLASTING)

    @classmethod
    def build(
        cls, instruments: Sequence[AnyInstrument], market: MarketState, prefix: str = "instruments"
    ) -> InstrumentTable:
        n = len(instruments)
        unders: list[str] = []
        u_index = np.zeros(n, dtype=np.int64)
        kind = np.zeros(n, dtype=np.int64)
        base = np.zeros(n)
        spot = np.zeros(n)
        strike = np.full(n, np.nan)
        t = np.full(n, np.nan)
        vol = np.full(n, np.nan)
        is_call = np.zeros(n, dtype=bool)
        rate = np.full(n, market.rate)
        for j, inst in enumerate(instruments):
            field = f"{prefix}[{j}]"
            if inst.underlying not in unders:
                unders.append(inst.underlying)
            u_index[j] = unders.index(inst.underlying)
            kind[j] = KIND_CODES[inst.kind]
            spot[j] = market.spot(inst.underlying, f"{field}.underlying")
            if isinstance(inst, Option):
                t[j] = market.time_to_expiry(inst.expiry, f"{field}.expiry")
                base[j] = market.forward(inst.underlying, inst.expiry, field)
                strike[j] = inst.strike
                vol[j] = market.option_vol(inst, field)
                is_call[j] = inst.is_call
                rate[j] = market.rate_for(inst.underlying, inst.expiry)
            elif isinstance(inst, EverlastingOption):
                t[j] = inst.funding_period_years
                base[j] = spot[j]
                strike[j] = inst.strike
                vol[j] = market.option_vol(inst, field)
                is_call[j] = inst.is_call
            else:
                if isinstance(inst, Future):
                    t[j] = market.time_to_expiry(inst.expiry, f"{field}.expiry")
                base[j] = market.mark(inst, field)
        opt = kind == KIND_OPTION
        ever = kind == KIND_EVERLASTING
        mark = base.copy()
        if np.any(opt):
            mark[opt] = black76_price(base[opt], strike[opt], vol[opt], t[opt], rate[opt], is_call[opt])
        if np.any(ever):
            mark[ever] = everlasting_price(base[ever], strike[ever], vol[ever], t[ever], rate[ever], is_call[ever])
        return cls(
            symbols=tuple(i.symbol for i in instruments),
            underlyings=tuple(unders),
            u_index=u_index,
            kind=kind,
            base=base,
            spot=spot,
            strike=strike,
            t=t,
            dte=t * (365.0 * 86400.0 / DAY_SECONDS),
            vol=vol,
            is_call=is_call,
            rate=rate,
            mark=mark,
        )

    def values(self, spot_shock: FloatArray, vols: FloatArray | None = None) -> FloatArray:
        """Value per unit under scenarios.

        ``spot_shock`` is ``(S, U)`` relative moves per underlying (U = len(underlyings));
        ``vols`` is ``(S, n)`` shocked vols (ignored for linear instruments; base vols if None).
        Returns ``(S, n)``.
        """
        shock = np.asarray(spot_shock, dtype=np.float64)
        if shock.ndim == 1:
            shock = shock[:, None]
        mult = 1.0 + shock[:, self.u_index]  # (S, n)
        out = self.base[None, :] * mult
        for sel, price in ((self.is_dated_option, black76_price), (self.is_everlasting, everlasting_price)):
            if np.any(sel):
                v = self.vol[None, sel] if vols is None else np.asarray(vols)[:, sel]
                v = np.broadcast_to(v, (mult.shape[0], int(sel.sum())))
                # a forward (spot) shocked to <= 0 (a -100% move) leaves only a put's intrinsic value
                safe = np.maximum(out[:, sel], 1e-12)
                out[:, sel] = price(
                    safe, self.strike[None, sel], v, self.t[None, sel], self.rate[None, sel], self.is_call[None, sel]
                )
        return out

    def sensitivities(self) -> Sensitivities:
        """Per-unit spot greeks of every instrument at the current market (no scenario).

        Linear instruments: ``delta = price / S`` (their price moves with the index), no gamma,
        vega or theta. Dated options: the Black-76 forward greeks times ``dF/dS = F / S`` (once
        for delta, squared for gamma). Everlasting options: their closed-form spot greeks
        (:func:`offchain.risk.pricing.everlasting.everlasting_greeks`; theta is the funding carry).
        """
        delta = np.where(self.is_option, 0.0, self.base / self.spot)
        gamma = np.zeros(self.n)
        vega = np.zeros(self.n)
        theta = np.zeros(self.n)
        o = self.is_dated_option
        if np.any(o):
            g = black76_greeks(self.base[o], self.strike[o], self.vol[o], self.t[o], self.rate[o], self.is_call[o])
            growth = self.base[o] / self.spot[o]  # dF/dS (the forward moves with the index)
            delta[o] = g.delta * growth
            gamma[o] = g.gamma * growth**2
            vega[o] = g.vega
            theta[o] = g.theta
        e = self.is_everlasting
        if np.any(e):
            ge = everlasting_greeks(self.base[e], self.strike[e], self.vol[e], self.t[e], self.rate[e], self.is_call[e])
            delta[e] = ge.delta
            gamma[e] = ge.gamma
            vega[e] = ge.vega
            theta[e] = ge.theta
        return Sensitivities(delta=delta, gamma=gamma, vega=vega, theta=theta)

    def pnl(self, spot_shock: FloatArray, vols: FloatArray | None = None) -> FloatArray:
        """Scenario PnL per unit: ``values(...) - mark``, shape ``(S, n)``."""
        return self.values(spot_shock, vols) - self.mark[None, :]
