"""Cross margin: one account-level requirement over all linear positions.

Per instrument (sizes netted per instrument), with notional ``N_i = |size_i| * mark_i``:

    IM = sum_i N_i * imf_i,     MM = sum_i N_i * mmf

Initial margin fraction ``imf_i`` (``scaling``):

* ``none``: ``imf = imf_base``.
* ``size`` (FTX-style size scaling): ``imf = max(imf_base, imf_factor * sqrt(|size_i|))``,
  size in units of the underlying.
* ``open_interest`` (dYdX v4 open-interest-based IMF): with ``OI_u`` the venue's open interest
  notional of the underlying (``open_interest`` in the config),
  ``imf = imf_base + (imf_max - imf_base) * clamp((OI_u - oi_lower) / (oi_upper - oi_lower), 0, 1)``.

Options in a cross account are charged with the standard (Deribit) options formulas of
:mod:`offchain.risk.margin.standard_options` (``options`` sub-config), on the equity basis of
that module: the short option's mark is counted once (the account's equity already carries it)
and long option values are not margin.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import Field, model_validator

from offchain.risk.instruments import Option, Portfolio
from offchain.risk.margin.base import MarginModel, MarginResult, ModelConfig
from offchain.risk.margin.standard_options import StandardOptionsConfig, options_requirement
from offchain.risk.market import MarketState


class CrossConfig(ModelConfig):
    imf_base: float = Field(default=0.02, gt=0, le=1)
    mmf: float = Field(default=0.01, gt=0, le=1)
    scaling: Literal["none", "size", "open_interest"] = "none"
    imf_factor: float = Field(default=0.002, ge=0, le=1)
    imf_max: float = Field(default=0.2, gt=0, le=1)
    oi_lower: float = Field(default=50_000_000.0, ge=0)
    oi_upper: float = Field(default=500_000_000.0, gt=0)
    open_interest: dict[str, float] = Field(default_factory=dict)
    options: StandardOptionsConfig = Field(default_factory=StandardOptionsConfig)

    @model_validator(mode="after")
    def _consistent(self) -> CrossConfig:
        if self.imf_base < self.mmf:
            raise ValueError("imf_base must be >= mmf (IM >= MM)")
        if self.imf_max < self.imf_base:
            raise ValueError("imf_max must be >= imf_base")
        if self.oi_upper <= self.oi_lower:
            raise ValueError("oi_upper must be > oi_lower")
        for u, oi in self.open_interest.items():
            if not math.isfinite(oi) or oi < 0:
                raise ValueError(f"open_interest.{u} must be a finite number >= 0")
        return self

    def imf(self, underlying: str, size: float) -> float:
        if self.scaling == "size":
            return max(self.imf_base, self.imf_factor * math.sqrt(abs(size)))
        if self.scaling == "open_interest":
            oi = self.open_interest.get(underlying, 0.0)
            x = min(max((oi - self.oi_lower) / (self.oi_upper - self.oi_lower), 0.0), 1.0)
            return self.imf_base + (self.imf_max - self.imf_base) * x
        return self.imf_base


class CrossMargin(MarginModel[CrossConfig]):
    """Account-level cross margin (see the module docstring)."""

    name = "cross"
    config_cls = CrossConfig

    def requirement(self, portfolio: Portfolio, market: MarketState) -> MarginResult:
        cfg = self.config
        net: dict[str, float] = {}
        first: dict[str, int] = {}
        for k, pos in enumerate(portfolio.positions):
            net[pos.instrument] = net.get(pos.instrument, 0.0) + pos.size
            first.setdefault(pos.instrument, k)
        im = mm = 0.0
        rows: list[dict[str, Any]] = []
        options: list[tuple[Option, float, float, float, float]] = []
        for sym, size in net.items():
            inst = portfolio.instrument(sym)
            field = f"positions[{first[sym]}].instrument"
            mark = market.mark(inst, field)
            if size == 0:
                continue
            if isinstance(inst, Option):
                spot = market.spot(inst.underlying, field)
                options.append((inst, size, mark, spot, market.forward(inst.underlying, inst.expiry, field)))
                continue
            notional = abs(size) * mark
            imf = cfg.imf(inst.underlying, size)
            p_im, p_mm = notional * imf, notional * cfg.mmf
            im += p_im
            mm += p_mm
            rows.append({"instrument": sym, "net_size": size, "mark": mark, "imf": imf, "im": p_im, "mm": p_mm})
        details: dict[str, Any] = {"scaling": cfg.scaling}
        if options:
            o_im, o_mm, o_rows, o_details = options_requirement(options, cfg.options)
            im += o_im
            mm += o_mm
            rows += [{"instrument": r["instrument"], "net_size": r["size"], "mark": r["mark"], "imf": None,
                      "im": r["venue_im"], "mm": r["venue_mm"]} for r in o_rows]
            details["options"] = {"im": o_im, "mm": o_mm, **o_details}
        return MarginResult(model=self.name, im=im, mm=mm, details=details, per_position=rows)
