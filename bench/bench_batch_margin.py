"""Batch risk-matrix margin: 1,000,000 sparse accounts (5 positions each out of 200 listed
instruments on BTC and ETH), Deribit PM preset.

Prints, measured side by side in one run:
* accounts per second of the vectorized batch engine (best of ``REPEATS`` runs) and the time
  for the million accounts,
* peak memory of the batch run (tracemalloc peak of numpy/scipy allocations, and the process
  max RSS),
* the speed-up against a straightforward per-account loop of the same engine
  (``RiskMatrixMargin.requirement`` on each account's portfolio), timed on ``LOOP_ACCOUNTS``
  accounts and compared per account; the loop's results are checked against the batch ones;
* sharded vs single process, end to end (drawing the synthetic accounts and margining them):
  one process, then ``run_sharded`` on the local process pool (one worker per CPU, one shard
  per worker; each worker draws its own rows, starts included); the arrays must be identical.

Usage: python bench/bench_batch_margin.py [N_ACCOUNTS]
"""

from __future__ import annotations

import os
import resource
import sys
import time
import tracemalloc

import numpy as np

from offchain.risk.batch import BatchEngine, run_sharded, synthetic_accounts, synthetic_listing
from offchain.risk.instruments import Portfolio
from offchain.risk.margin import get_model
from offchain.risk.market import MarketState

N_ACCOUNTS = 1_000_000
N_INSTRUMENTS = 200
POSITIONS_PER_ACCOUNT = 5
LOOP_ACCOUNTS = 500
REPEATS = 3


def main() -> int:
    load = os.getloadavg()[0]
    n_accounts = int(sys.argv[1]) if len(sys.argv) > 1 else N_ACCOUNTS
    market = MarketState.model_validate(
        {"timestamp": "2024-01-01T00:00:00Z", "spots": {"BTC": 42000.0, "ETH": 2300.0}, "rate": 0.04,
         "default_vol": {"BTC": 0.6, "ETH": 0.7}}
    )
    listing = synthetic_listing(market, N_INSTRUMENTS, seed=0)
    indptr, indices, sizes = synthetic_accounts(n_accounts, N_INSTRUMENTS, POSITIONS_PER_ACCOUNT, seed=1)

    t0 = time.perf_counter()
    engine = BatchEngine(listing, market, "deribit_pm")
    setup_s = time.perf_counter() - t0
    q = engine.accounts_matrix(indptr, indices, sizes)

    times = []
    tracemalloc.start()
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        res = engine.run(q)
        times.append(time.perf_counter() - t0)
        if len(times) == 1:
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
    batch_s = min(times)
    batch_rate = n_accounts / batch_s

    # straightforward per-account loop of the same engine on a sample
    model = get_model("risk_matrix", {"preset": "deribit_pm"})
    listing_json = [i.model_dump() for i in listing]
    n_loop = min(LOOP_ACCOUNTS, n_accounts)
    t0 = time.perf_counter()
    loop_mm = np.empty(n_loop)
    for a in range(n_loop):
        sl = slice(indptr[a], indptr[a + 1])
        pos = [{"instrument": listing[j].symbol, "size": float(s)} for j, s in zip(indices[sl], sizes[sl])]
        pf = Portfolio.model_validate({"instruments": listing_json, "positions": pos})
        loop_mm[a] = model.requirement(pf, market).mm
    loop_s = time.perf_counter() - t0
    loop_rate = n_loop / loop_s
    max_dev = float(np.max(np.abs(loop_mm - res.mm[:n_loop]) / np.maximum(1.0, loop_mm)))

    # sharded vs single process, end to end (draw + margin)
    from zkmargin.executor import default_workers, make_executor

    t0 = time.perf_counter()
    single = engine.run(engine.accounts_matrix(*synthetic_accounts(n_accounts, N_INSTRUMENTS, POSITIONS_PER_ACCOUNT, seed=1)))
    single_s = time.perf_counter() - t0
    workers = default_workers()
    with make_executor("local", workers=workers) as ex:
        t0 = time.perf_counter()
        sharded = run_sharded(engine, ex, workers, synthetic=(n_accounts, POSITIONS_PER_ACCOUNT, 1))
        sharded_s = time.perf_counter() - t0
    same = all(np.array_equal(getattr(single, f), getattr(sharded, f)) for f in ("im", "mm", "scan_risk", "worst_scenario"))

    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(f"batch risk-matrix margin: {n_accounts:,} accounts x {POSITIONS_PER_ACCOUNT} positions, "
          f"{N_INSTRUMENTS} instruments, {engine.scenarios.size} scenarios, {os.cpu_count()} CPUs, "
          f"load average {load:.1f} before the run")
    print(f"  scenario matrix setup        {setup_s * 1e3:10.1f} ms")
    print(f"  batch run (best of {REPEATS})       {batch_s:10.3f} s   -> {batch_rate:,.0f} accounts/s")
    print(f"  peak memory of the batch run {peak / 2**20:10.1f} MiB (tracemalloc), process max RSS {rss_mib:,.0f} MiB")
    print(f"  per-account loop ({n_loop} acc.)  {loop_s:10.3f} s   -> {loop_rate:,.0f} accounts/s")
    print(f"  speed-up batch / loop        {batch_rate / loop_rate:10.0f} x   (max rel. deviation {max_dev:.1e})")
    print(f"  1,000,000 accounts in        {1e6 / batch_rate:10.3f} s   (target < 1 s)")
    print(f"  draw + margin, one process   {single_s:10.3f} s")
    print(f"  draw + margin, {workers} shards on the local pool ({workers} workers, start included) {sharded_s:8.3f} s")
    print(f"  sharded / single process     {single_s / sharded_s:10.2f} x   (identical arrays: {same})")
    return 0 if max_dev < 1e-9 and same else 1


if __name__ == "__main__":
    sys.exit(main())
