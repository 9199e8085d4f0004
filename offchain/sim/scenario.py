"""Scenario files for the agent-based simulator (pydantic v2 models, JSON or YAML).

A scenario fixes everything but the seed: the exogenous price path (history, GBM with jumps
or GARCH), the market (depth curve, volatility reference), arbitrageurs, liquidators, the
liquidation rules, the trader population, and the margin models to compare. Unknown keys
are rejected, so a typo is an error rather than a silent default.

:func:`load_scenario` reads a file and raises :class:`~zkmargin.errors.InputError` whose
``field`` is ``<file>:<dotted.path>`` of the first invalid entry. :func:`scenario_hash` is
the SHA-256 of the canonical JSON of the validated scenario (so a JSON file and an
equivalent YAML file have the same hash); it is recorded in every output.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from offchain.sim.paths import (
    HistoryPathSpec,
    NonNegative,
    PathSpec,
    PerAsset,
    Positive,
)
from zkmargin.errors import InputError

Fraction = Annotated[float, Field(ge=0.0, le=1.0)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# ----------------------------------------------------------------------------- agents


class MarketSpec(_Strict):
    """Market makers' linear depth curve and the volatility reference.

    Selling ``Q`` units at price ``P`` moves the price to ``P (1 - 0.01 Q P / d)`` where ``d``
    is ``depth_usd_per_pct`` (USD notional per 1 % move); depth shrinks with volatility:
    ``d_t = d (vol_ref / max(vol_ref, vol_t))^depth_vol_elasticity``.
    """

    depth_usd_per_pct: PerAsset
    depth_vol_elasticity: NonNegative = 1.0
    reference_vol_daily: PerAsset
    ewma_lambda_daily: float = Field(default=0.94, gt=0.0, lt=1.0)
    max_move_per_trade: float = Field(default=0.5, gt=0.0, lt=1.0)
    market_maker_capital_usd: NonNegative = 1e8


class ArbitrageurSpec(_Strict):
    """Arbitrageurs close ``recovery_per_step`` of the gap to the exogenous price per step."""

    recovery_per_step: Fraction = 0.1
    capacity_usd_per_step: NonNegative = 1e6


class LiquidatorSpec(_Strict):
    name: str = Field(min_length=1)
    latency_steps: int = Field(ge=0)
    capital_usd: Positive


class LiquidationSpec(_Strict):
    """Auction discount to mark, fee to the insurance fund, partial-liquidation target.

    A partial liquidation restores ``equity >= (1 + target_buffer) * requirement`` with the
    requirement ``target`` (IM or MM) of the remaining position.
    """

    discount: Fraction = 0.02
    fee: Fraction = 0.01
    target: Literal["im", "mm"] = "im"
    target_buffer: Annotated[float, Field(ge=0.0, le=10.0)] = 0.0
    insurance_fund_usd: NonNegative = 1e6


class LogNormalSpec(_Strict):
    median: Positive
    sigma_log: NonNegative = 0.0
    max: Positive | None = None


class TraderSpec(_Strict):
    """The leveraged trader population (drawn once per seed, shared by every model)."""

    n: int = Field(ge=1, le=10_000_000)
    collateral_usd: LogNormalSpec
    leverage: LogNormalSpec
    long_fraction: Fraction = 0.7
    asset_weights: dict[str, NonNegative] | None = None
    multi_asset_fraction: Fraction = 0.0
    wallet_reserve_fraction: NonNegative = 0.0
    topup_probability_per_step: Fraction = 0.0


# ----------------------------------------------------------------------------- margin models


class ModelEntry(_Strict):
    """One margin model to compare: a risk-engine model name and its config.

    ``config`` is validated by the risk engine (``offchain.risk.margin.load_config``), see
    ``docs/risk-engine.md`` for every model's parameters. ``var`` and ``dynamic`` are
    calibrated on the scenario's ``calibration`` history unless their config has its own.
    """

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    model: Literal["isolated", "cross", "standard_options", "risk_matrix", "var", "dynamic"]
    config: dict[str, Any] = Field(default_factory=dict)


class CalibrationSpec(_Strict):
    """Daily closes (``data/prices``) from ``start`` to ``end`` that calibrate var/dynamic models."""

    start: _dt.date
    end: _dt.date


# ----------------------------------------------------------------------------- scenario


class Scenario(_Strict):
    """A whole simulation scenario; see ``docs/simulator.md`` and ``scenarios/``."""

    name: str = Field(min_length=1)
    description: str = ""
    seed: int = Field(default=0, ge=0)
    path: PathSpec
    market: MarketSpec
    arbitrageurs: ArbitrageurSpec = ArbitrageurSpec()
    liquidators: list[LiquidatorSpec] = Field(min_length=1)
    liquidation: LiquidationSpec = LiquidationSpec()
    traders: TraderSpec
    calibration: CalibrationSpec | None = None
    models: list[ModelEntry] = Field(min_length=1)

    @property
    def assets(self) -> tuple[str, ...]:
        return tuple(self.path.assets)

    @model_validator(mode="after")
    def _check_consistency(self) -> Scenario:
        assets = list(self.path.assets)
        if len(set(assets)) != len(assets):
            raise ValueError(f"path.assets has duplicates: {assets}")
        _check_per_asset(self, assets)
        names = [m.name for m in self.models]
        if len(set(names)) != len(names):
            raise ValueError(f"models: names must be unique, got {names}")
        lnames = [liq.name for liq in self.liquidators]
        if len(set(lnames)) != len(lnames):
            raise ValueError(f"liquidators: names must be unique, got {lnames}")
        if isinstance(self.path, HistoryPathSpec) and self.path.end <= self.path.start:
            raise ValueError("path.end must be after path.start")
        if self.calibration is not None and self.calibration.end <= self.calibration.start:
            raise ValueError("calibration.end must be after calibration.start")
        if self.traders.asset_weights is not None:
            unknown = set(self.traders.asset_weights) - set(assets)
            if unknown:
                raise ValueError(f"traders.asset_weights: unknown asset(s) {sorted(unknown)}")
            if sum(self.traders.asset_weights.values()) <= 0:
                raise ValueError("traders.asset_weights: must not all be zero")
        if self.traders.multi_asset_fraction > 0 and len(assets) < 2:
            raise ValueError("traders.multi_asset_fraction needs at least two assets in path.assets")
        return self

    def select_models(self, names: list[str] | None) -> list[ModelEntry]:
        """The models named in ``names`` (all if None), in scenario order."""
        if not names:
            return list(self.models)
        known = {m.name: m for m in self.models}
        unknown = [n for n in names if n not in known]
        if unknown:
            raise InputError("models", f"unknown model(s) {unknown}; the scenario has {list(known)}")
        return [known[n] for n in names]


def _check_per_asset(obj: BaseModel, assets: list[str], prefix: str = "") -> None:
    """Every mapping-valued per-asset field must name exactly the scenario's assets."""
    for name, value in obj:
        where = f"{prefix}{name}"
        if isinstance(value, BaseModel):
            _check_per_asset(value, assets, where + ".")
        elif isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, BaseModel):
                    _check_per_asset(item, assets, f"{where}[{i}].")
        elif isinstance(value, dict) and name not in ("asset_weights", "config"):
            keys = set(value)
            if keys != set(assets):
                raise ValueError(f"{where}: needs exactly the assets {assets}, got {sorted(keys)}")


