"""``zkmargin simulate``, ``zkmargin sweep`` and ``zkmargin results``.

    zkmargin simulate --scenario scenarios/crash_2021_05_19.json --seed 7 [--out DIR] [--models a,b]

Writes ``summary.csv``/``summary.json`` (one row per model, with the seed and the scenario
hash), ``timeseries.csv`` (every model with and without liquidation impact), the validated
``scenario.json`` and PNG plots into ``DIR`` (default ``out/sim/<scenario>-seed<N>``).

    zkmargin sweep scenarios/sweeps/latency.json [--out DIR] [--executor local|sequential|ray]
                   [--workers N] [--ray-address HOST:PORT]
    zkmargin results query "SELECT model, avg(bad_debt_usd) FROM summary GROUP BY model" [--dir DIR]
    zkmargin results report bad-debt|latency|procyclicality|all [--dir DIR] [--out DIR]

A sweep runs many seeded tasks on an executor into Parquet files (``out/sweeps/<name>``,
resumable); ``results`` runs SQL (DuckDB) over them and writes the named reports (CSV + PNG).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from offchain.sim.report import check_destination, write_outputs
from offchain.sim.runner import MAX_SEED, compare_models
from offchain.sim.scenario import load_scenario
from zkmargin.errors import InputError, ZkMarginError
from zkmargin.executor import KINDS

DEFAULT_OUT_ROOT = Path("out") / "sim"
DEFAULT_SWEEP_ROOT = Path("out") / "sweeps"
TABLE_COLUMNS = (
    ("model", "model"),
    ("bad_debt_usd", "bad debt $k"),
    ("cascade_bad_debt_usd", "by cascade $k"),
    ("liquidation_volume_usd", "liquidated $M"),
    ("liquidations", "count"),
    ("insurance_fund_drawdown_usd", "fund dd $k"),
)
SCALE = {"$k": 1e3, "$M": 1e6}


def _split_models(values: tuple[str, ...]) -> list[str]:
    return [name.strip() for value in values for name in value.split(",") if name.strip()]


@click.command("simulate")
@click.option(
    "--scenario",
    "scenario_file",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Scenario file (.json, or .yaml/.yml).",
)
@click.option(
    "--seed",
    type=click.IntRange(0, MAX_SEED),
    default=None,
    help="Root seed (default: the scenario's 'seed').",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Output directory (default: out/sim/<scenario>-seed<N>).",
)
@click.option(
    "--models",
    "models",
    multiple=True,
    help="Models to compare, comma separated or repeated (default: all in the scenario).",
)
@click.option("--no-baseline", is_flag=True, help="Skip the runs without liquidation impact.")
@click.option("--mixed", is_flag=True, help="Also run one mixed venue: the traders split over the models.")
@click.option("--no-plots", is_flag=True, help="Write CSV/JSON only.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar and no table.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary JSON to stdout.")
def simulate(
    scenario_file: Path,
    seed: int | None,
    out_dir: Path | None,
    models: tuple[str, ...],
    no_baseline: bool,
    mixed: bool,
    no_plots: bool,
    quiet: bool,
    as_json: bool,
) -> None:
    """Compare margin models on one seeded scenario: bad debt, liquidations, insurance fund, cascade."""
    scenario = load_scenario(scenario_file)
    root_seed = scenario.seed if seed is None else seed
    names = _split_models(models)
    scenario.select_models(names or None)  # unknown names fail before any work
    out = out_dir if out_dir is not None else DEFAULT_OUT_ROOT / f"{scenario.name}-seed{root_seed}"
    check_destination(out)  # a foreign --out fails now, not after the whole simulation

    bar = None
    progress = None
    if not quiet:
        from tqdm import tqdm

        n_runs = (len(names or scenario.models) + (1 if mixed else 0)) * (1 if no_baseline else 2)
        bar = tqdm(total=n_runs, unit="run", desc="simulate", file=sys.stderr, leave=False)
        state = {"label": ""}

        def progress(label: str, t: int, n_steps: int) -> None:
            if label != state["label"]:
                state["label"] = label
                bar.set_postfix_str(label)
            if t == n_steps:
                bar.update(1)

    try:
        comp = compare_models(
            scenario, root_seed, names or None, no_impact_runs=not no_baseline, mixed=mixed, progress=progress
        )
    finally:
        if bar is not None:
            bar.close()
    written = write_outputs(comp, out, plots=not no_plots)

    if as_json:
        from offchain.sim.report import summary_document

        click.echo(json.dumps(summary_document(comp), indent=2))
    elif not quiet:
        from rich.console import Console
        from rich.table import Table

        table = Table(title=f"{scenario.name}  seed {root_seed}  sha256 {comp.scenario_sha256[:12]}")
        for _, label in TABLE_COLUMNS:
            table.add_column(label, justify="right")
        for a in scenario.assets:
            table.add_column(f"{a} cascade %", justify="right")
        for row in comp.summary:
            cells = []
            for key, label in TABLE_COLUMNS:
                v = row.get(key, "")
                scale = SCALE.get(label.rsplit(" ", 1)[-1], 1.0)
                cells.append(f"{v / scale:,.1f}" if isinstance(v, float) else str(v))
            cells += [f"{float(row[f'cascade_amplification_pct_{a}']):.2f}" for a in scenario.assets]  # type: ignore[arg-type]
            table.add_row(*cells)
        console = Console(width=max(Console().width, 120))
        console.print(table)
        if comp.mixed is not None:
            mixed_table = Table(title="mixed venue: traders split over the models")
            for label in ("model", "traders", "bad debt $k", "liquidated $M", "count"):
                mixed_table.add_column(label, justify="right")
            for row in comp.mixed.by_model:
                mixed_table.add_row(
                    str(row["model"]),
                    str(row["traders"]),
                    f"{float(row['bad_debt_usd']) / 1e3:,.1f}",  # type: ignore[arg-type]
                    f"{float(row['liquidation_volume_usd']) / 1e6:,.1f}",  # type: ignore[arg-type]
                    str(row["liquidations"]),
                )
            console.print(mixed_table)
            cascade = ", ".join(
                f"{a} {float(comp.mixed.venue[f'cascade_amplification_pct_{a}']):.2f} %"  # type: ignore[arg-type]
                for a in scenario.assets
            )
            console.print(f"mixed venue cascade amplification: {cascade}")
        console.print(f"wrote {len(written)} files to {out}")


@click.command("sweep")
@click.argument("sweep_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Results folder (default: out/sweeps/<sweep name>); rerun to resume.")
@click.option("--executor", "kind", type=click.Choice(KINDS), default=None,
              help="Where tasks run (default: $ZKMARGIN_EXECUTOR, else ray with --ray-address, else local).")
@click.option("--workers", type=click.IntRange(1), default=None,
              help="Tasks at once (default: $ZKMARGIN_WORKERS, else the CPUs; on Ray the cluster's CPUs).")
@click.option("--ray-address", default=None, help="A Ray cluster (what `ray start --head` prints, e.g. 10.0.0.5:6379).")
@click.option("--retries", type=click.IntRange(0, 100), default=2, show_default=True,
              help="Retries of a task whose worker died.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar and no table.")
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON.")
def sweep(
    sweep_file: Path, out_dir: Path | None, kind: str | None, workers: int | None, ray_address: str | None,
    retries: int, quiet: bool, as_json: bool,
) -> None:
    """Run a sweep file's tasks (scenarios x grid x seeds) into Parquet; skips finished tasks."""
    from offchain.sim.sweep import load_sweep
    from offchain.sim.sweep_runner import run_sweep
    from offchain.sim.sweep_store import SweepStore
    from zkmargin.executor import make_executor

    spec = load_sweep(sweep_file)
    out = out_dir if out_dir is not None else DEFAULT_SWEEP_ROOT / spec.spec.name
    SweepStore.prepare(out, spec)  # a foreign --out fails before any worker starts
    if kind == "ray" and not ray_address:
        raise InputError("--ray-address", "--executor ray needs the address of a running Ray cluster")
    if ray_address and kind not in (None, "ray"):
        raise InputError("--ray-address", f"only used with --executor ray, not {kind}")
    with make_executor(kind, workers=workers, ray_address=ray_address) as executor:
        outcome = run_sweep(spec, out, executor, progress=not quiet and not as_json, retries=retries)
    if as_json:
        click.echo(json.dumps({"sweep": spec.spec.name, "sha256": spec.sha256, "executor": executor.kind,
                               "workers": executor.workers, **outcome.to_dict()}, indent=2))
    elif not quiet:
        rate = f"{outcome.ran / outcome.seconds:.2f}" if outcome.seconds > 0 else "-"
        click.echo(f"sweep {spec.spec.name} ({spec.sha256[:12]}): {outcome.total} tasks, {outcome.skipped} already "
                   f"finished, {outcome.ran} ran ({rate} tasks/s on {executor.kind} x {executor.workers}), "
                   f"{len(outcome.failed)} failed; results in {out}")
    if outcome.failed:
        raise ZkMarginError(
            f"{len(outcome.failed)} of {outcome.total} tasks failed (first: {outcome.failed[0]}); crash reports with "
            f"the seed and traceback are in {out / 'failures'}; rerun the same command to retry them"
        )


