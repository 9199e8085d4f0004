"""``ape run prover``: prove every private account for the current epoch (MM), in parallel.

Accounts whose margin check fails cannot be proven and are reported; after the grace window
they become liquidatable. Idempotent: accounts already proven for the epoch are skipped.
Proofs are made on a local process pool (``--workers``; warm from one epoch to the next with
``--follow``) or on a Ray cluster (``--ray-address``, needs ``pip install 'zkmargin[ray]'`` and
the keys folder at the same path on every node), by the prover backend ``--backend`` picks,
and sent in ``submitProofs`` batches (one batched verification each) as they come.
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
@click.option("--workers", type=click.IntRange(1, 1024), default=None, help="Local proving processes (default: one per CPU).")
@click.option("--ray-address", default=None, help="Prove on this Ray cluster (e.g. 127.0.0.1:6379) instead of locally.")
@click.option("--backend", type=click.Choice(["auto", "native", "python", "groth16py"]), default=None,
              help="Prover backend (default: $ZKMARGIN_PROVER_BACKEND, else native when installed).")
@friendly_errors
def cli(state_dir, follow, poll_seconds, insolvency, workers, ray_address, backend):
    """Prove and submit MM proofs for every open account of the operator's book."""
    from offchain.devnet.scripting import attach
    from prover.backend import set_backend
    from prover.statement import KIND_INSOLVENCY
    from zkmargin.executor import LocalPoolExecutor, make_executor

    set_backend(backend)
    executor = (make_executor("ray", workers=workers, ray_address=ray_address) if ray_address
                else LocalPoolExecutor(workers, keep_workers=True))
    done_epoch = -1
    while True:
        p = attach(state_dir)
        p.prover = executor
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
            count, seconds = p.last_proving
            if count:
                click.echo(f"epoch {epoch_id}: {count} proofs in {seconds:.1f} s ({count / seconds:.2f} accounts/s)")
            done_epoch = epoch_id
        if not follow:
            executor.close()
            return
        time.sleep(poll_seconds)
