"""Benchmark: sweep throughput on the executors, measured side by side in one run.

    python bench/bench_sweep.py                       # 8 tasks of a few seconds, 200 no-op tasks, Ray included
    python bench/bench_sweep.py --tasks 4 --traders 100 --days 2 --noop 50 --no-ray

Prints, for the same sweep file (``scenarios/gbm_jump_crash.json``, resized, four models, a
latency grid), run into fresh folders:

* tasks/s sequential, on the local process pool (``--workers``, default the CPUs) and on a
  local Ray head (started here on 127.0.0.1 with as many CPUs, stopped after), and the
  ratios local pool / sequential and Ray / local pool; the Parquet files of the three runs
  are compared byte for byte;
* the per-task overhead of each executor: the wall time of ``--noop`` tasks that do nothing
  (``operator.neg``), divided by their number, including the workers' start-up (each
  executor run starts its workers);
* the same for the results query (DuckDB over the task files) as a sanity figure.

Wall-clock times on this machine; only the ratios are comparable across machines.
"""

from __future__ import annotations

import argparse
import json
import operator
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "gbm_jump_crash.json"


def sweep_file(folder: Path, tasks: int, traders: int, days: float) -> Path:
    """A sweep of ``tasks`` tasks: 2 latency values x tasks/2 replicates, four models."""
    doc = {
        "name": "bench",
        "root_seed": 1,
        "scenarios": [str(SCENARIO)],
        "seeds": {"count": max(1, tasks // 2)},
        "models": ["cross", "risk_matrix", "var_fhs_es99", "dynamic_buffer"],
        "grid": [{"name": "latency", "path": "liquidators[slow-desk].latency_steps", "values": [0, 16]}],
        "overrides": {"traders.n": traders, "path.days": days, "path.forced_jumps[0].day": days / 3},
    }
    file = folder / "bench_sweep.json"
    file.write_text(json.dumps(doc))
    return file


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def ray_head(cpus: int) -> Iterator[str]:
    """A Ray head on 127.0.0.1 for this benchmark only (stopped by its temp dir)."""
    temp = tempfile.mkdtemp(prefix="zkb", dir="/tmp")
    port = _free_port()
    env = {**os.environ, "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_USAGE_STATS_ENABLED": "0"}
    ray_bin = shutil.which("ray", path=str(Path(sys.executable).parent)) or "ray"
    subprocess.run([ray_bin, "start", "--head", "--node-ip-address=127.0.0.1", f"--port={port}", f"--num-cpus={cpus}",
                    "--include-dashboard=false", "--disable-usage-stats", f"--temp-dir={temp}"],
                   env=env, check=True, capture_output=True, timeout=120)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        import ray

        if ray.is_initialized():
            ray.shutdown()
        subprocess.run(["pkill", "-9", "-f", temp], check=False)
        shutil.rmtree(temp, ignore_errors=True)


def parquet_files(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*.parquet"))}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", type=int, default=8, help="sweep tasks (even)")
    ap.add_argument("--traders", type=int, default=500)
    ap.add_argument("--days", type=float, default=7.0)
    ap.add_argument("--workers", type=int, default=None, help="local pool / Ray workers (default: the CPUs)")
    ap.add_argument("--noop", type=int, default=200, help="no-op tasks for the per-task overhead")
    ap.add_argument("--no-ray", action="store_true", help="skip the Ray runs")
    ap.add_argument("--json", type=Path, default=None, help="also write the figures as JSON")
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore", category=FutureWarning)  # Ray's notice about accelerator env vars

    from offchain.sim.results import Results
    from offchain.sim.sweep import load_sweep
    from offchain.sim.sweep_runner import run_sweep
    from zkmargin.executor import default_workers, make_executor

    workers = args.workers or default_workers()
    load = os.getloadavg()[0]
    figures: dict[str, Any] = {"workers": workers, "cpus": os.cpu_count(), "load_average": load}
    with tempfile.TemporaryDirectory(prefix="zkmargin-bench-sweep-") as tmp:
        folder = Path(tmp)
        sweep = load_sweep(sweep_file(folder, args.tasks, args.traders, args.days))
        figures["tasks"] = sweep.n_tasks

        def timed_sweep(kind: str, address: str | None = None) -> float:
            with make_executor(kind, workers=workers if kind != "sequential" else None, ray_address=address) as ex:
                t0 = time.perf_counter()
                outcome = run_sweep(sweep, folder / kind, ex)
                secs = time.perf_counter() - t0
            assert outcome.ran == sweep.n_tasks and not outcome.failed
            return secs

        def timed_noop(kind: str, address: str | None = None) -> float:
            with make_executor(kind, workers=workers if kind != "sequential" else None, ray_address=address) as ex:
                t0 = time.perf_counter()
                values = ex.map(operator.neg, range(args.noop))
                secs = time.perf_counter() - t0
            assert values == [-i for i in range(args.noop)]
            return secs / args.noop

        runs = {"sequential": timed_sweep("sequential"), "local": timed_sweep("local")}
        noop = {"sequential": timed_noop("sequential"), "local": timed_noop("local")}
        if not args.no_ray:
            with ray_head(workers) as address:
                runs["ray"] = timed_sweep("ray", address)
                noop["ray"] = timed_noop("ray", address)
        ref = parquet_files(folder / "sequential")
        identical = all(parquet_files(folder / kind) == ref for kind in runs)
        t0 = time.perf_counter()
        with Results(folder / "sequential") as res:
            _, rows = res.query("SELECT model, param_latency, avg(bad_debt_usd) FROM summary GROUP BY ALL")
        query_s = time.perf_counter() - t0

    rate = {k: sweep.n_tasks / v for k, v in runs.items()}
    figures.update({"seconds": runs, "tasks_per_second": rate, "noop_seconds_per_task": noop,
                    "identical_parquet": identical, "query_seconds": query_s})
    print(f"sweep benchmark: {sweep.n_tasks} tasks (gbm_jump_crash, {args.traders} traders, {args.days:g} days, "
          f"4 models, with and without impact), {workers} workers, {os.cpu_count()} CPUs, load average {load:.1f} "
          "before the run (other processes compete for the CPUs)")
    for kind, secs in runs.items():
        print(f"  {kind:10s} {secs:8.2f} s   {rate[kind]:7.3f} tasks/s   "
              f"no-op overhead {noop[kind] * 1e3:8.3f} ms/task ({args.noop} tasks, worker start included)")
    print(f"  local pool / sequential throughput      {rate['local'] / rate['sequential']:6.2f} x")
    if "ray" in runs:
        print(f"  Ray / local pool throughput             {rate['ray'] / rate['local']:6.2f} x")
        print(f"  Ray - local pool overhead per task      {(noop['ray'] - noop['local']) * 1e3:+8.3f} ms "
              f"(Ray / local {noop['ray'] / noop['local']:.2f} x)")
    print(f"  Parquet byte-identical across executors {identical}")
    print(f"  DuckDB query over {sweep.n_tasks} task files   {query_s * 1e3:8.1f} ms ({len(rows)} rows)")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