@click.group("results")
def results() -> None:
    """SQL (DuckDB) and named reports over sweep results (Parquet)."""


_DIR_OPTION = click.option(
    "--dir", "results_dir", type=click.Path(file_okay=False, path_type=Path), default=DEFAULT_SWEEP_ROOT,
    show_default=True, help="A sweep's results folder, or a folder of them.",
)


@results.command("query")
@click.argument("sql")
@_DIR_OPTION
@click.option("--csv", "csv_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the rows to this CSV file instead of printing a table.")
@click.option("--json", "as_json", is_flag=True, help="Print the rows as JSON objects.")
def results_query(sql: str, results_dir: Path, csv_file: Path | None, as_json: bool) -> None:
    """Run SQL over the views summary, assets, timeseries, plan, failures, sweeps."""
    import csv
    import io

    from offchain.sim.results import Results
    from offchain.validation import write_atomic

    with Results(results_dir) as res:
        cols, rows = res.query(sql)
    if csv_file is not None:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(cols)
        writer.writerows([[repr(v) if isinstance(v, float) else v for v in r] for r in rows])
        write_atomic(csv_file, buf.getvalue())
        click.echo(f"wrote {len(rows)} rows to {csv_file}")
    elif as_json:
        click.echo(json.dumps([dict(zip(cols, r)) for r in rows], indent=2, default=str))
    else:
        from rich.console import Console
        from rich.table import Table

        table = Table(caption=f"{len(rows)} rows")
        for c in cols:
            table.add_column(c, overflow="fold")
        for r in rows:
            table.add_row(*[f"{v:,.6g}" if isinstance(v, float) else str(v) for v in r])
        Console(width=max(Console().width, 120)).print(table)


