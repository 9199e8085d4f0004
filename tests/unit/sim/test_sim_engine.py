"""Engine: closed-form liquidations, latency, conservation, determinism, loop-reference equality."""

from __future__ import annotations

import numpy as np
import pytest

from offchain.risk.margin.cross import CrossConfig
from offchain.sim.engine import EngineConfig, liquidation_fraction, run
from offchain.sim.policies import CrossPolicy
from offchain.sim.population import Accounts, draw_traders, open_accounts
from offchain.sim.reference import run_reference
from offchain.sim.runner import (
    build_path,
    calibration_history,
    compare_models,
    engine_config,
    mixed_groups,
    policy_for,
    seed_streams,
)
from offchain.sim.scenario import Scenario

DEPTH = 5_000.0  # USD per 1 %


def _cfg(**kw: object) -> EngineConfig:
    base = {
        "dt_days": 1.0,
        "steps_per_day": 1,
        "depth_usd_per_pct": np.array([DEPTH]),
        "depth_vol_elasticity": 0.0,
        "reference_vol_daily": np.array([0.05]),
        "market_ewma_lambda_daily": 0.94,
        "max_move": 0.5,
        "arb_recovery": 0.0,
        "arb_capacity_usd": 0.0,
        "liquidator_latency": np.array([0]),
        "liquidator_capital": np.array([1e6]),
        "discount": 0.02,
        "fee": 0.01,
        "target_im": True,
        "target_buffer": 0.0,
        "insurance_fund_usd": 1.0,
        "topup_probability": 0.0,
        "market_maker_capital_usd": 1e6,
        "impact": True,
    }
    base.update(kw)
    return EngineConfig(**base)  # type: ignore[arg-type]


def _accounts(q: list[float], collateral: list[float], p0: float = 100.0) -> Accounts:
    qa = np.array(q, dtype=np.float64)[:, None]
    policy = CrossPolicy("cross", ["BTC"], CrossConfig(imf_base=0.1, mmf=0.05))
    return Accounts(
        q=qa,
        cash=np.array(collateral) - qa[:, 0] * p0,
        wallet=np.zeros(len(q)),
        owner=np.arange(len(q)),
        groups=[(policy, slice(0, len(q)))],
    )


def test_partial_liquidation_through_linear_depth_curve_closed_form() -> None:
    acc = _accounts([1.0], [10.0])
    res = run(_cfg(), acc, np.array([[100.0], [94.0]]), np.random.default_rng(0))
    # E = -90 + 94 = 4 < MM = 4.7; target IM = 9.4: phi = (9.4 - 4) / (9.4 - 94 * 0.03)
    phi = (9.4 - 4.0) / (9.4 - 94.0 * 0.03)
    p_after = 94.0 * (1.0 - 0.01 * phi * 94.0 / DEPTH)
    avg = 0.5 * (94.0 + p_after)
    assert res.series.liq_count[1] == 1
    assert res.series.liq_volume[1] == pytest.approx(phi * 94.0, rel=1e-12)
    assert res.series.price[1, 0] == pytest.approx(p_after, rel=1e-12)
    assert acc.q[0, 0] == pytest.approx(1.0 - phi, rel=1e-12)
    assert acc.cash[0] == pytest.approx(-90.0 + phi * 94.0 * (1 - 0.03), rel=1e-12)
    # at the pre-liquidation mark, the account is restored exactly to its initial margin
    assert acc.cash[0] + acc.q[0, 0] * 94.0 == pytest.approx(0.1 * acc.q[0, 0] * 94.0, rel=1e-12)
    assert res.ledgers.insurance == pytest.approx(1.0 + 0.01 * phi * 94.0, rel=1e-12)
    liq_pnl = res.ledgers.liq_cash[0] - 1e6
    assert liq_pnl == pytest.approx(phi * (avg - 94.0 * 0.98), rel=1e-9)
    assert res.ledgers.mm_q[0] == pytest.approx(-1.0 + phi, rel=1e-12)
    assert res.series.bad_debt[-1] == 0.0


