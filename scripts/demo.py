"""End-to-end demo on a local devnet: ``ape run demo --network ethereum:local:foundry``.

Stage 1 (foundation): deploy the collateral token, vault and oracle, fund users, deposit,
push real BTC/ETH prices from the 2021 history, read everything back and print a summary.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import click
from ape import accounts, chain
from ape.cli import ConnectedProviderCommand
from ape.logging import logger
from rich.console import Console
from rich.table import Table

from offchain.chain.deploy import (
    COLLATERAL_DECIMALS,
    PRICE_DECIMALS,
    deploy_protocol,
    feed_id,
    fund_and_deposit,
    push_price,
)
from offchain.errors import InputError

ROOT = Path(__file__).resolve().parents[1]
PRICE_FILES = {"BTC": "btc_usd_daily_2021.csv", "ETH": "eth_usd_daily_2021.csv"}


def daily_close(asset: str, day: dt.date) -> float:
    """The 2021 daily price of ``asset`` on ``day`` from ``data/prices/`` (see its ATTRIBUTION)."""
    path = ROOT / "data" / "prices" / PRICE_FILES[asset]
    with path.open(newline="") as fh:
        for row in csv.DictReader(fh):
            when = dt.datetime.fromtimestamp(int(row["timestamp"]) / 1000, tz=dt.timezone.utc).date()
            if when == day:
                return float(row["price"])
    raise InputError("date", f"no {asset} price for {day.isoformat()} in {path.name} (2021 only)")


def usd(units: int, decimals: int = COLLATERAL_DECIMALS) -> str:
    return f"{units / 10**decimals:,.2f}"


@click.command(cls=ConnectedProviderCommand)
@click.option("--users", default=4, show_default=True, type=click.IntRange(1, 9), help="Funded user accounts.")
@click.option("--date", "dates", multiple=True, default=["2021-05-12", "2021-05-19"], show_default=True,
              help="Historical days whose BTC/ETH prices are pushed, in order (repeatable).")
def cli(users: int, dates: tuple[str, ...]) -> None:
    """Deploy, fund, deposit, push prices and print a summary."""
    console = Console()
    logger.set_level("WARNING")  # keep the summary readable: no per-transaction INFO lines
    try:
        days = [dt.date.fromisoformat(d) for d in dates]
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--date") from exc
    console.rule(f"zkmargin demo on chain {chain.chain_id}")
    owner, *rest = accounts.test_accounts[: users + 1]
    console.print("deploying token, vault, oracle ...")
    d = deploy_protocol(owner)
    deposits = [(i + 1) * 10_000 * 10**COLLATERAL_DECIMALS for i in range(users)]
    for user, amount in zip(rest, deposits):
        fund_and_deposit(d, [user], amount_units=amount)
    console.print(f"funded and deposited for {users} users")

    rounds = []
    for day in days:
        ts = chain.pending_timestamp
        for asset in PRICE_FILES:
            price = daily_close(asset, day)
            rid = push_price(d, f"{asset}/USD", round(price, 2), ts)
            rounds.append((day, asset, price, rid))
        chain.pending_timestamp += 3600
    console.print(f"pushed {len(rounds)} oracle updates")

    contracts = Table(title="Contracts")
    contracts.add_column("name"); contracts.add_column("address")
    for name, addr in d.addresses().items():
        contracts.add_row(name, addr)
    console.print(contracts)

    balances = Table(title="Vault balances (dUSDC)")
    balances.add_column("account"); balances.add_column("wallet", justify="right"); balances.add_column("vault", justify="right")
    for user in rest:
        balances.add_row(str(user.address), usd(d.token.balanceOf(user)), usd(d.vault.balanceOf(user)))
    balances.add_row("total", "", usd(d.vault.totalDeposits()))
    console.print(balances)

    prices = Table(title="Oracle (latest per feed, read back on-chain)")
    for col in ("feed", "round", "answer (USD)", "updatedAt", "historical day"):
        prices.add_column(col)
    for asset in PRICE_FILES:
        r = d.oracle.latestRound(feed_id(f"{asset}/USD"))
        prices.add_row(f"{asset}/USD", str(r.roundId), usd(r.answer, PRICE_DECIMALS), str(r.updatedAt), days[-1].isoformat())
    console.print(prices)
    assert d.vault.totalDeposits() == d.token.balanceOf(d.vault.address) == sum(deposits)
    console.print("[green]demo finished: vault accounting exact, oracle rounds read back[/green]")