@results.command("report")
@click.argument("name", type=click.Choice(["bad-debt", "latency", "procyclicality", "all"]))
@_DIR_OPTION
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where to write NAME.csv and NAME.png (default: <dir>/reports).")
@click.option("--resamples", type=click.IntRange(100, 1_000_000), default=2000, show_default=True,
              help="Bootstrap resamples per confidence interval.")
@click.option("--seed", type=click.IntRange(0, MAX_SEED), default=0, show_default=True, help="Bootstrap seed.")
def results_report(name: str, results_dir: Path, out_dir: Path | None, resamples: int, seed: int) -> None:
    """Write a named report (bad debt by model, liquidation volume vs latency, margin procyclicality)."""
    from offchain.sim.results import REPORTS, Results

    with Results(results_dir) as res:
        for report in sorted(REPORTS) if name == "all" else [name]:
            csv_path, png_path, rows = res.report(report, out_dir, resamples=resamples, seed=seed)
            click.echo(f"{report}: {len(rows)} rows -> {csv_path}, {png_path}")


@results.command("show")
@_DIR_OPTION
def results_show(results_dir: Path) -> None:
    """The sweeps found (tasks finished / failed) and the columns of each view."""
    from offchain.sim.results import Results

    with Results(results_dir) as res:
        _, rows = res.query("SELECT sweep, tasks, finished, failed, root_seed, folder FROM sweeps")
        for r in rows:
            click.echo("sweep {}: {} tasks, {} finished, {} failed, root seed {}, in {}".format(*r))
        for view in ("summary", "assets", "timeseries", "plan", "failures"):
            try:
                names, _ = res.query(f"SELECT * FROM {view} LIMIT 0")
            except InputError:
                continue
            click.echo(f"{view}: {', '.join(names)}")


commands = [simulate, sweep, results]
