"""One sweep task in a worker: scenario + seed -> the task's result tables as Parquet bytes.

:func:`run_task` is the module-level function every executor runs (sequential, local pool,
Ray): it validates the resolved scenario, runs :func:`~offchain.sim.runner.compare_models`
and returns ``{table name: Parquet bytes}``. The bytes are a pure function of the task (fixed
column order and types, rows sorted by model (and asset or step), no timestamps, one pinned
pyarrow), so a task gives the same bytes on any executor and any machine; the driver writes
them (:mod:`offchain.sim.sweep_store`), so workers need no shared file system.

Tables (every row starts with the task columns ``task, scenario, scenario_sha256, seed,
replicate, point`` and one ``param_<name>`` column per grid axis):

* ``summary``: one row per model: the simulator's summary metrics (bad debt, liquidations,
  insurance fund, margin rates), the procyclicality measures of the margin rate (trough,
  peak-to-trough ratio, largest one-day rise) and the liquidators' latency;
* ``assets``: one row per model and asset: cascade amplification, impact and drawdowns;
* ``timeseries``: one row per model and step (the run with impact): margin rate, liquidation
  volume and count, insurance fund, cumulative bad debt, open interest.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from offchain.sim.engine import RunResult
from offchain.sim.runner import compare_models
from offchain.sim.scenario import Scenario, parse_scenario
from offchain.sim.sweep import ParamType, SweepTask

TABLES = ("summary", "assets", "timeseries")
PARQUET_OPTIONS: dict[str, Any] = {"compression": "zstd", "compression_level": 3, "use_dictionary": True}

_PARAM_TYPES: dict[ParamType, pa.DataType] = {
    "bool": pa.bool_(), "int": pa.int64(), "float": pa.float64(), "string": pa.string(), "json": pa.string(),
}

TASK_FIELDS = [
    pa.field("task", pa.string(), nullable=False),
    pa.field("scenario", pa.string(), nullable=False),
    pa.field("scenario_sha256", pa.string(), nullable=False),
    pa.field("seed", pa.int64(), nullable=False),
    pa.field("replicate", pa.int64(), nullable=False),
    pa.field("point", pa.int64(), nullable=False),
]
F64, I64, STR = pa.float64(), pa.int64(), pa.string()
SUMMARY_FIELDS = [
    ("model", STR), ("kind", STR), ("accounts", I64),
    ("initial_open_interest_usd", F64), ("bad_debt_usd", F64), ("socialized_loss_usd", F64),
    ("liquidation_volume_usd", F64), ("liquidations", I64),
    ("insurance_fund_start_usd", F64), ("insurance_fund_end_usd", F64), ("insurance_fund_drawdown_usd", F64),
    ("topups_usd", F64), ("final_open_interest_usd", F64),
    ("margin_rate_start_pct", F64), ("margin_rate_peak_pct", F64), ("margin_rate_trough_pct", F64),
    ("margin_rate_peak_to_trough", F64), ("margin_rate_max_1d_increase_pp", F64),
    ("bad_debt_no_impact_usd", F64), ("liquidation_volume_no_impact_usd", F64), ("liquidations_no_impact", I64),
    ("cascade_bad_debt_usd", F64),
    ("liquidator_latency_min_steps", I64), ("liquidator_latency_mean_steps", F64),
    ("steps", I64), ("dt_days", F64),
    ("cash_conservation_error_usd", F64), ("position_conservation_error", F64),
]
ASSET_FIELDS = [
    ("model", STR), ("asset", STR), ("cascade_amplification_pct", F64), ("max_impact_pct", F64),
    ("price_drawdown_pct", F64), ("exogenous_drawdown_pct", F64), ("drawdown_amplification_pp", F64),
]
TIMESERIES_FIELDS = [
    ("model", STR), ("step", I64), ("day", F64), ("margin_rate_pct", F64), ("liquidation_volume_usd", F64),
    ("liquidations", I64), ("insurance_fund_usd", F64), ("bad_debt_usd", F64), ("open_interest_usd", F64),
]


def param_fields(param_types: Sequence[tuple[str, ParamType]]) -> list[pa.Field]:
    return [pa.field(f"param_{name}", _PARAM_TYPES[t]) for name, t in param_types]


def schema(table: str, param_types: Sequence[tuple[str, ParamType]]) -> pa.Schema:
    """The fixed schema of ``table`` for a sweep with these grid columns."""
    own = {"summary": SUMMARY_FIELDS, "assets": ASSET_FIELDS, "timeseries": TIMESERIES_FIELDS}[table]
    return pa.schema([*TASK_FIELDS, *param_fields(param_types), *(pa.field(n, t) for n, t in own)])


def param_value(value: Any, kind: ParamType) -> Any:
    """A grid value as stored in its column (``json`` columns hold canonical JSON text)."""
    if kind == "json":
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    if kind == "float":
        return float(value)
    return value


def to_parquet(table: pa.Table) -> bytes:
    buf = io.BytesIO()
    pq.write_table(table, buf, **PARQUET_OPTIONS)
    return buf.getvalue()


def margin_rate_cycle(result: RunResult, steps_per_day: int) -> tuple[float, float | None, float]:
    """``(trough %, peak / trough, largest rise over one day in percentage points)`` of the
    aggregate margin rate while positions are open (trough and ratio over open steps only)."""
    s = result.series
    rate = s.margin_rate
    open_ = s.open_interest > 0.0
    if not np.any(open_):
        return 0.0, None, 0.0
    r = rate[open_]
    trough = float(np.min(r))
    ratio = float(np.max(r)) / trough if trough > 0.0 else None
    rise = rate[steps_per_day:] - rate[:-steps_per_day] if rate.size > steps_per_day else np.zeros(1)
    return 100.0 * trough, ratio, 100.0 * max(0.0, float(np.max(rise)))


def run_task(task: SweepTask) -> dict[str, bytes]:
    """Run one task (every selected model, with and without impact) and return its tables."""
    scenario = parse_scenario(task.scenario, task.scenario_name)
    comp = compare_models(scenario, task.seed, task.models, no_impact_runs=task.no_impact_runs)
    steps_per_day = max(1, round(1.0 / comp.path.dt_days))
    lat = np.array([liq.latency_steps for liq in scenario.liquidators], dtype=np.float64)
    cap = np.array([liq.capital_usd for liq in scenario.liquidators], dtype=np.float64)
    extra = {
        "liquidator_latency_min_steps": int(lat.min()),
        "liquidator_latency_mean_steps": float(lat @ cap / cap.sum()),
        "steps": comp.path.n_steps,
        "dt_days": comp.path.dt_days,
    }
    models = sorted(comp.summary, key=lambda row: str(row["model"]))
    summary_rows: list[dict[str, Any]] = []
    asset_rows: list[dict[str, Any]] = []
    for row in models:
        name = str(row["model"])
        trough, ratio, rise = margin_rate_cycle(comp.with_impact[name], steps_per_day)
        summary_rows.append({**row, **extra, "margin_rate_trough_pct": trough,
                             "margin_rate_peak_to_trough": ratio, "margin_rate_max_1d_increase_pp": rise})
        for asset in scenario.assets:
            asset_rows.append({"model": name, "asset": asset, **{
                col: row[f"{col}_{asset}"] for col, _ in ASSET_FIELDS[2:]}})
    out = {
        "summary": _table(task, "summary", summary_rows),
        "assets": _table(task, "assets", asset_rows),
    }
    if task.timeseries:
        out["timeseries"] = _timeseries(task, scenario, comp.with_impact, [str(r["model"]) for r in models],
                                        comp.path.dt_days)
    return {name: to_parquet(table) for name, table in out.items()}


def _task_columns(task: SweepTask, n: int) -> dict[str, list[Any]]:
    cols: dict[str, list[Any]] = {
        "task": [task.key] * n, "scenario": [task.scenario_name] * n,
        "scenario_sha256": [task.scenario_sha256] * n, "seed": [task.seed] * n,
        "replicate": [task.replicate] * n, "point": [task.point] * n,
    }
    types = dict(task.param_types)
    for name, value in task.params:
        cols[f"param_{name}"] = [param_value(value, types[name])] * n
    return cols


def _table(task: SweepTask, name: str, rows: list[dict[str, Any]]) -> pa.Table:
    sch = schema(name, task.param_types)
    cols = _task_columns(task, len(rows))
    for f in sch:
        if f.name not in cols:
            cols[f.name] = [_plain(r.get(f.name)) for r in rows]
    return pa.table(cols, schema=sch)


def _plain(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    return v


def _timeseries(
    task: SweepTask, scenario: Scenario, runs: dict[str, RunResult], names: list[str], dt_days: float
) -> pa.Table:
    sch = schema("timeseries", task.param_types)
    arrays: dict[str, list[np.ndarray[Any, Any]]] = {f.name: [] for f in sch}
    for name in names:
        s = runs[name].series
        n = s.margin_rate.size
        steps = np.arange(n, dtype=np.int64)
        own: dict[str, np.ndarray[Any, Any]] = {
            "step": steps, "day": steps * dt_days, "margin_rate_pct": 100.0 * s.margin_rate,
            "liquidation_volume_usd": s.liq_volume, "liquidations": s.liq_count.astype(np.int64),
            "insurance_fund_usd": s.insurance, "bad_debt_usd": s.bad_debt, "open_interest_usd": s.open_interest,
        }
        for f in sch:
            if f.name == "model":
                arrays["model"].append(np.full(n, name, dtype=object))
            elif f.name in own:
                arrays[f.name].append(own[f.name])
    n_rows = sum(a.size for a in arrays["step"])
    cols: dict[str, Any] = dict(_task_columns(task, n_rows))
    for key, parts in arrays.items():
        if parts:
            cols[key] = np.concatenate(parts)
    return pa.table(cols, schema=sch)

