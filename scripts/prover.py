"""``ape run prover``: prove every private account for the current epoch (MM), in parallel.

Accounts whose margin check fails cannot be proven and are reported with their figures; after
the grace window they become liquidatable. Idempotent: accounts already proven for the epoch are
skipped. With ``--follow`` it waits for each new epoch and says so.
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
    from offchain.devnet.clock import grace_window
    from offchain.devnet.onboarding import UNIT
    from offchain.devnet.scripting import attach
    from prover.statement import KIND_INSOLVENCY

    done_epoch = -1
    waiting = ""
    while True:
        p = attach(state_dir)
        epoch_id = int(p.d.epochs.currentEpochId())
        if epoch_id != done_epoch:
            if len(p.book) == 0:
                line = f"no accounts in the operator's book ({state_dir / 'book.json'}): open some with `ape run accounts --file FILE`"
                if line != waiting:
                    click.echo(line)
                    waiting = line
                if not follow:
                    return
                time.sleep(poll_seconds)
                continue
            labels = {a.address: a.label for a in p.book}
            click.echo(f"epoch {epoch_id}: proving maintenance margin (MM) for the {len(p.book)} accounts of the book "
                       "(several seconds per proof) ...")
            outcome = p.prove_all()
            if insolvency:
                for addr in [a for a, r in outcome.items() if r == "not provable"]:
                    p.prove(addr, KIND_INSOLVENCY)
                    outcome[addr] = "proven insolvent"
            window = grace_window(p.d)
            for addr, result in outcome.items():
                detail = ""
                if result in ("not provable", "proven insolvent"):
                    f = p.figures(addr)
                    detail = (f": equity {f.equity / UNIT:,.2f} USD < MM requirement {f.requirement / UNIT:,.2f} USD"
                              + (f"; liquidatable after the {window.describe()}" if result == "not provable" and window else
                                 "; liquidatable now"))
                name = f"{addr} ({labels[addr]})" if labels.get(addr) else addr
                click.echo(f"epoch {epoch_id} {name} {result}{detail}")
            done_epoch = epoch_id
            waiting = ""
        if not follow:
            return
        line = f"waiting for epoch {done_epoch + 1} (epoch {done_epoch} is proven; `ape run epochs` posts one per new oracle round)"
        if line != waiting:
            click.echo(line)
            waiting = line
        time.sleep(poll_seconds)
