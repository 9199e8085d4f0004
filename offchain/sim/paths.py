"""Seeded price-path generators: real 2021 history, GBM with jumps, GARCH(1,1).

Every generator returns a :class:`PricePath` (``timestamps`` as int64 Unix seconds, ``prices``
as float64 USD of shape ``(n_steps + 1, n_assets)``), is deterministic for its ``seed`` and
validates its inputs (:class:`~zkmargin.errors.InputError` naming the argument).

* :func:`history_path` replays the daily closes in ``data/prices/`` and fills the intraday
  steps with a Brownian bridge in log price, so every daily close is hit exactly:
  ``log S(k/n) = (1 - k/n) log S_0 + (k/n) log S_1 + sigma_d (W_k - (k/n) W_n)``,
  with ``W`` a standard Brownian motion in days and ``sigma_d`` the daily volatility of the
  bridge noise (default: the realised daily log-return volatility of the window).
* :func:`gbm_jump_path` is Merton's jump diffusion:
  ``d log S = (mu - sigma^2/2 - lambda kappa) dt + sigma dW + J dN``,
  ``J ~ Normal(jump_mean, jump_std)``, ``kappa = E[e^J] - 1``, ``N`` Poisson with intensity
  ``lambda`` per day; jump times are market-wide (shared by all assets), optional forced
  jumps place a crash at a chosen time.
* :func:`garch_path` is GARCH(1,1) on per-step log returns:
  ``r_t = mu + sqrt(h_t) z_t``, ``h_{t+1} = omega + alpha (r_t - mu)^2 + beta h_t``,
  ``h_0 = omega / (1 - alpha - beta)`` (the stationary variance), with an optional forced
  shock ``z_t = shock_z`` at a chosen step.

Diffusion shocks of several assets are correlated through ``correlation`` (Cholesky factor).

:func:`make_path` is the one factory every caller uses (the simulator's scenarios, the devnet
demo and ``ape run oracle``): it takes a validated spec (:data:`PathSpec`: ``kind`` history,
gbm_jump or garch, with every parameter explicit in the spec or its documented default) and a
seed, and applies the spec's intraday ``wicks`` (prices set at given steps, e.g. an intraday
low that the daily closes miss).
"""

from __future__ import annotations

import csv
import datetime as _dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field, field_validator

from offchain.validation import load_json, parse_model
from zkmargin.errors import InputError

SECONDS_PER_DAY = 86_400
MS_PER_SECOND = 1_000
DAYS_PER_YEAR = 365.0
#: ``data/prices/`` at the repository root (the MIT-licensed 2021 daily closes).
DATA_DIR = Path(__file__).resolve().parents[2] / "data" / "prices"
#: Asset symbol -> CSV file name in :data:`DATA_DIR`.
HISTORY_FILES: dict[str, str] = {"BTC": "btc_usd_daily_2021.csv", "ETH": "eth_usd_daily_2021.csv"}

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class PricePath:
    """Prices of ``n_assets`` assets at ``n_steps + 1`` times.

    ``prices[t, a]`` is the USD price of ``assets[a]`` at ``timestamps[t]`` (Unix seconds);
    ``dt_days`` is the step length in days; ``seed`` the seed that generated the noise.
    """

    assets: tuple[str, ...]
    timestamps: IntArray
    prices: FloatArray
    dt_days: float
    seed: int
    meta: dict[str, object] = field(default_factory=dict)

    @property
    def n_steps(self) -> int:
        return int(self.prices.shape[0] - 1)

    def asset_prices(self, asset: str) -> FloatArray:
        """The price column of one asset."""
        if asset not in self.assets:
            raise InputError("asset", f"{asset!r} is not in this path (has {list(self.assets)})")
        return self.prices[:, self.assets.index(asset)]


# ----------------------------------------------------------------------------- validation


def _require_positive(name: str, value: float) -> None:
    if not np.isfinite(value) or value <= 0:
        raise InputError(name, f"must be a positive finite number, got {value!r}")


