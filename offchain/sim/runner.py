"""Scenario + seed -> runs of the engine, one per margin model, with and without impact.

Seeding (Mesa / agent0 style): one root ``numpy.random.SeedSequence(seed)`` spawns the
children in :data:`SEED_STREAMS` order: the exogenous price path, the trader population and
the run dynamics (who answers margin calls). Every model, with and without impact, uses the
same three children, so the models are compared on the same path and the same traders.

Per model the summary reports bad debt, liquidation volume and count, the insurance fund's
drawdown (largest peak-to-trough fall), the socialised loss, and the cascade amplification,
the part of the price move caused by liquidation sales: ``max_t (X_t - P_t) / X_0`` (percent
of the starting price) with ``X`` the exogenous path and ``P`` the venue price; also the
largest relative gap ``max_t 1 - P_t / X_t`` and the difference of the maximum drawdowns.
The same run without price impact (``impact=False``, where ``P = X``) gives the bad debt
and liquidations without the cascade.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from offchain.sim.engine import EngineConfig, RunResult, run
from offchain.sim.paths import PricePath, daily_closes, make_path
from offchain.sim.policies import MarginPolicy, build_policy, per_asset
from offchain.sim.population import Traders, draw_traders, open_accounts
from offchain.sim.scenario import (
    ModelEntry,
    Scenario,
    scenario_hash,
)
from zkmargin.errors import InputError

FloatArray = NDArray[np.float64]
SEED_STREAMS = ("path", "traders", "dynamics")
MAX_SEED = 2**63 - 1


def seed_streams(seed: int) -> dict[str, np.random.SeedSequence]:
    """The named child seed sequences of the root ``SeedSequence(seed)``."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed <= MAX_SEED:
        raise InputError("seed", f"must be an integer in [0, 2^63), got {seed!r}")
    return dict(zip(SEED_STREAMS, np.random.SeedSequence(int(seed)).spawn(len(SEED_STREAMS))))


def child_int(seq: np.random.SeedSequence) -> int:
    """A 63-bit integer seed from a child sequence (for the path generators' ``seed``)."""
    return int(
        seq.generate_state(2, dtype=np.uint32).astype(np.uint64) @ np.array([1, 2**31], dtype=np.uint64)
    )


def build_path(scenario: Scenario, seed: int) -> PricePath:
    """The scenario's exogenous price path for the root ``seed`` (errors name ``path.*``)."""
    try:
        return _build_path(scenario, seed)
    except InputError as exc:
        raise InputError(f"path.{exc.field}", exc.problem) from None


def _build_path(scenario: Scenario, seed: int) -> PricePath:
    return make_path(scenario.path, child_int(seed_streams(seed)["path"]))


def engine_config(scenario: Scenario, dt_days: float, impact: bool) -> EngineConfig:
    """Resolve the scenario's market, liquidation and agent numbers for one run."""
    assets = scenario.assets
    mk = scenario.market
    return EngineConfig(
        dt_days=dt_days,
        steps_per_day=max(1, round(1.0 / dt_days)),
        depth_usd_per_pct=per_asset("market.depth_usd_per_pct", mk.depth_usd_per_pct, assets),
        depth_vol_elasticity=mk.depth_vol_elasticity,
        reference_vol_daily=per_asset("market.reference_vol_daily", mk.reference_vol_daily, assets),
        market_ewma_lambda_daily=mk.ewma_lambda_daily,
        max_move=mk.max_move_per_trade,
        arb_recovery=scenario.arbitrageurs.recovery_per_step,
        arb_capacity_usd=scenario.arbitrageurs.capacity_usd_per_step,
        liquidator_latency=np.array([liq.latency_steps for liq in scenario.liquidators], dtype=np.int64),
        liquidator_capital=np.array([liq.capital_usd for liq in scenario.liquidators], dtype=np.float64),
        discount=scenario.liquidation.discount,
        fee=scenario.liquidation.fee,
        target_im=scenario.liquidation.target == "im",
        target_buffer=scenario.liquidation.target_buffer,
        insurance_fund_usd=scenario.liquidation.insurance_fund_usd,
        topup_probability=scenario.traders.topup_probability_per_step,
        market_maker_capital_usd=mk.market_maker_capital_usd,
        impact=impact,
    )


def calibration_history(scenario: Scenario) -> dict[str, FloatArray] | None:
    """Daily closes of the scenario's assets over ``calibration`` (None when not set)."""
    cal = scenario.calibration
    if cal is None:
        return None
    try:
        return {a: daily_closes(a, cal.start, cal.end)[1] for a in scenario.assets}
    except InputError as exc:
        raise InputError(f"calibration.{exc.field}", exc.problem) from None


