"""``ape run oracle``: replay a price path through signed oracle reports.

The path comes from the one factory ``offchain.sim.paths.make_path``: either the real 2021
BTC/ETH history with a seeded intraday Brownian bridge (``--start``/``--end``), or any path spec
file (``--path``: a JSON path spec, or a simulator scenario file whose ``path`` is used, e.g.
``scenarios/gbm_jump_crash.json``). Chain time advances by ``--step-seconds`` per report;
``--interval`` waits that many wall-clock seconds between reports (a live feed to watch).
"""

from __future__ import annotations

import time
from pathlib import Path

import click
from ape.cli import ConnectedProviderCommand

from offchain.devnet.monitoring import monitoring_options
from offchain.devnet.scripting import friendly_errors, state_dir_option


@click.command(cls=ConnectedProviderCommand)
@state_dir_option
@click.option("--path", "path_file", type=click.Path(dir_okay=False, path_type=Path),
              help="A path spec (JSON: kind history|gbm_jump|garch) or a scenario file with a 'path'.")
@click.option("--start", default="2021-05-12", show_default=True, help="History path: first day (2021).")
@click.option("--end", default="2021-05-20", show_default=True, help="History path: last day (2021).")
@click.option("--steps-per-day", default=2, show_default=True, type=click.IntRange(1, 96), help="History path.")
@click.option("--step-seconds", default=3_600, show_default=True, type=click.IntRange(1, 86_400),
              help="Chain seconds between reports.")
@click.option("--interval", default=0.0, show_default=True, type=click.FloatRange(0, 3_600),
              help="Wall-clock seconds to wait between reports.")
@click.option("--seed", default=7, show_default=True, type=int)
@click.option("--epochs/--no-epochs", default=False, help="Also post a risk epoch after each round (else run `ape run epochs`).")
@monitoring_options
@friendly_errors
def cli(state_dir, path_file, start, end, steps_per_day, step_seconds, interval, seed, epochs, metrics_port, log_json,
        tiers_config):
    """Push every point of the path as an EIP-712 signed report per underlying."""
    from tqdm import tqdm

    from offchain.devnet.defaults import DEFAULT_VOLS
    from offchain.devnet.monitoring import RoleMonitor
    from offchain.devnet.scripting import attach
    from offchain.sim.paths import load_path_spec, make_path

    mon = RoleMonitor("oracle", metrics_port=metrics_port, log_json=log_json, tiers_config=tiers_config)
    p = attach(state_dir)
    mon.watch(p.d.owner, [p.d.oracle, p.d.epochs] if epochs else [p.d.oracle])
    assets = sorted({i.underlying for i in p.listing})
    if path_file is not None:
        spec = load_path_spec(path_file)
    else:
        spec = load_path_spec({"kind": "history", "assets": assets, "start": start, "end": end,
                               "steps_per_day": steps_per_day}, field="options")
    missing = sorted(set(assets) - set(spec.assets))
    if missing:
        raise click.BadParameter(f"the path has no prices for {missing} (listed underlyings: {assets})",
                                 param_hint="--path")
    path = make_path(spec, seed)
    for row in tqdm(path.prices[1:], desc="oracle rounds", unit="round", disable=log_json):
        with mon.pass_() as run:
            p.advance(step_seconds)
            rnd = p.report_prices({a: float(row[k]) for k, a in enumerate(path.assets) if a in assets})
            if epochs:
                p.post_epoch(vols=DEFAULT_VOLS)
                p.save(state_dir)
            prices = {a: float(row[k]) for k, a in enumerate(path.assets)}
            line = f"round {rnd}: " + ", ".join(f"{a} {v:,.2f}" for a, v in prices.items())
            if log_json:
                mon.log.event("report", line, round=rnd, prices=prices)
            else:
                tqdm.write(line)
            run.protocol = p
        if interval:
            time.sleep(interval)
    p.save(state_dir)