def _loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def parse_scenario(data: object, source: str = "scenario") -> Scenario:
    """Validate a decoded scenario document; errors name ``source:dotted.path``."""
    if not isinstance(data, dict):
        raise InputError(source, "must be a JSON/YAML object (mapping) at the top level")
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        from offchain.validation import first_error

        loc, msg = first_error(exc, Scenario)  # an unknown key first, by name
        field = _loc(loc)
        more = f" (and {exc.error_count() - 1} more problem(s))" if exc.error_count() > 1 else ""
        return _raise(source, field, msg + more)
    from offchain.sim.policies import NEEDS_HISTORY, engine_config

    for i, entry in enumerate(scenario.models):
        try:
            cfg = engine_config(entry.model, entry.config)
        except InputError as exc:
            return _raise(source, f"models[{i}].{exc.field}", exc.problem)
        if (
            entry.model in NEEDS_HISTORY
            and cfg.history is None
            and cfg.history_file is None
            and scenario.calibration is None
        ):
            return _raise(
                source, f"models[{i}]", f"model {entry.model!r} needs a price history: add 'calibration'"
            )
    return scenario


def _raise(source: str, field: str, msg: str) -> Scenario:
    raise InputError(f"{source}:{field}" if field else source, msg)


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file (``.json``, or ``.yaml``/``.yml`` when pyyaml is installed)."""
    file = Path(path)
    if not file.is_file():
        raise InputError("scenario", f"file {file} does not exist")
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError("scenario", f"cannot read {file}: {exc}") from None
    suffix = file.suffix.lower()
    if suffix in {".yaml", ".yml"}:
        try:
            import yaml
        except ImportError:  # pragma: no cover - pyyaml is installed with the ape stack
            raise InputError("scenario", "YAML scenarios need pyyaml; use JSON instead") from None
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise InputError(file.name, f"invalid YAML: {exc}") from None
    elif suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(
                file.name, f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
            ) from None
    else:
        raise InputError("scenario", f"unsupported file type {suffix!r} (use .json, .yaml or .yml)")
    return parse_scenario(data, file.name)


def scenario_hash(scenario: Scenario) -> str:
    """SHA-256 (hex) of the canonical JSON of the validated scenario."""
    canonical = json.dumps(scenario.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()
