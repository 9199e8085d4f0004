"""``ape run settler``: settle the operator database's fills on the saved deployment (crash-safe;
see offchain/operator/settler.py). ``zkmargin operator settle`` runs the same loop without ape."""

from __future__ import annotations

import click
from ape.cli import ConnectedProviderCommand

from offchain.devnet.scripting import friendly_errors, state_dir_option


@click.command(cls=ConnectedProviderCommand)
@state_dir_option
@click.option("--db", "db", default=None, type=click.Path(dir_okay=False),
              help="The operator database [default: <state-dir>/operator.sqlite].")
@click.option("--prover", "prover_name", default="auto", show_default=True, type=click.Choice(["auto", "mock", "real"]),
              help="mock: allow each transition on the MockVerifier; real: Groth16 proofs (prover.transition_api); "
                   "auto: mock when the deployment's verifier is the MockVerifier, else real.")
@click.option("--sender", "sender_index", default=0, show_default=True, type=click.IntRange(0, 9),
              help="Test-account index that sends settle (with --prover mock: the mock verifier's controller).")
@click.option("--follow", is_flag=True, help="Keep settling as fills arrive (SIGTERM to stop); else stop when idle.")
@click.option("--poll-seconds", default=1.0, show_default=True, type=click.FloatRange(0.01, 600))
@friendly_errors
def cli(state_dir, db, prover_name, sender_index, follow, poll_seconds):
    """Batch, prove, submit and confirm the pending fills of the operator database."""
    import os
    from pathlib import Path

    from ape import accounts

    from offchain.operator.ape_chain import ApeChain, attach_deployment
    from offchain.operator.provers import select_prover
    from offchain.operator.runner import CRASH_ENV, StopFlag, crash_hook, run_settler
    from offchain.operator.settler import Settler
    from offchain.operator.store import OperatorStore

    stop = StopFlag().install()
    sender = accounts.test_accounts[sender_index]
    d = attach_deployment(state_dir, accounts.test_accounts[0])
    if prover_name == "auto":
        from offchain.operator.deployment import read_deployment

        prover_name = "mock" if read_deployment(state_dir).mock_verifier else "real"
    chain = ApeChain(d, sender)
    prover = select_prover(prover_name, chain.allow_statement)
    path = Path(db) if db else state_dir / "operator.sqlite"
    with OperatorStore(path, create=False) as store:
        settler = Settler(store, chain, prover, on_stage=crash_hook(os.environ.get(CRASH_ENV)))
        run_settler(settler, follow=follow, poll_seconds=poll_seconds, stop=stop, echo=click.echo)