def test_close_out_bad_debt_draws_the_fund_then_socialises() -> None:
    acc = _accounts([1.0, -1.0], [10.0, 50.0])
    res = run(_cfg(), acc, np.array([[100.0], [88.0]]), np.random.default_rng(0))
    # long: E = -2 < 88 * 0.03 -> close-out; cash -90 + 88 * 0.97 = -4.64 -> bad debt
    shortfall = 90.0 - 88.0 * 0.97
    assert res.series.bad_debt[-1] == pytest.approx(shortfall, rel=1e-12)
    fund_before = 1.0 + 0.01 * 88.0
    assert res.series.socialized[-1] == pytest.approx(shortfall - fund_before, rel=1e-12)
    assert res.ledgers.insurance == pytest.approx(0.0, abs=1e-12)
    assert acc.q[0, 0] == 0.0 and acc.cash[0] == 0.0
    assert acc.cash[1] == pytest.approx(150.0 - (shortfall - fund_before), rel=1e-12)  # the only winner pays
    assert res.cash_total() == pytest.approx(res.initial_cash_total, abs=1e-9)
    assert np.abs(res.position_totals()).max() < 1e-12


def test_liquidation_fraction_formula() -> None:
    phi = liquidation_fraction(
        np.array([4.0, -1.0, 9.0]), np.array([9.4, 9.4, 10.0]), np.array([94.0] * 3), 0.02, 0.01
    )
    assert phi[0] == pytest.approx(5.4 / 6.58)
    assert phi[1] == 1.0  # negative equity: close-out
    assert phi[2] == pytest.approx(1.0 / (10.0 - 2.82))


@pytest.mark.parametrize("latency", [0, 1, 3])
def test_liquidator_latency_delays_the_liquidation(latency: int) -> None:
    acc = _accounts([1.0], [10.0])
    exo = np.array([[100.0], [94.0], [94.0], [94.0], [94.0], [94.0]])
    res = run(_cfg(liquidator_latency=np.array([latency])), acc, exo, np.random.default_rng(0))
    assert list(np.flatnonzero(res.series.liq_count)) == [1 + latency]


def test_liquidator_capital_caps_the_volume_per_step() -> None:
    acc = _accounts([1.0, 1.0, 1.0], [3.0, 3.0, 3.0])
    exo = np.array([[100.0], [96.0], [96.0], [96.0], [96.0]])
    res = run(_cfg(liquidator_capital=np.array([100.0]), impact=False), acc, exo, np.random.default_rng(0))
    # capacity = the liquidator's cash, which grows by the 2 % auction discount it earns
    np.testing.assert_allclose(res.series.liq_volume, [0.0, 100.0, 102.0, 86.0, 0.0], rtol=1e-12)
    assert res.series.liq_count[1] == 2  # the second account only partly fits
    assert res.ledgers.liq_cash[0] == pytest.approx(100.0 + 0.02 * 288.0, rel=1e-12)


def test_without_impact_the_venue_price_is_the_exogenous_path(small: Scenario) -> None:
    comp = compare_models(small, 7, ["cross"])
    off = comp.without_impact["cross"].series
    np.testing.assert_array_equal(off.price, off.exo)
    assert off.liq_count.sum() > 0
    on = comp.with_impact["cross"].series
    assert np.any(on.price < on.exo * (1 - 1e-3))  # liquidation sales moved the price


def test_conservation_and_activity_for_every_model(small: Scenario) -> None:
    comp = compare_models(small, 7)
    for name, res in {**comp.with_impact, **{k + "/off": v for k, v in comp.without_impact.items()}}.items():
        scale = res.initial_cash_total
        assert abs(res.cash_total() - scale) < 1e-9 * abs(scale), name
        assert np.abs(res.position_totals()).max() < 1e-9, name
    for row in comp.summary:
        assert row["liquidations"] > 0, row["model"]


