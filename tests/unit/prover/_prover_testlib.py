"""Shared helpers for the prover's unit tests: node/snarkjs runners and small circuits."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
SNARKJS = ROOT / "node_modules" / "snarkjs" / "cli.js"


def node() -> str:
    exe = shutil.which("node")
    if exe is None:
        pytest.fail("node is not on PATH (source .toolchain/env)")
    return exe


def run_node(script: str, payload: object) -> object:
    """Run an ES-module ``script`` in the repository root with ``payload`` as JSON on stdin."""
    tmp = ROOT / f".prover_test_{os.getpid()}.mjs"
    tmp.write_text(script)
    try:
        out = subprocess.run(
            [node(), str(tmp)], input=json.dumps(payload), capture_output=True, text=True, cwd=ROOT, timeout=300, check=False
        )
    finally:
        tmp.unlink()
    if out.returncode != 0:
        raise AssertionError(f"node failed: {out.stderr}")
    return json.loads(out.stdout)


def snarkjs(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([node(), str(SNARKJS), *args], capture_output=True, text=True, cwd=cwd, timeout=600, check=False)


@contextmanager
def ray_head_on_loopback(cpus: int = 2) -> Iterator[str]:
    """A Ray head on 127.0.0.1 (as tests/unit/shared/test_ray_executor.py starts one): yields its
    address, then stops this head only (its processes carry its temp dir)."""
    import socket
    import tempfile

    # Keep every Ray socket on loopback: Ray otherwise maps 127.0.0.1 to the machine's outward
    # address. It reads RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER when ray_constants is imported, so the
    # variable is set before the import (for this process and `ray start`) and the constant is
    # also switched off here in case another test imported Ray first.
    loopback = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_USAGE_STATS_ENABLED": "0"}
    saved = {k: os.environ.get(k) for k in loopback}
    os.environ.update(loopback)
    ray = pytest.importorskip("ray")
    from ray._private import ray_constants

    saved_cluster = ray_constants.ENABLE_RAY_CLUSTER
    ray_constants.ENABLE_RAY_CLUSTER = False
    temp = tempfile.mkdtemp(prefix="zkp", dir="/tmp")  # short: Ray's socket paths are length-limited
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    ray_bin = shutil.which("ray", path=str(Path(sys.executable).parent)) or "ray"
    subprocess.run([ray_bin, "start", "--head", "--node-ip-address=127.0.0.1", f"--port={port}", f"--num-cpus={cpus}",
                    "--include-dashboard=false", "--disable-usage-stats", f"--temp-dir={temp}"],
                   check=True, capture_output=True, timeout=120)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        if ray.is_initialized():
            ray.shutdown()
        subprocess.run(["pkill", "-9", "-f", temp], check=False)
        shutil.rmtree(temp, ignore_errors=True)
        ray_constants.ENABLE_RAY_CLUSTER = saved_cluster
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
