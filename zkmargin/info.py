"""Versions of the toolchain the project runs on (for ``zkmargin info`` and run manifests)."""

from __future__ import annotations

import platform
import subprocess
from importlib import metadata
from pathlib import Path

PACKAGES = (
    "zkmargin", "eth-ape", "ape-solidity", "ape-foundry", "numpy", "scipy", "py-ecc", "pydantic", "web3",
    "pyarrow", "duckdb", "ray",
)
#: the checkout the package runs from (an editable install)
SOURCE_ROOT = Path(__file__).resolve().parents[1]


def package_versions() -> dict[str, str]:
    """Installed versions of the packages the project depends on (``"missing"`` if absent)."""
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "missing"
    return versions


def git_commit(root: Path = SOURCE_ROOT) -> str:
    """The checkout's HEAD commit, with ``+dirty`` if it has uncommitted changes; ``unknown`` outside git."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=root, capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if dirty.strip() else "")
