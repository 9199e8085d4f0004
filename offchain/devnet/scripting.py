"""Shared pieces of the ape scripts in ``scripts/`` (options, roles, attaching to a deployment).

Every script is a click command run with ``ape run <name> --network <choice>``. To run the roles
as separate processes against one chain, start a node that outlives them
(``ape networks run --network ethereum:local:foundry`` or plain ``anvil``) and pass its URL:
``ape run deploy --network http://127.0.0.1:8545``; each script then attaches to the deployment
saved under ``--state-dir``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from offchain.devnet.defaults import DEFAULT_STATE_DIR

state_dir_option = click.option(
    "--state-dir",
    default=str(DEFAULT_STATE_DIR),
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the deployment, the operator's book, the epochs and keeper state live.",
)


def owner() -> Any:
    """The deployer / risk keeper / oracle reporter / operator: the devnet's first test account."""
    from ape import accounts

    return accounts.test_accounts[0]


def liquidator(index: int = 9) -> Any:
    """A devnet test account used as liquidator (never opens a margin account)."""
    from ape import accounts

    if not 1 <= index < 10:
        raise click.BadParameter(f"must be in [1, 9], got {index}", param_hint="--liquidator")
    return accounts.test_accounts[index]


def attach(state_dir: Path) -> Any:
    """The :class:`~offchain.devnet.session.Protocol` saved in ``state_dir`` on the connected chain."""
    from offchain.devnet.session import Protocol

    return Protocol.attach(state_dir, owner())


def parse_vols(values: tuple[str, ...], defaults: dict[str, float]) -> dict[str, float]:
    """``("BTC=0.8", ...)`` -> ``{"BTC": 0.8, ...}`` over ``defaults``; bad items name the option."""
    out = dict(defaults)
    for item in values:
        name, sep, num = item.partition("=")
        try:
            vol = float(num)
        except ValueError:
            vol = float("nan")
        if not sep or not name or not 0 < vol < 10:
            raise click.BadParameter(f"expected UNDERLYING=VOL with 0 < VOL < 10, got {item!r}", param_hint="--vol")
        if name.upper() not in defaults:
            raise click.BadParameter(f"unknown underlying {name!r} in {item!r}; listed: {', '.join(sorted(defaults))}",
                                     param_hint="--vol")
        out[name.upper()] = vol
    return out


class InputProblem(click.ClickException):
    """Bad input (a file, an option, a missing deployment): exit status 2."""

    exit_code = 2


def friendly_errors(fn: Any) -> Any:
    """Turn zkmargin's errors into one-line click errors (``error: <field>: <problem>``) with a
    non-zero exit status instead of a traceback."""
    import functools

    from zkmargin.errors import InputError, ZkMarginError

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except InputError as exc:
            raise InputProblem(f"{exc.field}: {exc.problem}") from None
        except ZkMarginError as exc:
            raise click.ClickException(str(exc)) from None

    return wrapper


def forget_previous_deployment(state_dir: Path) -> None:
    """Before saving a new deployment in ``state_dir``: drop the previous one's epochs and the
    keeper's checkpoint (its scan position belongs to the old chain)."""
    import shutil

    (state_dir / "keeper.json").unlink(missing_ok=True)
    shutil.rmtree(state_dir / "epochs", ignore_errors=True)
