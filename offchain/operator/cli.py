"""``zkmargin operator``: the operator database's export and the standalone settler.

* ``zkmargin operator export --db PATH --out PATH``: the whole database as inspection JSON (its
  ``accounts`` section is an :class:`~offchain.devnet.operator.AccountBook` the keeper can load);
* ``zkmargin operator settle --state-dir DIR --rpc URL``: the settler loop over plain web3 (the
  ape script ``ape run settler`` runs the same loop inside ape).

``python -m offchain.operator.cli ...`` runs the same commands without loading the other
packages' commands (a settler process starts in about a second instead of three).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

from zkmargin.errors import InputError

if TYPE_CHECKING:
    from offchain.operator.store import OperatorStore

DEFAULT_KEY_ENV = "ZKMARGIN_SETTLER_KEY"


def _open_store(db: Path) -> OperatorStore:
    """The existing database at ``db`` (a problem with it is reported against ``--db``)."""
    from offchain.operator.store import OperatorStore

    try:
        return OperatorStore(db, create=False)
    except InputError as exc:
        where = "" if exc.field == str(db) else f"{exc.field}: "
        raise InputError("--db", f"{db}: {where}{exc.problem}") from None


@click.group("operator")
def operator() -> None:
    """The operator's private book (SQLite) and its settler."""


@operator.command("export")
@click.option("--db", "db", required=True, type=click.Path(path_type=Path), help="The operator database.")
@click.option("--out", "out", required=True, type=click.Path(path_type=Path), help="The JSON file to write.")
def export(db: Path, out: Path) -> None:
    """Write the operator database as JSON (atomically): the openings as a keeper's book, and every
    table (accounts, epochs, orders, fills, batches, history) under "operator"."""
    with _open_store(db) as store:
        if out.is_dir():
            raise InputError("--out", f"{out} is a directory")
        data = store.export_json(out)
    op = data["operator"]
    click.echo(f"wrote {out} (open accounts {len(data['accounts'])}, orders {len(op['orders'])}, "
               f"fills {len(op['fills'])}, batches {len(op['batches'])}, history rows {len(op['history'])})")


@operator.command("settle")
@click.option("--state-dir", default="out/devnet", show_default=True, type=click.Path(file_okay=False, path_type=Path),
              help="Where deployment.json is (the contract addresses).")
@click.option("--db", "db", default=None, type=click.Path(path_type=Path),
              help="The operator database [default: <state-dir>/operator.sqlite].")
@click.option("--rpc", default="http://127.0.0.1:8545", show_default=True, help="The node's JSON-RPC URL.")
@click.option("--prover", "prover_name", default="auto", show_default=True, type=click.Choice(["auto", "mock", "real"]),
              help="mock: allow each transition on the MockVerifier; real: Groth16 proofs; auto: mock when the "
                   "deployment's verifier is the MockVerifier, else real.")
@click.option("--key-env", default=DEFAULT_KEY_ENV, show_default=True,
              help="The environment variable holding the sender's private key (never on the command line).")
@click.option("--build-dir", default=".build", show_default=True, type=click.Path(file_okay=False, path_type=Path),
              help="The compiled contracts (ape compile) to read the ABIs from.")
@click.option("--follow", is_flag=True, help="Keep settling as fills arrive (SIGTERM to stop); else stop when idle.")
@click.option("--poll-seconds", default=1.0, show_default=True, type=click.FloatRange(0.01, 600))
@click.option("--max-fills", default=None, type=click.IntRange(1, 16), help="Fills per batch [default: the table's 16].")
def settle(state_dir: Path, db: Path | None, rpc: str, prover_name: str, key_env: str, build_dir: Path, follow: bool,
           poll_seconds: float, max_fills: int | None) -> None:
    """Settle the database's pending fills on chain: batch, prove, submit, confirm; crash-safe."""
    from offchain.operator.deployment import read_deployment
    from offchain.operator.provers import select_prover
    from offchain.operator.runner import CRASH_ENV, StopFlag, crash_hook, run_settler
    from offchain.operator.settler import Settler
    from offchain.operator.web3_chain import Web3Chain

    stop = StopFlag().install()
    key = os.environ.get(key_env)
    if not key:
        raise InputError("--key-env", f"${key_env} is not set (it must hold the sender's private key)")
    info = read_deployment(state_dir)
    if prover_name == "auto":
        prover_name = "mock" if info.mock_verifier else "real"
    chain = Web3Chain(rpc, info, key, build_dir)
    prover = select_prover(prover_name, chain.allow_statement)
    with _open_store(db or state_dir / "operator.sqlite") as store:
        settler = Settler(store, chain, prover, max_fills=max_fills, on_stage=crash_hook(os.environ.get(CRASH_ENV)))
        run_settler(settler, follow=follow, poll_seconds=poll_seconds, stop=stop, echo=click.echo)


commands = [operator]


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m offchain.operator.cli``: the ``operator`` commands alone, with the CLI's exit codes."""
    from zkmargin.cli import run

    return run(operator, argv, prog_name="zkmargin operator")


if __name__ == "__main__":
    sys.exit(main())
