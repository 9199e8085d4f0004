"""Outputs of a model comparison: summary CSV/JSON, time series CSV, PNG plots.

Everything is written into a fresh temporary directory next to the destination and moved
into place at the end, so an interrupted or failed run leaves nothing half-written. A
destination that already exists is replaced only if it is empty or holds a previous
simulator output (it has a ``summary.json`` with ``"tool": "zkmargin simulate"``).
Every file records the seed and the scenario hash (CSV columns, JSON fields, PNG titles
and PNG text metadata). Outputs are byte-for-byte deterministic for a scenario and seed.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from offchain.sim.engine import RunResult
from offchain.sim.runner import Comparison
from zkmargin import __version__
from zkmargin.errors import InputError

TOOL = "zkmargin simulate"
SUMMARY_CSV = "summary.csv"
SUMMARY_JSON = "summary.json"
TIMESERIES_CSV = "timeseries.csv"
SCENARIO_JSON = "scenario.json"
MIXED_CSV = "summary_mixed.csv"
PLOTS = (
    "price.png",
    "liquidations.png",
    "insurance_fund.png",
    "bad_debt.png",
    "margin_rate.png",
    "summary.png",
)
PNG_DPI = 110


def _fmt(value: object) -> object:
    if isinstance(value, float):
        return repr(value)  # shortest round-trip representation
    return value


def summary_document(comp: Comparison) -> dict[str, object]:
    """The JSON summary: provenance (seed, scenario hash, path) and one row per model."""
    path = comp.path
    return {
        "tool": TOOL,
        "version": __version__,
        "scenario": comp.scenario.name,
        "scenario_sha256": comp.scenario_sha256,
        "seed": comp.seed,
        "path": {
            "kind": comp.scenario.path.kind,
            "assets": list(path.assets),
            "steps": path.n_steps,
            "dt_days": path.dt_days,
            "path_seed": path.seed,
            "start_timestamp": int(path.timestamps[0]),
            "end_timestamp": int(path.timestamps[-1]),
        },
        "traders": comp.traders.n,
        "models": [m.name for m in comp.models],
        "metrics": {
            "bad_debt_usd": "shortfall of closed-out accounts (insurance fund draw + socialised loss)",
            "cascade_amplification_pct_<asset>": "max_t (X_t - P_t) / X_0 in percent: the price move caused by liquidations",
            "drawdown_amplification_pp_<asset>": "venue max drawdown minus exogenous max drawdown, percentage points",
            "max_impact_pct_<asset>": "largest gap 1 - P/X between venue price P and exogenous price X, percent",
            "cascade_bad_debt_usd": "bad debt with liquidation price impact minus without (same seed and path)",
            "insurance_fund_drawdown_usd": "largest peak-to-trough fall of the insurance fund",
            "margin_rate_*_pct": "sum of MM over gross notional of open positions, at the start and at its peak "
            "(procyclicality)",
        },
        "summary": comp.summary,
        "mixed_venue": None
        if comp.mixed is None
        else {
            "description": "the traders split evenly (seeded) over the models in one venue",
            "venue": comp.mixed.venue,
            "by_model": comp.mixed.by_model,
        },
    }


def _write_summary_csv(comp: Comparison, file: Path) -> None:
    keys: list[str] = []
    for row in comp.summary:
        keys += [k for k in row if k not in keys]
    with file.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["seed", "scenario_sha256", *keys])
        for row in comp.summary:
            writer.writerow([comp.seed, comp.scenario_sha256, *(_fmt(row.get(k, "")) for k in keys)])


def _write_mixed_csv(comp: Comparison, file: Path) -> None:
    assert comp.mixed is not None
    rows = comp.mixed.by_model
    keys = list(rows[0])
    with file.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["seed", "scenario_sha256", *keys])
        for row in rows:
            writer.writerow([comp.seed, comp.scenario_sha256, *(_fmt(row.get(k, "")) for k in keys)])


def _runs(comp: Comparison) -> list[tuple[str, str, RunResult]]:
    """(model, impact on/off, result) of every run, the mixed venue last."""
    out = [(name, "on", r) for name, r in comp.with_impact.items()]
    out += [(name, "off", r) for name, r in comp.without_impact.items()]
    if comp.mixed is not None:
        out.append(("mixed", "on", comp.mixed.with_impact))
        if comp.mixed.without_impact is not None:
            out.append(("mixed", "off", comp.mixed.without_impact))
    return out


def _write_timeseries_csv(comp: Comparison, file: Path) -> None:
    assets = comp.path.assets
    header = ["seed", "model", "impact", "step", "timestamp"]
    header += (
        [f"exogenous_{a}" for a in assets]
        + [f"price_{a}" for a in assets]
        + [f"depth_usd_per_pct_{a}" for a in assets]
    )
    header += [
        "liquidation_volume_usd",
        "liquidations",
        "insurance_fund_usd",
        "bad_debt_usd",
        "socialized_loss_usd",
    ]
    header += ["open_interest_usd", "topups_usd", "margin_rate"]
    with file.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        for name, impact, res in _runs(comp):
            s = res.series
            for t in range(s.price.shape[0]):
                writer.writerow(
                    [comp.seed, name, impact, t, int(comp.path.timestamps[t])]
                    + [repr(float(v)) for v in s.exo[t]]
                    + [repr(float(v)) for v in s.price[t]]
                    + [repr(float(v)) for v in s.depth[t]]
                    + [
                        repr(float(s.liq_volume[t])),
                        int(s.liq_count[t]),
                        repr(float(s.insurance[t])),
                        repr(float(s.bad_debt[t])),
                        repr(float(s.socialized[t])),
                        repr(float(s.open_interest[t])),
                        repr(float(s.topups[t])),
                        repr(float(s.margin_rate[t])),
                    ]
                )


def _write_plots(comp: Comparison, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    days = (comp.path.timestamps - comp.path.timestamps[0]) / 86_400.0
    tag = f"{comp.scenario.name} | seed {comp.seed} | scenario {comp.scenario_sha256[:12]}"
    meta = {
        "Title": tag,
        "Software": f"{TOOL} {__version__}",
        "Description": f"seed={comp.seed} sha256={comp.scenario_sha256}",
    }
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]

    def finish(fig: object, name: str) -> None:
        fig.suptitle(tag, fontsize=9)  # type: ignore[attr-defined]
        fig.tight_layout()  # type: ignore[attr-defined]
        fig.savefig(out / name, dpi=PNG_DPI, metadata=meta)  # type: ignore[attr-defined]
        plt.close(fig)  # type: ignore[arg-type]

    assets = comp.path.assets
    fig, axes = plt.subplots(len(assets), 1, figsize=(10, 3.6 * len(assets)), squeeze=False)
    for a, asset in enumerate(assets):
        ax = axes[a, 0]
        ax.plot(days, comp.path.prices[:, a], color="black", lw=1.6, label="without cascade (exogenous)")
        for k, (name, res) in enumerate(comp.with_impact.items()):
            ax.plot(
                days,
                res.series.price[:, a],
                lw=0.9,
                color=colors[k % len(colors)],
                label=f"{name} (with impact)",
            )
        if comp.mixed is not None:
            mixed_price = comp.mixed.with_impact.series.price[:, a]
            ax.plot(days, mixed_price, lw=1.2, ls="--", color="black", label="mixed venue (with impact)")
        ax.set_ylabel(f"{asset} price (USD)")
        ax.set_xlabel("days")
        ax.legend(fontsize=7, ncol=2)
        ax.grid(alpha=0.3)
    finish(fig, "price.png")

    def per_model(name: str, ylabel: str, pick: object, cumulative: bool) -> None:
        fig, ax = plt.subplots(figsize=(10, 4.5))
        for k, (model, res) in enumerate(comp.with_impact.items()):
            y = pick(res)  # type: ignore[operator]
            ax.plot(
                days, np.cumsum(y) if cumulative else y, color=colors[k % len(colors)], lw=1.2, label=model
            )
            if model in comp.without_impact:
                y0 = pick(comp.without_impact[model])  # type: ignore[operator]
                ax.plot(
                    days, np.cumsum(y0) if cumulative else y0, color=colors[k % len(colors)], lw=0.8, ls="--"
                )
        ax.set_xlabel("days")
        ax.set_ylabel(ylabel)
        ax.set_title("solid: with liquidation impact, dashed: without", fontsize=8)
        ax.legend(fontsize=7, ncol=2)
        ax.grid(alpha=0.3)
        finish(fig, name)

    per_model("liquidations.png", "cumulative liquidation volume (USD)", lambda r: r.series.liq_volume, True)
    per_model("insurance_fund.png", "insurance fund (USD)", lambda r: r.series.insurance, False)
    per_model("bad_debt.png", "cumulative bad debt (USD)", lambda r: r.series.bad_debt, False)
    per_model("margin_rate.png", "sum of MM / gross notional", lambda r: r.series.margin_rate, False)

    names = [str(r["model"]) for r in comp.summary]
    panels = [
        ("bad_debt_usd", "bad debt (USD)"),
        ("liquidation_volume_usd", "liquidation volume (USD)"),
        ("insurance_fund_drawdown_usd", "insurance fund drawdown (USD)"),
        (f"max_impact_pct_{assets[0]}", f"max cascade impact {assets[0]} (%)"),
    ]
    fig, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 4.2))
    for ax, (key, label) in zip(axes, panels):
        ax.bar(names, [float(r[key]) for r in comp.summary], color=colors[: len(names)])  # type: ignore[arg-type]
        ax.set_title(label, fontsize=9)
        ax.tick_params(axis="x", rotation=60, labelsize=7)
        ax.grid(alpha=0.3, axis="y")
    finish(fig, "summary.png")


def check_destination(out: Path) -> None:
    """Refuse an ``--out`` that is a file or a foreign non-empty directory (call it before the run)."""
    if out.exists() and not out.is_dir():
        raise InputError("--out", f"{out} exists and is not a directory")
    if out.is_dir() and any(out.iterdir()):
        marker = out / SUMMARY_JSON
        try:
            previous = json.loads(marker.read_text()) if marker.is_file() else None
        except (OSError, json.JSONDecodeError):
            previous = None
        if not (isinstance(previous, dict) and previous.get("tool") == TOOL):
            raise InputError(
                "--out", f"{out} is not empty and is not a previous simulate output; choose another directory"
            )


def write_outputs(comp: Comparison, out: Path, plots: bool = True) -> list[Path]:
    """Write every output atomically into ``out``; return the written paths."""
    out = Path(out)
    check_destination(out)
    parent = out.resolve().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError("--out", f"cannot create {parent}: {exc.strerror}") from None
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=parent))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes it private; the output is an ordinary directory
    try:
        (tmp / SUMMARY_JSON).write_text(json.dumps(summary_document(comp), indent=2) + "\n")
        _write_summary_csv(comp, tmp / SUMMARY_CSV)
        _write_timeseries_csv(comp, tmp / TIMESERIES_CSV)
        (tmp / SCENARIO_JSON).write_text(
            json.dumps(comp.scenario.model_dump(mode="json"), indent=2, sort_keys=True) + "\n"
        )
        if comp.mixed is not None:
            _write_mixed_csv(comp, tmp / MIXED_CSV)
        if plots:
            _write_plots(comp, tmp)
        written = sorted(p.name for p in tmp.iterdir())
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=parent))
            os.replace(out, old / "previous")
            try:
                os.replace(tmp, out)
            except BaseException:
                os.replace(old / "previous", out)  # put the previous output back
                shutil.rmtree(old, ignore_errors=True)
                raise
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return [out / name for name in written]
