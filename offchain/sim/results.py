"""SQL over sweep results (DuckDB on the Parquet files) and the named reports.

:class:`Results` opens a sweep folder (``<out>`` of ``zkmargin sweep``) or a folder of sweep
folders (default ``out/sweeps``) and exposes the tables as DuckDB views, each with a
``sweep`` column (the sweep's name) first:

* ``summary``: one row per task and model; ``assets``: per task, model and asset;
  ``timeseries``: per task, model and step (see :mod:`offchain.sim.sweep_task`);
* ``plan``: every task of the sweep (finished or not), with its seed and parameters;
* ``failures``: failed tasks (``task, scenario, seed, replicate, point, params, attempts, error``);
* ``sweeps``: one row per sweep (name, SHA-256, tasks, finished, failed, root seed, folder).

:meth:`Results.query` runs any SQL over them. The named reports (:data:`REPORTS`) each write
``<name>.csv`` and ``<name>.png``:

* ``bad-debt``: bad debt by model (per sweep, scenario and grid point): mean with a bootstrap
  confidence interval (percentile method, :func:`scipy.stats.bootstrap`, seeded), median,
  95th percentile, share of tasks with bad debt, mean cascade part;
* ``latency``: liquidation volume (and bad debt) against the liquidators' capital-weighted
  mean latency, with confidence intervals;
* ``procyclicality``: the margin rate's rise in the crash per model: start and peak rate,
  peak-to-trough ratio and largest one-day rise (EMIR anti-procyclicality measures), with
  confidence intervals, and the mean margin-rate path.

The bootstrap is seeded from the group's label, so a report is the same on every run.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import duckdb
import numpy as np
import pyarrow as pa

from offchain.sim.sweep_store import FAILURES, MANIFEST, PLAN, TASKS, read_manifest
from offchain.sim.sweep_task import TABLES, schema
from offchain.validation import write_atomic
from zkmargin import __version__
from zkmargin.errors import InputError

DEFAULT_ROOT = Path("out") / "sweeps"
CONFIDENCE = 0.95
RESAMPLES = 2000
PNG_DPI = 110


@dataclass(frozen=True)
class SweepFolder:
    root: Path
    manifest: dict[str, Any]

    @property
    def name(self) -> str:
        return str(self.manifest["sweep"]["name"])

    @property
    def param_columns(self) -> list[str]:
        return [str(p["column"]) for p in self.manifest.get("params", [])]


def find_sweeps(root: Path) -> list[SweepFolder]:
    """The sweep at ``root``, or the sweeps in its sub-folders (sorted by folder name)."""
    root = Path(root)
    if not root.is_dir():
        raise InputError("--dir", f"{root} is not a folder (run `zkmargin sweep` first)")
    doc = read_manifest(root)
    if doc is not None:
        return [SweepFolder(root, doc)]
    found = []
    for sub in sorted(p for p in root.iterdir() if p.is_dir()):
        try:
            sub_doc = read_manifest(sub)
        except InputError:
            continue
        if sub_doc is not None:
            found.append(SweepFolder(sub, sub_doc))
    if not found:
        raise InputError("--dir", f"no sweep results in {root} (no {MANIFEST} there or one level below)")
    names = [f.name for f in found]
    if len(set(names)) != len(names):
        raise InputError("--dir", f"{root} holds several sweeps with the same name: {names}; point --dir at one")
    return found


def _sql_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class Results:
    """DuckDB views over one or more sweep folders (module docstring)."""

    def __init__(self, root: Path = DEFAULT_ROOT) -> None:
        self.root = Path(root)
        self.sweeps = find_sweeps(self.root)
        self.con = duckdb.connect(":memory:")
        self._register()

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------------- views
    def _register(self) -> None:
        for table in TABLES:
            parts = []
            for i, sw in enumerate(self.sweeps):
                files = sorted((sw.root / TASKS).glob(f"*/{table}.parquet"))
                if files:
                    pattern = _sql_str(str(sw.root / TASKS / "*" / f"{table}.parquet"))
                    src = f"read_parquet({pattern}, union_by_name = true)"
                else:
                    types = [(p["name"], p["type"]) for p in sw.manifest.get("params", [])]
                    empty = f"_empty_{table}_{i}"
                    self.con.register(empty, schema(table, types).empty_table())
                    src = empty
                parts.append(f"SELECT {_sql_str(sw.name)} AS sweep, * FROM {src}")
            self.con.execute(f"CREATE VIEW {table} AS " + " UNION ALL BY NAME ".join(parts))
        plans = [f"SELECT {_sql_str(sw.name)} AS sweep, * FROM read_parquet({_sql_str(str(sw.root / PLAN))})"
                 for sw in self.sweeps if (sw.root / PLAN).is_file()]
        if plans:
            self.con.execute("CREATE VIEW plan AS " + " UNION ALL BY NAME ".join(plans))
        self.con.register("failures", self._failures())
        self.con.register("sweeps", self._sweeps())

    def _failures(self) -> pa.Table:
        cols: dict[str, list[Any]] = {k: [] for k in ("sweep", "task", "scenario", "seed", "replicate", "point",
                                                       "params", "attempts", "error")}
        for sw in self.sweeps:
            finished = {p.name for p in (sw.root / TASKS).glob("*") if p.is_dir()}
            for file in sorted((sw.root / FAILURES).glob("*.json")):
                if file.stem in finished:
                    continue
                doc = json.loads(file.read_text(encoding="utf-8"))
                cols["sweep"].append(sw.name)
                for k in ("task", "scenario", "seed", "replicate", "point", "attempts", "error"):
                    cols[k].append(doc[k])
                cols["params"].append(json.dumps(doc["params"], sort_keys=True))
        return pa.table(cols, schema=pa.schema([
            ("sweep", pa.string()), ("task", pa.string()), ("scenario", pa.string()), ("seed", pa.int64()),
            ("replicate", pa.int64()), ("point", pa.int64()), ("params", pa.string()), ("attempts", pa.int64()),
            ("error", pa.string())]))

    def _sweeps(self) -> pa.Table:
        rows = []
        for sw in self.sweeps:
            finished = {p.name for p in (sw.root / TASKS).glob("*") if p.is_dir()}
            failed = {p.stem for p in (sw.root / FAILURES).glob("*.json")} - finished
            m = sw.manifest
            rows.append({"sweep": sw.name, "sha256": m["sweep"]["sha256"], "tasks": int(m["tasks"]),
                         "finished": len(finished), "failed": len(failed), "root_seed": int(m["root_seed"]),
                         "git_commit": m.get("git_commit"), "folder": str(sw.root)})
        return pa.Table.from_pylist(rows)

    # ------------------------------------------------------------------------- SQL
    def query(self, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Run ``sql``; the column names and the rows. Bad SQL is an InputError naming ``sql``."""
        try:
            cur = self.con.execute(sql)
            rows = cur.fetchall()
        except duckdb.Error as exc:
            raise InputError("sql", str(exc).strip().splitlines()[0]) from None
        cols = [d[0] for d in cur.description] if cur.description else []
        return cols, rows

    def param_columns(self) -> list[str]:
        """Grid columns of every sweep (union, in order of appearance)."""
        out: list[str] = []
        for sw in self.sweeps:
            out += [c for c in sw.param_columns if c not in out]
        return out

    def latency_param_columns(self) -> list[str]:
        out: list[str] = []
        for sw in self.sweeps:
            out += [str(p["column"]) for p in sw.manifest.get("params", [])
                    if str(p["path"]).endswith("latency_steps") and p["column"] not in out]
        return out

    # ------------------------------------------------------------------------- reports
    def report(self, name: str, out_dir: Path | None = None, *, resamples: int = RESAMPLES,
               seed: int = 0) -> tuple[Path, Path, list[dict[str, Any]]]:
        """Write report ``name`` as CSV and PNG into ``out_dir`` (default ``<dir>/reports``)."""
        if name not in REPORTS:
            raise InputError("report", f"unknown report {name!r}; expected one of {sorted(REPORTS)}")
        if resamples < 100:
            raise InputError("--resamples", f"must be at least 100, got {resamples}")
        rows, plot = REPORTS[name](self, resamples, seed)
        folder = Path(out_dir) if out_dir is not None else self.root / "reports"
        folder.mkdir(parents=True, exist_ok=True)
        csv_path, png_path = folder / f"{name}.csv", folder / f"{name}.png"
        write_atomic(csv_path, _csv(rows))
        png = plot(rows)
        tmp = png_path.with_name(f".{png_path.name}.tmp")
        tmp.write_bytes(png)
        tmp.replace(png_path)
        return csv_path, png_path, rows


