"""Cross-check: each vectorized policy equals the risk engine's model, account by account."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from offchain.risk.instruments import Perp, Portfolio, Position
from offchain.risk.margin import get_model
from offchain.risk.margin.dynamic import DepthCurve, DynamicMargin
from offchain.risk.margin.isolated import IsolatedConfig, tiered_requirement
from offchain.risk.margin.var import VaRMargin
from offchain.risk.market import MarketState
from offchain.sim.paths import daily_closes
from offchain.sim.policies import build_policy, liquidity_cost, liquidity_tables

ASSETS = ("BTC", "ETH")
PRICES = np.array([43_091.04, 3_400.5])
INSTRUMENTS = [Perp(symbol="BTC-PERP", underlying="BTC"), Perp(symbol="ETH-PERP", underlying="ETH")]
HISTORY = {a: daily_closes(a, "2021-01-01", "2021-05-19")[1] for a in ASSETS}
TS = 1_621_382_400


def _accounts(seed: int, n: int, single_asset: bool = False) -> np.ndarray:
    """Random signed positions: sizes over four orders of magnitude, one or two assets."""
    rng = np.random.default_rng(seed)
    q = rng.choice([-1.0, 1.0], size=(n, 2)) * 10.0 ** rng.uniform(-2, 2.5, size=(n, 2))
    q[:, 1] *= 15.0
    one = rng.random(n) < (1.0 if single_asset else 0.4)
    which = rng.integers(0, 2, n)
    q[one, which[one]] = 0.0
    return q


def _engine(model: Any, q_row: np.ndarray, prices: np.ndarray) -> tuple[float, float]:
    positions = [
        Position(instrument=INSTRUMENTS[a].symbol, size=float(q_row[a])) for a in range(2) if q_row[a] != 0
    ]
    portfolio = Portfolio(instruments=INSTRUMENTS, positions=positions, cash=1000.0)
    market = MarketState(timestamp=TS, spots={a: float(p) for a, p in zip(ASSETS, prices)})
    res = model.requirement(portfolio, market)
    return res.mm, res.im


def _check(policy: Any, model: Any, q: np.ndarray, prices: np.ndarray, rel: float = 1e-10) -> None:
    mm, im = policy.requirements(q, prices)
    for i in range(q.shape[0]):
        e_mm, e_im = _engine(model, q[i], prices)
        assert mm[i] == pytest.approx(e_mm, rel=rel, abs=1e-9), (i, q[i])
        assert im[i] == pytest.approx(e_im, rel=rel, abs=1e-9), (i, q[i])


ISOLATED = {
    "brackets": [
        {"max_notional": 50_000, "mmr": 0.004, "imr": 0.008},
        {"max_notional": 250_000, "mmr": 0.005, "imr": 0.01},
        {"max_notional": 1_000_000, "mmr": 0.01, "imr": 0.02},
        {"max_notional": None, "mmr": 0.05, "imr": 0.1},
    ],
    "brackets_by_underlying": {
        "ETH": [
            {"max_notional": 100_000, "mmr": 0.01, "imr": 0.02},
            {"max_notional": None, "mmr": 0.03, "imr": 0.06},
        ]
    },
}


@pytest.mark.parametrize(
    ("model", "config"),
    [
        ("isolated", ISOLATED),
        ("isolated", {}),
        ("cross", {}),
        ("cross", {"scaling": "size", "imf_factor": 0.01}),
        ("cross", {"scaling": "open_interest", "open_interest": {"BTC": 2e8, "ETH": 6e8}}),
        ("standard_options", {}),
        ("standard_options", {"linear_rate_per_unit": 0.002}),
        ("risk_matrix", {"preset": "deribit_pm"}),
        ("risk_matrix", {"preset": "cme_span"}),
        ("risk_matrix", {"preset": "derive_pmrm"}),
        ("risk_matrix", {"preset": "deribit_pm", "static_discount": 0.7}),
    ],
)
def test_stateless_policies_equal_the_engine(model: str, config: dict[str, Any]) -> None:
    policy = build_policy("p", model, config, ASSETS)
    engine = get_model(model, config)
    q = _accounts(1, 60, single_asset=(model == "isolated"))
    _check(policy, engine, q, PRICES)
    _check(policy, engine, q, PRICES * np.array([0.8, 1.3]))


@pytest.mark.parametrize(
    "config",
    [
        {"method": "historical", "measure": "es", "confidence": 0.99, "lookback_days": 100},
        {
            "method": "historical",
            "measure": "var",
            "confidence": 0.975,
            "lookback_days": 120,
            "horizon_days": 2,
        },
        {
            "method": "filtered_historical",
            "measure": "es",
            "confidence": 0.99,
            "lookback_days": 100,
            "im_factor": 1.3,
        },
    ],
)
def test_var_policy_equals_the_engine_before_and_after_new_closes(config: dict[str, Any]) -> None:
    policy = build_policy("v", "var", config, ASSETS, HISTORY)
    policy.reset(PRICES)  # the calibration history is rebased to end at the path's first price
    rebased = {a: HISTORY[a] * (PRICES[i] / HISTORY[a][-1]) for i, a in enumerate(ASSETS)}
    engine = VaRMargin(
        get_model("var", {**config, "history": {a: [1.0, 1.0, 1.0] for a in ASSETS}}).config, rebased
    )
    q = _accounts(2, 80)
    _check(policy, engine, q, PRICES)
    closes = [PRICES * np.array([0.9, 0.85]), PRICES * np.array([0.8, 0.75])]
    for c in closes:
        policy.observe_close(c)
    extended = {a: np.concatenate([rebased[a], [c[i] for c in closes]]) for i, a in enumerate(ASSETS)}
    engine2 = VaRMargin(engine.config, extended)
    _check(policy, engine2, q, closes[-1])


def test_two_asset_var_shortcut_is_exact_in_every_direction() -> None:
    # accounts in every exposure direction, including the cells where the scenario order changes
    policy = build_policy(
        "v", "var", {"method": "historical", "measure": "es", "lookback_days": 120}, ASSETS, HISTORY
    )
    policy.reset(PRICES)
    theta = np.linspace(-np.pi, np.pi, 20_001)
    x = np.stack([np.cos(theta), np.sin(theta)], axis=1) * 1e5
    mm, _ = policy.requirements(x / PRICES, PRICES)
    assert not policy.clean.all()
    np.testing.assert_allclose(mm, policy.exact(x), rtol=1e-12)


@pytest.mark.parametrize("apc", ["buffer", "stress_weight", "floor", "none"])
def test_dynamic_policy_tracks_the_engine_state(apc: str) -> None:
    config = {
        "apc_tool": apc,
        "mpor_days": 2,
        "liquidity": {"BTC": {"points": [[1e6, 0.004], [5e6, 0.03]]}, "ETH": {"points": [[5e5, 0.01]]}},
    }
    policy = build_policy("d", "dynamic", config, ASSETS, HISTORY)
    policy.reset(PRICES)
    rebased = {a: HISTORY[a] * (PRICES[i] / HISTORY[a][-1]) for i, a in enumerate(ASSETS)}
    engine = DynamicMargin(
        get_model("dynamic", {**config, "history": {a: [1.0, 1.0, 1.0] for a in ASSETS}}).config, rebased
    )
    q = _accounts(3, 60)
    _check(policy, engine, q, PRICES)
    for move in ([0.92, 0.9], [0.85, 0.8], [0.9, 0.88]):  # a crash raises the EWMA vol day by day
        close = PRICES * np.array(move)
        policy.observe_close(close)
        engine.observe({a: float(close[i]) for i, a in enumerate(ASSETS)})
        _check(policy, engine, q, close)
    assert policy.base[0] > 0


def test_vectorized_liquidity_cost_equals_the_depth_curve() -> None:
    curve = DepthCurve(points=[(1e6, 0.004), (5e6, 0.03), (6e6, 0.031)])
    n = np.array([0.0, 5e5, 1e6, 3e6, 5e6, 5.5e6, 6e6, 2e7])
    want = [curve.liquidation_cost(float(v)) for v in n]
    np.testing.assert_allclose(liquidity_cost(n, liquidity_tables(curve)), want, rtol=1e-12)


def test_linear_depth_curve_addon_is_the_book_slippage() -> None:
    # a single-point curve [[d, 0.01]] is the simulator's linear book: cost = 0.005 N^2 / d
    d = 5e6
    n = np.array([1e5, 1e6, 3e7])
    np.testing.assert_allclose(
        liquidity_cost(n, liquidity_tables(DepthCurve(points=[(d, 0.01)]))), 0.005 * n**2 / d
    )


def test_bracket_deductions_match_the_engine() -> None:
    cfg = IsolatedConfig.model_validate(ISOLATED)
    policy = build_policy("i", "isolated", ISOLATED, ASSETS)
    for n in [1.0, 49_999.0, 50_000.0, 50_001.0, 249_999.0, 250_000.0, 999_999.0, 1e6, 1e6 + 1, 5e7]:
        q = np.array([[n / PRICES[0], 0.0]])
        mm, im = policy.requirements(q, PRICES)
        assert mm[0] == pytest.approx(tiered_requirement(n, cfg.brackets, "mmr")[0], rel=1e-12)
        assert im[0] == pytest.approx(tiered_requirement(n, cfg.brackets, "imr")[0], rel=1e-12)
