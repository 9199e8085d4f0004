"""Matching-engine throughput: 1,000,000 random orders and cancels on one thread.

The seeded synthetic flow (offchain.trading.synthetic: 16 traders around a wandering mid; limit,
market, IOC and post-only orders, some reduce-only, 20% cancels, expiry sweeps) is replayed:

* on the fast book (offchain.trading.OrderBook), one instrument and four instruments, full flow
  (best of two runs);
* side by side on a prefix of each flow (``--ref-ops``): the fast book and the list-based
  reference book (offchain.trading.ReferenceBook) on the same operations; their reports must be
  identical, and the ratio of the rates is printed;
* with the pre-trade IM check on (offchain.trading.EpochRiskCheck, a 15-scenario epoch), on a
  prefix (``--risk-ops``), against the same prefix without it.

"orders/s" counts submissions and cancels (the expiry sweeps run and are timed, not counted). The
flow is generated before the clock starts, followed by one ``gc.collect()``; the garbage
collector stays on while the books run.
Goal: >= 200,000 orders/s for the fast book without the risk check.

Usage: python bench/bench_matching.py [N_OPS] [--ref-ops N] [--risk-ops N] [--seed S] [--json PATH]
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from offchain.trading import EpochRiskCheck, OrderBook, ReferenceBook, Report
from offchain.trading.synthetic import (
    CANCEL,
    EXPIRE,
    FlowSpec,
    Op,
    listing_for,
    replay,
    synthetic_flow,
    trader_address,
)
from prover.statement import Epoch

GOAL = 200_000
REPEATS = 2  # the fast runs are timed this many times (fresh books), the best one counts
SHOCKS = [-0.16, -0.12, -0.08, -0.04, 0.04, 0.08, 0.12, 0.16, -0.33]  # spot moves (the last an extreme one)


def timed(book: Any, ops: list[Op]) -> float:
    """Seconds to replay ``ops`` on ``book`` (the tight loop, results dropped)."""
    submit, cancel, expire = book.submit, book.cancel, book.expire
    t0 = time.perf_counter()
    for op, arg, now in ops:
        if op == 0:
            submit(arg, now)
        elif op == CANCEL:
            cancel(arg)
        else:
            expire(now)
    return time.perf_counter() - t0


def counted(ops: list[Op]) -> int:
    return sum(1 for op in ops if op[0] != EXPIRE)


def epoch_for(spec: FlowSpec) -> Epoch:
    """A risk epoch for the flow's listing: marks at the mid, linear scenario PnL, 0.1% add-ons."""
    n, m = spec.instruments, spec.mid
    pnl = [[round(m * s) for s in SHOCKS] + [round(m * 0.02)] * 6 for _ in range(n)]  # 15 scenarios
    return Epoch.create(1, 15_000, [m] * n, pnl, [m // 1000] * n)


def best(make: Callable[[], Any], ops: list[Op], repeats: int) -> float:
    """The fastest of ``repeats`` replays of ``ops``, each on a fresh book from ``make``."""
    return min(timed(make(), ops) for _ in range(repeats))


def run_case(spec: FlowSpec, n_ops: int, ref_ops: int, risk_ops: int, seed: int) -> dict[str, Any]:
    t0 = time.perf_counter()
    ops = synthetic_flow(n_ops, seed, spec)
    gen_s = time.perf_counter() - t0
    listing = listing_for(spec)
    gc.collect()  # the pre-built flow moves to the oldest generation; the collector stays on

    book = OrderBook(listing)
    fast_s = min(timed(book, ops), best(lambda: OrderBook(listing), ops, REPEATS - 1))
    resting = len(book)

    prefix = ops[:ref_ops]
    fast_prefix_s = best(lambda: OrderBook(listing), prefix, REPEATS)
    ref_prefix_s = timed(ReferenceBook(listing), prefix)
    reports = replay(OrderBook(listing), prefix)
    same = reports == replay(ReferenceBook(listing), prefix)
    fills = sum(len(r.fills) for r in reports if isinstance(r, Report))

    rprefix = ops[:risk_ops]
    plain_s = best(lambda: OrderBook(listing), rprefix, REPEATS)
    risk_s = best(lambda: with_risk(listing, spec), rprefix, REPEATS)
    rejected = sum(1 for r in replay(with_risk(listing, spec), rprefix)
                   if isinstance(r, Report) and (r.reason or "").startswith("risk:"))
    return {
        "instruments": spec.instruments, "ops": counted(ops), "generate_s": gen_s, "fast_s": fast_s,
        "fast_orders_per_s": counted(ops) / fast_s, "resting_at_end": resting,
        "prefix_ops": counted(prefix), "prefix_fills": fills, "fast_prefix_orders_per_s": counted(prefix) / fast_prefix_s,
        "reference_prefix_orders_per_s": counted(prefix) / ref_prefix_s, "speedup_vs_reference": ref_prefix_s / fast_prefix_s,
        "reports_identical": same,
        "risk_ops": counted(rprefix), "risk_orders_per_s": counted(rprefix) / risk_s,
        "no_risk_orders_per_s": counted(rprefix) / plain_s, "risk_slowdown": risk_s / plain_s,
        "risk_rejections": rejected,
    }


def with_risk(listing: Any, spec: FlowSpec) -> OrderBook:
    """A book with the IM check on; the traders hold 1,000 to 4,000 USD and no positions."""
    book = OrderBook(listing)
    risk = EpochRiskCheck(book, epoch_for(spec), fee_bps=5)
    for k in range(spec.traders):
        risk.set_account(trader_address(k), q=[0] * spec.instruments, cash=0, collateral=10**9 * (1 + k % 4))
    return book


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("n_ops", nargs="?", type=int, default=1_000_000, help="operations per flow")
    ap.add_argument("--ref-ops", type=int, default=20_000, help="prefix replayed on both books side by side")
    ap.add_argument("--risk-ops", type=int, default=100_000, help="prefix replayed with the risk check on")
    ap.add_argument("--seed", type=int, default=20_240_601)
    ap.add_argument("--json", type=Path, default=None, help="also write the figures to this JSON file")
    args = ap.parse_args()
    results = []
    print(f"matching engine: {args.n_ops:,} operations per flow, seed {args.seed}, one thread "
          f"(Python {sys.version.split()[0]})")
    for instruments in (1, 4):
        spec = FlowSpec(instruments=instruments)
        r = run_case(spec, args.n_ops, args.ref_ops, args.risk_ops, args.seed)
        results.append(r)
        print(f"  {instruments} instrument(s): flow generated in {r['generate_s']:.1f} s, "
              f"{r['resting_at_end']} orders resting at the end")
        print(f"    fast book, {r['ops']:,} orders        {r['fast_s']:8.2f} s -> {r['fast_orders_per_s']:>10,.0f} orders/s")
        print(f"    on the first {r['prefix_ops']:,} ({r['prefix_fills']:,} fills): fast {r['fast_prefix_orders_per_s']:>10,.0f}"
              f" orders/s, reference {r['reference_prefix_orders_per_s']:>8,.0f} orders/s -> "
              f"{r['speedup_vs_reference']:.0f}x, reports identical: {r['reports_identical']}")
        print(f"    with the IM risk check, first {r['risk_ops']:,}: {r['risk_orders_per_s']:>10,.0f} orders/s "
              f"(without {r['no_risk_orders_per_s']:,.0f}; {r['risk_slowdown']:.1f}x slower; "
              f"{r['risk_rejections']:,} rejected by it)")
    worst = min(r["fast_orders_per_s"] for r in results)
    print(f"  goal >= {GOAL:,} orders/s: {'met' if worst >= GOAL else 'NOT met'} (slowest case {worst:,.0f})")
    if args.json is not None:
        args.json.write_text(json.dumps({"seed": args.seed, "n_ops": args.n_ops, "goal": GOAL, "cases": results},
                                        indent=2))
    return 0 if all(r["reports_identical"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
