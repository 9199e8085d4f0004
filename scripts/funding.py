"""``ape run funding``: the funding keeper samples the premium of every perpetual into the operator
database (docs/trading.md, "The exchange service").

Each sampling round starts the exchange over the database (the book rebuilt from it), takes the
book's impact bid and ask for the instrument's impact notional and the oracle's latest index
(USD per unit, converted to base units per lot), and records one premium sample per perpetual
(``funding_samples``). The risk keeper turns the samples since the last epoch into the next
epoch's cumulative funding index (``Exchange.funding_step``). Without ``--follow`` it takes one
round and stops; with it, one round every ``--poll-seconds`` until SIGTERM or Ctrl-C.
"""

from __future__ import annotations

from pathlib import Path

import click
from ape.cli import ConnectedProviderCommand

from offchain.devnet.scripting import friendly_errors, state_dir_option


@click.command(cls=ConnectedProviderCommand)
@state_dir_option
@click.option("--db", "db", default=None, type=click.Path(dir_okay=False, path_type=Path),
              help="The operator database [default: <state-dir>/operator.sqlite].")
@click.option("--follow", is_flag=True, help="Keep sampling every --poll-seconds (SIGTERM to stop); else one round.")
@click.option("--poll-seconds", default=60.0, show_default=True, type=click.FloatRange(0.01, 86_400))
@friendly_errors
def cli(state_dir, db, follow, poll_seconds):
    """Record one premium sample per perpetual from the book and the oracle's index prices."""
    from offchain.devnet.scripting import owner
    from offchain.operator.ape_exchange import chain_now, open_exchange, oracle_answers
    from offchain.operator.runner import StopFlag

    stop = StopFlag().install()
    session = open_exchange(state_dir, db, owner())
    try:
        ex, q = session.exchange, session.quoting
        d = session.chain.d
        while not stop.is_set():
            answers = oracle_answers(d, [i.underlying for i in q.instruments])
            index = [q.index_per_lot(i, answers[inst.underlying]) for i, inst in enumerate(q.instruments)]
            now = chain_now()
            premiums = ex.sample_funding(index, now)
            sampled = [(i, p) for i, p in enumerate(premiums) if p is not None]
            if not sampled:
                click.echo("no perpetual is listed: nothing to sample")
                return
            window = len(ex.store.funding_samples(unused=True))
            parts = []
            for i, p in sampled:
                parts.append(f"{q.listing.instruments[i].symbol} premium {p / 10**16:+.4f}% "
                             f"(index {q.usd(i, index[i])} USD)")
            click.echo(f"t={now}: " + "; ".join(parts) + f" [{window} samples since the last funding step]")
            if not follow:
                return
            stop.wait(poll_seconds)
        click.echo("stopped")
    finally:
        session.close()
