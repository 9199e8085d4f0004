"""The Ray executor against a real local Ray head (started on 127.0.0.1 by the test, stopped after):
the same values as the sequential reference, errors with their traceback, the initializer once
per worker, and a killed worker replaced with its task retried."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from _executor_tasks import die_once, fail_on_three, init_worker, square, worker_state

from zkmargin.executor import make_executor

# Ray maps 127.0.0.1 to the machine's outward address unless told that this is a single-machine
# cluster; it reads that switch when it is imported, so set it first (and again in the fixture).
LOOPBACK_ENV = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_USAGE_STATS_ENABLED": "0"}
_saved_env = {k: os.environ.get(k) for k in LOOPBACK_ENV}
os.environ.update(LOOPBACK_ENV)
ray = pytest.importorskip("ray")
HERE = Path(__file__).resolve().parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def ray_head() -> Iterator[str]:
    """A Ray head on 127.0.0.1 with 2 CPUs; its workers can import this folder's task module."""
    temp = tempfile.mkdtemp(prefix="zkr", dir="/tmp")  # short: Ray's socket paths are length-limited
    port = _free_port()
    # keep every Ray socket on loopback, whoever imported Ray first
    from ray._private import ray_constants

    saved_switch = ray_constants.ENABLE_RAY_CLUSTER
    ray_constants.ENABLE_RAY_CLUSTER = False
    os.environ.update(LOOPBACK_ENV)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])}
    ray_bin = shutil.which("ray", path=str(Path(os.sys.executable).parent)) or "ray"
    subprocess.run([ray_bin, "start", "--head", "--node-ip-address=127.0.0.1", f"--port={port}", "--num-cpus=2",
                    "--include-dashboard=false", "--disable-usage-stats", f"--temp-dir={temp}"],
                   env=env, check=True, capture_output=True, timeout=120)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        if ray.is_initialized():
            ray.shutdown()
        # stop this head only (its processes carry its temp dir), not other Ray instances
        subprocess.run(["pkill", "-9", "-f", temp], check=False)
        shutil.rmtree(temp, ignore_errors=True)
        ray_constants.ENABLE_RAY_CLUSTER = saved_switch
        for k, v in _saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def test_ray_gives_the_sequential_values_and_errors(ray_head: str) -> None:
    items = list(range(30))
    with make_executor(ray_address=ray_head) as ex:
        assert ex.kind == "ray" and ex.workers == 2
        assert ex.map(square, items) == make_executor("sequential").map(square, items)
        results = {r.index: r for r in ex.run(fail_on_three, range(5))}
        assert not results[3].ok and "three is not allowed" in (results[3].error or "")
        assert all(results[i].ok for i in (0, 1, 2, 4))
        states = ex.map(worker_state, range(10), initializer=init_worker, initargs=(5,))
        assert {tag for _, tag, _ in states} == {5} and {n for _, _, n in states} == {1}


def test_ray_replaces_a_killed_worker_and_retries_its_task(ray_head: str, tmp_path: Path) -> None:
    items = [(x, str(tmp_path)) for x in range(5)]
    with make_executor("ray", ray_address=ray_head) as ex:
        results = {r.index: r for r in ex.run(die_once, items, retries=2)}
    assert sorted(results) == list(range(5)) and all(r.ok for r in results.values())
    assert results[2].attempts == 2 and [results[i].value for i in range(5)] == [100 + x for x in range(5)]
