"""Isolated margin: per position, tiered notional brackets, liquidation price.

Source: the tiered "leverage and margin" tables of centralized perp venues (Binance USD-M
futures, Bybit risk limits). For a position with notional ``N = |size| * mark`` in bracket
``k`` (``cap_{k-1} < N <= cap_k``):

    MM = N * mmr_k - mm_deduction_k,      IM = N * imr_k - im_deduction_k
    deduction_0 = 0,  deduction_k = deduction_{k-1} + cap_{k-1} * (rate_k - rate_{k-1})

The deduction makes the requirement continuous in N at every bracket boundary (Binance's
"maintenance amount"). Brackets may differ per underlying (``brackets_by_underlying``).

Liquidation price (closed form per bracket): with isolated margin ``M`` (the position's
``margin``, default its IM at entry), entry ``E`` and signed size ``q``, the position is
liquidated when ``M + q (P - E) = |q| P mmr_k - d_k``, i.e.

    P = (q E - M - d_k) / (q - |q| mmr_k)

taking the bracket ``k`` whose notional range contains ``|q| P``. A long whose margin covers
the whole entry value has no liquidation price (``None``).
"""

from __future__ import annotations

import math
from itertools import pairwise

from pydantic import Field, model_validator

from offchain.risk.instruments import Option, Portfolio
from offchain.risk.margin.base import MarginModel, MarginResult, ModelConfig, refuse_everlasting
from offchain.risk.market import MarketState
from zkmargin.errors import InputError


class Bracket(ModelConfig):
    """Notional bracket: up to ``max_notional`` USD (``null`` = unbounded)."""

    max_notional: float | None = Field(default=None, gt=0)
    mmr: float = Field(gt=0, lt=1)
    imr: float = Field(gt=0, le=1)

    @model_validator(mode="after")
    def _im_ge_mm(self) -> Bracket:
        if self.imr < self.mmr:
            raise ValueError("imr must be >= mmr")
        return self


DEFAULT_BRACKETS = [
    Bracket(max_notional=50_000, mmr=0.004, imr=0.008),
    Bracket(max_notional=250_000, mmr=0.005, imr=0.01),
    Bracket(max_notional=1_000_000, mmr=0.01, imr=0.02),
    Bracket(max_notional=10_000_000, mmr=0.025, imr=0.05),
    Bracket(max_notional=None, mmr=0.05, imr=0.1),
]


class IsolatedConfig(ModelConfig):
    brackets: list[Bracket] = Field(default_factory=lambda: list(DEFAULT_BRACKETS), min_length=1)
    brackets_by_underlying: dict[str, list[Bracket]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _ordered(self) -> IsolatedConfig:
        for name, brs in [("brackets", self.brackets), *self.brackets_by_underlying.items()]:
            _check_brackets(brs, name)
        return self

    def for_underlying(self, u: str) -> list[Bracket]:
        return self.brackets_by_underlying.get(u, self.brackets)


def _check_brackets(brs: list[Bracket], name: str) -> None:
    if not brs:
        raise ValueError(f"{name}: at least one bracket is required")
    caps = [b.max_notional for b in brs]
    if caps[-1] is not None:
        raise ValueError(f"{name}: the last bracket must be unbounded (max_notional null)")
    if any(c is None for c in caps[:-1]):
        raise ValueError(f"{name}: only the last bracket may be unbounded")
    finite_caps = [float(c) for c in caps[:-1] if c is not None]
    if any(b <= a for a, b in pairwise(finite_caps)):
        raise ValueError(f"{name}: max_notional must increase")
    for a, b in pairwise(brs):
        if b.mmr < a.mmr or b.imr < a.imr:
            raise ValueError(f"{name}: rates must not decrease with notional")


def _deductions(brs: list[Bracket], attr: str) -> list[float]:
    out = [0.0]
    for prev, cur in pairwise(brs):
        assert prev.max_notional is not None
        out.append(out[-1] + prev.max_notional * (getattr(cur, attr) - getattr(prev, attr)))
    return out


def tiered_requirement(notional: float, brs: list[Bracket], attr: str) -> tuple[float, int]:
    """(requirement, bracket index) for a notional under ``attr`` = ``"mmr"`` or ``"imr"``."""
    ded = _deductions(brs, attr)
    for k, b in enumerate(brs):
        if b.max_notional is None or notional <= b.max_notional:
            return notional * getattr(b, attr) - ded[k], k
    raise AssertionError("unreachable: last bracket is unbounded")


def liquidation_price(size: float, entry: float, margin: float, brs: list[Bracket]) -> float | None:
    """Price at which an isolated position's equity equals its tiered MM (see module doc)."""
    ded = _deductions(brs, "mmr")
    q, aq = size, abs(size)
    lo = 0.0
    for k, b in enumerate(brs):
        hi = math.inf if b.max_notional is None else b.max_notional
        denom = q - aq * b.mmr
        p = (q * entry - margin - ded[k]) / denom
        if p > 0 and lo <= aq * p <= hi * (1 + 1e-12):
            return p
        lo = hi
    return None


class IsolatedMargin(MarginModel[IsolatedConfig]):
    """Per-position tiered margin for perps and futures (see the module docstring)."""

    name = "isolated"
    config_cls = IsolatedConfig

    def requirement(self, portfolio: Portfolio, market: MarketState) -> MarginResult:
        refuse_everlasting(portfolio, self.name)
        im = mm = 0.0
        rows = []
        for k, (inst, pos) in enumerate(portfolio.resolved()):
            field = f"positions[{k}].instrument"
            if isinstance(inst, Option):
                raise InputError(field, "isolated margin covers perps and futures; use standard_options or risk_matrix")
            mark = market.mark(inst, field)
            brs = self.config.for_underlying(inst.underlying)
            notional = abs(pos.size) * mark
            p_mm, tier = tiered_requirement(notional, brs, "mmr")
            p_im, _ = tiered_requirement(notional, brs, "imr")
            entry = pos.entry_price if pos.entry_price is not None else mark
            margin = pos.margin if pos.margin is not None else tiered_requirement(abs(pos.size) * entry, brs, "imr")[0]
            liq = liquidation_price(pos.size, entry, margin, brs)
            im += p_im
            mm += p_mm
            rows.append(
                {
                    "instrument": inst.symbol,
                    "size": pos.size,
                    "mark": mark,
                    "notional": notional,
                    "bracket": tier,
                    "im": p_im,
                    "mm": p_mm,
                    "isolated_margin": margin,
                    "position_equity": margin + pos.size * (mark - entry),
                    "liquidation_price": liq,
                }
            )
        return MarginResult(model=self.name, im=im, mm=mm, details={"positions": len(rows)}, per_position=rows)


__all__ = ["Bracket", "IsolatedConfig", "IsolatedMargin", "liquidation_price", "tiered_requirement"]
