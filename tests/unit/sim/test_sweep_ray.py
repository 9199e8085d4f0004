"""A sweep on a real local Ray head (started on 127.0.0.1 by the test, stopped after) writes
byte-identical Parquet to the sequential and local-pool executors, and so does the sharded
batch margin."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from _sweep_testlib import write_sweep

from offchain.risk.batch import BatchEngine, run_sharded, synthetic_listing
from offchain.risk.market import MarketState
from offchain.sim.sweep import load_sweep
from offchain.sim.sweep_runner import run_sweep
from zkmargin.cli import main
from zkmargin.executor import make_executor

ray = pytest.importorskip("ray")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def ray_head() -> Iterator[str]:
    """A Ray head on 127.0.0.1 with 2 CPUs (as in tests/unit/shared/test_ray_executor.py)."""
    temp = tempfile.mkdtemp(prefix="zks", dir="/tmp")  # short: Ray's socket paths are length-limited
    port = _free_port()
    # keep every Ray socket on loopback (else Ray binds the machine's outward address)
    loopback = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_USAGE_STATS_ENABLED": "0"}
    saved = {k: os.environ.get(k) for k in loopback}
    os.environ.update(loopback)
    ray_bin = shutil.which("ray", path=str(Path(sys.executable).parent)) or "ray"
    subprocess.run([ray_bin, "start", "--head", "--node-ip-address=127.0.0.1", f"--port={port}", "--num-cpus=2",
                    "--include-dashboard=false", "--disable-usage-stats", f"--temp-dir={temp}"],
                   check=True, capture_output=True, timeout=120)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        if ray.is_initialized():
            ray.shutdown()
        subprocess.run(["pkill", "-9", "-f", temp], check=False)  # this head only
        shutil.rmtree(temp, ignore_errors=True)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def task_files(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*.parquet"))}


def test_sweep_on_ray_is_byte_identical_to_sequential_and_local_pool(ray_head: str, tmp_path: Path) -> None:
    file = write_sweep(tmp_path, count=2)
    outs = {}
    for kind in ("sequential", "local"):
        outs[kind] = tmp_path / kind
        with make_executor(kind, workers=2) as ex:
            run_sweep(load_sweep(file), outs[kind], ex)
    outs["ray"] = tmp_path / "ray"
    assert main(["sweep", str(file), "--out", str(outs["ray"]), "--ray-address", ray_head, "-q"]) == 0
    files = {kind: task_files(out) for kind, out in outs.items()}
    assert len(files["ray"]) == 4 * 3 + 1  # 4 tasks x (summary, assets, timeseries) + the plan
    assert files["ray"] == files["sequential"] == files["local"]
    import json

    run = json.loads((outs["ray"] / "manifest.json").read_text())["runs"][-1]
    assert (run["executor"], run["workers"], run["address"], run["ran"]) == ("ray", 2, ray_head, 4)

    # the sharded batch margin on the same cluster: the one-process arrays, bit for bit
    market = MarketState.model_validate({"timestamp": "2024-01-01T00:00:00Z", "spots": {"BTC": 40000.0, "ETH": 2000.0},
                                         "rate": 0.03, "default_vol": {"BTC": 0.6, "ETH": 0.75}})
    engine = BatchEngine(synthetic_listing(market, 40, seed=2), market, "deribit_pm")
    with make_executor("ray", ray_address=ray_head) as ex:
        sharded = run_sharded(engine, ex, 3, synthetic=(5000, 4, 9))
    with make_executor("sequential") as ex:
        single = run_sharded(engine, ex, 1, synthetic=(5000, 4, 9))
    for name in ("im", "mm", "scan_risk", "worst_scenario"):
        np.testing.assert_array_equal(getattr(sharded, name), getattr(single, name))


def test_loopback_addresses_are_recognised() -> None:
    from zkmargin.ray_executor import _is_loopback

    assert all(_is_loopback(a) for a in ("127.0.0.1:6379", "localhost:1", "ray://127.0.0.1:10001", "[::1]:6379"))
    assert not any(_is_loopback(a) for a in ("10.0.0.5:6379", "ray://head.example:10001", "192.0.2.2:1"))
