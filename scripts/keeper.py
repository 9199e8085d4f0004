"""``ape run keeper``: the liquidation keeper (restart-safe; see offchain/devnet/keepers/liquidation.py)."""

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
    from offchain.devnet.monitoring import RoleMonitor, refresh_state
    from offchain.devnet.scripting import attach, liquidator

    mon = RoleMonitor("keeper", metrics_port=metrics_port, log_json=log_json, tiers_config=tiers_config)
    p = attach(state_dir)
    sender = liquidator(liquidator_index)
    keeper = p.keeper(sender, state_path=state_dir / "keeper.json")
    mon.watch(sender, [p.d.liquidation])
    keeper.on_action = lambda a: mon.log.event(
        "action", f"{a.kind:6s} {a.account} block {a.block} gas {a.gas_used} tx {a.tx}" + (" (closed)" if a.finished else ""),
        kind=a.kind, account=a.account, block=a.block, gas_used=a.gas_used, tx=a.tx, finished=a.finished)

    def on_skip(s):
        # an account the book does not know (UnknownAccount names it first), else the exception class
        mon.metrics.error("skip_unknown_account" if s.reason.startswith(s.account) else "skip_" + s.reason.split(":", 1)[0])
        mon.log.warn_event("skip", f"skip   {s.account}: {s.reason}", account=s.account, reason=s.reason)

    keeper.on_skip = on_skip
    while True:
        actions = []
        with mon.pass_(swallow=follow) as run:
            if follow:  # the prover may have opened accounts and posted proofs: re-read the book and epoch
                refresh_state(p, state_dir)
                keeper.book = p.book
            actions = keeper.step()
            run.protocol = p
        if not follow and not actions:
            return
        if not actions:
            time.sleep(poll_seconds)
