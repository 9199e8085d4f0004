"""Vectorized margin policies: the simulator's view of each margin model.

A policy maps the positions of many accounts at once to their maintenance (MM) and initial
(IM) requirements in USD. Positions ``q`` are an ``(M, A)`` array of signed units of each
asset, ``prices`` an ``(A,)`` array, and ``x = q * prices`` the USD exposures. A policy may
carry state (the EWMA volatility of the dynamic model) updated once per step by
:meth:`MarginPolicy.observe` from the venue's log returns; all accounts share that state,
so one step costs a handful of array operations whatever the number of accounts.

Formulas (rates per asset ``a``, ``N_a = |x_a|``):

* isolated / cross: ``MM = sum_a mm_rate_a N_a``, ``IM = sum_a im_rate_a N_a``
  (isolated accounts hold one position each; the population splits traders accordingly).
* standard: ``MM = sum_a (mm_base_a + slope_a |q_a|) N_a`` (and ``im_base`` for IM).
* risk_matrix: ``MM = max(0, max_s -sum_a x_a shock_{s,a} w_s) + sum_a addon_a N_a``,
  ``IM = im_factor MM``; scenarios are the spot-shock grid (``joint="grid"``: every
  combination across assets, ``"same"``: one shock for all assets) with weight 1, plus
  the two extreme moves ``+-extreme_shock`` (all assets) with weight ``extreme_weight``.
* var: ``MM = k sqrt(h) sqrt(x' S x)``, ``S_ab = rho_ab v_a v_b`` (daily vols), ``k = z_c``
  for VaR, ``phi(z_c) / (1 - c)`` for expected shortfall; ``IM = im_factor MM``.
* dynamic: like var with ``v_a`` the effective EWMA vol
  ``v_eff = max(floor, (1 - w) v_ewma + w v_stress)`` (anti-procyclicality), plus the
  liquidity add-on ``liquidity_coef sum_a 0.005 x_a^2 / d_a`` = the slippage of selling the
  position through the linear depth curve of ``d_a`` USD per 1 % move.
  EWMA update per step of ``dt`` days: ``v^2 <- l^dt v^2 + (1 - l^dt) r^2 / dt``.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

import numpy as np
from numpy.typing import NDArray
from scipy.stats import norm

from offchain.errors import InputError
from offchain.sim.scenario import (
    CrossModelSpec,
    DynamicModelSpec,
    IsolatedModelSpec,
    MarketSpec,
    ModelSpec,
    PerAsset,
    RiskMatrixModelSpec,
    StandardModelSpec,
    VarModelSpec,
)

FloatArray = NDArray[np.float64]
#: Price impact of selling notional N through a linear book of depth d (USD per 1 %):
#: average slippage fraction = 0.5 * 0.01 * N / d, so the cost is LIQUIDITY_COST * N^2 / d.
LIQUIDITY_COST = 0.005


def per_asset(name: str, value: PerAsset | Sequence[float], assets: Sequence[str]) -> FloatArray:
    """A per-asset scenario value (scalar or mapping) as an ``(A,)`` float array."""
    if isinstance(value, Mapping):
        missing = [a for a in assets if a not in value]
        if missing:
            raise InputError(name, f"missing a value for asset(s) {missing}")
        return np.array([float(value[a]) for a in assets])
    if np.ndim(value) == 0:
        return np.full(len(assets), float(value))  # type: ignore[arg-type]
    arr = np.asarray(value, dtype=np.float64)
    if arr.shape != (len(assets),):
        raise InputError(name, f"needs {len(assets)} values, got {arr.shape}")
    return arr


def risk_multiplier(confidence: float, measure: str) -> float:
    """``z_c`` (VaR) or ``phi(z_c) / (1 - c)`` (expected shortfall) of a standard normal."""
    z = float(norm.ppf(confidence))
    if measure == "var":
        return z
    if measure == "es":
        return float(norm.pdf(z) / (1.0 - confidence))
    raise InputError("measure", f"must be 'var' or 'es', got {measure!r}")


def _quad_form(x: FloatArray, cov: FloatArray) -> FloatArray:
    """``sqrt(x' S x)`` for each row of ``x``."""
    if x.shape[1] == 1:
        return np.abs(x[:, 0]) * np.sqrt(cov[0, 0])
    return np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", x, cov, x), 0.0))


def _cov(vols: FloatArray, rho: float) -> FloatArray:
    corr = np.full((vols.size, vols.size), rho)
    np.fill_diagonal(corr, 1.0)
    return corr * np.outer(vols, vols)


class MarginPolicy:
    """Base class: a named, possibly stateful, vectorized requirement function."""

    kind = "base"
    #: True when each position must sit in its own account (isolated margin).
    isolated = False

    def __init__(self, name: str, assets: Sequence[str]) -> None:
        self.name = name
        self.assets = tuple(assets)

    def reset(self) -> None:
        """Restore the state at the start of a run."""

    def observe(self, log_returns: FloatArray, dt_days: float) -> None:
        """Update the state with the venue's log returns of one step (``(A,)``)."""

    def requirements(self, q: FloatArray, prices: FloatArray) -> tuple[FloatArray, FloatArray]:
        """``(MM, IM)`` in USD for each row of ``q`` (``(M, A)`` units) at ``prices`` (``(A,)``)."""
        raise NotImplementedError

    def state(self) -> dict[str, list[float]]:
        """The policy's state for the time series (empty when stateless)."""
        return {}


class LinearRatePolicy(MarginPolicy):
    """``MM = sum_a mm_rate_a |q_a| P_a`` (cross); isolated is the same per position."""

    kind = "cross"

    def __init__(self, name: str, assets: Sequence[str], mm_rate: FloatArray, im_rate: FloatArray, isolated: bool):
        super().__init__(name, assets)
        if np.any(mm_rate <= 0) or np.any(im_rate < mm_rate):
            raise InputError(f"models.{name}", "needs 0 < mm_rate <= im_rate")
        self.mm_rate = mm_rate
        self.im_rate = im_rate
        self.isolated = isolated
        self.kind = "isolated" if isolated else "cross"

    def requirements(self, q: FloatArray, prices: FloatArray) -> tuple[FloatArray, FloatArray]:
        n = np.abs(q) * prices
        return n @ self.mm_rate, n @ self.im_rate


class StandardPolicy(MarginPolicy):
    """Size-dependent rates: ``(base_a + slope_a |q_a|) |q_a| P_a`` summed over assets."""

    kind = "standard"

    def __init__(self, name: str, assets: Sequence[str], mm_base: FloatArray, im_base: FloatArray, slope: FloatArray):
        super().__init__(name, assets)
        if np.any(mm_base <= 0) or np.any(im_base < mm_base) or np.any(slope < 0):
            raise InputError(f"models.{name}", "needs 0 < mm_base <= im_base and size_slope_per_unit >= 0")
        self.mm_base, self.im_base, self.slope = mm_base, im_base, slope

    def requirements(self, q: FloatArray, prices: FloatArray) -> tuple[FloatArray, FloatArray]:
        a = np.abs(q)
        n = a * prices
        extra = (self.slope * a * n).sum(axis=1)
        return n @ self.mm_base + extra, n @ self.im_base + extra


class RiskMatrixPolicy(MarginPolicy):
    """Worst weighted scenario loss plus a linear add-on (the epoch format's requirement)."""

    kind = "risk_matrix"

    def __init__(
        self,
        name: str,
        assets: Sequence[str],
        shocks: FloatArray,
        weights: FloatArray,
        addon_rate: FloatArray,
        im_factor: float,
    ) -> None:
        super().__init__(name, assets)
        self.shocks = shocks  # (S, A)
        self.weights = weights  # (S,)
        self.addon_rate = addon_rate
        self.im_factor = im_factor
        self._w = (shocks * weights[:, None]).T.copy()  # (A, S)

    @classmethod
    def from_spec(cls, spec: RiskMatrixModelSpec, assets: Sequence[str]) -> RiskMatrixPolicy:
        base = np.asarray(spec.spot_shocks, dtype=np.float64)
        if spec.joint == "grid":
            rows = np.array(list(itertools.product(base, repeat=len(assets))), dtype=np.float64)
        else:
            rows = np.repeat(base[:, None], len(assets), axis=1)
        weights = np.ones(rows.shape[0])
        if spec.extreme_shock is not None:
            ext = abs(spec.extreme_shock)
            rows = np.vstack([rows, np.full((1, len(assets)), ext), np.full((1, len(assets)), -ext)])
            weights = np.concatenate([weights, [spec.extreme_weight, spec.extreme_weight]])
        return cls(spec.name, assets, rows, weights, per_asset("addon_rate", spec.addon_rate, assets), spec.im_factor)

    def requirements(self, q: FloatArray, prices: FloatArray) -> tuple[FloatArray, FloatArray]:
        x = q * prices
        worst = np.max(-(x @ self._w), axis=1)
        mm = np.maximum(worst, 0.0) + np.abs(x) @ self.addon_rate
        return mm, self.im_factor * mm


class VarPolicy(MarginPolicy):
    """Delta-normal VaR/ES with a static covariance."""

    kind = "var"

    def __init__(self, name: str, assets: Sequence[str], multiplier: float, horizon_days: float, cov: FloatArray, im_factor: float):
        super().__init__(name, assets)
        self.scale = multiplier * np.sqrt(horizon_days)
        self.cov = cov
        self.im_factor = im_factor

    def requirements(self, q: FloatArray, prices: FloatArray) -> tuple[FloatArray, FloatArray]:
        mm = self.scale * _quad_form(q * prices, self.cov)
        return mm, self.im_factor * mm


class DynamicPolicy(MarginPolicy):
    """EWMA-vol margin with anti-procyclicality and a liquidity add-on (see module docstring)."""

    kind = "dynamic"

    def __init__(
        self,
        name: str,
        assets: Sequence[str],
        multiplier: float,
        horizon_days: float,
        ewma_lambda_daily: float,
        initial_vol_daily: FloatArray,
        correlation: float,
        stressed_vol_daily: FloatArray | None,
        stress_weight: float,
        floor_vol_daily: FloatArray,
        liquidity_coef: float,
        reference_depth_usd_per_pct: FloatArray,
        im_factor: float,
    ) -> None:
        super().__init__(name, assets)
        self.scale = multiplier * np.sqrt(horizon_days)
        self.lam = ewma_lambda_daily
        self.initial_var = initial_vol_daily**2
        self.rho = correlation
        self.stressed = stressed_vol_daily
        self.stress_weight = stress_weight if stressed_vol_daily is not None else 0.0
        self.floor = floor_vol_daily
        self.liq = liquidity_coef * LIQUIDITY_COST / reference_depth_usd_per_pct
        self.im_factor = im_factor
        self.var = self.initial_var.copy()
        self._cov = self._effective_cov()

    def effective_vol(self) -> FloatArray:
        vol = np.sqrt(self.var)
        if self.stressed is not None:
            vol = (1.0 - self.stress_weight) * vol + self.stress_weight * self.stressed
        return np.maximum(vol, self.floor)

    def _effective_cov(self) -> FloatArray:
        return _cov(self.effective_vol(), self.rho)

    def reset(self) -> None:
        self.var = self.initial_var.copy()
        self._cov = self._effective_cov()

    def observe(self, log_returns: FloatArray, dt_days: float) -> None:
        decay = self.lam**dt_days
        self.var = decay * self.var + (1.0 - decay) * log_returns**2 / dt_days
        self._cov = self._effective_cov()

    def requirements(self, q: FloatArray, prices: FloatArray) -> tuple[FloatArray, FloatArray]:
        x = q * prices
        mm = self.scale * _quad_form(x, self._cov) + (x * x) @ self.liq
        return mm, self.im_factor * mm

    def state(self) -> dict[str, list[float]]:
        return {"vol_eff": self.effective_vol().tolist()}


def build_policy(spec: ModelSpec, assets: Sequence[str], market: MarketSpec) -> MarginPolicy:
    """The vectorized policy for one scenario model."""
    if isinstance(spec, (IsolatedModelSpec, CrossModelSpec)):
        return LinearRatePolicy(
            spec.name,
            assets,
            per_asset("mm_rate", spec.mm_rate, assets),
            per_asset("im_rate", spec.im_rate, assets),
            isolated=isinstance(spec, IsolatedModelSpec),
        )
    if isinstance(spec, StandardModelSpec):
        return StandardPolicy(
            spec.name,
            assets,
            per_asset("mm_base", spec.mm_base, assets),
            per_asset("im_base", spec.im_base, assets),
            per_asset("size_slope_per_unit", spec.size_slope_per_unit, assets),
        )
    if isinstance(spec, RiskMatrixModelSpec):
        return RiskMatrixPolicy.from_spec(spec, assets)
    if isinstance(spec, VarModelSpec):
        vols = per_asset("vol_daily", spec.vol_daily, assets)
        return VarPolicy(
            spec.name,
            assets,
            risk_multiplier(spec.confidence, spec.measure),
            spec.horizon_days,
            _cov(vols, spec.correlation),
            spec.im_factor,
        )
    if isinstance(spec, DynamicModelSpec):
        apc = spec.apc
        return DynamicPolicy(
            spec.name,
            assets,
            risk_multiplier(spec.confidence, "var"),
            spec.horizon_days,
            spec.ewma_lambda_daily,
            per_asset("initial_vol_daily", spec.initial_vol_daily, assets),
            spec.correlation,
            per_asset("apc.stressed_vol_daily", apc.stressed_vol_daily, assets) if apc else None,
            apc.stress_weight if apc else 0.0,
            per_asset("apc.floor_vol_daily", apc.floor_vol_daily, assets) if apc else np.zeros(len(assets)),
            spec.liquidity_coef,
            per_asset("market.depth_usd_per_pct", market.depth_usd_per_pct, assets),
            spec.im_factor,
        )
    raise InputError("models", f"unknown model kind {getattr(spec, 'kind', spec)!r}")  # pragma: no cover
