"""Benchmark: the vectorized simulator at 10,000 agents x 10,000 steps, and its speed-up
over a straightforward per-agent loop measured side by side in the same run.

    python bench/bench_simulator.py                 # 10,000 x 10,000 (target: under 60 s)
    python bench/bench_simulator.py --agents 2000 --steps 2000 --small-agents 100 --small-steps 100

The run is a mixed venue: the traders of ``scenarios/gbm_jump_crash.json`` (resized) split
evenly over all nine margin models of the scenario, so every policy is evaluated every step
for its share of the accounts, with liquidation price impact, liquidators, arbitrageurs and
margin calls. Printed: agents x steps, seconds, steps/s, agent-steps/s; the same numbers for
the vectorized engine and the per-agent loop (``offchain.sim.reference``) on a small size;
the ratios; and whether the full size met the target. Times are wall-clock on this machine;
only the ratios are comparable across machines.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from offchain.sim.engine import RunResult, run
from offchain.sim.population import Accounts, draw_traders, open_accounts
from offchain.sim.reference import run_reference
from offchain.sim.runner import build_path, engine_config, mixed_groups, seed_streams
from offchain.sim.scenario import Scenario, load_scenario

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "gbm_jump_crash.json"
STEPS_PER_DAY = 100
TARGET_SECONDS = 60.0
CRASH_AT = 0.3  # the scenario's forced crash, as a fraction of the path


def resized(base: Scenario, agents: int, steps: int) -> Scenario:
    """The scenario with ``agents`` traders and a path of exactly ``steps`` steps."""
    days = steps / STEPS_PER_DAY
    jumps = [j.model_copy(update={"day": CRASH_AT * days}) for j in base.path.forced_jumps]  # type: ignore[union-attr]
    path = base.path.model_copy(update={"days": days, "steps_per_day": STEPS_PER_DAY, "forced_jumps": jumps})
    traders = base.traders.model_copy(update={"n": agents})
    return base.model_copy(update={"path": path, "traders": traders})


def setup(scenario: Scenario, seed: int) -> tuple[Any, Accounts, Any, np.random.Generator]:
    path = build_path(scenario, seed)
    traders = draw_traders(scenario.traders, scenario.assets, seed_streams(seed)["traders"])
    accounts = open_accounts(traders, mixed_groups(scenario, traders, seed), path.prices[0])
    cfg = engine_config(scenario, path.dt_days, impact=True)
    return cfg, accounts, path, np.random.default_rng(seed_streams(seed)["dynamics"])


def timed(fn: Any, scenario: Scenario, seed: int, progress: bool = False) -> tuple[float, RunResult, int]:
    cfg, accounts, path, rng = setup(scenario, seed)
    bar = None
    tick = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(
            total=path.n_steps, unit="step", desc=f"{accounts.m} accounts", leave=False, mininterval=0.5
        )

        def tick(t: int) -> None:
            if t % 100 == 0:
                bar.update(100)

    start = time.perf_counter()
    result = fn(cfg, accounts, path.prices, rng, tick) if fn is run else fn(cfg, accounts, path.prices, rng)
    seconds = time.perf_counter() - start
    if bar is not None:
        bar.close()
    return seconds, result, path.n_steps


def line(label: str, agents: int, steps: int, seconds: float) -> dict[str, float]:
    rate = {
        "agents": agents,
        "steps": steps,
        "seconds": seconds,
        "steps_per_s": steps / seconds,
        "agent_steps_per_s": agents * steps / seconds,
    }
    print(
        f"{label:34s} {agents:>6,d} x {steps:>6,d}  {seconds:9.3f} s  {rate['steps_per_s']:12,.0f} steps/s"
        f"  {rate['agent_steps_per_s']:15,.0f} agent-steps/s"
    )
    return rate


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--agents", type=int, default=10_000)
    ap.add_argument("--steps", type=int, default=10_000)
    ap.add_argument("--small-agents", type=int, default=200)
    ap.add_argument("--small-steps", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", type=Path, default=None, help="also write the figures to this JSON file")
    args = ap.parse_args()
    base = load_scenario(SCENARIO)
    print(f"scenario {base.name} resized; {len(base.models)} margin models mixed; seed {args.seed}")

    small = resized(base, args.small_agents, args.small_steps)
    t_loop, r_loop, n_small = timed(run_reference, small, args.seed)
    t_vec_small, r_vec_small, _ = timed(run, small, args.seed)
    same = bool(np.allclose(r_loop.series.price, r_vec_small.series.price, rtol=1e-9)) and bool(
        np.array_equal(r_loop.series.liq_count, r_vec_small.series.liq_count)
    )
    full = resized(base, args.agents, args.steps)
    t_full, r_full, n_full = timed(run, full, args.seed, progress=True)

    print()
    loop = line("per-agent loop (small)", args.small_agents, n_small, t_loop)
    vec_small = line("vectorized engine (small)", args.small_agents, n_small, t_vec_small)
    vec_full = line("vectorized engine (full)", args.agents, n_full, t_full)
    print()
    ratio_small = vec_small["agent_steps_per_s"] / loop["agent_steps_per_s"]
    ratio_full = vec_full["agent_steps_per_s"] / loop["agent_steps_per_s"]
    print(f"speed-up, same small size (agent-steps/s ratio):        {ratio_small:10.1f}x")
    print(f"speed-up, full size vs the loop's small-size rate:      {ratio_full:10.1f}x")
    print(f"loop and vectorized results identical on the small size: {same}")
    liqs = int(r_full.series.liq_count.sum())
    print(
        f"full run: {r_full.accounts.m:,d} accounts, {liqs:,d} liquidations, "
        f"bad debt {r_full.series.bad_debt[-1]:,.0f} USD"
    )
    ok = t_full < TARGET_SECONDS
    print(
        f"target {args.agents:,d} x {n_full:,d} under {TARGET_SECONDS:.0f} s: {'met' if ok else 'NOT met'} ({t_full:.1f} s)"
    )
    if args.json is not None:
        args.json.write_text(
            json.dumps(
                {
                    "loop_small": loop,
                    "vectorized_small": vec_small,
                    "vectorized_full": vec_full,
                    "speedup_small": ratio_small,
                    "speedup_full": ratio_full,
                    "identical_small": same,
                    "target_met": ok,
                },
                indent=2,
            )
            + "\n"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
