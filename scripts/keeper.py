"""``ape run keeper``: the liquidation keeper (restart-safe; see offchain/devnet/keepers/liquidation.py).

It says what it watches (each account's state) and, whenever it has nothing to do, what it is
waiting for: the end of the current epoch's grace window (with its chain time), a new epoch, or
accounts to open.
"""

from __future__ import annotations

import time

import click
from ape.cli import ConnectedProviderCommand

from offchain.devnet.monitoring import monitoring_options
from offchain.devnet.scripting import friendly_errors, state_dir_option


@click.command(cls=ConnectedProviderCommand)
@state_dir_option
@click.option("--liquidator", "liquidator_index", default=9, show_default=True, type=int, help="Test-account index of the liquidator.")
@click.option("--follow", is_flag=True, help="Keep watching (Ctrl-C to stop); else stop at the first idle pass.")
@click.option("--poll-seconds", default=1.0, show_default=True, type=click.FloatRange(0.05, 600))
@monitoring_options
@friendly_errors
def cli(state_dir, liquidator_index, follow, poll_seconds, metrics_port, log_json, tiers_config):
    """Open and auction every liquidatable account (the emptying fill closes it)."""
    from offchain.devnet.clock import utc
    from offchain.devnet.monitoring import RoleMonitor, refresh_state
    from offchain.devnet.onboarding import UNIT
    from offchain.devnet.scripting import attach, liquidator
    from offchain.operator.journal import adopt_store_openings

    mon = RoleMonitor("keeper", metrics_port=metrics_port, log_json=log_json, tiers_config=tiers_config)
    p = attach(state_dir)
    adopt_store_openings(p, state_dir)  # accounts settled by the exchange's settler
    sender = liquidator(liquidator_index)
    keeper = p.keeper(sender, state_path=state_dir / "keeper.json")
    mon.watch(sender, [p.d.liquidation])
    labels = {a.address: a.label for a in p.book}

    def name(account: str) -> str:
        return f"{account} ({labels[account]})" if labels.get(account) else account

    def on_action(a):
        mon.log.event("action", f"{a.kind:6s} {name(a.account)} block {a.block} gas {a.gas_used} tx {a.tx}"
                      + (" (closed)" if a.finished else ""),
                      kind=a.kind, account=a.account, block=a.block, gas_used=a.gas_used, tx=a.tx, finished=a.finished)
        if a.finished:
            for ev in p.d.liquidation.LiquidationFinished.range(a.block, a.block + 1):
                if str(ev.account) == a.account:
                    mon.log.event("liquidated", f"       liquidated {name(a.account)}: fee {int(ev.fee) / UNIT:,.2f} USD, "
                                  f"shortfall {int(ev.shortfall) / UNIT:,.2f} USD, collateral left "
                                  f"{int(ev.remainingCollateral) / UNIT:,.2f} USD", account=a.account, fee=int(ev.fee),
                                  shortfall=int(ev.shortfall), remaining=int(ev.remainingCollateral))

    def on_skip(s):
        # an account the book does not know (UnknownAccount names it first), else the exception class
        mon.metrics.error("skip_unknown_account" if s.reason.startswith(s.account) else "skip_" + s.reason.split(":", 1)[0])
        mon.log.warn_event("skip", f"skip   {name(s.account)}: {s.reason}", account=s.account, reason=s.reason)

    keeper.on_action = on_action
    keeper.on_skip = on_skip
    balance = int(p.d.vault.balanceOf(sender.address))
    mon.log.event("start", f"liquidation keeper: bidding from {sender.address} (vault balance {balance / UNIT:,.2f} USD), "
                  f"chain time {utc(p.now())}", liquidator=str(sender.address), balance=balance)
    if balance == 0:
        mon.log.event("note", "  note: the liquidator has no vault balance, so it cannot pay for a book worth more than "
                      "nothing (fund it: ape run accounts --liquidator-usd 200000)")
    watches, window = keeper.watch()
    if window is not None:
        mon.log.event("watch", f"  {window.describe()}")
    for w in watches:
        mon.log.event("watch", f"  {w.line()}")
    last = ""
    while True:
        actions = []
        with mon.pass_(swallow=follow) as run:
            if follow:  # the prover may have opened accounts and posted proofs: re-read the book and epoch
                refresh_state(p, state_dir)
                adopt_store_openings(p, state_dir)
                keeper.book = p.book
                labels.update({a.address: a.label for a in p.book})
            actions = keeper.step()
            run.protocol = p
            if actions and keeper.takeovers is not None:
                # the liquidator now holds what it bought: its opening goes into the operator's book
                # (book.json), where the prover finds it for the liquidator's own MM proofs
                mine = keeper.takeovers.sync()
                if mine is not None:
                    p.book.put(mine)
                    p.book.save(state_dir / "book.json")
        if actions:
            last = ""
            continue
        line = keeper.waiting_for()
        if line != last:
            mon.log.event("idle", line)
            last = line
        if not follow:
            return
        time.sleep(poll_seconds)
