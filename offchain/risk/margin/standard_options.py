"""Standard (per-position) options margin, Deribit style, in USD.

Source: Deribit "Margin requirements - options" (formulas quoted per BTC of underlying; here
multiplied by the underlying's index price ``S`` to get USD, as Aevo's USD version does).
With ``mark`` the option's mark value per unit (USD) and the out-of-the-money amount
``OTM = max(K - S, 0)`` for calls, ``max(S - K, 0)`` for puts:

    long call / put:  IM = MM = 0   (the premium is paid from cash; the position can only
                                     lose what was paid)
    short call:       IM = max(im_base - OTM / S, im_min) * S + mark
                      MM = mm_base * S + mark
    short put:        MM = max(mm_base * S, mm_base * mark) + mark
                      IM = max(max(im_base - OTM / S, im_min) * S + mark, MM)

Defaults ``im_base = 0.15``, ``im_min = 0.10``, ``mm_base = 0.075`` (Deribit). Perps and
futures in the same account are charged ``|size| * mark * (rate + rate_per_unit * |size|)``
(Deribit futures: a base rate growing with position size), IM and MM separately.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from offchain.risk.instruments import Option, Portfolio
from offchain.risk.margin.base import MarginModel, MarginResult, ModelConfig
from offchain.risk.market import MarketState


class StandardOptionsConfig(ModelConfig):
    im_base: float = Field(default=0.15, ge=0, le=1)
    im_min: float = Field(default=0.10, ge=0, le=1)
    mm_base: float = Field(default=0.075, ge=0, le=1)
    linear_im_rate: float = Field(default=0.04, ge=0, le=1)
    linear_mm_rate: float = Field(default=0.02, ge=0, le=1)
    linear_rate_per_unit: float = Field(default=0.00005, ge=0, le=0.01)

    @model_validator(mode="after")
    def _im_ge_mm(self) -> StandardOptionsConfig:
        if self.im_min < self.mm_base:
            raise ValueError("im_min must be >= mm_base (IM >= MM)")
        if self.linear_im_rate < self.linear_mm_rate:
            raise ValueError("linear_im_rate must be >= linear_mm_rate")
        return self


def short_option_margin(
    is_call: bool, spot: float, strike: float, mark: float, cfg: StandardOptionsConfig
) -> tuple[float, float]:
    """(IM, MM) per unit of a short option (USD), Deribit formulas (module docstring)."""
    otm = max(strike - spot, 0.0) if is_call else max(spot - strike, 0.0)
    im_core = max(cfg.im_base - otm / spot, cfg.im_min) * spot + mark
    if is_call:
        mm = cfg.mm_base * spot + mark
        return im_core, mm
    mm = max(cfg.mm_base * spot, cfg.mm_base * mark) + mark
    return max(im_core, mm), mm


class StandardOptionsMargin(MarginModel[StandardOptionsConfig]):
    """Per-position Deribit-style margin for options (and simple rates for linear)."""

    name = "standard_options"
    config_cls = StandardOptionsConfig

    def requirement(self, portfolio: Portfolio, market: MarketState) -> MarginResult:
        cfg = self.config
        im = mm = premium = 0.0
        rows = []
        for k, (inst, pos) in enumerate(portfolio.resolved()):
            field = f"positions[{k}].instrument"
            mark = market.mark(inst, field)
            spot = market.spot(inst.underlying, field)
            q = abs(pos.size)
            if isinstance(inst, Option):
                if pos.size > 0:
                    p_im = p_mm = 0.0
                    premium += q * mark
                else:
                    u_im, u_mm = short_option_margin(inst.is_call, spot, inst.strike, mark, cfg)
                    p_im, p_mm = q * u_im, q * u_mm
            else:
                rate_inc = cfg.linear_rate_per_unit * q
                p_im = q * mark * (cfg.linear_im_rate + rate_inc)
                p_mm = q * mark * (cfg.linear_mm_rate + rate_inc)
            im += p_im
            mm += p_mm
            rows.append({"instrument": inst.symbol, "size": pos.size, "mark": mark, "im": p_im, "mm": p_mm})
        return MarginResult(
            model=self.name, im=im, mm=mm, details={"long_option_value": premium}, per_position=rows
        )