def policy_for(scenario: Scenario, entry: ModelEntry, history: dict[str, FloatArray] | None) -> MarginPolicy:
    """The vectorized policy of one scenario model."""
    try:
        return build_policy(entry.name, entry.model, entry.config, scenario.assets, history)
    except InputError as exc:
        raise InputError(f"models.{entry.name}.{exc.field}", exc.problem) from None


def run_groups(
    scenario: Scenario,
    seed: int,
    path: PricePath,
    traders: Traders,
    groups: Sequence[tuple[MarginPolicy, NDArray[np.int64]]],
    impact: bool,
    progress: Callable[[int], None] | None = None,
) -> RunResult:
    """One run of the engine with the given trader groups (policy, trader indices)."""
    cfg = engine_config(scenario, path.dt_days, impact)
    accounts = open_accounts(traders, groups, path.prices[0])
    rng = np.random.default_rng(seed_streams(seed)["dynamics"])
    return run(cfg, accounts, path.prices, rng, progress)


def max_drawdown(prices: FloatArray) -> FloatArray:
    """Largest fall from a running peak, as a fraction, per column: ``max_t 1 - P_t / max_{s<=t} P_s``."""
    peak = np.maximum.accumulate(prices, axis=0)
    return np.asarray(np.max(1.0 - prices / peak, axis=0))


def max_fund_drawdown(fund: FloatArray) -> float:
    """Largest peak-to-trough fall of the insurance fund, USD."""
    return float(np.max(np.maximum.accumulate(fund) - fund))


def summarize(
    name: str, kind: str, with_impact: RunResult, without_impact: RunResult | None, assets: Sequence[str]
) -> dict[str, object]:
    """The row of the comparison table for one run (one model, or a mixed venue)."""
    s = with_impact.series
    acc = with_impact.accounts
    dd_venue = max_drawdown(s.price)
    dd_exo = max_drawdown(s.exo)
    impact = 1.0 - s.price / s.exo
    row: dict[str, object] = {
        "model": name,
        "kind": kind,
        "accounts": acc.m,
        "initial_open_interest_usd": float(s.open_interest[0]),
        "bad_debt_usd": float(s.bad_debt[-1]),
        "socialized_loss_usd": float(s.socialized[-1]),
        "liquidation_volume_usd": float(s.liq_volume.sum()),
        "liquidations": int(s.liq_count.sum()),
        "insurance_fund_start_usd": float(s.insurance[0]),
        "insurance_fund_end_usd": float(s.insurance[-1]),
        "insurance_fund_drawdown_usd": max_fund_drawdown(s.insurance),
        "topups_usd": float(s.topups.sum()),
        "margin_rate_start_pct": 100.0 * float(s.margin_rate[0]),
        "margin_rate_peak_pct": 100.0 * float(np.max(s.margin_rate)),
        "final_open_interest_usd": float(s.open_interest[-1]),
    }
    cascade = (s.exo - s.price) / s.exo[0]
    for a, asset in enumerate(assets):
        row[f"cascade_amplification_pct_{asset}"] = 100.0 * float(np.max(cascade[:, a]))
        row[f"max_impact_pct_{asset}"] = 100.0 * float(np.max(impact[:, a]))
        row[f"price_drawdown_pct_{asset}"] = 100.0 * float(dd_venue[a])
        row[f"exogenous_drawdown_pct_{asset}"] = 100.0 * float(dd_exo[a])
        row[f"drawdown_amplification_pp_{asset}"] = 100.0 * float(dd_venue[a] - dd_exo[a])
    if without_impact is not None:
        s0 = without_impact.series
        row["bad_debt_no_impact_usd"] = float(s0.bad_debt[-1])
        row["liquidation_volume_no_impact_usd"] = float(s0.liq_volume.sum())
        row["liquidations_no_impact"] = int(s0.liq_count.sum())
        row["cascade_bad_debt_usd"] = float(s.bad_debt[-1] - s0.bad_debt[-1])
    row["cash_conservation_error_usd"] = with_impact.cash_total() - with_impact.initial_cash_total
    row["position_conservation_error"] = float(np.max(np.abs(with_impact.position_totals())))
    return row


@dataclass
class MixedVenue:
    """One venue where each model margins its share of the traders (same path and seed)."""

    with_impact: RunResult
    without_impact: RunResult | None
    venue: dict[str, object]
    by_model: list[dict[str, object]]


@dataclass
class Comparison:
    """Every model's runs on one scenario and seed."""

    scenario: Scenario
    seed: int
    scenario_sha256: str
    path: PricePath
    traders: Traders
    models: list[ModelEntry]
    with_impact: dict[str, RunResult]
    without_impact: dict[str, RunResult]
    summary: list[dict[str, object]]
    mixed: MixedVenue | None = None


