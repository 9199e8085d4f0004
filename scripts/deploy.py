"""``ape run deploy``: deploy the whole protocol, report first prices, post epoch 1, save the state.

Writes ``<state-dir>/registry.json`` (addresses keyed by chain id), ``deployment.json``,
``book.json`` and ``epochs/``.
"""

from __future__ import annotations

import click
from ape.cli import ConnectedProviderCommand

from offchain.devnet.scripting import friendly_errors, parse_vols, state_dir_option


@click.command(cls=ConnectedProviderCommand)
@state_dir_option
@click.option("--date", default="2021-05-12", show_default=True, help="Day of the 2021 history whose closes are the first prices.")
@click.option("--grace-seconds", default=600, show_default=True, type=click.IntRange(0, 30 * 86_400))
@click.option("--vol", "vols", multiple=True, help="Implied vol per underlying, e.g. BTC=0.8 (repeatable).")
@click.option("--seed", default=2021, show_default=True, type=int, help="Root seed (account salts).")
@friendly_errors
def cli(state_dir, date, grace_seconds, vols, seed):
    """Deploy token, vault, oracle, epochs, accounts, liquidation and the Groth16 verifier."""
    import datetime as dt

    from ape import chain

    from offchain.devnet.defaults import DEFAULT_VOLS, zk_cache_dir
    from offchain.devnet.listing import devnet_listing, devnet_risk_config
    from offchain.devnet.scripting import forget_previous_deployment, owner
    from offchain.devnet.session import Protocol
    from offchain.sim.paths import history_path

    vol_map = parse_vols(vols, DEFAULT_VOLS)  # every option is checked before the first transaction
    try:
        day = dt.date.fromisoformat(date)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--date") from exc
    path = history_path(["BTC", "ETH"], day, day + dt.timedelta(days=1), 1, seed)
    spots = {a: float(path.prices[0, k]) for k, a in enumerate(path.assets)}
    now = int(chain.blocks.head.timestamp)
    click.echo(f"deploying on chain {chain.chain_id} (proving keys in {zk_cache_dir()}) ...")
    p = Protocol.deploy(owner(), devnet_listing(now, spots), zk_dir=zk_cache_dir(), risk_config=devnet_risk_config(),
                        grace_period_seconds=grace_seconds, seed=seed)
    p.report_prices(spots)
    p.post_epoch(vols=vol_map)
    forget_previous_deployment(state_dir)
    p.save(state_dir)
    for name, addr in p.d.addresses().items():
        click.echo(f"{name:12s} {addr}")
    click.echo(f"epoch 1 posted at BTC {spots['BTC']:,.2f}, ETH {spots['ETH']:,.2f} USD (closes of {day}); "
               f"grace window {grace_seconds} s")
    click.echo(f"state saved to {state_dir}; next: open accounts (ape run accounts --file FILE)")
