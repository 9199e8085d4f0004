"""Portfolio risk-matrix margin (Deribit portfolio margin, CME SPAN, Lyra/Derive PMRM style).

Scenarios (built by :func:`build_scenarios`, applied *jointly* to every underlying):

* Spot grid: ``2 * price_steps + 1`` buckets ``x_k = (k / price_steps) * R_u`` for
  ``k = -price_steps..price_steps``, where ``R_u`` is the price range of underlying ``u``
  (``price_range_by_underlying`` or ``price_range``).
* Vol shocks per spot bucket: ``up``, ``same`` (if ``include_vol_same``), ``down``. For an
  option with ``DTE`` days to expiry the shock is scaled by
  ``scale = (30 / max(DTE, dte_floor_days)) ** p`` with ``p = short_term_vega_power`` when
  ``DTE < vega_power_switch_days`` else ``long_term_vega_power`` (Deribit PM).
  ``relative`` mode: ``vol_up = max(vol (1 + vol_up * scale), min_vol_up)``,
  ``vol_down = vol (1 - vol_down * scale)``; ``absolute`` mode: ``vol +/- shock * scale``
  (SPAN's volatility scan range). Vols are floored at ``VOL_FLOOR``.
  At the outermost buckets (``k = +/-price_steps``) only the shocks in ``outer_vol_shocks`` are
  used when it is set (Lyra v2: vol up only at +/-20%).
* Extreme (tail) moves: spot ``m * R_u`` (``extreme_mode = "multiple"``) or ``m`` itself
  (``"absolute"``, the same relative move for every underlying) for each entry of
  ``extreme_moves`` (a multiple ``m``
  counted at ``extreme_weight``, or a pair ``[m, weight]``), vol ``extreme_vol`` (``same``, or
  ``up`` as in Derive's tail scenarios), their PnL multiplied by the weight (SPAN: 3x the price
  scan range covered at 35%; Derive: dampening per tail scenario).

Requirement (per account; sizes netted per instrument, ``P[s, i] = size_i * pnl_i(s) * w_s``):

    P'[s, i]   = P[s, i] * static_discount   if P[s, i] > 0   else P[s, i]
    loss_s     = - sum_i P'[s, i]
    scan_risk  = max(0, max_s loss_s)
    contingency= sum_i |size_i| * spot_i * rate(kind_i)       (perp/future/option rates; with
                 option_contingency_side = "short" only short options: max(-size_i, 0))
    MM         = max(scan_risk + contingency, short_option_minimum * sum_{short options} |size_i| * spot_i)
    IM         = im_factor * MM

With ``static_discount = 1`` and ``short_option_minimum = 0`` the requirement is exactly the
linear form of the protocol's solvency statement (``docs/ARCHITECTURE.md``) and the epoch
export reproduces it. The requirement is positively homogeneous in the sizes and, since each
term is convex in the sizes, sub-additive.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import Field, model_validator

from offchain.risk.instruments import Portfolio
from offchain.risk.margin.base import MarginModel, MarginResult, ModelConfig, net_positions
from offchain.risk.market import MarketState
from offchain.risk.valuation import KIND_FUTURE, KIND_OPTION, KIND_PERP, InstrumentTable
from zkmargin.errors import ConfigError

VOL_FLOOR = 1e-4  # lowest shocked implied vol (annualized fraction)
VOL_UP, VOL_SAME, VOL_DOWN = 1, 0, -1
PRESETS = ("deribit_pm", "cme_span", "derive_pmrm")


class Contingency(ModelConfig):
    """Add-on rates as a fraction of the underlying's spot per unit of |size|."""

    perp: float = Field(default=0.0, ge=0, le=1)
    future: float = Field(default=0.0, ge=0, le=1)
    option: float = Field(default=0.0, ge=0, le=1)


