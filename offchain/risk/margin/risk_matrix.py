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
    contingency= options: rate_option * spot * (option_contingency_side)
                   "all":   sum_i |size_i|                   (every option, long or short)
                   "short": sum_i max(-size_i, 0)            (per net short contract, Derive PM1)
                   "net_short_per_strike": sum_{expiry, strike} max(0, -(calls + puts))
                            (Deribit: "call +10 and put -20 at strike X -> net short 10")
               + perps/futures (future_contingency)
                   "all":   sum_i |size_i| * spot * rate(kind_i)
                   "offsetting": rate_future * spot * min(long, short) per underlying, perps
                            counted as futures (Deribit: "long 100 BTC in Future A, short 100 BTC in
                            Future B -> 1% * 100 BTC")
               + the venue's collateral haircuts (``collateral_haircuts``, as in
                 :func:`offchain.risk.margin.base.collateral_charge`)
    MM         = max(scan_risk + contingency, short_option_minimum * sum_{short options} |size_i| * spot_i)
    IM         = im_factor * MM

With ``static_discount = 1``, ``short_option_minimum = 0`` and per-position contingencies
(``all``) the requirement is exactly the linear form of the protocol's solvency statement
(``docs/ARCHITECTURE.md``) and the epoch export reproduces it; the netted contingencies are
bounded above by the per-position ones, so a linearized export stays conservative. The requirement is positively homogeneous in the sizes and, since each
term is convex in the sizes, sub-additive.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from pydantic import Field, model_validator

from offchain.risk.instruments import Portfolio
from offchain.risk.margin.base import MarginModel, MarginResult, ModelConfig, collateral_charge, net_positions
from offchain.risk.margin.presets import merge_preset
from offchain.risk.market import MarketState
from offchain.risk.valuation import KIND_FUTURE, KIND_PERP, InstrumentTable

VOL_FLOOR = 1e-4  # lowest shocked implied vol (annualized fraction)
#: the portfolio risk-matrix presets compared side by side (``zkmargin compare``, the dashboard)
PRESETS = ("deribit_pm", "cme_span", "derive_pmrm")
VOL_UP, VOL_SAME, VOL_DOWN = 1, 0, -1


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
    option_contingency_side: Literal["all", "short", "net_short_per_strike"] = "all"
    future_contingency: Literal["all", "offsetting"] = "all"
    collateral_haircuts: dict[str, float] = Field(default_factory=dict)
    collateral_default_haircut: float | None = Field(default=0.0, ge=0, le=1)
    static_discount: float = Field(default=1.0, ge=0, le=1)
    short_option_minimum: float = Field(default=0.0, ge=0, le=1)
    im_factor: float = Field(default=1.0, ge=1, le=6.5535)

    @model_validator(mode="before")
    @classmethod
    def _apply_preset(cls, data: Any) -> Any:
        return merge_preset(data, "risk_matrix", default="deribit_pm")

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
        if self.future_contingency == "offsetting" and self.contingency.perp != self.contingency.future:
            raise ValueError("with future_contingency 'offsetting' perps count as futures: contingency.perp "
                             "must equal contingency.future")
        for asset, h in self.collateral_haircuts.items():
            if not 0 <= h <= 1:
                raise ValueError(f"collateral_haircuts.{asset} must be in [0, 1]")
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
            and (self.future_contingency == "all"
                 or (self.contingency.future == 0.0 and self.contingency.perp == 0.0))
        )

    def linearized(self) -> RiskMatrixConfig:
        """The per-position (epoch-exportable) form: no static discount or short option
        minimum, contingencies on every ``|size|`` (an upper bound of the netted ones)."""
        return self.model_copy(update={"static_discount": 1.0, "short_option_minimum": 0.0,
                                       "option_contingency_side": "all", "future_contingency": "all"})


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
        [table.kind == KIND_PERP, table.kind == KIND_FUTURE, table.is_option],
        [config.contingency.perp, config.contingency.future, config.contingency.option],
    )
    return np.asarray(rates * table.spot)


