"""``ape run advance``: move devnet chain time forward (anvil), e.g. past the grace window.

Without pushing prices, time on a devnet only moves with new blocks; the grace window after an
epoch is counted in chain seconds. ``--past-grace`` moves the clock to the first second at which
accounts without a fresh proof for the current epoch are liquidatable.
"""

from __future__ import annotations

import click
from ape.cli import ConnectedProviderCommand

from offchain.devnet.scripting import friendly_errors, state_dir_option


@click.command(cls=ConnectedProviderCommand)
@state_dir_option
@click.option("--seconds", type=click.IntRange(1, 366 * 86_400), default=None, help="Move chain time forward by this many seconds.")
@click.option("--past-grace", is_flag=True, help="Move chain time just past the current epoch's grace window.")
@friendly_errors
def cli(state_dir, seconds, past_grace):
    """Advance chain time by --seconds, or just past the current epoch's grace window."""
    from offchain.devnet.clock import advance, advance_past_grace, grace_window, utc
    from offchain.devnet.scripting import attach

    if (seconds is None) == (not past_grace):
        raise click.UsageError("give exactly one of --seconds N and --past-grace")
    p = attach(state_dir)
    if past_grace:
        window, moved = advance_past_grace(p.d)
        if window is None:
            click.echo("no epoch posted yet: there is no grace window")
        elif moved == 0:
            click.echo(f"nothing to do: the {window.describe()}")
        else:
            click.echo(f"moved chain time {moved:,} s forward to {utc(p.now())}: the grace window of epoch "
                       f"{window.epoch_id} has ended; accounts without a proof for it are liquidatable (ape run keeper)")
        return
    now = advance(seconds)
    window = grace_window(p.d)
    click.echo(f"chain time is now {utc(now)} (+{seconds:,} s)" + (f"; {window.describe()}" if window else ""))