class RiskMatrixConfig(ModelConfig):
    """Risk-matrix parameters; ``preset`` loads a shipped preset (default ``deribit_pm``; ``null``
    for none), other keys override it."""

    preset: str | None = None
    name: str = "custom"
    source: str = ""
    price_range: float = Field(default=0.16, gt=0, lt=1)
    price_range_by_underlying: dict[str, float] = Field(default_factory=dict)
    price_steps: int = Field(default=4, ge=1, le=50)
    vol_shock_mode: Literal["relative", "absolute"] = "relative"
    vol_up: float = Field(default=0.5, ge=0, le=10)
    vol_down: float = Field(default=0.25, ge=0, le=1)
    include_vol_same: bool = True
    min_vol_up: float = Field(default=0.0, ge=0, le=10)
    short_term_vega_power: float = Field(default=0.30, ge=0, le=2)
    long_term_vega_power: float = Field(default=0.13, ge=0, le=2)
    vega_power_switch_days: float = Field(default=30.0, gt=0)
    dte_floor_days: float = Field(default=1.0, gt=0)
    outer_vol_shocks: list[Literal["up", "same", "down"]] | None = None
    extreme_moves: list[float | tuple[float, float]] = Field(default_factory=list)
    extreme_weight: float = Field(default=1.0, ge=0, le=1)
    extreme_vol: Literal["same", "up", "down"] = "same"
    extreme_mode: Literal["multiple", "absolute"] = "multiple"
    contingency: Contingency = Field(default_factory=Contingency)
    option_contingency_side: Literal["all", "short"] = "all"
    static_discount: float = Field(default=1.0, ge=0, le=1)
    short_option_minimum: float = Field(default=0.0, ge=0, le=1)
    im_factor: float = Field(default=1.0, ge=1, le=6.5535)

    @model_validator(mode="before")
    @classmethod
    def _apply_preset(cls, data: Any) -> Any:
        if isinstance(data, dict) and "preset" not in data:
            data = {"preset": "deribit_pm", **data}
        if isinstance(data, dict) and data.get("preset"):
            base = load_preset_dict(str(data["preset"]))
            merged = {**base, **data}
            if "contingency" in data and isinstance(data["contingency"], dict):
                merged["contingency"] = {**base.get("contingency", {}), **data["contingency"]}
            return merged
        return data

    @model_validator(mode="after")
    def _ranges(self) -> RiskMatrixConfig:
        for u, r in self.price_range_by_underlying.items():
            if not 0 < r < 1:
                raise ValueError(f"price_range_by_underlying.{u} must be in (0, 1)")
        widest = max([self.price_range, *self.price_range_by_underlying.values()])
        if self.extreme_mode == "absolute":
            widest = 1.0
        for m, w in self.extreme_pairs():
            if m * widest <= -1:
                raise ValueError(f"extreme move {m} x price range reaches -100%")
            if not 0 <= w <= 1:
                raise ValueError(f"extreme move weight {w} outside [0, 1]")
        if self.outer_vol_shocks is not None and not self.outer_vol_shocks:
            raise ValueError("outer_vol_shocks must not be empty (null for the full set)")
        return self

    def extreme_pairs(self) -> list[tuple[float, float]]:
        """``(multiple, weight)`` of every extreme move."""
        return [(float(e[0]), float(e[1])) if isinstance(e, (tuple, list)) else (float(e), self.extreme_weight)
                for e in self.extreme_moves]

    def range_for(self, underlying: str) -> float:
        return self.price_range_by_underlying.get(underlying, self.price_range)

    @property
    def linear(self) -> bool:
        """True when the requirement is the protocol's linear form (epoch-exportable)."""
        return (
            self.static_discount == 1.0
            and self.short_option_minimum == 0.0
            and (self.option_contingency_side == "all" or self.contingency.option == 0.0)
        )


