"""Vectorized margin policies: the risk engine's margin models for many perp accounts at once.

Each policy is built from a validated risk-engine config (``offchain.risk.margin.load_config``) and
evaluates, for an ``(M, A)`` array of signed positions ``q`` (units of each asset) at venue
prices ``P`` (``(A,)``, perp mark = index = venue price), the same IM and MM as the engine's
``model.requirement(portfolio, market)`` for the portfolio of those perp positions; the tests
check this account by account. Notation: ``x_a = q_a P_a`` (USD exposure), ``N_a = |x_a|``.

* ``isolated`` (:mod:`offchain.risk.margin.isolated`): per position, tiered brackets,
  ``MM = N mmr_k - d_k`` with ``k`` the bracket of ``N`` and ``d_k`` Binance's maintenance
  amount (continuity deduction); accounts hold one position each (isolated collateral).
* ``cross`` (:mod:`offchain.risk.margin.cross`): ``MM = sum_a N_a mmf``, ``IM = sum_a N_a imf_a``
  with ``imf`` flat, size-scaled ``max(imf_base, imf_factor sqrt|q_a|)`` or open-interest based.
* ``standard_options`` (linear part): ``MM = sum_a N_a (mm_rate_a + rate_per_unit_a |q_a|)``,
  IM likewise with ``im_rate_a`` (the config's rates of each asset, ``linear_by_underlying``).
* ``risk_matrix``: the engine's scenario set (joint spot grid and weighted extreme moves; vol
  shocks do not move a perp, so duplicates are dropped): ``loss_s = -sum_a D(x_a c_{s,a})`` with
  ``c_{s,a} = shock_{s,a} w_s`` and ``D(y) = y * static_discount`` for gains, ``y`` for losses;
  ``MM = max(0, max_s loss_s) + sum_a |q_a| P_a contingency_perp``; ``IM = im_factor MM``
  (with ``future_contingency = "offsetting"``, Deribit's, one perp per asset offsets nothing:
  no contingency).
* ``var``: the engine's joint scenario returns ``R`` (``N x A``; historical, filtered historical
  or Monte Carlo) from the calibration history; the account's PnL sample is
  ``X = expm1(R) x``; ``VaR = -quantile(X, 1 - c)``, ``ES = -mean(X | X <= -VaR)``,
  ``MM = max(0, VaR or ES)``, ``IM = im_factor MM``. Exact and fast: for one asset
  ``MM = |x| m_sign`` (positive homogeneity); for two assets the order of the few lowest
  scenario PnLs is tabulated over :data:`VAR_ANGLES` exposure directions, and inside a cell
  whose two ends agree the quantile is the same linear combination of the same scenarios
  (accounts in the rare cells where the order changes, and more than two assets, are
  computed directly). Each simulated day-end appends the venue close and rebuilds ``R``.
* ``dynamic``: wraps the engine's ``DynamicMargin`` (EWMA state, APC tool) and feeds it one
  venue close per simulated day; per step ``MM = sum_a N_a base_a + L``,
  ``IM = max(sum_a N_a apc_a + L, MM)`` (the engine's ``{-r, 0, r}^A`` grid loss of linear
  positions) with the liquidity add-on ``L = sum_a cost_a(N_a)`` of the depth curves.

The calibration history of ``var``/``dynamic`` is rebased so that it ends at the path's first
price (returns unchanged), so the first simulated day continues the history smoothly.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from offchain.risk.margin import load_config
from offchain.risk.margin.cross import CrossConfig
from offchain.risk.margin.dynamic import DepthCurve, DynamicConfig, DynamicMargin
from offchain.risk.margin.isolated import Bracket, IsolatedConfig
from offchain.risk.margin.risk_matrix import RiskMatrixConfig, ScenarioSet
from offchain.risk.margin.standard_options import StandardOptionsConfig
from offchain.risk.margin.var import VaRConfig, scenario_returns
from zkmargin.errors import InputError

FloatArray = NDArray[np.float64]
#: Exposure directions at which the order of the lowest two-asset scenario PnLs is tabulated.
VAR_ANGLES = 4096
#: Rows per chunk when VaR/ES is computed exactly (more than two assets).
VAR_CHUNK = 2048


def per_asset(
    name: str, value: float | Mapping[str, float] | Sequence[float], assets: Sequence[str]
) -> FloatArray:
    """A per-asset scenario value (scalar, mapping or sequence) as an ``(A,)`` float array."""
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


class MarginPolicy(ABC):
    """Base class: a named, possibly stateful, vectorized requirement function."""

    #: the risk engine's model name
    kind = "base"
    #: True when each position must sit in its own account (isolated margin).
    isolated = False

    def __init__(self, name: str, assets: Sequence[str]) -> None:
        self.name = name
        self.assets = tuple(assets)

    def reset(self, prices0: FloatArray) -> None:
        """Restore the state at the start of a run (``prices0``: the path's first prices)."""

    def observe_close(self, prices: FloatArray) -> None:
        """Feed one daily close per asset (called at each simulated day end)."""

    @abstractmethod
    def requirements(self, q: FloatArray, prices: FloatArray) -> tuple[FloatArray, FloatArray]:
        """``(MM, IM)`` in USD for each row of ``q`` (``(M, A)`` units) at ``prices`` (``(A,)``)."""


# ----------------------------------------------------------------------------- isolated


def bracket_tables(
    brackets: Sequence[Bracket],
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    """``(caps, mmr, imr, mm_deduction, im_deduction)``; the last cap is ``inf``.

    ``d_0 = 0``, ``d_k = d_{k-1} + cap_{k-1} (rate_k - rate_{k-1})`` (continuity at each cap).
    """
    caps = np.array([np.inf if b.max_notional is None else float(b.max_notional) for b in brackets])
    mmr = np.array([b.mmr for b in brackets])
    imr = np.array([b.imr for b in brackets])
    d_mm = np.concatenate([[0.0], np.cumsum(caps[:-1] * np.diff(mmr))])
    d_im = np.concatenate([[0.0], np.cumsum(caps[:-1] * np.diff(imr))])
    return caps, mmr, imr, d_mm, d_im


class TieredIsolatedPolicy(MarginPolicy):
    """Per-position tiered margin (isolated accounts)."""

    kind = "isolated"
    isolated = True

    def __init__(self, name: str, assets: Sequence[str], config: IsolatedConfig) -> None:
        super().__init__(name, assets)
        self.config = config
        self.tables = [bracket_tables(config.for_underlying(a)) for a in self.assets]

    def requirements(self, q: FloatArray, prices: FloatArray) -> tuple[FloatArray, FloatArray]:
        mm = np.zeros(q.shape[0])
        im = np.zeros(q.shape[0])
        for a, (caps, mmr, imr, d_mm, d_im) in enumerate(self.tables):
            na = np.abs(q[:, a]) * prices[a]
            if caps.size == 1:
                mm += na * mmr[0]
                im += na * imr[0]
                continue
            k = np.searchsorted(caps, na, side="left")  # first bracket with na <= cap
            mm += na * mmr[k] - d_mm[k]
            im += na * imr[k] - d_im[k]
        return mm, im


# ----------------------------------------------------------------------------- cross


class CrossPolicy(MarginPolicy):
    """Account-level cross margin over linear positions."""

    kind = "cross"

    def __init__(self, name: str, assets: Sequence[str], config: CrossConfig) -> None:
        super().__init__(name, assets)
        self.config = config
        self.flat_imf = np.array(
            [config.imf(a, 1.0) if config.scaling != "size" else config.imf_base for a in assets]
        )

    def requirements(self, q: FloatArray, prices: FloatArray) -> tuple[FloatArray, FloatArray]:
        aq = np.abs(q)
        mm = aq @ (prices * self.config.mmf)
        if self.config.scaling == "size":
            imf = np.maximum(self.config.imf_base, self.config.imf_factor * np.sqrt(aq))
            im = (aq * imf) @ prices
        else:
            im = aq @ (prices * self.flat_imf)
        return mm, im


# ----------------------------------------------------------------------------- standard


class StandardPolicy(MarginPolicy):
    """Deribit-style standard margin of linear positions: rate growing with size."""

    kind = "standard_options"

    def __init__(self, name: str, assets: Sequence[str], config: StandardOptionsConfig) -> None:
        super().__init__(name, assets)
        self.config = config

    def requirements(self, q: FloatArray, prices: FloatArray) -> tuple[FloatArray, FloatArray]:
        rates = [self.config.linear_rates(a) for a in self.assets]
        per_unit = np.array([r.rate_per_unit for r in rates])
        aq = np.abs(q)
        extra = (aq * aq) @ (prices * per_unit)
        mm = aq @ (prices * np.array([r.mm_rate for r in rates])) + extra
        im = aq @ (prices * np.array([r.im_rate for r in rates])) + extra
        return mm, im


# ----------------------------------------------------------------------------- risk matrix


class RiskMatrixPolicy(MarginPolicy):
    """Worst weighted scenario loss plus the perp contingency (the epoch's requirement form)."""

    kind = "risk_matrix"

    def __init__(self, name: str, assets: Sequence[str], config: RiskMatrixConfig) -> None:
        super().__init__(name, assets)
        self.config = config
        scen = ScenarioSet(config, self.assets)
        rows = scen.spot_shock * scen.weight[:, None]  # (S, A) PnL per USD of exposure
        self.coef = np.unique(rows, axis=0).T.copy()  # (A, S'): vol shocks do not move a perp
        # one perp per asset: Deribit's contingency on offsetting futures is zero
        self.contingency = 0.0 if config.future_contingency == "offsetting" else config.contingency.perp
        self.discount = config.static_discount

    def requirements(self, q: FloatArray, prices: FloatArray) -> tuple[FloatArray, FloatArray]:
        x = q * prices
        if self.discount == 1.0:
            pnl = x @ self.coef
        else:
            pnl = np.zeros((x.shape[0], self.coef.shape[1]))
            for a in range(x.shape[1]):  # few assets: accumulate per asset, (M, S) each
                per = np.multiply.outer(x[:, a], self.coef[a])
                pnl += np.where(per > 0, per * self.discount, per)
        mm = np.maximum(-np.min(pnl, axis=1), 0.0) + np.abs(q) @ (prices * self.contingency)
        return mm, self.config.im_factor * mm


# ----------------------------------------------------------------------------- VaR / ES


def _risk_of_samples(pnl: FloatArray, confidence: float, measure: str) -> FloatArray:
    """Row-wise ``max(0, VaR or ES)`` of PnL samples ``(M, N)`` (engine's ``var_es``)."""
    q = np.quantile(pnl, 1.0 - confidence, axis=1)
    if measure == "var":
        return np.asarray(np.maximum(-q, 0.0))
    tail = pnl <= q[:, None]
    es = -(np.where(tail, pnl, 0.0).sum(axis=1) / tail.sum(axis=1))
    return np.asarray(np.maximum(es, 0.0))


class VarPolicy(MarginPolicy):
    """Historical / filtered historical / Monte Carlo VaR or ES of linear exposures."""

    kind = "var"

    def __init__(
        self, name: str, assets: Sequence[str], config: VaRConfig, history: Mapping[str, FloatArray]
    ) -> None:
        super().__init__(name, assets)
        self.config = config
        self.base_history = np.column_stack([np.asarray(history[a], dtype=np.float64) for a in self.assets])
        self.reset(self.base_history[-1])

    def reset(self, prices0: FloatArray) -> None:
        self.history = self.base_history * (prices0 / self.base_history[-1])[None, :]
        self._rebuild()

    def observe_close(self, prices: FloatArray) -> None:
        self.history = np.vstack([self.history, prices[None, :]])
        self._rebuild()

    def _rebuild(self) -> None:
        rets = np.diff(np.log(self.history), axis=0)
        self.unit_pnl = np.expm1(scenario_returns(rets, self.config))  # (N, A)
        n = self.unit_pnl.shape[0]
        pos = (n - 1) * (1.0 - self.config.confidence)  # numpy's "linear" quantile position
        self.j = int(np.floor(pos))
        self.w = pos - self.j
        self.m = min(self.j + 2, n)
        if len(self.assets) == 1:
            u = self.unit_pnl[:, 0][None, :]
            self.long_short = np.array([self._exact_rows(u)[0], self._exact_rows(-u)[0]])
        elif len(self.assets) == 2:
            # Order of the m lowest scenario PnLs along VAR_ANGLES + 1 exposure directions. Two
            # scenario PnLs r A_n cos(theta - phi_n) cross at most once in a cell, so where both
            # ends of a cell agree the order is the same in the whole cell (a "clean" cell).
            self.theta = np.linspace(-np.pi, np.pi, VAR_ANGLES + 1)
            vals = np.stack([np.cos(self.theta), np.sin(self.theta)], axis=1) @ self.unit_pnl.T
            if self.m < vals.shape[1]:
                part = np.argpartition(vals, self.m - 1, axis=1)[:, : self.m]
                order = np.argsort(np.take_along_axis(vals, part, axis=1), axis=1, kind="stable")
                low = np.take_along_axis(part, order, axis=1)
            else:
                low = np.argsort(vals, axis=1, kind="stable")
            self.cell_order = low[:-1]
            self.clean = np.all(low[:-1] == low[1:], axis=1)

    def _exact_rows(self, pnl: FloatArray) -> FloatArray:
        return _risk_of_samples(pnl, self.config.confidence, self.config.measure)

    def _from_order_stats(self, s: FloatArray) -> FloatArray:
        """VaR/ES from the ``m`` lowest PnLs in ascending order (``(M, m)``)."""
        j, w = self.j, self.w
        q = s[:, j] + w * (s[:, j + 1] - s[:, j]) if w > 0 else s[:, j]
        if self.config.measure == "var":
            return np.asarray(np.maximum(-q, 0.0))
        tail = s <= q[:, None]
        return np.asarray(np.maximum(-(np.where(tail, s, 0.0).sum(axis=1) / tail.sum(axis=1)), 0.0))

    def exact(self, x: FloatArray) -> FloatArray:
        """Exact ``max(0, VaR or ES)`` of exposures ``x`` (``(M, A)`` USD), chunked."""
        out = np.empty(x.shape[0])
        for s in range(0, x.shape[0], VAR_CHUNK):
            out[s : s + VAR_CHUNK] = self._exact_rows(x[s : s + VAR_CHUNK] @ self.unit_pnl.T)
        return out

    def requirements(self, q: FloatArray, prices: FloatArray) -> tuple[FloatArray, FloatArray]:
        x = q * prices
        if len(self.assets) == 1:
            mm = np.where(x[:, 0] >= 0, x[:, 0] * self.long_short[0], -x[:, 0] * self.long_short[1])
        elif len(self.assets) == 2:
            angle = np.arctan2(x[:, 1], x[:, 0])  # the grid is uniform on [-pi, pi]
            cell = np.clip(
                ((angle + np.pi) * (VAR_ANGLES / (2.0 * np.pi))).astype(np.int64), 0, VAR_ANGLES - 1
            )
            clean = self.clean[cell]
            mm = np.empty(x.shape[0])
            ok = np.flatnonzero(clean)
            picked = self.unit_pnl[self.cell_order[cell[ok]]]  # (k, m, 2)
            mm[ok] = self._from_order_stats(np.einsum("kma,ka->km", picked, x[ok]))
            rest = np.flatnonzero(~clean)
            if rest.size:
                mm[rest] = self.exact(x[rest])
        else:
            mm = self.exact(x)
        return mm, self.config.im_factor * mm


# ----------------------------------------------------------------------------- dynamic


def liquidity_tables(curve: DepthCurve) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Knots ``x``, impacts ``y``, slopes and cumulative costs of a piecewise-linear depth curve."""
    xs = np.array([0.0] + [p[0] for p in curve.points])
    ys = np.array([0.0] + [p[1] for p in curve.points])
    slopes = np.diff(ys) / np.diff(xs)
    slopes = np.append(slopes, slopes[-1])  # extrapolate with the last slope
    cum = np.concatenate([[0.0], np.cumsum(0.5 * (ys[:-1] + ys[1:]) * np.diff(xs))])
    return xs, ys, slopes, cum


def liquidity_cost(
    n: FloatArray, tables: tuple[FloatArray, FloatArray, FloatArray, FloatArray]
) -> FloatArray:
    """``integral_0^n impact`` for each notional in ``n`` (vectorized ``DepthCurve.liquidation_cost``)."""
    xs, ys, slopes, cum = tables
    k = np.searchsorted(xs, n, side="right") - 1  # segment start index, last knot beyond
    d = n - xs[k]
    return np.asarray(cum[k] + ys[k] * d + 0.5 * slopes[k] * d * d)


class DynamicPolicy(MarginPolicy):
    """The engine's EWMA/APC dynamic margin, fed one venue close per simulated day."""

    kind = "dynamic"

    def __init__(
        self, name: str, assets: Sequence[str], config: DynamicConfig, history: Mapping[str, FloatArray]
    ) -> None:
        super().__init__(name, assets)
        self.config = config
        self.base_history = {a: np.asarray(history[a], dtype=np.float64) for a in self.assets}
        self.liq = [
            liquidity_tables(config.liquidity[a]) if a in config.liquidity else None for a in self.assets
        ]
        self.reset(np.array([h[-1] for h in self.base_history.values()]))

    def reset(self, prices0: FloatArray) -> None:
        rebased = {a: h * (float(prices0[i]) / h[-1]) for i, (a, h) in enumerate(self.base_history.items())}
        self.model = DynamicMargin(self.config, history=rebased)
        self._refresh()

    def observe_close(self, prices: FloatArray) -> None:
        self.model.observe({a: float(prices[i]) for i, a in enumerate(self.assets)})
        self._refresh()

    def _refresh(self) -> None:
        rates = [self.model.rates(a) for a in self.assets]
        self.base = np.array([float(r["base_rate"]) for r in rates])
        self.apc = np.array([float(r["apc_rate"]) for r in rates])

    def requirements(self, q: FloatArray, prices: FloatArray) -> tuple[FloatArray, FloatArray]:
        aq = np.abs(q)
        liq = np.zeros(q.shape[0])
        for a, tables in enumerate(self.liq):
            if tables is not None:
                liq += liquidity_cost(aq[:, a] * prices[a], tables)
        mm = aq @ (prices * self.base) + liq
        im = np.maximum(aq @ (prices * self.apc) + liq, mm)
        return mm, im


# ----------------------------------------------------------------------------- factory

ENGINE_MODELS = ("isolated", "cross", "standard_options", "risk_matrix", "var", "dynamic")
NEEDS_HISTORY = ("var", "dynamic")


def engine_config(model: str, config: Mapping[str, Any] | None) -> Any:
    """The risk engine's validated config object for ``model`` (its errors name ``config.*``)."""
    if model not in ENGINE_MODELS:
        raise InputError("model", f"unknown margin model {model!r} (known: {', '.join(ENGINE_MODELS)})")
    return load_config(model, dict(config or {}))


def build_policy(
    name: str,
    model: str,
    config: Mapping[str, Any] | None,
    assets: Sequence[str],
    history: Mapping[str, FloatArray] | None = None,
) -> MarginPolicy:
    """The vectorized policy of engine model ``model`` with ``config``.

    ``history`` (daily closes per asset, oldest first) calibrates ``var`` and ``dynamic`` when
    their config has neither ``history`` nor ``history_file``.
    """
    cfg = engine_config(model, config)
    if model == "isolated":
        return TieredIsolatedPolicy(name, assets, cfg)
    if model == "cross":
        return CrossPolicy(name, assets, cfg)
    if model == "standard_options":
        return StandardPolicy(name, assets, cfg)
    if model == "risk_matrix":
        return RiskMatrixPolicy(name, assets, cfg)
    hist = _model_history(cfg, history, assets)
    if model == "var":
        return VarPolicy(name, assets, cfg, hist)
    return DynamicPolicy(name, assets, cfg, hist)


def _model_history(
    cfg: Any, history: Mapping[str, FloatArray] | None, assets: Sequence[str]
) -> dict[str, FloatArray]:
    if cfg.history is not None:
        source: Mapping[str, Any] = cfg.history
    elif cfg.history_file is not None:
        from offchain.risk.io import load_history

        source = load_history(cfg.history_file)
    elif history is not None:
        source = history
    else:
        raise InputError(
            "calibration", "var and dynamic models need a price history: set 'calibration' in the scenario"
        )
    missing = [a for a in assets if a not in source]
    if missing:
        raise InputError("calibration", f"no history for asset(s) {missing}")
    return {a: np.asarray(source[a], dtype=np.float64) for a in assets}
