"""``ape run trader``: a trader's orders through the operator's exchange (docs/trading.md, "The
exchange service").

* ``ape run trader place --account N --symbol BTC-PERP --side buy --size 5 --price 30000.5``
  (``--kind limit|market|ioc|post_only``, ``--reduce-only``, ``--expires-in SECONDS``): signs the
  order with test account ``N``'s key (EIP-712) and submits it; prints the fills and what rests;
* ``ape run trader cancel --account N --order C`` (the order's commitment ``0x...`` or book
  id), or ``--all``;
* ``ape run trader book [--symbol S]``: the resting depth, USD per unit of the underlying;
* ``ape run trader orders --account N``: the account's orders and their settled, matched and
  resting lots.

Prices are USD per unit of the underlying (30000.5 USD per BTC), converted with the listing's lot
size to base units per lot; a price off the tick grid is refused naming ``--price``. Sizes are
lots. Each command attaches to the deployment saved in ``--state-dir`` and the operator database
``--db`` (default ``<state-dir>/operator.sqlite``); place and cancel start the exchange over it
(rebuilt from the database), record the outcome and exit. Bad input: one ``Error:`` line naming
the option, exit status 2, nothing written; a refused order is recorded and exits with status 1.
"""

from __future__ import annotations

from pathlib import Path

import click
from ape.cli import ConnectedProviderCommand

from offchain.devnet.scripting import friendly_errors, state_dir_option

db_option = click.option("--db", "db", default=None, type=click.Path(dir_okay=False, path_type=Path),
                         help="The operator database [default: <state-dir>/operator.sqlite].")
account_option = click.option("--account", "account", required=True, type=click.IntRange(0, 9),
                              help="The trader: ape's test account index (its key signs the orders).")


@click.group()
def cli():
    """Place and cancel signed orders, show the book and a trader's orders."""


@cli.command(cls=ConnectedProviderCommand)
@state_dir_option
@db_option
@account_option
@click.option("--symbol", required=True, help="The instrument, e.g. BTC-PERP (see `ape run trader book`).")
@click.option("--side", required=True, type=click.Choice(["buy", "sell"]))
@click.option("--size", required=True, type=click.IntRange(1), help="Lots (the listing's lot size each).")
@click.option("--price", required=True,
              help="Limit price, USD per unit of the underlying, on the tick grid (market orders: the worst price).")
@click.option("--kind", default="limit", show_default=True, type=click.Choice(["limit", "market", "ioc", "post_only"]))
@click.option("--reduce-only", is_flag=True, help="Only ever reduce the account's position.")
@click.option("--expires-in", default=86_400, show_default=True, type=click.IntRange(1, 365 * 86_400),
              help="Chain seconds until the order expires.")
@friendly_errors
def place(state_dir, db, account, symbol, side, size, price, kind, reduce_only, expires_in):
    """Sign an order with the account's key and submit it to the exchange."""
    from ape import accounts

    from offchain.devnet.scripting import owner
    from offchain.operator.ape_chain import attach_deployment
    from offchain.operator.ape_exchange import chain_now, open_exchange, preview
    from offchain.operator.quoting import read_instruments
    from offchain.trading.events import Status
    from offchain.trading.orders import Order, check_listing
    from offchain.trading.signing import sign_order
    from zkmargin.errors import InputError

    # every option is checked before the database is written
    d = attach_deployment(state_dir, owner())
    trader = accounts.test_accounts[account]
    q, nonce = preview(state_dir, db, d, read_instruments(state_dir), str(trader.address))
    i = q.index(symbol)
    limit = q.price_per_lot(i, price)
    try:
        order = check_listing(Order.create(
            trader=str(trader.address), instrument=i, side=side, limit_price=limit, size=size,
            expiry=chain_now() + expires_in, nonce=nonce, kind=kind, reduce_only=reduce_only, symbol=symbol), q.listing)
    except InputError as exc:  # name the option, not the order's field
        options = {"size": "--size", "limit_price": "--price", "instrument": "--symbol", "symbol": "--symbol",
                   "kind": "--kind", "side": "--side", "expiry": "--expires-in"}
        raise InputError(options.get(exc.field, exc.field), exc.problem) from None
    signature = sign_order(order, trader.private_key, d.chain_id, str(d.settlement.address))

    session = open_exchange(state_dir, db, owner())
    try:
        report = session.exchange.place(order, signature, chain_now())
        c = order.commitment()
        click.echo(f"order 0x{c:064x}")
        click.echo(f"  {side} {q.size_text(i, size)} {symbol} {kind}{' reduce-only' if reduce_only else ''} at "
                   f"{q.usd(i, limit)} USD, nonce {nonce}, account {account} ({trader.address})")
        if report.status == Status.REJECTED:
            click.echo(f"  rejected: {report.reason}")
            raise click.exceptions.Exit(1)
        for f in report.fills:
            click.echo(f"  filled {q.size_text(i, f.size)} at {q.usd(i, f.price)} USD against book order "
                       f"{f.maker_order} (fill {f.seq}, pending settlement: ape run settler)")
        click.echo(f"  {report.status}: book id {report.order_id}, filled {report.filled}, resting {report.resting}, "
                   f"cancelled {report.cancelled} lots" + (f" ({report.reason})" if report.reason else ""))
    finally:
        session.close()