def load_preset_dict(name: str) -> dict[str, Any]:
    """The JSON of a shipped preset (``offchain/risk/presets/<name>.json``)."""
    if name not in PRESETS:
        raise ConfigError("preset", f"unknown preset {name!r} (known: {', '.join(PRESETS)})")
    text = resources.files("offchain.risk.presets").joinpath(f"{name}.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    data.pop("worked_examples", None)
    return data


def preset_config(name: str, **overrides: Any) -> RiskMatrixConfig:
    """A validated config for a shipped preset, with optional overrides."""
    return RiskMatrixConfig.model_validate({"preset": name, **overrides})


class ScenarioSet:
    """Scenario definitions for a set of underlyings: spot shocks ``(S, U)``, vol direction
    ``(S,)`` (+1 up, 0 same, -1 down) and weight ``(S,)``."""

    def __init__(self, config: RiskMatrixConfig, underlyings: tuple[str, ...]) -> None:
        ranges = np.array([config.range_for(u) for u in underlyings])
        fractions = np.arange(-config.price_steps, config.price_steps + 1) / config.price_steps
        vol_dirs = [VOL_UP] + ([VOL_SAME] if config.include_vol_same else []) + [VOL_DOWN]
        names = {"up": VOL_UP, "same": VOL_SAME, "down": VOL_DOWN}
        outer = [names[v] for v in config.outer_vol_shocks] if config.outer_vol_shocks else vol_dirs
        shocks: list[NDArray[np.float64]] = []
        dirs: list[int] = []
        weights: list[float] = []
        for f in fractions:
            for d in (outer if abs(f) == 1.0 else vol_dirs):
                shocks.append(f * ranges)
                dirs.append(d)
                weights.append(1.0)
        for m, w in config.extreme_pairs():
            shocks.append(m * (ranges if config.extreme_mode == "multiple" else np.ones_like(ranges)))
            dirs.append(names[config.extreme_vol])
            weights.append(w)
        self.config = config
        self.underlyings = underlyings
        self.spot_shock = np.array(shocks).reshape(len(shocks), len(underlyings))
        self.vol_dir = np.array(dirs, dtype=np.int64)
        self.weight = np.array(weights)

    @property
    def size(self) -> int:
        return len(self.weight)

    def metadata(self) -> list[dict[str, Any]]:
        c = self.config
        out = []
        for s in range(self.size):
            d = int(self.vol_dir[s])
            vol = c.vol_up if d == VOL_UP else (-c.vol_down if d == VOL_DOWN else 0.0)
            out.append(
                {
                    "spot_shock": {u: float(self.spot_shock[s, k]) for k, u in enumerate(self.underlyings)},
                    "vol_shock": float(vol),
                    "weight": float(self.weight[s]),
                }
            )
        return out


def shocked_vols(config: RiskMatrixConfig, table: InstrumentTable, vol_dir: NDArray[np.int64]) -> NDArray[np.float64]:
    """Shocked implied vols ``(S, n)`` (NaN for linear instruments)."""
    dte = np.where(np.isnan(table.dte), config.vega_power_switch_days, table.dte)
    power = np.where(dte < config.vega_power_switch_days, config.short_term_vega_power, config.long_term_vega_power)
    scale = (30.0 / np.maximum(dte, config.dte_floor_days)) ** power  # (n,)
    vol = table.vol[None, :]
    d = vol_dir[:, None]
    if config.vol_shock_mode == "relative":
        up = np.maximum(vol * (1.0 + config.vol_up * scale), config.min_vol_up)
        down = vol * (1.0 - config.vol_down * scale)
    else:
        up = vol + config.vol_up * scale
        down = vol - config.vol_down * scale
    out = np.where(d == VOL_UP, up, np.where(d == VOL_DOWN, down, vol))
    return np.asarray(np.maximum(out, VOL_FLOOR))


def scenario_pnl_matrix(
    config: RiskMatrixConfig, table: InstrumentTable
) -> tuple[ScenarioSet, NDArray[np.float64]]:
    """Weighted PnL per unit of each instrument in each scenario, ``(S, n)``."""
    scen = ScenarioSet(config, table.underlyings)
    vols = shocked_vols(config, table, scen.vol_dir)
    pnl = table.pnl(scen.spot_shock, vols) * scen.weight[:, None]
    return scen, pnl


def contingency_per_unit(config: RiskMatrixConfig, table: InstrumentTable) -> NDArray[np.float64]:
    """Add-on per unit of |size| of each instrument (USD)."""
    rates = np.select(
        [table.kind == KIND_PERP, table.kind == KIND_FUTURE, table.kind == KIND_OPTION],
        [config.contingency.perp, config.contingency.future, config.contingency.option],
    )
    return np.asarray(rates * table.spot)


def contingency_sizes(config: RiskMatrixConfig, table: InstrumentTable, size: NDArray[np.float64]) -> NDArray[np.float64]:
    """The sizes the per-unit add-ons apply to: ``|size|``, or only the short part of options
    when ``option_contingency_side == "short"`` (Derive: per net short contract)."""
    out = np.abs(size)
    if config.option_contingency_side == "short":
        out = np.where(table.is_option, np.maximum(-size, 0.0), out)
    return np.asarray(out)


def requirement_from_pnl(
    config: RiskMatrixConfig,
    size: NDArray[np.float64],
    pnl: NDArray[np.float64],
    addon: NDArray[np.float64],
    table: InstrumentTable,
) -> tuple[float, float, NDArray[np.float64]]:
    """(scan_risk, MM, portfolio scenario PnL) for net sizes and a per-unit PnL matrix."""
    pos_pnl = pnl * size[None, :]
    if config.static_discount != 1.0:
        pos_pnl = np.where(pos_pnl > 0, pos_pnl * config.static_discount, pos_pnl)
    port = pos_pnl.sum(axis=1)
    scan = max(0.0, float(np.max(-port)))
    mm = scan + float(contingency_sizes(config, table, size) @ addon)
    if config.short_option_minimum > 0:
        short_opt = table.is_option & (size < 0)
        som = config.short_option_minimum * float(np.abs(size[short_opt]) @ table.spot[short_opt])
        mm = max(mm, som)
    return scan, mm, port


class RiskMatrixMargin(MarginModel[RiskMatrixConfig]):
    """Portfolio risk-matrix margin; see the module docstring for the formula."""

    name = "risk_matrix"
    config_cls = RiskMatrixConfig

    def requirement(self, portfolio: Portfolio, market: MarketState) -> MarginResult:
        net = net_positions(portfolio, market)
        cfg = self.config
        scen, pnl = scenario_pnl_matrix(cfg, net.table)
        addon = contingency_per_unit(cfg, net.table)
        scan, mm, port = requirement_from_pnl(cfg, net.size, pnl, addon, net.table)
        worst = int(np.argmin(port))
        c_sizes = contingency_sizes(cfg, net.table, net.size)
        contingency = float(c_sizes @ addon)
        return MarginResult(
            model=self.name,
            im=cfg.im_factor * mm,
            mm=mm,
            details={
                "preset": cfg.preset or cfg.name,
                "scan_risk": scan,
                "contingency": contingency,
                "short_option_minimum_applied": bool(mm > scan + contingency + 1e-12),
                "worst_scenario": worst,
                "n_scenarios": scen.size,
                "im_factor": cfg.im_factor,
            },
            scenario_pnl=[float(x) for x in port],
            scenarios=scen.metadata(),
            per_position=[
                {"instrument": s, "net_size": float(q), "mark": float(m), "contingency": float(c * a)}
                for s, q, m, a, c in zip(net.table.symbols, net.size, net.table.mark, addon, c_sizes)
            ],
        )
