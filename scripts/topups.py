"""``ape run topups``: an account authorizes (or revokes) the margin-call keeper's automated top-ups.

On-chain (``TopUpAuthorizations``): the account approves the module on the collateral token and
authorizes the keeper for ``--allowance-usd``; the keeper may then move up to that much from
the account's wallet into its vault balance when it reaches the margin-call tier. On the devnet
``--wallet-usd`` first mints that much of the mock token into the account's wallet.
"""

from __future__ import annotations

import click
from ape.cli import ConnectedProviderCommand

from offchain.devnet.scripting import friendly_errors, state_dir_option


@click.command(cls=ConnectedProviderCommand)
@state_dir_option
@click.option("--account", "account_index", required=True, type=click.IntRange(1, 9), help="Test-account index of the account.")
@click.option("--keeper", "keeper_index", default=8, show_default=True, type=click.IntRange(1, 9),
              help="Test-account index of the margin-call keeper.")
@click.option("--allowance-usd", type=click.FloatRange(0, 1e12, min_open=True), help="Most the keeper may move in total.")
@click.option("--wallet-usd", default=0.0, show_default=True, type=click.FloatRange(0, 1e12), help="Mint this much into the wallet first (devnet).")
@click.option("--revoke", is_flag=True, help="Withdraw the keeper's authorization instead.")
@friendly_errors
def cli(state_dir, account_index, keeper_index, allowance_usd, wallet_usd, revoke):
    """Authorize (or revoke) top-ups of one account by the margin-call keeper."""
    from ape import accounts

    from offchain.devnet.deploy import COLLATERAL_DECIMALS
    from offchain.devnet.margin_calls import authorize_topups, revoke_topups
    from offchain.devnet.scripting import attach
    from zkmargin.errors import InputError

    p = attach(state_dir)
    user, keeper = accounts.test_accounts[account_index], accounts.test_accounts[keeper_index]
    unit = 10**COLLATERAL_DECIMALS
    if revoke:
        if allowance_usd is not None:
            raise InputError("--allowance-usd", "not with --revoke")
        revoke_topups(p, user, keeper)
    else:
        if allowance_usd is None:
            raise InputError("--allowance-usd", "required (or --revoke)")
        authorize_topups(p, user, keeper, round(allowance_usd * unit), round(wallet_usd * unit))
    auth = p.d.topups.authorization(user.address, keeper.address)
    click.echo(f"{user.address} -> keeper {keeper.address}: "
               + (f"authorized, {int(auth.remaining) / unit:,.2f} USD left" if auth.active else "not authorized")
               + f"; wallet {int(p.d.token.balanceOf(user.address)) / unit:,.2f} USD")
