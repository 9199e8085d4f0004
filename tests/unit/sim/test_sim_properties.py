"""Property tests: for random seeds and liquidation settings, cash and positions are
conserved exactly, closed accounts keep no debt, and the vectorized engine equals the
per-account loop."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from offchain.sim.engine import run
from offchain.sim.population import draw_traders, open_accounts
from offchain.sim.reference import run_reference
from offchain.sim.runner import build_path, engine_config, mixed_groups, seed_streams
from offchain.sim.scenario import parse_scenario


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    seed=st.integers(0, 2**32),
    discount=st.floats(0.0, 0.1),
    fee=st.floats(0.0, 0.05),
    target=st.sampled_from(["im", "mm"]),
    buffer=st.floats(0.0, 0.5),
    latency=st.integers(0, 4),
    insurance=st.floats(0.0, 50_000.0),
    impact=st.booleans(),
)
def test_conservation_and_loop_equality(
    make_small: Any,
    seed: int,
    discount: float,
    fee: float,
    target: str,
    buffer: float,
    latency: int,
    insurance: float,
    impact: bool,
) -> None:
    data = make_small()
    data["traders"]["n"] = 16
    data["path"]["days"] = 1.0
    data["liquidation"] = {
        "discount": discount,
        "fee": fee,
        "target": target,
        "target_buffer": buffer,
        "insurance_fund_usd": insurance,
    }
    data["liquidators"][1]["latency_steps"] = latency
    sc = parse_scenario(data)
    path = build_path(sc, seed)
    traders = draw_traders(sc.traders, sc.assets, seed_streams(seed)["traders"])
    accounts = open_accounts(traders, mixed_groups(sc, traders, seed), path.prices[0])
    cfg = engine_config(sc, path.dt_days, impact)
    fast = run(cfg, accounts.copy(), path.prices, np.random.default_rng(seed_streams(seed)["dynamics"]))
    slow = run_reference(
        cfg, accounts.copy(), path.prices, np.random.default_rng(seed_streams(seed)["dynamics"])
    )
    for res in (fast, slow):
        assert abs(res.cash_total() - res.initial_cash_total) <= 1e-9 * res.initial_cash_total
        assert np.abs(res.position_totals()).max() <= 1e-9
        flat = np.all(res.accounts.q == 0.0, axis=1)  # closed accounts never keep a debt
        assert np.all(res.accounts.cash[flat] >= -1e-9)
        assert np.all(np.diff(res.series.bad_debt) >= 0.0)
    np.testing.assert_array_equal(fast.series.liq_count, slow.series.liq_count)
    np.testing.assert_allclose(fast.series.price, slow.series.price, rtol=1e-9)
    np.testing.assert_allclose(fast.series.bad_debt, slow.series.bad_debt, rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(fast.accounts.cash, slow.accounts.cash, rtol=1e-9, atol=1e-6)
