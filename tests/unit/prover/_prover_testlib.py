"""Shared helpers for the prover's unit tests: node/snarkjs runners and small circuits."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
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