def test_deterministic_for_a_seed_and_seed_dependent(small: Scenario) -> None:
    a = compare_models(small, 7, ["cross", "dynamic"])
    b = compare_models(small, 7, ["cross", "dynamic"])
    c = compare_models(small, 8, ["cross", "dynamic"])
    assert a.summary == b.summary
    np.testing.assert_array_equal(
        a.with_impact["dynamic"].series.price, b.with_impact["dynamic"].series.price
    )
    assert a.summary != c.summary


def test_seed_streams_are_the_seedsequence_children() -> None:
    streams = seed_streams(42)
    children = np.random.SeedSequence(42).spawn(3)
    for got, want in zip(streams.values(), children):
        assert got.generate_state(4).tolist() == want.generate_state(4).tolist()


@pytest.mark.parametrize("model", ["isolated", "cross", "standard", "risk_matrix", "var", "dynamic", "mixed"])
@pytest.mark.parametrize("impact", [True, False])
def test_vectorized_engine_equals_the_per_account_loop(small: Scenario, model: str, impact: bool) -> None:
    seed = 7
    path = build_path(small, seed)
    traders = draw_traders(small.traders, small.assets, seed_streams(seed)["traders"])
    if model == "mixed":
        groups = mixed_groups(small, traders, seed)
    else:
        spec = small.select_models([model])[0]
        groups = [(policy_for(small, spec, calibration_history(small)), np.arange(traders.n))]
    accounts = open_accounts(traders, groups, path.prices[0])
    cfg = engine_config(small, path.dt_days, impact)
    fast = run(cfg, accounts.copy(), path.prices, np.random.default_rng(seed_streams(seed)["dynamics"]))
    slow = run_reference(
        cfg, accounts.copy(), path.prices, np.random.default_rng(seed_streams(seed)["dynamics"])
    )
    assert fast.series.liq_count.sum() > 0
    np.testing.assert_array_equal(fast.series.liq_count, slow.series.liq_count)
    fields = (
        "price",
        "liq_volume",
        "insurance",
        "bad_debt",
        "socialized",
        "open_interest",
        "topups",
        "margin_rate",
    )
    for field in fields:
        np.testing.assert_allclose(
            getattr(fast.series, field), getattr(slow.series, field), rtol=1e-9, atol=1e-6
        )
    np.testing.assert_allclose(fast.accounts.q, slow.accounts.q, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(fast.accounts.cash, slow.accounts.cash, rtol=1e-9, atol=1e-6)
    np.testing.assert_array_equal(fast.per_account.liquidations, slow.per_account.liquidations)
    np.testing.assert_allclose(fast.per_account.liq_volume, slow.per_account.liq_volume, rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(fast.per_account.bad_debt, slow.per_account.bad_debt, rtol=1e-9, atol=1e-6)
    # the per-account totals add up to the series
    assert fast.per_account.liq_volume.sum() == pytest.approx(fast.series.liq_volume.sum(), rel=1e-12)
    assert fast.per_account.liquidations.sum() == fast.series.liq_count.sum()
    assert fast.per_account.bad_debt.sum() == pytest.approx(fast.series.bad_debt[-1], rel=1e-12, abs=1e-9)


def test_impact_amplifies_the_crash(small: Scenario) -> None:
    deep = small.model_copy(
        update={"market": small.market.model_copy(update={"depth_usd_per_pct": {"BTC": 2e4, "ETH": 1e4}})}
    )
    comp = compare_models(deep, 7, ["cross"])
    row = comp.summary[0]
    assert row["max_impact_pct_BTC"] > 1.0
    on = comp.with_impact["cross"].series
    assert row["cascade_amplification_pct_BTC"] == pytest.approx(
        100 * np.max((on.exo[:, 0] - on.price[:, 0]) / on.exo[0, 0])
    )
    assert row["cascade_amplification_pct_BTC"] > 0.5
    assert row["liquidation_volume_usd"] >= row["liquidation_volume_no_impact_usd"]
