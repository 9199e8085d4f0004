"""Derive's portfolio margin PM2 (``PMRMLib_2`` / ``PMRM_2`` / ``PMRM_2_1`` of derivexyz/v2-core).

Source: derivexyz/v2-core @ 7736900d ``src/risk-managers/PMRMLib_2.sol`` (the maths),
``PMRM_2.sol`` (inputs), ``PMRM_2_1.sol`` (per-account parameter override); parameters of the
``derive_pm2`` preset from ``scripts/config-mainnet.sol``. Tested against Derive's own portfolio
test vectors (``test/risk-managers/unit-tests/PMRM_2/portfolio_cases/*.json``).

Per underlying ``u`` (a Derive subaccount margins one market; a portfolio with several
underlyings is margined as one PM2 account per underlying, the results summed), with spot
``S``, each option expiry ``e`` (forward ``F_e``, time ``T_e`` in seconds, rate
``r_e = max(rate, 0)``, discount ``D_e = exp(-r_e T_e/365d)``):

* Repricing: ``V_e(s, v) = sum_i q_i Black76(F'_e, K_i, vol'_i, T_e, D_e)`` with
  ``F' = F_var * s + F_fixed`` (inside the last ``settlement_window_seconds`` before expiry
  the part ``F (window - T)/window`` is fixed, Derive's settlement TWAP) and
  ``vol' = max(min_vol_up, vol * up_e)`` (vol up), ``vol * down_e`` (down), ``vol`` (none) where
  ``m_e = (30 d / max(T_e, dte_floor))^p`` (``p`` = short-term power if ``T_e <= 30 d``),
  ``up_e = 1 + vol_range_up m_e``, ``down_e = max(0, 1 - vol_range_down m_e)``.
* Skew scenarios (``linear`` / ``abs``, spot unshocked): ``vol' = vol * max(0, 1 + c)`` with
  ``c = clamp(k cap / k*, -cap, cap)``, ``k = ln(K / F)`` (``|k|`` for ``abs``),
  ``cap = c_base sqrt(T) + base_cap``, ``k* = max(min_k_star, sqrt(T) width_scale (vol_param_static
  + sqrt(T) vol_param_scale))``; the expiry's PnL counts as ``-|x|`` (worst tilt).
* Static discount of the shocked expiry value ``V``: ``V * pos_e`` if ``V >= 0`` else ``V * neg_e``,
  ``pos_e = long_base exp(-T (r long_mult + long_add))``,
  ``neg_e = min(1/D_e, short_base / exp(-T (r short_mult + short_add)))`` (also in the no-move scenario).
* Scenario PnL: ``sum_e (disc(V_e) - mtm_e) d_s + q_perp (s - 1) P_perp d_s +
  sum_{risk-cancelling c} value_c (s - 1) d_s`` (``d_s`` the scenario's dampening).
* Basis (forward) contingency: ``B = sum_e min(V_e(up) - mtm_e, V_e(down) - mtm_e, 0) (add +
  mult T_e)`` at the spot shocks ``basis_spot_up/down``; it is the starting value of
  ``minSPAN = min(B, min_s PnL_s)`` (it competes with the scenarios, it is not added).
* Contingencies: ``MMCont = |perp| S mm_perp + sum_e naked_e S mm_option + sum_c value_c mm_haircut_c``
  with ``naked_e = sum_K max(0, -(calls_K + puts_K))``; ``IMCont`` likewise with the ``im_*``
  add-ons, plus the oracle-confidence charge ``(1 - conf) conf_margin notional`` for each feed group
  whose confidence is below ``conf_threshold``.
* ``MM = -mm_factor minSPAN + MMCont``, ``IM = -(im_factor + peg) minSPAN + MMCont + IMCont`` with
  ``peg = (peg_threshold - stable) peg_factor`` when the stablecoin trades below the threshold.

These are requirements on this engine's equity (cash + option values + perp PnL + collateral):
Derive's net margin is ``MtM + cash - requirement``. Collateral enters at its full value; its
haircuts are the charges above (an account's own ``haircut`` is deducted from them). Dated
futures, which Derive does not list, are charged as perps at their price.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import Field, model_validator
from scipy.special import ndtr

from offchain.risk.account import collateral_price
from offchain.risk.instruments import STABLE_ASSETS, Future, Option, Perp, Portfolio
from offchain.risk.margin.base import MarginModel, MarginResult, ModelConfig
from offchain.risk.margin.presets import merge_preset
from offchain.risk.market import MarketState
from zkmargin.errors import InputError

YEAR_SEC = 365 * 86400
DAY_SEC = 86400
FloatArray = NDArray[np.float64]
VOL_DIRS = ("up", "none", "down", "linear", "abs")


class PM2Scenario(ModelConfig):
    """One scenario: spot multiplier, vol direction and dampening (PMRM_2 ``Scenario``)."""

    spot_shock: float = Field(gt=0, lt=100)
    vol: Literal["up", "none", "down", "linear", "abs"]
    dampening: float = Field(default=1.0, ge=0, le=100)

    @model_validator(mode="after")
    def _skew_unshocked(self) -> PM2Scenario:
        # PMRM_2.setScenarios: Abs/Linear only with spotShock == 1e18
        if self.vol in ("linear", "abs") and self.spot_shock != 1.0:
            raise ValueError("skew scenarios (linear, abs) need spot_shock 1")
        return self


class PM2Collateral(ModelConfig):
    """A collateral asset's haircuts (``CollateralParameters``); IM adds ``im_haircut`` on top."""

    mm_haircut: float = Field(ge=0, le=1)
    im_haircut: float = Field(ge=0, le=1)
    risk_cancelling: bool = False
    underlying: str | None = None  # the market whose spot shock moves it (default: its name)

    @model_validator(mode="after")
    def _sum(self) -> PM2Collateral:
        if self.mm_haircut + self.im_haircut > 1:
            raise ValueError("mm_haircut + im_haircut must be <= 1 (PMRMLib_2.setCollateralParameters)")
        return self


