"""``ape run keeper``: the liquidation keeper (restart-safe; see offchain/devnet/keepers/liquidation.py).

It says what it watches (each account's state) and, whenever it has nothing to do, what it is
waiting for: the end of the current epoch's grace window (with its chain time), a new epoch, or
accounts to open.
"""

from __future__ import annotations

import time

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
    from offchain.devnet.clock import utc
    from offchain.devnet.onboarding import UNIT
    from offchain.devnet.scripting import attach, liquidator

    p = attach(state_dir)
    liq = liquidator(liquidator_index)
    keeper = p.keeper(liq, state_path=state_dir / "keeper.json")
    labels = {a.address: a.label for a in p.book}

    def name(account: str) -> str:
        return f"{account} ({labels[account]})" if labels.get(account) else account

    def on_action(a):
        click.echo(f"{a.kind:6s} {name(a.account)} block {a.block} gas {a.gas_used} tx {a.tx}" + (" (closed)" if a.finished else ""))
        if a.finished:
            for ev in p.d.liquidation.LiquidationFinished.range(a.block, a.block + 1):
                if str(ev.account) == a.account:
                    click.echo(f"       liquidated {name(a.account)}: fee {int(ev.fee) / UNIT:,.2f} USD, shortfall "
                               f"{int(ev.shortfall) / UNIT:,.2f} USD, collateral left {int(ev.remainingCollateral) / UNIT:,.2f} USD")

    keeper.on_action = on_action
    keeper.on_skip = lambda s: click.echo(f"skip   {name(s.account)}: {s.reason}", err=True)
    balance = int(p.d.vault.balanceOf(liq.address))
    click.echo(f"liquidation keeper: bidding from {liq.address} (vault balance {balance / UNIT:,.2f} USD), "
               f"chain time {utc(p.now())}")
    if balance == 0:
        click.echo("  note: the liquidator has no vault balance, so it cannot pay for a book worth more than nothing "
                   "(fund it: ape run accounts --liquidator-usd 200000)")
    watches, window = keeper.watch()
    if window is not None:
        click.echo(f"  {window.describe()}")
    for w in watches:
        click.echo(f"  {w.line()}")
    last = ""
    while True:
        actions = keeper.step()
        if not actions:
            line = keeper.waiting_for()
            if line != last:
                click.echo(line)
                last = line
            if not follow:
                return
            time.sleep(poll_seconds)
        else:
            last = ""