class Contingencies:
    """The contingency add-on of net sizes ``q`` (one account ``(n,)`` or many ``(m, n)``, dense
    or scipy sparse), per the config's modes (module docstring)."""

    def __init__(self, config: RiskMatrixConfig, table: InstrumentTable) -> None:
        self.config = config
        self.table = table
        self.addon = contingency_per_unit(config, table)  # (n,) rate * spot
        opt = table.is_option
        lin = ~opt
        self.abs_rate = np.zeros(table.n)
        self.short_rate = np.zeros(table.n)
        if config.option_contingency_side == "all":
            self.abs_rate[opt] = self.addon[opt]
        elif config.option_contingency_side == "short":
            self.short_rate[opt] = self.addon[opt]
        if config.future_contingency == "all":
            self.abs_rate[lin] = self.addon[lin]
        # groups charged on max(0, -net) (strikes) / min(long, short) (underlyings): a group id
        # per instrument (-1: none) and a rate per group
        self.strike_group = np.full(table.n, -1, dtype=np.int64)
        self.strike_rate = np.zeros(0)
        if config.option_contingency_side == "net_short_per_strike" and np.any(opt):
            keys: dict[tuple[int, int, float, float], int] = {}
            rates: list[float] = []
            for j in np.flatnonzero(opt):
                # a strike of one expiry (everlasting options: of one funding period)
                key = (int(table.u_index[j]), int(table.kind[j]), float(table.t[j]), float(table.strike[j]))
                if key not in keys:
                    keys[key] = len(keys)
                    rates.append(float(self.addon[j]))
                self.strike_group[j] = keys[key]
            self.strike_rate = np.array(rates)
        # a strike with one option needs no netting: charge it per position (fast path)
        self.single_rate = np.zeros(table.n)
        self.multi_group = self.strike_group.copy()
        if self.strike_rate.size:
            member = self.strike_group >= 0
            counts = np.bincount(self.strike_group[member], minlength=self.strike_rate.size)
            single = member.copy()
            single[member] = counts[self.strike_group[member]] == 1
            self.single_rate[single] = self.strike_rate[self.strike_group[single]]
            self.multi_group[single] = -1
        self.linear_group = np.full(table.n, -1, dtype=np.int64)
        self.linear_rate = np.zeros(0)
        if config.future_contingency == "offsetting" and np.any(lin):
            us = sorted({int(u) for u in table.u_index[lin]})
            self.linear_rate = np.zeros(len(us))
            for j in np.flatnonzero(lin):
                k = us.index(int(table.u_index[j]))
                self.linear_group[j] = k
                self.linear_rate[k] = config.contingency.future * table.spot[j]

    def alone(self, q: NDArray[np.float64]) -> NDArray[np.float64]:
        """Each position's add-on if it were the only one (no netting), ``(n,)``."""
        rate = np.zeros(self.table.n)
        rate[self.strike_group >= 0] = self.strike_rate[self.strike_group[self.strike_group >= 0]]
        return np.asarray(np.abs(q) * self.abs_rate + np.maximum(-q, 0.0) * (self.short_rate + rate))

    def amount(self, q: Any) -> NDArray[np.float64]:
        """Add-on per account, ``(m,)`` (``(1,)`` for a 1-D ``q``); O(non-zeros) on CSR input."""
        if not sp.issparse(q) and np.ndim(q) == 1:
            return np.array([self._one(np.asarray(q, dtype=np.float64))])
        q = sp.csr_matrix(np.atleast_2d(np.asarray(q, dtype=np.float64))) if not sp.issparse(q) else q.tocsr()
        m = q.shape[0]
        rows = np.repeat(np.arange(m), np.diff(q.indptr))
        cols, data = q.indices, q.data
        neg_rate = self.short_rate + self.single_rate  # per-position short charges, singleton strikes
        weights = np.zeros(data.size)
        if np.any(self.abs_rate):
            weights += np.abs(data) * self.abs_rate[cols]
        if np.any(neg_rate):
            weights += np.maximum(-data, 0.0) * neg_rate[cols]
        out = np.bincount(rows, weights=weights, minlength=m)
        if np.any(self.multi_group >= 0):  # strikes with several options: net them first
            sel = self.multi_group[cols] >= 0
            r, g = rows[sel], self.multi_group[cols[sel]]
            net = sp.csr_matrix((data[sel], (r, g)), shape=(m, self.strike_rate.size))
            net.sum_duplicates()
            nr = np.repeat(np.arange(m), np.diff(net.indptr))
            out += np.bincount(nr, weights=np.maximum(-net.data, 0.0) * self.strike_rate[net.indices], minlength=m)
        if self.linear_rate.size:
            sel = self.linear_group[cols] >= 0
            r, g, d = rows[sel], self.linear_group[cols[sel]], data[sel]
            shape = (m, self.linear_rate.size)
            pos = sp.csr_matrix((np.maximum(d, 0.0), (r, g)), shape=shape).toarray()
            neg = sp.csr_matrix((np.maximum(-d, 0.0), (r, g)), shape=shape).toarray()
            out += np.minimum(pos, neg) @ self.linear_rate
        return np.asarray(out, dtype=np.float64)

    def _one(self, q: NDArray[np.float64]) -> float:
        total = float(np.abs(q) @ self.abs_rate + np.maximum(-q, 0.0) @ self.short_rate)
        if self.strike_rate.size:
            sel = self.strike_group >= 0
            net = np.bincount(self.strike_group[sel], weights=q[sel], minlength=self.strike_rate.size)
            total += float(np.maximum(-net, 0.0) @ self.strike_rate)
        if self.linear_rate.size:
            sel = self.linear_group >= 0
            g = self.linear_group[sel]
            pos = np.bincount(g, weights=np.maximum(q[sel], 0.0), minlength=self.linear_rate.size)
            neg = np.bincount(g, weights=np.maximum(-q[sel], 0.0), minlength=self.linear_rate.size)
            total += float(np.minimum(pos, neg) @ self.linear_rate)
        return total


