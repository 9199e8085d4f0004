"""The ``zkmargin`` command line.

One click group; each area of the project contributes its subcommands from its own module
(``offchain.cli_risk``, ``prover.cli``, ``offchain.sim.cli``) so the modules stay small.
Errors derived from :class:`~offchain.errors.InputError` print ``error: <field>: <problem>``
and exit with status 2; other :class:`~offchain.errors.ZkMarginError` exit with status 1.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click

from offchain import __version__
from offchain.errors import InputError, ZkMarginError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="zkmargin")
def cli() -> None:
    """zkmargin: margin-risk engine, ZK solvency prover and devnet protocol tools."""


def _register() -> None:
    # Each area registers its own commands; keep one line per area.
    from offchain.cli_info import commands as info_commands
    from offchain.cli_risk import commands as risk_commands; info_commands = [*info_commands, *risk_commands]  # noqa: E702,E501
    from offchain.sim.cli import commands as sim_commands; info_commands = [*info_commands, *sim_commands]  # noqa: E702,E501
    from prover.cli import commands as prover_commands; info_commands = [*info_commands, *prover_commands]  # noqa: E702,E501

    for command in info_commands:
        cli.add_command(command)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the process exit status (0 ok, 1 failure, 2 bad input)."""
    _register()
    try:
        cli.main(args=list(argv) if argv is not None else None, standalone_mode=False)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        return 2
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 1
    except InputError as exc:
        click.echo(f"error: {exc.field}: {exc.problem}", err=True)
        return 2
    except ZkMarginError as exc:
        click.echo(f"error: {exc}", err=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
