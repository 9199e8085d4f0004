"""``ape run epochs``: the risk keeper posts a risk epoch for every oracle round not yet covered."""

from __future__ import annotations

import time

import click
from ape.cli import ConnectedProviderCommand

from offchain.devnet.monitoring import monitoring_options
from offchain.devnet.scripting import friendly_errors, state_dir_option


@click.command(cls=ConnectedProviderCommand)
@state_dir_option
@click.option("--vol", "vols", multiple=True, help="Implied vol per underlying, e.g. BTC=0.8 (repeatable).")
@click.option("--follow", is_flag=True, help="Keep watching for new oracle rounds (Ctrl-C to stop).")
@click.option("--poll-seconds", default=2.0, show_default=True, type=click.FloatRange(0.1, 600))
@monitoring_options
@friendly_errors
def cli(state_dir, vols, follow, poll_seconds, metrics_port, log_json, tiers_config):
    """Build the epoch from the latest prices (offchain.risk.epoch) and post its digest and data."""
    from offchain.devnet.defaults import DEFAULT_VOLS
    from offchain.devnet.monitoring import RoleMonitor
    from offchain.devnet.scripting import attach, parse_vols

    vol_map = parse_vols(vols, DEFAULT_VOLS)
    mon = RoleMonitor("epochs", metrics_port=metrics_port, log_json=log_json, tiers_config=tiers_config)
    while True:
        with mon.pass_(swallow=follow) as run:
            p = attach(state_dir)
            mon.watch(p.d.owner, [p.d.epochs])
            latest_round = int(p.d.oracle.globalRound())
            current = int(p.d.epochs.currentEpochId())
            covered = int(p.d.epochs.getEpoch(current).oracleRound) if current else 0
            if latest_round > covered:
                e = p.post_epoch(vols=vol_map)
                p.save(state_dir)
                mon.log.event("epoch_posted", f"epoch {e.epoch_id} posted for oracle round {e.oracle_round} "
                              f"(digest {str(e.digest)[:16]}...)", epoch=e.epoch_id, oracle_round=e.oracle_round,
                              digest=str(e.digest))
            elif not follow:
                mon.log.event("idle", f"nothing to do: epoch {current} covers oracle round {covered}",
                              epoch=current, oracle_round=covered)
            run.protocol = p
        if not follow:
            return
        time.sleep(poll_seconds)