def _require_nonnegative(name: str, value: float) -> None:
    if not np.isfinite(value) or value < 0:
        raise InputError(name, f"must be a non-negative finite number, got {value!r}")


def _require_int(name: str, value: int, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise InputError(name, f"must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _require_seed(seed: int) -> int:
    return _require_int("seed", seed, 0)


def _per_asset(
    name: str, value: float | Sequence[float] | Mapping[str, float], assets: Sequence[str]
) -> FloatArray:
    """A scalar, a sequence of length ``n_assets`` or a mapping asset -> value, as an array."""
    if isinstance(value, Mapping):
        missing = [a for a in assets if a not in value]
        if missing:
            raise InputError(name, f"missing a value for asset(s) {missing}")
        arr = np.array([float(value[a]) for a in assets], dtype=np.float64)
    elif np.ndim(value) == 0:
        arr = np.full(len(assets), float(value))  # type: ignore[arg-type]
    else:
        arr = np.asarray(value, dtype=np.float64)
        if arr.shape != (len(assets),):
            raise InputError(name, f"needs {len(assets)} values (one per asset), got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise InputError(name, "must be finite")
    return arr


def _cholesky(correlation: float | Sequence[Sequence[float]] | None, n_assets: int) -> FloatArray:
    """Cholesky factor of the correlation matrix (a scalar means the same pairwise correlation)."""
    if correlation is None:
        return np.eye(n_assets)
    if np.ndim(correlation) == 0:
        rho = float(correlation)  # type: ignore[arg-type]
        if not -1.0 < rho < 1.0 and n_assets > 1:
            raise InputError("correlation", f"must be in (-1, 1), got {rho}")
        mat = np.full((n_assets, n_assets), rho)
        np.fill_diagonal(mat, 1.0)
    else:
        mat = np.asarray(correlation, dtype=np.float64)
        if mat.shape != (n_assets, n_assets):
            raise InputError("correlation", f"must be {n_assets}x{n_assets}, got shape {mat.shape}")
        if not np.allclose(mat, mat.T) or not np.allclose(np.diag(mat), 1.0):
            raise InputError("correlation", "must be symmetric with ones on the diagonal")
    try:
        return np.linalg.cholesky(mat)
    except np.linalg.LinAlgError:
        raise InputError("correlation", "is not positive definite") from None


def _timestamps(start_ts: int, n_steps: int, steps_per_day: int) -> IntArray:
    step_seconds = SECONDS_PER_DAY / steps_per_day
    return np.asarray((start_ts + np.round(np.arange(n_steps + 1) * step_seconds)).astype(np.int64))


def _parse_date(name: str, value: str | _dt.date | _dt.datetime) -> int:
    """A date (``YYYY-MM-DD``, ISO datetime, or date object) as Unix seconds, UTC."""
    if isinstance(value, _dt.datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=_dt.UTC)
    elif isinstance(value, _dt.date):
        moment = _dt.datetime(value.year, value.month, value.day, tzinfo=_dt.UTC)
    else:
        try:
            moment = _dt.datetime.fromisoformat(str(value))
        except ValueError:
            raise InputError(name, f"is not an ISO date (YYYY-MM-DD): {value!r}") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=_dt.UTC)
    return int(moment.timestamp())


# ----------------------------------------------------------------------------- history


@lru_cache(maxsize=8)
def _load_history_cached(path: str) -> tuple[IntArray, FloatArray]:
    file = Path(path)
    if not file.is_file():
        raise InputError("data", f"price file {file} not found")
    ts: list[int] = []
    px: list[float] = []
    with file.open(newline="") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None or not {"timestamp", "price"} <= set(reader.fieldnames):
            raise InputError(str(file), "needs the columns 'timestamp' (ms) and 'price'")
        for line, row in enumerate(reader, start=2):
            try:
                t_ms = int(row["timestamp"])
                price = float(row["price"])
            except (TypeError, ValueError):
                raise InputError(f"{file.name}:{line}", "timestamp/price is not a number") from None
            if not np.isfinite(price) or price <= 0:
                raise InputError(f"{file.name}:{line}", f"price must be positive, got {price}")
            ts.append(t_ms // MS_PER_SECOND)
            px.append(price)
    order = np.argsort(np.asarray(ts), kind="stable")
    t_arr = np.asarray(ts, dtype=np.int64)[order]
    p_arr = np.asarray(px, dtype=np.float64)[order]
    if np.any(np.diff(t_arr) <= 0):
        raise InputError(str(file), "timestamps are not strictly increasing")
    t_arr.setflags(write=False)
    p_arr.setflags(write=False)
    return t_arr, p_arr


def load_history(asset: str, data_dir: Path | None = None) -> tuple[IntArray, FloatArray]:
    """The raw daily history of ``asset`` (``"BTC"`` or ``"ETH"``): (Unix seconds, USD prices)."""
    key = asset.upper()
    if key not in HISTORY_FILES:
        raise InputError("asset", f"no history for {asset!r}; known: {sorted(HISTORY_FILES)}")
    return _load_history_cached(str((data_dir or DATA_DIR) / HISTORY_FILES[key]))


def daily_closes(
    asset: str, start: str | _dt.date, end: str | _dt.date, data_dir: Path | None = None
) -> tuple[IntArray, FloatArray]:
    """The daily UTC-midnight closes of ``asset`` from ``start`` to ``end`` inclusive."""
    ts, px = load_history(asset, data_dir)
    t0, t1 = _parse_date("start", start), _parse_date("end", end)
    if t1 <= t0:
        raise InputError("end", f"must be after start ({start} .. {end})")
    daily = ts % SECONDS_PER_DAY == 0
    sel = daily & (ts >= t0) & (ts <= t1)
    if not np.any(sel):
        raise InputError("start", f"no history for {asset} between {start} and {end}")
    t_sel, p_sel = ts[sel], px[sel]
    if t_sel[0] != t0 or t_sel[-1] != t1:
        first = _dt.datetime.fromtimestamp(int(ts[daily][0]), _dt.UTC).date()
        last = _dt.datetime.fromtimestamp(int(ts[daily][-1]), _dt.UTC).date()
        raise InputError(
            "start" if t_sel[0] != t0 else "end", f"history for {asset} covers {first} .. {last} only"
        )
    if np.any(np.diff(t_sel) != SECONDS_PER_DAY):
        raise InputError("start", f"history for {asset} has a gap between {start} and {end}")
    return t_sel, p_sel


def realized_daily_vol(prices: FloatArray) -> float:
    """Sample standard deviation of the daily log returns of a daily close series."""
    rets = np.diff(np.log(np.asarray(prices, dtype=np.float64)))
    if rets.size < 2:
        raise InputError("prices", "need at least 3 daily closes to estimate a volatility")
    return float(np.std(rets, ddof=1))


def brownian_bridge_log(
    log_knots: FloatArray, steps_per_knot: int, sigma: float, rng: np.random.Generator
) -> FloatArray:
    """Fill ``steps_per_knot`` steps between consecutive log-price knots with a Brownian bridge.

    Returns ``(len(log_knots) - 1) * steps_per_knot + 1`` values; value ``k * steps_per_knot``
    equals ``log_knots[k]`` exactly. ``sigma`` is the bridge's volatility per knot interval.
    """
    n_int = log_knots.size - 1
    n = steps_per_knot
    frac = np.arange(n + 1) / n  # (n+1,)
    dw = rng.standard_normal((n_int, n)) * (sigma / np.sqrt(n))
    w = np.concatenate([np.zeros((n_int, 1)), np.cumsum(dw, axis=1)], axis=1)  # (n_int, n+1)
    bridge = w - frac[None, :] * w[:, -1:]
    linear = log_knots[:-1, None] * (1.0 - frac[None, :]) + log_knots[1:, None] * frac[None, :]
    seg = linear + bridge
    out = np.empty(n_int * n + 1)
    out[:-1] = seg[:, :-1].reshape(-1)
    out[-1] = log_knots[-1]
    # knots exactly (no rounding drift from the linear interpolation)
    out[::n] = log_knots
    return out


def history_path(
    asset: str | Sequence[str],
    start: str | _dt.date,
    end: str | _dt.date,
    steps_per_day: int,
    seed: int,
    *,
    intraday_vol_daily: float | Sequence[float] | Mapping[str, float] | None = None,
    data_dir: Path | None = None,
) -> PricePath:
    """Real 2021 daily closes of one or more assets, with a seeded intraday Brownian bridge.

    ``start``/``end`` are UTC dates (inclusive, both must be in the data); the path has
    ``days * steps_per_day + 1`` points and equals the daily close at every midnight.
    ``intraday_vol_daily`` (per asset) is the bridge's daily log volatility; by default the
    realised daily volatility of the closes in the window. Each asset's noise comes from its
    own child of ``SeedSequence(seed)``.
    """
    assets = (asset,) if isinstance(asset, str) else tuple(asset)
    if not assets:
        raise InputError("asset", "need at least one asset")
    steps_per_day = _require_int("steps_per_day", steps_per_day, 1)
    seed = _require_seed(seed)
    closes = [daily_closes(a, start, end, data_dir) for a in assets]
    t_days = closes[0][0]
    if intraday_vol_daily is None:
        vols = np.array([realized_daily_vol(p) if p.size >= 3 else 0.0 for _, p in closes])
    else:
        vols = _per_asset("intraday_vol_daily", intraday_vol_daily, [a.upper() for a in assets])
        for a, v in zip(assets, vols):
            _require_nonnegative(f"intraday_vol_daily[{a}]", float(v))
    children = np.random.SeedSequence(seed).spawn(len(assets))
    cols = []
    for (_, p), vol, child in zip(closes, vols, children):
        rng = np.random.default_rng(child)
        cols.append(np.exp(brownian_bridge_log(np.log(p), steps_per_day, float(vol), rng)))
    prices = np.stack(cols, axis=1)
    n_steps = prices.shape[0] - 1
    return PricePath(
        assets=tuple(a.upper() for a in assets),
        timestamps=_timestamps(int(t_days[0]), n_steps, steps_per_day),
        prices=prices,
        dt_days=1.0 / steps_per_day,
        seed=seed,
        meta={"kind": "history", "start": str(start), "end": str(end), "intraday_vol_daily": vols.tolist()},
    )


# ----------------------------------------------------------------------------- GBM with jumps


def _forced_steps(name: str, at_day: float, steps_per_day: int, n_steps: int) -> int:
    step = round(at_day * steps_per_day)
    if not 1 <= step <= n_steps:
        raise InputError(name, f"day {at_day} is outside the path (0, {n_steps / steps_per_day}]")
    return step


def gbm_jump_path(
    s0: float | Sequence[float] | Mapping[str, float],
    *,
    days: float,
    steps_per_day: int,
    seed: int,
    assets: Sequence[str] = ("BTC",),
    mu_annual: float | Sequence[float] | Mapping[str, float] = 0.0,
    sigma_annual: float | Sequence[float] | Mapping[str, float] = 0.8,
    jump_intensity_per_day: float = 0.0,
    jump_mean: float | Sequence[float] | Mapping[str, float] = 0.0,
    jump_std: float | Sequence[float] | Mapping[str, float] = 0.0,
    correlation: float | Sequence[Sequence[float]] | None = None,
    forced_jumps: Sequence[tuple[float, float | Sequence[float] | Mapping[str, float]]] = (),
    start_ts: int = 0,
) -> PricePath:
    """Seeded Merton jump diffusion (see the module docstring), one column per asset.

    ``forced_jumps`` is a list of ``(day, log_return)`` added to the path at that time (a
    deterministic crash); ``log_return`` per asset like the other per-asset arguments.
    The diffusion drift is compensated for the random jumps only, so ``E[S_T] = S_0 e^{mu T}``
    without forced jumps.
    """
    assets = tuple(assets)
    _require_positive("days", days)
    steps_per_day = _require_int("steps_per_day", steps_per_day, 1)
    seed = _require_seed(seed)
    _require_nonnegative("jump_intensity_per_day", jump_intensity_per_day)
    n_steps = round(days * steps_per_day)
    if n_steps < 1:
        raise InputError("days", "gives no steps at this steps_per_day")
    s0_a = _per_asset("s0", s0, assets)
    for a, v in zip(assets, s0_a):
        _require_positive(f"s0[{a}]", float(v))
    mu = _per_asset("mu_annual", mu_annual, assets) / DAYS_PER_YEAR
    sigma = _per_asset("sigma_annual", sigma_annual, assets) / np.sqrt(DAYS_PER_YEAR)
    if np.any(sigma < 0):
        raise InputError("sigma_annual", "must be >= 0")
    j_mean = _per_asset("jump_mean", jump_mean, assets)
    j_std = _per_asset("jump_std", jump_std, assets)
    if np.any(j_std < 0):
        raise InputError("jump_std", "must be >= 0")
    chol = _cholesky(correlation, len(assets))
    dt = 1.0 / steps_per_day
    kappa = np.exp(j_mean + 0.5 * j_std**2) - 1.0
    drift = (mu - 0.5 * sigma**2 - jump_intensity_per_day * kappa) * dt

    ss_diff, ss_count, ss_size = np.random.SeedSequence(seed).spawn(3)
    z = np.random.default_rng(ss_diff).standard_normal((n_steps, len(assets))) @ chol.T
    counts = np.random.default_rng(ss_count).poisson(jump_intensity_per_day * dt, size=n_steps)
    zj = np.random.default_rng(ss_size).standard_normal((n_steps, len(assets)))
    jumps = counts[:, None] * j_mean[None, :] + np.sqrt(counts)[:, None] * j_std[None, :] * zj
    rets = drift[None, :] + sigma[None, :] * np.sqrt(dt) * z + jumps
    for k, (day, size) in enumerate(forced_jumps):
        step = _forced_steps(f"forced_jumps[{k}].day", float(day), steps_per_day, n_steps)
        rets[step - 1] += _per_asset(f"forced_jumps[{k}].log_return", size, assets)
    log_p = np.vstack([np.log(s0_a)[None, :], np.log(s0_a)[None, :] + np.cumsum(rets, axis=0)])
    return PricePath(
        assets=assets,
        timestamps=_timestamps(start_ts, n_steps, steps_per_day),
        prices=np.exp(log_p),
        dt_days=dt,
        seed=seed,
        meta={"kind": "gbm_jump", "n_random_jumps": int(counts.sum())},
    )


# ----------------------------------------------------------------------------- GARCH(1,1)


def garch_path(
    s0: float | Sequence[float] | Mapping[str, float],
    *,
    n_steps: int,
    steps_per_day: int,
    seed: int,
    assets: Sequence[str] = ("BTC",),
    omega: float | Sequence[float] | Mapping[str, float] = 2e-7,
    alpha: float | Sequence[float] | Mapping[str, float] = 0.08,
    beta: float | Sequence[float] | Mapping[str, float] = 0.9,
    mu: float | Sequence[float] | Mapping[str, float] = 0.0,
    correlation: float | Sequence[Sequence[float]] | None = None,
    shock_day: float | None = None,
    shock_z: float | Sequence[float] | Mapping[str, float] = -8.0,
    start_ts: int = 0,
) -> PricePath:
    """Seeded GARCH(1,1) log-return path (see the module docstring); parameters per step.

    ``omega > 0``, ``alpha, beta >= 0`` and ``alpha + beta < 1`` (covariance stationary).
    ``shock_day`` forces the standardized innovation at that time to ``shock_z`` (a crash
    that also raises the conditional variance of the following steps: volatility clustering).
    """
    assets = tuple(assets)
    n_steps = _require_int("n_steps", n_steps, 1)
    steps_per_day = _require_int("steps_per_day", steps_per_day, 1)
    seed = _require_seed(seed)
    s0_a = _per_asset("s0", s0, assets)
    for a, v in zip(assets, s0_a):
        _require_positive(f"s0[{a}]", float(v))
    om = _per_asset("omega", omega, assets)
    al = _per_asset("alpha", alpha, assets)
    be = _per_asset("beta", beta, assets)
    mu_a = _per_asset("mu", mu, assets)
    if np.any(om <= 0):
        raise InputError("omega", "must be > 0")
    if np.any(al < 0) or np.any(be < 0):
        raise InputError("alpha", "alpha and beta must be >= 0")
    if np.any(al + be >= 1):
        raise InputError("beta", "alpha + beta must be < 1 (stationary variance)")
    chol = _cholesky(correlation, len(assets))
    z = np.random.default_rng(np.random.SeedSequence(seed)).standard_normal((n_steps, len(assets))) @ chol.T
    if shock_day is not None:
        step = _forced_steps("shock_day", float(shock_day), steps_per_day, n_steps)
        z[step - 1] = _per_asset("shock_z", shock_z, assets)
    h = om / (1.0 - al - be)
    rets = np.empty((n_steps, len(assets)))
    var = np.empty((n_steps, len(assets)))
    for t in range(n_steps):  # recursion: inherently sequential, A-wide
        var[t] = h
        eps = np.sqrt(h) * z[t]
        rets[t] = mu_a + eps
        h = om + al * eps * eps + be * h
    log_p = np.vstack([np.log(s0_a)[None, :], np.log(s0_a)[None, :] + np.cumsum(rets, axis=0)])
    return PricePath(
        assets=assets,
        timestamps=_timestamps(start_ts, n_steps, steps_per_day),
        prices=np.exp(log_p),
        dt_days=1.0 / steps_per_day,
        seed=seed,
        meta={"kind": "garch", "conditional_variance": var},
    )


# ----------------------------------------------------------------------------- specs

#: A per-asset value: one number for every asset, or a mapping asset -> number.
PerAsset = float | dict[str, float]
Positive = Annotated[float, Field(gt=0.0)]
NonNegative = Annotated[float, Field(ge=0.0)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Wick(_Strict):
    """An intraday extreme set at one step of a path (e.g. a low that the daily closes miss)."""

    at: _dt.datetime = Field(description="UTC time of a path step, e.g. 2021-05-19T12:00:00Z")
    prices: dict[str, float] = Field(description="asset -> USD price at that step")
    note: str = ""

    @field_validator("prices")
    @classmethod
    def _positive(cls, v: dict[str, float]) -> dict[str, float]:
        for k, x in v.items():
            if not 0 < x < 1e9:
                raise ValueError(f"price of {k} must be positive, got {x}")
        return v


class HistoryPathSpec(_Strict):
    """Real daily closes of ``assets`` from ``start`` to ``end`` with an intraday bridge."""

    kind: Literal["history"]
    assets: list[Literal["BTC", "ETH"]] = Field(min_length=1)
    start: _dt.date
    end: _dt.date
    steps_per_day: int = Field(ge=1, le=86_400)
    intraday_vol_daily: PerAsset | None = None
    wicks: list[Wick] = Field(default_factory=list)


class ForcedJump(_Strict):
    day: Positive
    log_return: PerAsset


class GbmJumpPathSpec(_Strict):
    """Merton jump diffusion (annualised drift/vol, jump intensity per day, log jump sizes)."""

    kind: Literal["gbm_jump"]
    assets: list[str] = Field(min_length=1)
    s0: PerAsset
    days: Positive
    steps_per_day: int = Field(ge=1, le=86_400)
    mu_annual: PerAsset = 0.0
    sigma_annual: PerAsset = 0.8
    jump_intensity_per_day: NonNegative = 0.0
    jump_mean: PerAsset = 0.0
    jump_std: PerAsset = 0.0
    correlation: float | None = Field(default=None, gt=-1.0, lt=1.0)
    forced_jumps: list[ForcedJump] = Field(default_factory=list)
    wicks: list[Wick] = Field(default_factory=list)


class GarchPathSpec(_Strict):
    """GARCH(1,1) on per-step log returns, optionally with a forced crash innovation."""

    kind: Literal["garch"]
    assets: list[str] = Field(min_length=1)
    s0: PerAsset
    n_steps: int = Field(ge=1)
    steps_per_day: int = Field(ge=1, le=86_400)
    omega: PerAsset = 2e-7
    alpha: PerAsset = 0.08
    beta: PerAsset = 0.9
    mu: PerAsset = 0.0
    correlation: float | None = Field(default=None, gt=-1.0, lt=1.0)
    shock_day: Positive | None = None
    shock_z: PerAsset = -8.0
    wicks: list[Wick] = Field(default_factory=list)


PathSpec = Annotated[HistoryPathSpec | GbmJumpPathSpec | GarchPathSpec, Field(discriminator="kind")]


def make_path(spec: HistoryPathSpec | GbmJumpPathSpec | GarchPathSpec, seed: int) -> PricePath:
    """The price path of ``spec`` for ``seed`` (deterministic), with the spec's wicks applied.

    Errors name the spec's field (``wicks.0.at``, ``s0``, ...); callers prefix where the spec lives.
    """
    if isinstance(spec, HistoryPathSpec):
        path = history_path(spec.assets, spec.start, spec.end, spec.steps_per_day, seed,
                            intraday_vol_daily=spec.intraday_vol_daily)
    elif isinstance(spec, GbmJumpPathSpec):
        path = gbm_jump_path(
            spec.s0, days=spec.days, steps_per_day=spec.steps_per_day, seed=seed, assets=spec.assets,
            mu_annual=spec.mu_annual, sigma_annual=spec.sigma_annual,
            jump_intensity_per_day=spec.jump_intensity_per_day, jump_mean=spec.jump_mean,
            jump_std=spec.jump_std, correlation=spec.correlation,
            forced_jumps=[(j.day, j.log_return) for j in spec.forced_jumps],
        )
    elif isinstance(spec, GarchPathSpec):
        path = garch_path(
            spec.s0, n_steps=spec.n_steps, steps_per_day=spec.steps_per_day, seed=seed, assets=spec.assets,
            omega=spec.omega, alpha=spec.alpha, beta=spec.beta, mu=spec.mu, correlation=spec.correlation,
            shock_day=spec.shock_day, shock_z=spec.shock_z,
        )
    else:  # pragma: no cover - the discriminated union admits nothing else
        raise InputError("kind", f"unknown path kind {spec!r}")
    for k, wick in enumerate(spec.wicks):
        ts = int(wick.at.replace(tzinfo=wick.at.tzinfo or _dt.UTC).timestamp())
        hits = np.nonzero(path.timestamps == ts)[0]
        if len(hits) == 0:
            raise InputError(f"wicks.{k}.at", f"{wick.at.isoformat()} is not a step of the path")
        for asset, price in wick.prices.items():
            if asset not in path.assets:
                raise InputError(f"wicks.{k}.prices", f"unknown underlying {asset!r}")
            path.prices[hits[0], path.assets.index(asset)] = price
    return path



class _PathFile(_Strict):
    path: PathSpec


def load_path_spec(
    source: str | Path | Mapping[str, object], *, field: str = "path"
) -> HistoryPathSpec | GbmJumpPathSpec | GarchPathSpec:
    """A validated path spec from a dict or a JSON file: a path spec itself, or any file with a
    ``path`` object (a simulator scenario). Errors name ``<field>.<key>`` (``<file>:path.<key>``
    for a file); unknown keys are named, not ignored."""
    if isinstance(source, Mapping):
        data: object = dict(source)
    else:
        data = load_json(source, field=str(source))
        field = f"{source}:path"
    if isinstance(data, dict) and "kind" not in data and isinstance(data.get("path"), dict):
        data = data["path"]
    try:
        return parse_model(_PathFile, {"path": data}).path
    except InputError as exc:
        parts = exc.field.split(".")[1:]  # drop "path"
        if parts and parts[0] in ("history", "gbm_jump", "garch"):  # the discriminator's tag
            parts = parts[1:]
        raise InputError(".".join([field, *parts]), exc.problem) from None
