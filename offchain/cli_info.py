"""``zkmargin info``: versions of the toolchain the project runs on."""

from __future__ import annotations

import json
import platform
from importlib import metadata

import click

PACKAGES = ("zkmargin", "eth-ape", "ape-solidity", "ape-foundry", "numpy", "scipy", "py-ecc", "pydantic", "web3")


def package_versions() -> dict[str, str]:
    """Installed versions of the packages the project depends on (``"missing"`` if absent)."""
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "missing"
    return versions


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


commands = [info]
