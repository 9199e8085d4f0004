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
    waiting = ""
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
                spots = ", ".join(f"{u} {x:,.2f}" for u, x in sorted(p.spots.items()))
                mon.log.event("epoch_posted", f"epoch {e.epoch_id} posted for oracle round {e.oracle_round} ({spots} USD; "
                              f"digest {str(e.digest)[:16]}...); accounts have {p.grace_period_seconds} s of chain time "
                              "to prove it (ape run prover)", epoch=e.epoch_id, oracle_round=e.oracle_round,
                              digest=str(e.digest))
                waiting = ""
            else:
                line = (f"nothing to do: epoch {current} covers oracle round {covered}, the latest; "
                        + ("waiting for a new oracle round (ape run oracle)" if follow else "push prices with `ape run oracle`"))
                if line != waiting:
                    mon.log.event("idle", line, epoch=current, oracle_round=covered)
                    waiting = line
            run.protocol = p
        if not follow:
            return
        time.sleep(poll_seconds)
