"""The ``zkmargin`` command line.

One click group; each package contributes its subcommands from its own CLI module
(:mod:`offchain.risk.cli`, :mod:`offchain.sim.cli`, :mod:`prover.cli`, :mod:`offchain.operator.cli`,
:mod:`offchain.dashboard.cli`), so the modules stay
small and no library module imports a CLI module. Errors derived from
:class:`~zkmargin.errors.InputError` print ``error: <field>: <problem>`` and exit with status 2;
other :class:`~zkmargin.errors.ZkMarginError` exit with status 1.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence

import click

from zkmargin import __version__
from zkmargin.errors import InputError, ZkMarginError
from zkmargin.info import package_versions


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="zkmargin")
def cli() -> None:
    """zkmargin: margin-risk engine, ZK solvency prover and devnet protocol tools."""


@click.command("info")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def info(as_json: bool) -> None:
    """Print the versions of Python and of the key packages."""
    versions = package_versions()
    if as_json:
        click.echo(json.dumps(versions, indent=2, sort_keys=True))
    else:
        for name, version in versions.items():
            click.echo(f"{name:14s} {version}")


def _register() -> None:
    """Add every package's commands (imported here, lazily: ``zkmargin --help`` stays fast)."""
    from offchain.dashboard.cli import commands as dashboard_commands
    from offchain.operator.cli import commands as operator_commands
    from offchain.risk.cli import commands as risk_commands
    from offchain.sim.cli import commands as sim_commands
    from prover.cli import commands as prover_commands

    for command in [info, *risk_commands, *sim_commands, *prover_commands, *operator_commands, *dashboard_commands]:
        cli.add_command(command)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the process exit status (0 ok, 1 failure, 2 bad input)."""
    _register()
    return run(cli, argv)


def run(group: click.Command, argv: Sequence[str] | None = None, prog_name: str | None = None) -> int:
    """Run ``group`` with the CLI's error handling; return the exit status (0 ok, 1 failure, 2 bad
    input). ``main`` runs the whole ``zkmargin`` group; a package can run its own group alone."""
    try:
        group.main(args=list(argv) if argv is not None else None, prog_name=prog_name, standalone_mode=False)
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
