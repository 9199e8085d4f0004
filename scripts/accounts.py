"""``ape run accounts``: open margin accounts from a file; fund the liquidator and the insurance fund.

The file (``examples/devnet-accounts.json``; format in ``offchain/devnet/onboarding.py``) lists
the accounts (label, holdings in lots of the devnet listing, deposit in USD, optional count) and
how much to put into the insurance fund and the liquidator's vault balance. Each account is a
fresh devnet test account: the operator mints and deposits its collateral, buys the holdings at
the current epoch's marks and registers the commitment with an initial-margin proof. Everything
is checked before the first transaction; the operator's book is saved in ``--state-dir``.
"""

from __future__ import annotations

from pathlib import Path

import click
from ape.cli import ConnectedProviderCommand

from offchain.devnet.scripting import friendly_errors, state_dir_option
from offchain.operator.journal import StoreJournal
from offchain.operator.store import OperatorStore


@click.command(cls=ConnectedProviderCommand)
@state_dir_option
@click.option("--file", "file", type=click.Path(dir_okay=False, path_type=Path),
              help="Accounts file (JSON): accounts to open, insurance_fund_usd, liquidator_capital_usd.")
@click.option("--insurance-usd", type=click.FloatRange(0, 1e12), default=None,
              help="Add this much to the insurance fund (overrides the file's insurance_fund_usd).")
@click.option("--liquidator-usd", type=click.FloatRange(0, 1e12), default=None,
              help="Deposit this much for the liquidator (overrides the file's liquidator_capital_usd).")
@click.option("--liquidator", "liquidator_index", default=9, show_default=True, type=int,
              help="Test-account index of the liquidator (the one `ape run keeper` bids from).")
@friendly_errors
def cli(state_dir, file, insurance_usd, liquidator_usd, liquidator_index):
    """Open accounts (IM proofs) and fund the liquidator and the insurance fund."""
    import time

    from offchain.devnet.onboarding import (
        UNIT,
        AccountsFile,
        check_openings,
        expand,
        free_users,
        initial_margin_units,
        leverage,
        load_accounts_file,
    )
    from offchain.devnet.scripting import attach, liquidator

    spec = load_accounts_file(file) if file is not None else AccountsFile()
    fund_usd = spec.insurance_fund_usd if insurance_usd is None else insurance_usd
    liq_usd = spec.liquidator_capital_usd if liquidator_usd is None else liquidator_usd
    if not spec.accounts and not fund_usd and not liq_usd:
        raise click.UsageError("nothing to do: give --file with accounts, or --insurance-usd / --liquidator-usd")
    liq = liquidator(liquidator_index)
    p = attach(state_dir)
    if int(p.d.accounts.commitmentOf(liq.address)) != 0:
        raise click.BadParameter(f"{liq.address} has a margin account and cannot bid", param_hint="--liquidator")
    where = f"{file}:accounts" if file is not None else "accounts"
    openings = expand(spec.accounts, [i.symbol for i in p.listing], free_users(p, sum(t.count for t in spec.accounts),
                                                                               exclude=[liq.address]), where)
    check_openings(p, openings)  # before any transaction: deposits cover the initial margin

    if fund_usd:
        p.fund_insurance(round(fund_usd * UNIT))
        click.echo(f"insurance fund +{fund_usd:,.2f} USD -> {int(p.d.vault.insuranceFund()) / UNIT:,.2f} USD")
    if liq_usd:
        p.fund_liquidator(liq, round(liq_usd * UNIT))
        click.echo(f"liquidator {liq.address} (test account {liquidator_index}) +{liq_usd:,.2f} USD -> vault balance "
                   f"{int(p.d.vault.balanceOf(liq.address)) / UNIT:,.2f} USD")
    if openings:
        click.echo(f"opening {len(openings)} accounts at the marks of epoch {p.epoch.epoch_id}: each buys its book "
                   f"from the house in settled batches (a transition proof per account and batch) ...")
        t0 = time.monotonic()
        # every transition also goes into the operator's database (its history replays each opening)
        with OperatorStore(state_dir / "operator.sqlite", instruments=p.book.instruments) as store:
            p.journal = StoreJournal(store)
            p.open_accounts([o.spec() for o in openings])
            p.journal = None
        p.save(state_dir)
        for o in openings:
            lots = ", ".join(f"{s} {q:+d}" for s, q in o.holdings.items())
            click.echo(f"opened {o.user.address} ({o.label}): {lots} lots; deposit {o.deposit_units / UNIT:,.2f} USD, "
                       f"IM {initial_margin_units(p, o.holdings) / UNIT:,.2f} USD, "
                       f"notional leverage {leverage(p, o.holdings, o.deposit_units):.1f}x")
        click.echo(f"{len(openings)} accounts open ({time.monotonic() - t0:.0f} s); operator's book in {state_dir / 'book.json'}")