# ----------------------------------------------------------------------------- statistics


def bootstrap_ci(x: Sequence[float] | np.ndarray[Any, Any], label: str, resamples: int = RESAMPLES, seed: int = 0,
                 confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of the mean of ``x`` (NaN for fewer than 2
    values); the resampling is seeded from ``seed`` and ``label``."""
    arr = np.asarray(x, dtype=np.float64)
    if arr.size < 2:
        return math.nan, math.nan
    if np.all(arr == arr[0]):
        return float(arr[0]), float(arr[0])
    from scipy.stats import bootstrap

    words = np.frombuffer(hashlib.sha256(label.encode()).digest()[:8], dtype="<u4")
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=tuple(int(w) for w in words)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = bootstrap((arr,), np.mean, n_resamples=resamples, confidence_level=confidence,
                        method="percentile", vectorized=True, rng=rng)
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def _groups(results: Results, value_cols: Sequence[str], keys: Sequence[str]) -> list[dict[str, Any]]:
    """Rows of ``summary`` grouped by ``keys`` with each value column as a list (task order)."""
    key_sql = ", ".join(keys)
    lists = ", ".join(f"list({c} ORDER BY task) AS {c}" for c in value_cols)
    cols, rows = results.query(
        f"SELECT {key_sql}, count(*) AS n, {lists} FROM summary GROUP BY {key_sql} ORDER BY {key_sql}")
    return [dict(zip(cols, r)) for r in rows]


def _label(row: dict[str, Any], keys: Sequence[str]) -> str:
    return " | ".join(f"{k.removeprefix('param_')}={row[k]}" for k in keys)


def _stats(values: Sequence[float | None] | np.ndarray[Any, Any], prefix: str, label: str, resamples: int, seed: int) -> dict[str, Any]:
    x = np.array([v for v in values if v is not None], dtype=np.float64)
    lo, hi = bootstrap_ci(x, f"{label}|{prefix}", resamples, seed)
    return {f"{prefix}_mean": float(x.mean()) if x.size else math.nan, f"{prefix}_ci_low": lo,
            f"{prefix}_ci_high": hi}


def _bad_debt(results: Results, resamples: int, seed: int) -> tuple[list[dict[str, Any]], Callable[..., bytes]]:
    keys = ["sweep", "scenario", *results.param_columns(), "model"]
    out = []
    for g in _groups(results, ["bad_debt_usd", "cascade_bad_debt_usd", "liquidation_volume_usd"], keys):
        x = np.asarray(g["bad_debt_usd"], dtype=np.float64)
        label = _label(g, keys)
        row = {k: g[k] for k in keys}
        row["tasks"] = int(g["n"])
        row.update(_stats(x, "bad_debt_usd", label, resamples, seed))
        row["bad_debt_usd_median"] = float(np.median(x))
        row["bad_debt_usd_p95"] = float(np.quantile(x, 0.95))
        row["share_with_bad_debt"] = float(np.mean(x > 0.0))
        cascade = [v for v in g["cascade_bad_debt_usd"] if v is not None]
        row["cascade_bad_debt_usd_mean"] = float(np.mean(cascade)) if cascade else math.nan
        row["liquidation_volume_usd_mean"] = float(np.mean(g["liquidation_volume_usd"]))
        out.append(row)
    return out, lambda rows: _bar_png(rows, keys, "bad_debt_usd", "bad debt, USD (mean, 95% bootstrap CI)",
                                      "bad debt by model", results)


def _latency(results: Results, resamples: int, seed: int) -> tuple[list[dict[str, Any]], Callable[..., bytes]]:
    lat_params = results.latency_param_columns()
    other = [c for c in results.param_columns() if c not in lat_params]
    keys = ["sweep", "scenario", *other, "model", "liquidator_latency_mean_steps"]
    out = []
    for g in _groups(results, ["liquidation_volume_usd", "bad_debt_usd", "liquidations"], keys):
        label = _label(g, keys)
        row = {k: g[k] for k in keys}
        row["tasks"] = int(g["n"])
        row.update(_stats(g["liquidation_volume_usd"], "liquidation_volume_usd", label, resamples, seed))
        row.update(_stats(g["bad_debt_usd"], "bad_debt_usd", label, resamples, seed))
        row["liquidations_mean"] = float(np.mean(g["liquidations"]))
        out.append(row)
    line_keys = keys[:-1]
    return out, lambda rows: _latency_png(rows, line_keys, results)


def _procyclicality(results: Results, resamples: int, seed: int) -> tuple[list[dict[str, Any]], Callable[..., bytes]]:
    keys = ["sweep", "scenario", *results.param_columns(), "model"]
    values = ["margin_rate_start_pct", "margin_rate_peak_pct", "margin_rate_peak_to_trough",
              "margin_rate_max_1d_increase_pp"]
    out = []
    for g in _groups(results, values, keys):
        label = _label(g, keys)
        row = {k: g[k] for k in keys}
        row["tasks"] = int(g["n"])
        row["margin_rate_start_pct_mean"] = float(np.mean(g["margin_rate_start_pct"]))
        row["margin_rate_peak_pct_mean"] = float(np.mean(g["margin_rate_peak_pct"]))
        row.update(_stats(g["margin_rate_peak_to_trough"], "margin_rate_peak_to_trough", label, resamples, seed))
        row.update(_stats(g["margin_rate_max_1d_increase_pp"], "margin_rate_max_1d_increase_pp", label,
                          resamples, seed))
        out.append(row)
    return out, lambda rows: _procyclicality_png(rows, keys, results)


REPORTS: dict[str, Callable[[Results, int, int], tuple[list[dict[str, Any]], Callable[..., bytes]]]] = {
    "bad-debt": _bad_debt,
    "latency": _latency,
    "procyclicality": _procyclicality,
}


# ----------------------------------------------------------------------------- output


def _csv(rows: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    if not rows:
        return ""
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({k: repr(v) if isinstance(v, float) else v for k, v in r.items()})
    return buf.getvalue()


def _figure(rows_count: int, height_per_row: float = 0.32, base: float = 2.0) -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(10, base + height_per_row * max(rows_count, 1)))


def _png(fig: Any, title: str, results: Results) -> bytes:
    import matplotlib.pyplot as plt

    names = ", ".join(f"{sw.name} ({sw.manifest['sweep']['sha256'][:12]})" for sw in results.sweeps)
    fig.suptitle(f"{title}\n{names}", fontsize=9)
    fig.tight_layout()
    buf = io.BytesIO()
    meta = {"Title": title, "Software": f"zkmargin results {__version__}", "Description": names}
    fig.savefig(buf, format="png", dpi=PNG_DPI, metadata=meta)
    plt.close(fig)
    return buf.getvalue()


def _short(row: dict[str, Any], keys: Sequence[str], results: Results) -> str:
    skip = {"sweep"} if len(results.sweeps) == 1 else set()
    return " | ".join(str(row[k]) if k in ("sweep", "scenario", "model") else f"{k.removeprefix('param_')}={row[k]}"
                      for k in keys if k not in skip)


def _bar_png(rows: list[dict[str, Any]], keys: Sequence[str], metric: str, xlabel: str, title: str,
             results: Results) -> bytes:
    fig, ax = _figure(len(rows))
    labels = [_short(r, keys, results) for r in rows]
    mean = np.array([r[f"{metric}_mean"] for r in rows], dtype=np.float64)
    lo = np.array([r[f"{metric}_ci_low"] for r in rows], dtype=np.float64)
    hi = np.array([r[f"{metric}_ci_high"] for r in rows], dtype=np.float64)
    err = np.vstack([np.nan_to_num(mean - lo), np.nan_to_num(hi - mean)])
    y = np.arange(len(rows))
    ax.barh(y, mean, xerr=err, capsize=3, color="tab:red", alpha=0.75)
    ax.set_yticks(y, labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    ax.grid(axis="x", alpha=0.3)
    return _png(fig, title, results)


def _latency_png(rows: list[dict[str, Any]], line_keys: Sequence[str], results: Results) -> bytes:
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.8))
    lines: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        lines.setdefault(_short(r, line_keys, results), []).append(r)
    for label, pts in lines.items():
        pts = sorted(pts, key=lambda r: r["liquidator_latency_mean_steps"])
        x = np.array([p["liquidator_latency_mean_steps"] for p in pts], dtype=np.float64)
        for ax, metric in zip(axes, ("liquidation_volume_usd", "bad_debt_usd")):
            m = np.array([p[f"{metric}_mean"] for p in pts], dtype=np.float64)
            (line,) = ax.plot(x, m, marker="o", lw=1.2, label=label)
            lo = np.array([p[f"{metric}_ci_low"] for p in pts], dtype=np.float64)
            hi = np.array([p[f"{metric}_ci_high"] for p in pts], dtype=np.float64)
            ax.fill_between(x, lo, hi, color=line.get_color(), alpha=0.15)
    for ax, ylabel in zip(axes, ("liquidation volume, USD", "bad debt, USD")):
        ax.set_xlabel("liquidators' capital-weighted mean latency, steps")
        ax.set_ylabel(f"{ylabel} (mean, 95% CI)")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=6)
    return _png(fig, "liquidation volume vs liquidator latency", results)


def _procyclicality_png(rows: list[dict[str, Any]], keys: Sequence[str], results: Results) -> bytes:
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(13, 2.0 + 0.32 * max(len(rows), 8)))
    labels = [_short(r, keys, results) for r in rows]
    y = np.arange(len(rows))
    metric = "margin_rate_peak_to_trough"
    mean = np.array([r[f"{metric}_mean"] for r in rows], dtype=np.float64)
    lo = np.array([r[f"{metric}_ci_low"] for r in rows], dtype=np.float64)
    hi = np.array([r[f"{metric}_ci_high"] for r in rows], dtype=np.float64)
    ax = axes[0]
    ax.barh(y, mean, xerr=np.vstack([np.nan_to_num(mean - lo), np.nan_to_num(hi - mean)]), capsize=3,
            color="tab:blue", alpha=0.75)
    ax.set_yticks(y, labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("margin rate peak / trough (mean, 95% CI)")
    ax.axvline(1.0, color="black", lw=0.8)
    ax.grid(axis="x", alpha=0.3)
    ax = axes[1]
    _, series = results.query(
        "SELECT sweep, scenario, model, day, avg(margin_rate_pct) AS rate FROM timeseries "
        "WHERE open_interest_usd > 0 GROUP BY sweep, scenario, model, day ORDER BY sweep, scenario, model, day")
    paths: dict[str, tuple[list[float], list[float]]] = {}
    for sweep, scenario, model, day, rate in series:
        label = f"{scenario} | {model}" if len(results.sweeps) == 1 else f"{sweep} | {scenario} | {model}"
        xs, ys = paths.setdefault(label, ([], []))
        xs.append(day)
        ys.append(rate)
    for label, (xs, ys) in paths.items():
        ax.plot(xs, ys, lw=1.0, label=label)
    ax.set_xlabel("day")
    ax.set_ylabel("margin rate, % of open notional (mean)")
    ax.grid(alpha=0.3)
    if paths:
        ax.legend(fontsize=6)
    else:
        ax.text(0.5, 0.5, "no time series in this sweep", ha="center", transform=ax.transAxes)
    return _png(fig, "margin procyclicality", results)
