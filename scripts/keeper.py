"""``ape run keeper``: the liquidation keeper (restart-safe; see offchain/devnet/keepers/liquidation.py)."""

from __future__ import annotations

import click
from ape.cli import ConnectedProviderCommand

from offchain.devnet.scripting import friendly_errors, state_dir_option


@click.command(cls=ConnectedProviderCommand)
@state_dir_option
@click.option("--liquidator", "liquidator_index", default=9, show_default=True, type=int, help="Test-account index of the liquidator.")
@click.option("--follow", is_flag=True, help="Keep watching (Ctrl-C to stop); else stop at the first idle pass.")
@click.option("--poll-seconds", default=1.0, show_default=True, type=click.FloatRange(0.05, 600))
@friendly_errors
def cli(state_dir, liquidator_index, follow, poll_seconds):
    """Open and auction every liquidatable account (the emptying fill closes it)."""
    from offchain.devnet.scripting import attach, liquidator

    p = attach(state_dir)
    keeper = p.keeper(liquidator(liquidator_index), state_path=state_dir / "keeper.json")
    keeper.on_action = lambda a: click.echo(
        f"{a.kind:6s} {a.account} block {a.block} gas {a.gas_used} tx {a.tx}" + (" (closed)" if a.finished else "")
    )
    keeper.on_skip = lambda s: click.echo(f"skip   {s.account}: {s.reason}", err=True)
    keeper.run(until_idle=not follow, poll_seconds=poll_seconds)
