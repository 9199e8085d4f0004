"""``ape run oracle``: replay a price path through signed oracle reports.

Sources: the real 2021 BTC/ETH history with a seeded intraday Brownian bridge, or a seeded
synthetic path (GBM with jumps, GARCH(1,1)). Chain time advances by one step per report.
"""

from __future__ import annotations

import click
from ape.cli import ConnectedProviderCommand

from offchain.chain.scripting import friendly_errors, state_dir_option


@click.command(cls=ConnectedProviderCommand)
@state_dir_option
@click.option("--source", type=click.Choice(["history", "gbm", "garch"]), default="history", show_default=True)
@click.option("--start", default="2021-05-12", show_default=True, help="history: first day (2021).")
@click.option("--end", default="2021-05-20", show_default=True, help="history: last day (2021).")
@click.option("--days", default=7.0, show_default=True, type=click.FloatRange(0.5, 365), help="gbm/garch: length.")
@click.option("--steps-per-day", default=2, show_default=True, type=click.IntRange(1, 96))
@click.option("--step-seconds", default=3_600, show_default=True, type=click.IntRange(1, 86_400),
              help="Chain seconds between reports.")
@click.option("--seed", default=7, show_default=True, type=int)
@click.option("--epochs/--no-epochs", default=False, help="Also post a risk epoch after each round (else run `ape run epochs`).")
@friendly_errors
def cli(state_dir, source, start, end, days, steps_per_day, step_seconds, seed, epochs):
    """Push every point of the path as an EIP-712 signed report per underlying."""
    from tqdm import tqdm

    from offchain.chain.pytest_plugin import DEFAULT_VOLS
    from offchain.chain.scripting import attach
    from offchain.sim.paths import garch_path, gbm_jump_path, history_path

    p = attach(state_dir)
    assets = sorted({i.underlying for i in p.listing})
    if source == "history":
        path = history_path(assets, start, end, steps_per_day, seed)
    elif source == "gbm":
        path = gbm_jump_path({a: p.spots[a] for a in assets}, days=days, steps_per_day=steps_per_day, seed=seed,
                             assets=assets, jump_intensity_per_day=0.2, jump_mean=-0.08, jump_std=0.05, correlation=0.8)
    else:
        path = garch_path({a: p.spots[a] for a in assets}, n_steps=int(days * steps_per_day), steps_per_day=steps_per_day,
                          seed=seed, assets=assets, correlation=0.8, shock_day=days / 2)
    for row in tqdm(path.prices[1:], desc="oracle rounds", unit="round"):
        p.advance(step_seconds)
        rnd = p.report_prices({a: float(row[k]) for k, a in enumerate(path.assets)})
        if epochs:
            p.post_epoch(vols=DEFAULT_VOLS)
            p.save(state_dir)
        tqdm.write(f"round {rnd}: " + ", ".join(f"{a} {row[k]:,.2f}" for k, a in enumerate(path.assets)))
    p.save(state_dir)