class DerivePM2Config(ModelConfig):
    """PM2 parameters (field bounds: PMRMLib_2's setters). Defaults: none (use the preset)."""

    preset: str | None = None
    name: str = "custom"
    scenarios: list[PM2Scenario] = Field(min_length=1, max_length=40)
    # VolShockParameters
    vol_range_up: float = Field(ge=0, le=10)
    vol_range_down: float = Field(ge=0, le=10)
    short_term_power: float = Field(ge=0, le=10)
    long_term_power: float = Field(ge=0, le=10)
    dte_floor_days: float = Field(ge=0, le=400)
    min_vol_up: float = Field(ge=0, le=20)
    # MarginParameters
    im_factor: float = Field(ge=0.5, le=10)
    mm_factor: float = Field(ge=0.1, le=10)
    short_rate_mult_scale: float = Field(ge=0, le=10)
    long_rate_mult_scale: float = Field(ge=0, le=10)
    short_rate_add_scale: float = Field(ge=0, le=10)
    long_rate_add_scale: float = Field(ge=0, le=10)
    short_base_static_discount: float = Field(ge=0, le=4)
    long_base_static_discount: float = Field(ge=0, le=4)
    # BasisContingencyParameters
    basis_spot_up: float = Field(gt=1, lt=3)
    basis_spot_down: float = Field(gt=0, lt=1)
    basis_add_factor: float = Field(ge=0, le=20)
    basis_mult_factor: float = Field(ge=0, le=20)
    # OtherContingencyParameters
    peg_loss_threshold: float = Field(ge=0, le=100)
    peg_loss_factor: float = Field(ge=0, le=10)
    conf_threshold: float = Field(ge=0, le=1)
    conf_margin: float = Field(ge=0, le=20)
    mm_perp_percent: float = Field(ge=0, le=3)
    im_perp_percent: float = Field(ge=0, le=3)
    mm_option_percent: float = Field(ge=0, le=2)
    im_option_percent: float = Field(ge=0, le=2)
    # SkewShockParameters
    linear_base_cap: float = Field(ge=0, le=10)
    abs_base_cap: float = Field(ge=0, le=10)
    linear_c_base: float = Field(ge=-10, le=10)
    abs_c_base: float = Field(ge=-10, le=10)
    min_k_star: float = Field(ge=0, le=10)
    width_scale: float = Field(ge=0, le=10)
    vol_param_static: float = Field(ge=0, le=10)
    vol_param_scale: float = Field(ge=-20, le=20)
    # collateral, stablecoin, settlement window, per-account overrides (PMRM_2_1)
    collateral: dict[str, PM2Collateral] = Field(default_factory=dict)
    stable_asset: str = "USDC"
    settlement_window_seconds: int = Field(default=1800, ge=0)
    account_overrides: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _apply_preset(cls, data: Any) -> Any:
        return merge_preset(data, "derive_pm2", default="derive_pm2")

    @model_validator(mode="after")
    def _overrides(self) -> DerivePM2Config:
        for account, over in self.account_overrides.items():
            if "account_overrides" in over or "preset" in over:
                raise ValueError(f"account_overrides.{account}: cannot nest overrides or presets")
            self.for_account(account)  # validates the override
        skews = [s.vol for s in self.scenarios if s.vol in ("linear", "abs")]
        if len(skews) != len(set(skews)):
            raise ValueError("at most one linear and one abs skew scenario (PMRM_2.setScenarios)")
        return self

    def for_account(self, account: str | None) -> DerivePM2Config:
        """The parameters of ``account`` (its override merged over these, ``PMRM_2_1``)."""
        if account is None or account not in self.account_overrides:
            return self
        base = self.model_dump(exclude={"account_overrides"})
        base["preset"] = None
        return DerivePM2Config.model_validate({**base, **self.account_overrides[account]})


