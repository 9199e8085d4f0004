"""Vectorized valuation of a set of instruments under joint spot and volatility scenarios.

:class:`InstrumentTable` freezes everything about a list of instruments that does not change
across scenarios (kind, underlying, strike, time to expiry, forward, base vol, rate) into numpy
arrays, so that the value per unit of every instrument under ``S`` scenarios is one vectorized
Black-76 call on an ``(S, n)`` grid. The risk matrix, the epoch export and the batch engine all
use it, so they agree by construction.

Scenario convention (spot-like shocks, Deribit/SPAN style): a spot shock ``x_u`` of the
underlying ``u`` multiplies the index, the perp mark, the futures price and the option forward
of that underlying by ``(1 + x_u)``; time to expiry and rates are held fixed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from offchain.risk.instruments import Future, Option, Perp
from offchain.risk.market import DAY_SECONDS, MarketState
from offchain.risk.pricing.black76 import black76_price

KIND_PERP, KIND_FUTURE, KIND_OPTION = 0, 1, 2
KIND_CODES = {"perp": KIND_PERP, "future": KIND_FUTURE, "option": KIND_OPTION}

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class InstrumentTable:
    """Per-instrument arrays (length n) for vectorized revaluation."""

    symbols: tuple[str, ...]
    underlyings: tuple[str, ...]  # distinct underlyings, order of first appearance
    u_index: NDArray[np.int64]  # underlying index per instrument
    kind: NDArray[np.int64]
    base: FloatArray  # price that the spot shock multiplies: perp mark / futures price / forward
    spot: FloatArray  # index price of the instrument's underlying
    strike: FloatArray  # NaN for linear
    t: FloatArray  # years to expiry (NaN for perps)
    dte: FloatArray  # days to expiry (NaN for perps)
    vol: FloatArray  # base implied vol (NaN for linear)
    is_call: NDArray[np.bool_]
    rate: FloatArray  # discount rate per instrument (the market's rate of its expiry)
    mark: FloatArray  # value per unit at the current market

    @property
    def n(self) -> int:
        return len(self.symbols)

    @property
    def is_option(self) -> NDArray[np.bool_]:
        return np.asarray(self.kind == KIND_OPTION)

    @classmethod
    def build(
        cls, instruments: Sequence[Perp | Future | Option], market: MarketState, prefix: str = "instruments"
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
            else:
                if isinstance(inst, Future):
                    t[j] = market.time_to_expiry(inst.expiry, f"{field}.expiry")
                base[j] = market.mark(inst, field)
        opt = kind == KIND_OPTION
        mark = base.copy()
        if np.any(opt):
            mark[opt] = black76_price(base[opt], strike[opt], vol[opt], t[opt], rate[opt], is_call[opt])
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
        opt = self.is_option
        if np.any(opt):
            v = self.vol[None, opt] if vols is None else np.asarray(vols)[:, opt]
            v = np.broadcast_to(v, (mult.shape[0], int(opt.sum())))
            f = out[:, opt]
            # a forward shocked to <= 0 (a -100% move) leaves only the intrinsic value of a put
            safe_f = np.maximum(f, 1e-12)
            out[:, opt] = black76_price(
                safe_f, self.strike[None, opt], v, self.t[None, opt], self.rate[None, opt], self.is_call[None, opt]
            )
        return out

    def pnl(self, spot_shock: FloatArray, vols: FloatArray | None = None) -> FloatArray:
        """Scenario PnL per unit: ``values(...) - mark``, shape ``(S, n)``."""
        return self.values(spot_shock, vols) - self.mark[None, :]