@cli.command(cls=ConnectedProviderCommand)
@state_dir_option
@db_option
@account_option
@click.option("--order", "order_ref", default=None, help="The order's commitment (0x...) or its book id.")
@click.option("--all", "cancel_all", is_flag=True, help="Cancel every resting order of the account.")
@friendly_errors
def cancel(state_dir, db, account, order_ref, cancel_all):
    """Cancel one resting order of the account (or all of them)."""
    from ape import accounts

    from offchain.devnet.scripting import owner
    from offchain.operator.ape_exchange import chain_now, open_exchange
    from zkmargin.errors import InputError

    if (order_ref is None) == (not cancel_all):
        raise InputError("--order", "give either --order C or --all")
    ref = None
    if order_ref is not None:
        try:
            ref = int(order_ref, 16) if order_ref.lower().startswith("0x") else int(order_ref, 10)
        except ValueError:
            raise InputError("--order", f"{order_ref!r} is neither a commitment (0x...) nor a book id") from None
    trader = str(accounts.test_accounts[account].address)
    session = open_exchange(state_dir, db, owner(), create=False)
    try:
        ex, q = session.exchange, session.quoting
        cancels = ex.cancel_all(trader, chain_now()) if ref is None else [ex.cancel(trader, ref, chain_now())]
        for c in cancels:
            click.echo(f"cancelled book order {c.order_id}: {q.size_text(c.instrument, c.size)} "
                       f"{q.listing.instruments[c.instrument].symbol}")
        if not cancels:
            click.echo(f"account {account} has no resting orders")
    finally:
        session.close()


@cli.command(cls=ConnectedProviderCommand)
@state_dir_option
@db_option
@click.option("--symbol", default=None, help="One instrument [default: every instrument with resting orders].")
@click.option("--levels", default=10, show_default=True, type=click.IntRange(1, 1_000), help="Price levels per side.")
@friendly_errors
def book(state_dir, db, symbol, levels):
    """The resting depth (read from the database; writes nothing)."""
    from offchain.devnet.scripting import owner
    from offchain.operator.ape_chain import attach_deployment
    from offchain.operator.ape_exchange import chain_now, open_store, quoting_for
    from offchain.operator.quoting import read_instruments, resting_depth

    d = attach_deployment(state_dir, owner())
    instruments = read_instruments(state_dir)
    with open_store(state_dir, db, create=False) as store:
        q = quoting_for(store, instruments, d)
        which = [q.index(symbol)] if symbol else None
        depth = resting_depth(store, q.listing.n, chain_now())
    shown = which if which is not None else [i for i, (b, a) in enumerate(depth) if b or a]
    if not shown:
        click.echo("the book is empty")
    for i in shown:
        bids, asks = depth[i]
        for line in q.depth_lines(i, bids[:levels], asks[:levels]):
            click.echo(line)


@cli.command(cls=ConnectedProviderCommand)
@state_dir_option
@db_option
@account_option
@friendly_errors
def orders(state_dir, db, account):
    """The account's orders, oldest first (read from the database; writes nothing)."""
    from ape import accounts

    from offchain.devnet.scripting import owner
    from offchain.operator.ape_chain import attach_deployment
    from offchain.operator.ape_exchange import chain_now, open_store, quoting_for
    from offchain.operator.exchange import order_views
    from offchain.operator.quoting import read_instruments

    d = attach_deployment(state_dir, owner())
    instruments = read_instruments(state_dir)
    trader = str(accounts.test_accounts[account].address)
    with open_store(state_dir, db, create=False) as store:
        q = quoting_for(store, instruments, d)
        views = order_views(store, trader, chain_now())
    if not views:
        click.echo(f"account {account} ({trader}) has no orders")
    for v in views:
        o = v.order
        click.echo(f"0x{v.commitment:064x}  book id {v.book_id}  {o.side.name.lower()} {o.size} "
                   f"{q.listing.instruments[o.instrument].symbol} {o.kind} at {q.usd(o.instrument, o.limit_price)} USD  "
                   f"{v.status}: settled {v.settled}, matched {v.matched}, resting {v.resting}"
                   + (f" ({v.reason})" if v.reason else ""))