# ------------------------------------------------------------------------------ maths
def lyra_black76(
    t_sec: FloatArray, vol: FloatArray, fwd: FloatArray, strike: FloatArray, disc: FloatArray, is_call: NDArray[np.bool_]
) -> FloatArray:
    """lyra-utils ``Black76.prices``: the put from parity, values capped at ``F D`` / ``K D``."""
    t_sec, vol, fwd, strike, disc, is_call = np.broadcast_arrays(t_sec, vol, fwd, strike, disc, is_call)
    total_vol = vol * np.sqrt(t_sec / YEAR_SEC)
    total_vol = np.where(total_vol == 0, 1e-18, total_vol)  # Black76: 0 becomes 1 wei
    safe_f = np.where(fwd > 0, fwd, 1.0)
    m = strike / safe_f
    with np.errstate(divide="ignore", invalid="ignore"):
        d1 = (0.5 * total_vol * total_vol - np.log(np.where(m > 0, m, 1.0))) / total_vol
    d2 = d1 - total_vol
    std_call = np.maximum(ndtr(d1) - m * ndtr(d2), 0.0)
    std_call = np.where(total_vol >= 24.0, 1.0, std_call)
    std_put = np.maximum(std_call + m - 1.0, 0.0)
    fd = fwd * disc
    call = np.minimum(std_call * fd, fd)
    put = np.minimum(std_put * fd, strike * disc)
    call = np.where(strike == 0, fd, np.where(fwd == 0, 0.0, call))
    put = np.where(strike == 0, 0.0, np.where(fwd == 0, strike * disc, put))
    return np.asarray(np.where(is_call, call, put), dtype=np.float64)


@dataclass
class Expiry:
    """One option expiry of one underlying (``ExpiryHoldings``)."""

    t_sec: float
    fwd_fixed: float
    fwd_var: float
    rate: float
    strike: FloatArray
    vol: FloatArray
    size: FloatArray
    is_call: NDArray[np.bool_]
    min_conf: float
    symbols: list[str]
    mtm: float = 0.0
    up: float = 1.0
    down: float = 1.0
    pos: float = 1.0
    neg: float = 1.0
    basis_up: float = 0.0
    basis_down: float = 0.0

    @property
    def discount(self) -> float:
        return math.exp(-self.rate * self.t_sec / YEAR_SEC)

    def value(self, spot_shock: float, vol: FloatArray) -> float:
        f = self.fwd_var * spot_shock + self.fwd_fixed
        prices = lyra_black76(np.array(self.t_sec), vol, np.array(f), self.strike, np.array(self.discount), self.is_call)
        return float(prices @ self.size)

    def skew_value(self, cfg: DerivePM2Config, linear: bool) -> float:
        f = self.fwd_var + self.fwd_fixed
        s = math.sqrt(self.t_sec / YEAR_SEC)
        cap = (cfg.linear_c_base * s + cfg.linear_base_cap) if linear else (cfg.abs_c_base * s + cfg.abs_base_cap)
        k_star = max(cfg.min_k_star, s * cfg.width_scale * (cfg.vol_param_static + s * cfg.vol_param_scale))
        k = np.log(self.strike / f)
        if not linear:
            k = np.abs(k)
        with np.errstate(divide="ignore", invalid="ignore"):
            tilt = np.where(k >= 0, np.minimum(cap, k * cap / k_star), np.maximum(-cap, k * cap / k_star))
        return self.value(1.0, self.vol * np.maximum(1.0 + tilt, 0.0))


