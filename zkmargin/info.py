"""Versions of the toolchain the project runs on (for ``zkmargin info`` and run manifests)."""

from __future__ import annotations

import platform
from importlib import metadata

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
