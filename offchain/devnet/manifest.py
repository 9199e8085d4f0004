"""Run manifests: what a devnet run was made of, so that it can be reproduced.

A manifest records the root seed, the SHA-256 of the canonical JSON of the run's config, the
contract addresses, the chain id, the package versions and the git commit of the checkout.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from zkmargin.info import git_commit, package_versions


def canonical_json(obj: Any) -> str:
    """JSON with sorted keys and no whitespace: the input of :func:`config_hash`."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


def config_hash(config: Any) -> str:
    """``sha256`` (hex) of the canonical JSON of ``config`` (a dict or a pydantic model)."""
    if hasattr(config, "model_dump"):
        config = config.model_dump(mode="json")
    return hashlib.sha256(canonical_json(config).encode()).hexdigest()


def build_manifest(
    *, seed: int, config: Any, chain_id: int, addresses: dict[str, str], root: Path, extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Everything needed to reproduce a run."""
    return {
        "seed": seed,
        "config_hash": config_hash(config),
        "chain_id": chain_id,
        "contracts": addresses,
        "packages": package_versions(),
        "git_commit": git_commit(root),
        **(extra or {}),
    }


def write_json_atomic(path: Path, obj: Any) -> None:
    """Write ``obj`` as indented JSON to ``path`` via a temp file and ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(obj, fh, indent=2, sort_keys=True, default=str)
            fh.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