@dataclass
class Group:
    """One PM2 account: the positions and collateral of one underlying."""

    underlying: str
    spot: float
    min_conf: float
    expiries: list[Expiry] = field(default_factory=list)
    perp_size: float = 0.0  # perps and futures, in units
    perp_value: float = 0.0  # sum q * price (scenario PnL base), USD
    rc_value: float = 0.0  # risk-cancelling collateral value


class DerivePM2Margin(MarginModel[DerivePM2Config]):
    """Derive PM2 (module docstring); ``portfolio.account`` selects a per-account override."""

    name = "derive_pm2"
    config_cls = DerivePM2Config

    def requirement(self, portfolio: Portfolio, market: MarketState) -> MarginResult:
        cfg = self.config.for_account(portfolio.account)
        groups, coll_rows = self._arrange(portfolio, market, cfg)
        stable = float(market.spots.get(cfg.stable_asset, 1.0))
        peg = (cfg.peg_loss_threshold - stable) * cfg.peg_loss_factor if stable < cfg.peg_loss_threshold else 0.0
        mm_cont = im_cont = 0.0
        loss_mm = loss_im = 0.0
        per_u: dict[str, Any] = {}
        scen_pnl: list[float] | None = None
        binding = "none"
        worst_index: int | None = None
        for g in groups.values():
            res = self._group(g, cfg)
            mm_cont += res["mm_contingency"]
            im_cont += res["im_contingency"]
            loss_mm += -cfg.mm_factor * res["min_span"]
            loss_im += -(cfg.im_factor + peg) * res["min_span"]
            per_u[g.underlying] = {k: v for k, v in res.items() if k != "pnl"}
            if len(groups) == 1:
                scen_pnl = res["pnl"]
                worst_index = res["worst_scenario"]
        bindings = [r["binding"] for r in per_u.values() if r["binding"] != "none"]
        binding = "; ".join(bindings) if bindings else "none"
        # collateral haircuts and confidence charges (contingencies on top of the loss)
        for row in coll_rows:
            mm_cont += row["mm_charge"]
            im_cont += row["im_charge"] + row["conf_charge"]
        mm = loss_mm + mm_cont
        im = loss_im + mm_cont + im_cont
        scenarios = None
        if scen_pnl is not None:
            u = next(iter(groups))
            scenarios = [{"spot_shock": {u: s.spot_shock - 1.0}, "vol_shock": s.vol, "weight": s.dampening}
                         for s in cfg.scenarios]
        return MarginResult(
            model=self.name, im=im, mm=mm,
            details={"preset": cfg.preset or cfg.name, "account": portfolio.account,
                     "override": portfolio.account in self.config.account_overrides,
                     "mm_contingency": mm_cont, "im_contingency": im_cont, "peg_add_on": peg,
                     "worst_scenario": worst_index, "binding": binding, "underlyings": per_u,
                     "collateral": coll_rows},
            scenario_pnl=scen_pnl, scenarios=scenarios,
        )

    # ------------------------------------------------------------------------ inputs
    def _arrange(
        self, portfolio: Portfolio, market: MarketState, cfg: DerivePM2Config
    ) -> tuple[dict[str, Group], list[dict[str, Any]]]:
        net: dict[str, float] = defaultdict(float)
        first: dict[str, int] = {}
        for k, pos in enumerate(portfolio.positions):
            net[pos.instrument] += pos.size
            first.setdefault(pos.instrument, k)
        groups: dict[str, Group] = {}
        options: dict[tuple[str, int], list[tuple[Option, float, str]]] = defaultdict(list)

        def group(u: str, fld: str) -> Group:
            if u not in groups:
                groups[u] = Group(underlying=u, spot=market.spot(u, fld), min_conf=market.conf(u))
            return groups[u]

        perp_conf: dict[str, float] = {}
        for sym, q in net.items():
            inst = portfolio.instrument(sym)
            fld = f"positions[{first[sym]}].instrument"
            g = group(inst.underlying, fld)
            if q == 0:
                continue
            if isinstance(inst, Option):
                options[(inst.underlying, inst.expiry)].append((inst, q, fld))
            elif isinstance(inst, (Perp, Future)):
                g.perp_size += q
                g.perp_value += q * market.mark(inst, fld)
                perp_conf[inst.underlying] = min(perp_conf.get(inst.underlying, 1.0), market.conf(sym))
        coll_rows = self._collateral(portfolio, market, cfg, groups)
        # the perp's confidence joins the account's after the collateral (PMRM_2._arrangePortfolio)
        for u, c in perp_conf.items():
            groups[u].min_conf = min(groups[u].min_conf, c)
        for (u, expiry), legs in options.items():
            fld0 = legs[0][2]
            t_sec = float(expiry - market.timestamp)
            if t_sec <= 0:
                raise InputError(fld0, f"instrument expired (expiry {expiry} <= market timestamp {market.timestamp})")
            fwd = market.forward(u, expiry, fld0)
            rate = max(market.rate_for(u, expiry), 0.0)  # PMRM_2._initialiseExpiries floors the rate at 0
            w = float(cfg.settlement_window_seconds)
            fixed, var = (fwd * (w - t_sec) / w, fwd * t_sec / w) if t_sec < w else (0.0, fwd)
            e = Expiry(
                t_sec=t_sec, fwd_fixed=fixed, fwd_var=var, rate=rate,
                strike=np.array([o.strike for o, _, _ in legs]),
                vol=np.array([market.option_vol(o, f) for o, _, f in legs]),
                size=np.array([q for _, q, _ in legs]),
                is_call=np.array([o.is_call for o, _, _ in legs]),
                min_conf=min(market.conf(o.symbol) for o, _, _ in legs),
                symbols=[o.symbol for o, _, _ in legs],
            )
            groups[u].expiries.append(e)
        return groups, coll_rows

    def _collateral(
        self, portfolio: Portfolio, market: MarketState, cfg: DerivePM2Config, groups: dict[str, Group]
    ) -> list[dict[str, Any]]:
        rows = []
        for j, c in enumerate(portfolio.collateral):
            fld = f"collateral[{j}].asset"
            value = c.amount * collateral_price(c.asset, market, fld)
            if c.asset == cfg.stable_asset or (c.asset in STABLE_ASSETS and c.asset not in cfg.collateral):
                rows.append({"asset": c.asset, "value": value, "mm_charge": 0.0, "im_charge": 0.0,
                             "conf_charge": 0.0, "risk_cancelling": False})
                continue
            params = cfg.collateral.get(c.asset)
            if params is None:
                raise InputError(fld, f"{c.asset} is not accepted as collateral by {cfg.preset or cfg.name}")
            target = params.underlying or (c.asset if c.asset in groups else None)
            if target is None and len(groups) == 1:
                target = next(iter(groups))
            rc = params.risk_cancelling and target in groups
            spot_conf = groups[target].min_conf if target in groups else 1.0
            conf = min(market.conf(c.asset), spot_conf)
            mm_h = max(0.0, params.mm_haircut - c.haircut)
            im_h = max(0.0, params.mm_haircut + params.im_haircut - c.haircut) - mm_h
            conf_charge = (1 - conf) * cfg.conf_margin * value if conf < cfg.conf_threshold else 0.0
            if rc and target is not None:
                groups[target].rc_value += value
            rows.append({"asset": c.asset, "value": value, "mm_charge": value * mm_h, "im_charge": value * im_h,
                         "conf_charge": conf_charge, "risk_cancelling": rc, "underlying": target})
        return rows

    # -------------------------------------------------------------------------- maths
    def _group(self, g: Group, cfg: DerivePM2Config) -> dict[str, Any]:
        perp_notional = abs(g.perp_size) * g.spot
        mm_cont = perp_notional * cfg.mm_perp_percent
        im_cont = perp_notional * cfg.im_perp_percent + self._conf(cfg, g.min_conf, perp_notional)
        basis = 0.0
        floor = cfg.dte_floor_days * DAY_SEC
        for e in g.expiries:
            e.min_conf = min(g.min_conf, e.min_conf)
            e.mtm = e.value(1.0, e.vol)
            e.basis_up = e.value(cfg.basis_spot_up, e.vol)
            e.basis_down = e.value(cfg.basis_spot_down, e.vol)
            tau = e.t_sec / YEAR_SEC
            basis += min(e.basis_up - e.mtm, e.basis_down - e.mtm, 0.0) * (cfg.basis_add_factor + cfg.basis_mult_factor * tau)
            power = cfg.short_term_power if e.t_sec <= 30 * DAY_SEC else cfg.long_term_power
            mult = (30 * DAY_SEC / max(e.t_sec, floor)) ** power
            e.up = 1.0 + cfg.vol_range_up * mult
            e.down = max(0.0, 1.0 - cfg.vol_range_down * mult)
            e.pos = cfg.long_base_static_discount * math.exp(-tau * (e.rate * cfg.long_rate_mult_scale + cfg.long_rate_add_scale))
            e.neg = min(1.0 / e.discount, cfg.short_base_static_discount
                        / math.exp(-tau * (e.rate * cfg.short_rate_mult_scale + cfg.short_rate_add_scale)))
            by_strike: dict[float, float] = defaultdict(float)
            for k, q in zip(e.strike, e.size):
                by_strike[float(k)] += float(q)
            naked = sum(max(0.0, -q) for q in by_strike.values())
            mm_cont += naked * g.spot * cfg.mm_option_percent
            im_cont += naked * g.spot * cfg.im_option_percent
            im_cont += self._conf(cfg, e.min_conf, float(np.abs(e.size).sum()) * g.spot)
        pnl = [self._scenario_pnl(g, cfg, s) for s in cfg.scenarios]
        min_span, worst = basis, len(pnl)  # the basis contingency is the initial value (ties keep it)
        for i, x in enumerate(pnl):
            if x < min_span:
                min_span, worst = x, i
        if min_span >= 0:
            binding = "none"
        elif worst == len(pnl):
            binding = "basis contingency"
        else:
            s = cfg.scenarios[worst]
            binding = f"{g.underlying} {s.spot_shock - 1:+.1%}, vol {s.vol}" + (
                f", dampening {s.dampening:g}" if s.dampening != 1 else "")
        return {"pnl": pnl, "min_span": min_span, "basis_contingency": basis, "worst_scenario": worst,
                "binding": binding, "mm_contingency": mm_cont, "im_contingency": im_cont,
                "option_mtm": sum(e.mtm for e in g.expiries),
                "expiries": [{"seconds": e.t_sec, "mtm": e.mtm, "vol_shock_up": e.up, "vol_shock_down": e.down,
                              "static_discount_pos": e.pos, "static_discount_neg": e.neg} for e in g.expiries]}

    @staticmethod
    def _conf(cfg: DerivePM2Config, conf: float, notional: float) -> float:
        return (1 - conf) * cfg.conf_margin * notional if conf < cfg.conf_threshold else 0.0

    @staticmethod
    def _scenario_pnl(g: Group, cfg: DerivePM2Config, s: PM2Scenario) -> float:
        pnl = 0.0
        if g.perp_size != 0:
            pnl += g.perp_value * (s.spot_shock - 1.0) * s.dampening
        for e in g.expiries:
            if s.vol == "none" and s.spot_shock == 1.0:
                v = e.mtm
            elif s.vol == "none" and s.spot_shock == cfg.basis_spot_up:
                v = e.basis_up
            elif s.vol == "none" and s.spot_shock == cfg.basis_spot_down:
                v = e.basis_down
            elif s.vol in ("linear", "abs"):
                v = e.skew_value(cfg, s.vol == "linear")
            elif s.vol == "up":
                v = e.value(s.spot_shock, np.maximum(cfg.min_vol_up, e.vol * e.up))
            elif s.vol == "down":
                v = e.value(s.spot_shock, e.vol * e.down)
            else:
                v = e.value(s.spot_shock, e.vol)
            v *= e.pos if v >= 0 else e.neg
            x = (v - e.mtm) * s.dampening
            pnl += -abs(x) if s.vol in ("linear", "abs") else x
        pnl += g.rc_value * (s.spot_shock - 1.0) * s.dampening
        return pnl