def requirement_from_pnl(
    config: RiskMatrixConfig,
    size: NDArray[np.float64],
    pnl: NDArray[np.float64],
    contingencies: Contingencies,
    table: InstrumentTable,
) -> tuple[float, float, float, NDArray[np.float64]]:
    """(scan_risk, contingency, MM before collateral, portfolio scenario PnL) for net sizes."""
    pos_pnl = pnl * size[None, :]
    if config.static_discount != 1.0:
        pos_pnl = np.where(pos_pnl > 0, pos_pnl * config.static_discount, pos_pnl)
    port = pos_pnl.sum(axis=1)
    scan = max(0.0, float(np.max(-port)))
    contingency = float(contingencies.amount(size)[0])
    mm = scan + contingency
    if config.short_option_minimum > 0:
        short_opt = table.is_option & (size < 0)
        som = config.short_option_minimum * float(np.abs(size[short_opt]) @ table.spot[short_opt])
        mm = max(mm, som)
    return scan, contingency, mm, port


class RiskMatrixMargin(MarginModel[RiskMatrixConfig]):
    """Portfolio risk-matrix margin; see the module docstring for the formula."""

    name = "risk_matrix"
    config_cls = RiskMatrixConfig

    def requirement(self, portfolio: Portfolio, market: MarketState) -> MarginResult:
        net = net_positions(portfolio, market)
        cfg = self.config
        scen, pnl = scenario_pnl_matrix(cfg, net.table)
        cont = Contingencies(cfg, net.table)
        scan, contingency, mm, port = requirement_from_pnl(cfg, net.size, pnl, cont, net.table)
        coll = collateral_charge(portfolio, market, cfg.collateral_haircuts, cfg.collateral_default_haircut,
                                 cfg.preset or cfg.name)
        mm += coll
        worst = int(np.argmin(port))
        per_pos = cont.alone(net.size)
        return MarginResult(
            model=self.name,
            im=cfg.im_factor * mm,
            mm=mm,
            details={
                "preset": cfg.preset or cfg.name,
                "scan_risk": scan,
                "contingency": contingency,
                "collateral_charge": coll,
                "short_option_minimum_applied": bool(mm - coll > scan + contingency + 1e-12),
                "worst_scenario": worst,
                "binding": binding_label(scen.metadata()[worst], scan),
                "n_scenarios": scen.size,
                "im_factor": cfg.im_factor,
            },
            scenario_pnl=[float(x) for x in port],
            scenarios=scen.metadata(),
            per_position=[
                {"instrument": s, "net_size": float(q), "mark": float(m), "contingency": float(c)}
                for s, q, m, c in zip(net.table.symbols, net.size, net.table.mark, per_pos)
            ],
        )


def binding_label(scenario: dict[str, Any], scan: float) -> str:
    """A short description of a scenario, e.g. ``"BTC -16.0%, vol up"`` (``"none"`` when no
    scenario loses)."""
    if scan <= 0:
        return "none"
    moves = ", ".join(f"{u} {x:+.1%}" for u, x in scenario["spot_shock"].items())
    v = scenario["vol_shock"]
    vol = "vol up" if v > 0 else ("vol down" if v < 0 else "vol same")
    w = scenario.get("weight", 1.0)
    return f"{moves}, {vol}" + (f", weight {w:g}" if w != 1.0 else "")