def compare_models(
    scenario: Scenario,
    seed: int,
    model_names: Sequence[str] | None = None,
    *,
    no_impact_runs: bool = True,
    mixed: bool = False,
    progress: Callable[[str, int, int], None] | None = None,
) -> Comparison:
    """Run every selected model on the same path and traders, with and without impact.

    With ``mixed``, also one mixed venue where the traders are split evenly over the models.
    """
    seed_streams(seed)  # validates the seed
    models = scenario.select_models(list(model_names) if model_names else None)
    path = build_path(scenario, seed)
    traders = draw_traders(scenario.traders, scenario.assets, seed_streams(seed)["traders"])
    everyone = np.arange(traders.n, dtype=np.int64)
    history = calibration_history(scenario)
    on: dict[str, RunResult] = {}
    off: dict[str, RunResult] = {}
    rows = []
    for spec in models:
        for impact in (True, False) if no_impact_runs else (True,):
            label = f"{spec.name} ({'impact' if impact else 'no impact'})"
            tick = (lambda t, _l=label: progress(_l, t, path.n_steps)) if progress else None
            policy = policy_for(scenario, spec, history)
            result = run_groups(scenario, seed, path, traders, [(policy, everyone)], impact, tick)
            (on if impact else off)[spec.name] = result
        rows.append(summarize(spec.name, spec.model, on[spec.name], off.get(spec.name), scenario.assets))
    venue = (
        run_mixed(scenario, seed, path, traders, models, history, no_impact_runs, progress) if mixed else None
    )
    return Comparison(
        scenario=scenario,
        seed=int(seed),
        scenario_sha256=scenario_hash(scenario),
        path=path,
        traders=traders,
        models=models,
        with_impact=on,
        without_impact=off,
        summary=rows,
        mixed=venue,
    )


def run_mixed(
    scenario: Scenario,
    seed: int,
    path: PricePath,
    traders: Traders,
    models: Sequence[ModelEntry],
    history: dict[str, FloatArray] | None,
    no_impact_runs: bool,
    progress: Callable[[str, int, int], None] | None = None,
) -> MixedVenue:
    """The mixed venue: every model's traders in one market, with a per-model breakdown."""
    names = [m.name for m in models]
    results: dict[bool, RunResult] = {}
    initial_oi: list[float] = []
    for impact in (True, False) if no_impact_runs else (True,):
        label = f"mixed venue ({'impact' if impact else 'no impact'})"
        tick = (lambda t, _l=label: progress(_l, t, path.n_steps)) if progress else None
        groups = mixed_groups(scenario, traders, seed, names, history)
        cfg = engine_config(scenario, path.dt_days, impact)
        accounts = open_accounts(traders, groups, path.prices[0])
        initial_oi = [float(np.abs(accounts.q[sl]).sum(axis=0) @ path.prices[0]) for _, sl in accounts.groups]
        rng = np.random.default_rng(seed_streams(seed)["dynamics"])
        results[impact] = run(cfg, accounts, path.prices, rng, tick)
    on, off = results[True], results.get(False)
    rows: list[dict[str, object]] = []
    for k, (spec, (_, sl)) in enumerate(zip(models, on.accounts.groups)):
        per = on.per_account
        row: dict[str, object] = {
            "model": spec.name,
            "kind": spec.model,
            "traders": int(np.unique(on.accounts.owner[sl]).size),
            "accounts": sl.stop - sl.start,
            "initial_open_interest_usd": initial_oi[k],
            "bad_debt_usd": float(per.bad_debt[sl].sum()),
            "liquidation_volume_usd": float(per.liq_volume[sl].sum()),
            "liquidations": int(per.liquidations[sl].sum()),
        }
        if off is not None:
            _, sl_off = off.accounts.groups[k]
            row["bad_debt_no_impact_usd"] = float(off.per_account.bad_debt[sl_off].sum())
            row["liquidation_volume_no_impact_usd"] = float(off.per_account.liq_volume[sl_off].sum())
        rows.append(row)
    venue = summarize("mixed", "mixed", on, off, scenario.assets)
    return MixedVenue(with_impact=on, without_impact=off, venue=venue, by_model=rows)


def mixed_groups(
    scenario: Scenario,
    traders: Traders,
    seed: int,
    model_names: Sequence[str] | None = None,
    history: dict[str, FloatArray] | None = None,
) -> list[tuple[MarginPolicy, NDArray[np.int64]]]:
    """Split the traders evenly (seeded shuffle) across the models: a mixed-venue run."""
    models = scenario.select_models(list(model_names) if model_names else None)
    order = np.random.default_rng(seed_streams(seed)["traders"].spawn(1)[0]).permutation(traders.n)
    parts = np.array_split(order, len(models))
    if history is None:
        history = calibration_history(scenario)
    return [
        (policy_for(scenario, spec, history), np.sort(part).astype(np.int64))
        for spec, part in zip(models, parts)
    ]
