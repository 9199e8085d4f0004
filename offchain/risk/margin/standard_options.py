"""Standard (per-position) options margin in USD: Deribit, bit.com, Aevo and Derive's standard manager.

Per short option, with ``S`` the index, ``mark`` the option's value per unit and the
out-of-the-money amount ``OTM = max(K - S, 0)`` (calls) or ``max(S - K, 0)`` (puts), the venue
formulas (Deribit "Margin requirements - options", quoted per BTC and multiplied by ``S``):

    short call:  IM_v = max(im_base - OTM / S, im_min) * S + mark
                 MM_v = mm_base * S + mark
    short put:   MM_v = max(mm_base * S, mm_put_mark * mark) + mark
                 IM_v = max(max(im_base - OTM / S, im_min) * S + mark, put_im_mm_scale * MM_v)
    long:        IM_v = MM_v = 0   (the premium is paid from the balance)

Derive's standard manager also caps each expiry's requirement at its maximum loss
(``max_loss_cap``): ``min(sum of the isolated requirements, L)`` with ``L`` the worst settlement
payoff of the expiry's options (at 0 and at every strike) plus ``unpaired_scale * F *`` the net
short calls (Derive ``StandardManager._calcNetBasicMarginSingleExpiry``).

**Which balance the requirement is compared with** (issue 14). The ``+ mark`` term is the cost
of buying a short back. Deribit compares the total requirement with the *margin balance*
("This total margin requirement is what is compared to the margin balance", Deribit KB "Margin
types and usage"); bit.com, which publishes the same formulas, defines ``Margin balance = cash +
unsettled PNL - interest`` (no options value) next to ``Equity = ... + options value``; Derive's
standard manager returns ``cash + sum of per-expiry margins`` (long options count 0). So the
short's mark is charged **once**, against a balance that excludes option values. This engine's
equity *includes* option values (``offchain.risk.account``), so the model reports the
equivalent requirement on the equity basis:

    R_equity = R_venue - sum_short |q| mark  (short_mark = "once"; "twice" keeps it: the old
                                              double charge, kept only to reproduce it)
             + sum_long  q mark              (long_value = "excluded": the value of long options
                                              is not margin; "maintenance_only": excluded from
                                              IM only (Aevo: long IM = premium, long MM none);
                                              "included": counted in full)

so that ``equity >= R_equity`` exactly when the venue's ``balance >= R_venue``. The venue-basis
figures are in ``details`` (``venue_im``, ``venue_mm``).

Perps and futures: ``|q| mark (rate + rate_per_unit |q|)`` with the rates of the underlying
(``linear_by_underlying``, else the defaults: Deribit BTC_USDC linear perpetual, IM 2% and MM
1% plus 0.005% per BTC). Venue collateral ratios (``collateral_haircuts``) add
``amount * price * max(0, h_venue - h_account)`` to IM and MM.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Literal

from pydantic import Field, model_validator

from offchain.risk.instruments import Option, Portfolio
from offchain.risk.margin.base import MarginModel, MarginResult, ModelConfig, collateral_charge
from offchain.risk.margin.presets import merge_preset
from offchain.risk.market import MarketState


class LinearRates(ModelConfig):
    im_rate: float = Field(ge=0, le=1)
    mm_rate: float = Field(ge=0, le=1)
    rate_per_unit: float = Field(default=0.0, ge=0, le=0.01)

    @model_validator(mode="after")
    def _im_ge_mm(self) -> LinearRates:
        if self.im_rate < self.mm_rate:
            raise ValueError("im_rate must be >= mm_rate")
        return self


class StandardOptionsConfig(ModelConfig):
    """Standard margin parameters (defaults: Deribit BTC; presets ``deribit_sm``, ``bitcom_sm``,
    ``aevo_sm``, ``derive_srm``)."""

    preset: str | None = None
    name: str = "custom"
    im_base: float = Field(default=0.15, ge=0, le=1)
    im_min: float = Field(default=0.10, ge=0, le=1)
    mm_base: float = Field(default=0.075, ge=0, le=1)
    mm_put_mark: float = Field(default=0.075, ge=0, le=1)
    put_im_mm_scale: float = Field(default=1.0, ge=1, le=2)
    short_mark: Literal["once", "twice"] = "once"
    long_value: Literal["excluded", "maintenance_only", "included"] = "excluded"
    max_loss_cap: bool = False
    unpaired_im_scale: float = Field(default=1.2, ge=0, le=10)
    unpaired_mm_scale: float = Field(default=1.1, ge=0, le=10)
    linear_im_rate: float = Field(default=0.02, ge=0, le=1)
    linear_mm_rate: float = Field(default=0.01, ge=0, le=1)
    linear_rate_per_unit: float = Field(default=0.00005, ge=0, le=0.01)
    linear_by_underlying: dict[str, LinearRates] = Field(default_factory=dict)
    collateral_haircuts: dict[str, float] = Field(default_factory=dict)
    collateral_default_haircut: float | None = Field(default=0.0, ge=0, le=1)

    @model_validator(mode="before")
    @classmethod
    def _apply_preset(cls, data: Any) -> Any:
        return merge_preset(data, "standard_options")

    @model_validator(mode="after")
    def _im_ge_mm(self) -> StandardOptionsConfig:
        if self.im_min < self.mm_base:
            raise ValueError("im_min must be >= mm_base (IM >= MM)")
        if self.linear_im_rate < self.linear_mm_rate:
            raise ValueError("linear_im_rate must be >= linear_mm_rate")
        if self.unpaired_im_scale < self.unpaired_mm_scale:
            raise ValueError("unpaired_im_scale must be >= unpaired_mm_scale")
        for asset, h in self.collateral_haircuts.items():
            if not 0 <= h <= 1:
                raise ValueError(f"collateral_haircuts.{asset} must be in [0, 1]")
        return self

    def linear_rates(self, underlying: str) -> LinearRates:
        return self.linear_by_underlying.get(
            underlying, LinearRates(im_rate=self.linear_im_rate, mm_rate=self.linear_mm_rate,
                                    rate_per_unit=self.linear_rate_per_unit))


def short_option_margin(
    is_call: bool, spot: float, strike: float, mark: float, cfg: StandardOptionsConfig
) -> tuple[float, float]:
    """Venue-basis (IM, MM) per unit of a short option (USD), formulas of the module docstring."""
    otm = max(strike - spot, 0.0) if is_call else max(spot - strike, 0.0)
    im_core = max(cfg.im_base - otm / spot, cfg.im_min) * spot + mark
    if is_call:
        mm = cfg.mm_base * spot + mark
        return im_core, mm
    mm = max(cfg.mm_base * spot, cfg.mm_put_mark * mark) + mark
    return max(im_core, cfg.put_im_mm_scale * mm), mm


def payoff(is_call: bool, strike: float, price: float) -> float:
    return max(price - strike, 0.0) if is_call else max(strike - price, 0.0)


def max_loss(legs: list[tuple[bool, float, float]], forward: float, unpaired_scale: float) -> float:
    """Derive's maximum loss of one expiry's options ``(is_call, strike, size)`` (USD, >= 0)."""
    prices = [0.0] + sorted({k for _, k, _ in legs})
    worst = min(0.0, min(sum(q * payoff(c, k, p) for c, k, q in legs) for p in prices))
    net_calls = sum(q for c, _, q in legs if c)
    return -worst + unpaired_scale * forward * max(0.0, -net_calls)


def option_margins(
    options: list[tuple[Option, float, float, float, float]], cfg: StandardOptionsConfig
) -> tuple[float, float, list[dict[str, Any]], dict[str, Any]]:
    """Venue-basis (IM, MM) of net option positions ``(inst, size, mark, spot, forward)``,
    per-position rows and the per-expiry max-loss details."""
    im = mm = 0.0
    rows: list[dict[str, Any]] = []
    groups: dict[tuple[str, int], list[int]] = defaultdict(list)
    for k, (inst, q, _mark, _spot, _fwd) in enumerate(options):
        groups[(inst.underlying, inst.expiry)].append(k)
    capped: dict[str, Any] = {}
    for (u, expiry), idx in groups.items():
        g_im = g_mm = 0.0
        for k in idx:
            inst, q, mark, spot, _ = options[k]
            p_im = p_mm = 0.0
            if q < 0:
                u_im, u_mm = short_option_margin(inst.is_call, spot, inst.strike, mark, cfg)
                p_im, p_mm = -q * u_im, -q * u_mm
            g_im += p_im
            g_mm += p_mm
            rows.append({"instrument": inst.symbol, "size": q, "mark": mark, "venue_im": p_im, "venue_mm": p_mm})
        if cfg.max_loss_cap:
            legs = [(options[k][0].is_call, options[k][0].strike, options[k][1]) for k in idx]
            fwd = options[idx[0]][4]
            cap_im = max_loss(legs, fwd, cfg.unpaired_im_scale)
            cap_mm = max_loss(legs, fwd, cfg.unpaired_mm_scale)
            capped[f"{u}:{expiry}"] = {"isolated_im": g_im, "isolated_mm": g_mm, "max_loss_im": cap_im,
                                       "max_loss_mm": cap_mm}
            g_im, g_mm = min(g_im, cap_im), min(g_mm, cap_mm)
        im += g_im
        mm += g_mm
    return im, mm, rows, capped


def options_requirement(
    options: list[tuple[Option, float, float, float, float]], cfg: StandardOptionsConfig
) -> tuple[float, float, list[dict[str, Any]], dict[str, Any]]:
    """Equity-basis (IM, MM) of net option positions ``(inst, size, mark, spot, forward)``: the
    venue formulas converted by the balance convention (module docstring), rows and details."""
    venue_im, venue_mm, rows, capped = option_margins(options, cfg)
    short_value = sum(-q * m for _, q, m, _, _ in options if q < 0)
    long_value = sum(q * m for _, q, m, _, _ in options if q > 0)
    shift = -short_value if cfg.short_mark == "once" else 0.0
    im_shift = shift + (long_value if cfg.long_value in ("excluded", "maintenance_only") else 0.0)
    mm_shift = shift + (long_value if cfg.long_value == "excluded" else 0.0)
    # >= 0 in exact arithmetic (the clamp absorbs float rounding of R_venue - mark)
    im = max(0.0, venue_im + im_shift)
    mm = max(0.0, venue_mm + mm_shift)
    details: dict[str, Any] = {"venue_option_im": venue_im, "venue_option_mm": venue_mm,
                               "short_option_value": short_value, "long_option_value": long_value,
                               "short_mark": cfg.short_mark, "long_value": cfg.long_value}
    if capped:
        details["max_loss_cap"] = capped
    return im, mm, rows, details


def binding_position(rows: list[dict[str, Any]], capped: dict[str, Any]) -> str:
    """The position with the largest venue maintenance requirement (standard margin has no
    scenarios), or the expiry whose maximum loss caps it."""
    for key, c in capped.items():
        if c["max_loss_mm"] < c["isolated_mm"]:
            return f"max loss of expiry {key}"
    top = max(rows, key=lambda r: r["venue_mm"], default=None)
    if top is None or top["venue_mm"] <= 0:
        return "none"
    side = "short" if top["size"] < 0 else "long"
    return f"{top['instrument']} ({side} {abs(top['size']):g}): per-position formula"


class StandardOptionsMargin(MarginModel[StandardOptionsConfig]):
    """Per-position standard margin for options, simple rates for linear (module docstring)."""

    name = "standard_options"
    config_cls = StandardOptionsConfig

    def requirement(self, portfolio: Portfolio, market: MarketState) -> MarginResult:
        cfg = self.config
        net: dict[str, float] = defaultdict(float)
        first: dict[str, int] = {}
        for k, pos in enumerate(portfolio.positions):
            net[pos.instrument] += pos.size
            first.setdefault(pos.instrument, k)
        options: list[tuple[Option, float, float, float, float]] = []
        lin_im = lin_mm = 0.0
        rows: list[dict[str, Any]] = []
        for sym, q in net.items():
            inst = portfolio.instrument(sym)
            field = f"positions[{first[sym]}].instrument"
            mark = market.mark(inst, field)
            spot = market.spot(inst.underlying, field)
            if q == 0:
                continue
            if isinstance(inst, Option):
                options.append((inst, q, mark, spot, market.forward(inst.underlying, inst.expiry, field)))
                continue
            r = cfg.linear_rates(inst.underlying)
            n = abs(q) * mark
            p_im = n * (r.im_rate + r.rate_per_unit * abs(q))
            p_mm = n * (r.mm_rate + r.rate_per_unit * abs(q))
            lin_im += p_im
            lin_mm += p_mm
            rows.append({"instrument": sym, "size": q, "mark": mark, "venue_im": p_im, "venue_mm": p_mm})
        opt_im, opt_mm, opt_rows, details = options_requirement(options, cfg)
        rows += opt_rows
        coll = collateral_charge(portfolio, market, cfg.collateral_haircuts, cfg.collateral_default_haircut,
                                 cfg.preset or cfg.name)
        details.update({"preset": cfg.preset or cfg.name, "venue_im": lin_im + details["venue_option_im"],
                        "venue_mm": lin_mm + details["venue_option_mm"], "collateral_charge": coll,
                        "binding": binding_position(rows, details.get("max_loss_cap", {}))})
        return MarginResult(model=self.name, im=lin_im + opt_im + coll, mm=lin_mm + opt_mm + coll,
                            details=details, per_position=rows)
