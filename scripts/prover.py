"""``ape run prover``: prove every private account for the current epoch (MM), in parallel.

Accounts whose margin check fails cannot be proven and are reported; after the grace window
they become liquidatable. Idempotent: accounts already proven for the epoch are skipped.
"""

from __future__ import annotations

import time
from collections import Counter

import click
from ape.cli import ConnectedProviderCommand

from offchain.devnet.monitoring import monitoring_options
from offchain.devnet.scripting import friendly_errors, state_dir_option


@click.command(cls=ConnectedProviderCommand)
@state_dir_option
@click.option("--follow", is_flag=True, help="Keep proving each new epoch (Ctrl-C to stop).")
@click.option("--poll-seconds", default=2.0, show_default=True, type=click.FloatRange(0.1, 600))
@click.option("--insolvency/--no-insolvency", default=False, help="Also prove insolvency of the failing accounts (kind 2).")
@monitoring_options
@friendly_errors
def cli(state_dir, follow, poll_seconds, insolvency, metrics_port, log_json, tiers_config):
    """Prove and submit MM proofs for every open account of the operator's book."""
    from offchain.devnet.monitoring import RoleMonitor
    from offchain.devnet.scripting import attach
    from prover.statement import KIND_INSOLVENCY

    mon = RoleMonitor("prover", metrics_port=metrics_port, log_json=log_json, tiers_config=tiers_config)
    done_epoch = -1
    while True:
        with mon.pass_(swallow=follow) as run:
            p = attach(state_dir)
            mon.watch(p.d.owner, [p.d.accounts])
            epoch_id = int(p.d.epochs.currentEpochId())
            if epoch_id != done_epoch:
                t0 = time.monotonic()
                outcome = p.prove_all()
                counts = Counter(r.split(" (", 1)[0].replace(" ", "_") for r in outcome.values())
                mon.metrics.proofs_done("mm", counts, time.monotonic() - t0, counts["proved"])
                if insolvency:
                    failing = [a for a, r in outcome.items() if r == "not provable"]
                    t0 = time.monotonic()
                    for addr in failing:
                        p.prove(addr, KIND_INSOLVENCY)
                        outcome[addr] = "proven insolvent"
                    mon.metrics.proofs_done("insolvency", {"proved": len(failing)}, time.monotonic() - t0, len(failing))
                for addr, result in outcome.items():
                    mon.log.event("proof", f"epoch {epoch_id} {addr} {result}", epoch=epoch_id, account=addr, result=result)
                done_epoch = epoch_id
            run.protocol = p
        if not follow:
            return
        time.sleep(poll_seconds)
