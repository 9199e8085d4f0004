"""``ape run epochs``: the risk keeper posts a risk epoch for every oracle round not yet covered."""

from __future__ import annotations

import time

import click
from ape.cli import ConnectedProviderCommand

from offchain.devnet.scripting import friendly_errors, state_dir_option


@click.command(cls=ConnectedProviderCommand)
@state_dir_option
@click.option("--vol", "vols", multiple=True, help="Implied vol per underlying, e.g. BTC=0.8 (repeatable).")
@click.option("--follow", is_flag=True, help="Keep watching for new oracle rounds (Ctrl-C to stop).")
@click.option("--poll-seconds", default=2.0, show_default=True, type=click.FloatRange(0.1, 600))
@friendly_errors
def cli(state_dir, vols, follow, poll_seconds):
    """Build the epoch from the latest prices (offchain.risk.epoch) and post its digest and data."""
    from offchain.devnet.defaults import DEFAULT_VOLS
    from offchain.devnet.scripting import attach, parse_vols

    vol_map = parse_vols(vols, DEFAULT_VOLS)
    while True:
        p = attach(state_dir)
        latest_round = int(p.d.oracle.globalRound())
        current = int(p.d.epochs.currentEpochId())
        covered = int(p.d.epochs.getEpoch(current).oracleRound) if current else 0
        if latest_round > covered:
            e = p.post_epoch(vols=vol_map)
            p.save(state_dir)
            click.echo(f"epoch {e.epoch_id} posted for oracle round {e.oracle_round} (digest {str(e.digest)[:16]}...)")
        elif not follow:
            click.echo(f"nothing to do: epoch {current} covers oracle round {covered}")
        if not follow:
            return
        time.sleep(poll_seconds)
