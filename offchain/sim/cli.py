"""``zkmargin simulate``: compare margin models on a seeded crash scenario.

    zkmargin simulate --scenario scenarios/crash_2021_05_19.json --seed 7 [--out DIR] [--models a,b]

Writes ``summary.csv``/``summary.json`` (one row per model, with the seed and the scenario
hash), ``timeseries.csv`` (every model with and without liquidation impact), the validated
``scenario.json`` and PNG plots into ``DIR`` (default ``out/sim/<scenario>-seed<N>``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from offchain.sim.report import check_destination, write_outputs
from offchain.sim.runner import MAX_SEED, compare_models
from offchain.sim.scenario import load_scenario

DEFAULT_OUT_ROOT = Path("out") / "sim"
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


commands = [simulate]
