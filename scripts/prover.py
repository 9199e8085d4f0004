"""``ape run prover``: prove every private account for the current epoch (MM), in parallel.

Accounts whose margin check fails cannot be proven and are reported; after the grace window
they become liquidatable. Idempotent: accounts already proven for the epoch are skipped.
"""

from __future__ import annotations

import time

import click
from ape.cli import ConnectedProviderCommand

from offchain.devnet.scripting import friendly_errors, state_dir_option


@click.command(cls=ConnectedProviderCommand)
@state_dir_option
@click.option("--follow", is_flag=True, help="Keep proving each new epoch (Ctrl-C to stop).")
@click.option("--poll-seconds", default=2.0, show_default=True, type=click.FloatRange(0.1, 600))
@click.option("--insolvency/--no-insolvency", default=False, help="Also prove insolvency of the failing accounts (kind 2).")
@friendly_errors
def cli(state_dir, follow, poll_seconds, insolvency):
    """Prove and submit MM proofs for every open account of the operator's book."""
    from offchain.devnet.scripting import attach
    from prover.statement import KIND_INSOLVENCY

    done_epoch = -1
    while True:
        p = attach(state_dir)
        epoch_id = int(p.d.epochs.currentEpochId())
        if epoch_id != done_epoch:
            outcome = p.prove_all()
            if insolvency:
                failing = [a for a, r in outcome.items() if r == "not provable"]
                for addr in failing:
                    p.prove(addr, KIND_INSOLVENCY)
                    outcome[addr] = "proven insolvent"
            for addr, result in outcome.items():
                click.echo(f"epoch {epoch_id} {addr} {result}")
            done_epoch = epoch_id
        if not follow:
            return
        time.sleep(poll_seconds)
