"""``ape run prover``: prove every private account for the current epoch (MM), in parallel.

Accounts whose margin check fails cannot be proven and are reported with their figures; after
the grace window they become liquidatable. Idempotent: accounts already proven for the epoch are
skipped. With ``--follow`` it waits for each new epoch and says so.
Proofs are made on a local process pool (``--workers``; warm from one epoch to the next with
``--follow``) or on a Ray cluster (``--ray-address``, needs ``pip install 'zkmargin[ray]'`` and
the keys folder at the same path on every node), by the prover backend ``--backend`` picks,
and sent in ``submitProofs`` batches (one batched verification each) as they come; a progress
bar shows accounts per second on a terminal.
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
@click.option("--workers", type=click.IntRange(1, 1024), default=None, help="Local proving processes (default: one per CPU).")
@click.option("--ray-address", default=None, help="Prove on this Ray cluster (e.g. 127.0.0.1:6379) instead of locally.")
@click.option("--backend", type=click.Choice(["auto", "native", "python", "groth16py"]), default=None,
              help="Prover backend (default: $ZKMARGIN_PROVER_BACKEND, else native when installed).")
@monitoring_options
@friendly_errors
def cli(state_dir, follow, poll_seconds, insolvency, workers, ray_address, backend, metrics_port, log_json, tiers_config):
    """Prove and submit MM proofs for every open account of the operator's book."""
    from offchain.devnet.clock import grace_window
    from offchain.devnet.monitoring import RoleMonitor
    from offchain.devnet.onboarding import UNIT
    from offchain.devnet.scripting import attach
    from offchain.operator.journal import adopt_store_openings
    from prover.backend import set_backend
    from prover.statement import KIND_INSOLVENCY
    from zkmargin.executor import LocalPoolExecutor, make_executor

    set_backend(backend)
    executor = (make_executor("ray", workers=workers, ray_address=ray_address) if ray_address
                else LocalPoolExecutor(workers, keep_workers=True))
    mon = RoleMonitor("prover", metrics_port=metrics_port, log_json=log_json, tiers_config=tiers_config)
    done_epoch = -1
    waiting = ""
    while True:
        empty = False
        with mon.pass_(swallow=follow) as run:
            p = attach(state_dir)
            adopt_store_openings(p, state_dir)  # accounts settled by the exchange's settler
            p.prover = executor
            mon.watch(p.d.owner, [p.d.accounts])
            epoch_id = int(p.d.epochs.currentEpochId())
            run.protocol = p
            empty = epoch_id != done_epoch and len(p.book) == 0
            if empty:
                line = (f"no accounts in the operator's book ({state_dir / 'book.json'}): "
                        "open some with `ape run accounts --file FILE`")
                if line != waiting:
                    mon.log.event("idle", line)
                    waiting = line
            elif epoch_id != done_epoch:
                labels = {a.address: a.label for a in p.book}
                mon.log.event("proving", f"epoch {epoch_id}: proving maintenance margin (MM) for the {len(p.book)} "
                              "accounts of the book ...", epoch=epoch_id, accounts=len(p.book))
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
                window = grace_window(p.d)
                for addr, result in outcome.items():
                    detail = ""
                    if result in ("not provable", "proven insolvent"):
                        f = p.figures(addr)
                        detail = (f": equity {f.equity / UNIT:,.2f} USD < MM requirement {f.requirement / UNIT:,.2f} USD"
                                  + (f"; liquidatable after the {window.describe()}" if result == "not provable" and window
                                     else "; liquidatable now"))
                    name = f"{addr} ({labels[addr]})" if labels.get(addr) else addr
                    mon.log.event("proof", f"epoch {epoch_id} {name} {result}{detail}", epoch=epoch_id, account=addr,
                                  result=result)
                count, seconds = p.last_proving
                if count:
                    mon.log.event("proving", f"epoch {epoch_id}: {count} proofs in {seconds:.1f} s "
                                  f"({count / seconds:.2f} accounts/s)", epoch=epoch_id, proofs=count, seconds=seconds)
                done_epoch = epoch_id
                waiting = ""
        if not follow:
            executor.close()
            return
        if not empty:
            line = (f"waiting for epoch {done_epoch + 1} (epoch {done_epoch} is proven; `ape run epochs` posts one "
                    "per new oracle round)")
            if line != waiting:
                mon.log.event("idle", line)
                waiting = line
        time.sleep(poll_seconds)
