"""Shared fixtures: a small two-asset scenario that liquidates often (fast to run)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from offchain.sim.scenario import Scenario, parse_scenario

ROOT = Path(__file__).resolve().parents[3]
SCENARIOS = ROOT / "scenarios"

SMALL: dict[str, Any] = {
    "name": "small",
    "seed": 7,
    "path": {
        "kind": "gbm_jump",
        "assets": ["BTC", "ETH"],
        "s0": {"BTC": 50000.0, "ETH": 3000.0},
        "days": 2.0,
        "steps_per_day": 60,
        "sigma_annual": {"BTC": 0.9, "ETH": 1.1},
        "jump_intensity_per_day": 1.0,
        "jump_mean": -0.03,
        "jump_std": 0.02,
        "correlation": 0.7,
        "forced_jumps": [{"day": 0.5, "log_return": {"BTC": -0.12, "ETH": -0.15}}],
    },
    "market": {
        "depth_usd_per_pct": {"BTC": 200000.0, "ETH": 100000.0},
        "reference_vol_daily": {"BTC": 0.045, "ETH": 0.06},
    },
    "arbitrageurs": {"recovery_per_step": 0.1, "capacity_usd_per_step": 50000.0},
    "liquidators": [
        {"name": "fast", "latency_steps": 0, "capital_usd": 150000.0},
        {"name": "slow", "latency_steps": 3, "capital_usd": 400000.0},
    ],
    "liquidation": {"discount": 0.02, "fee": 0.01, "target": "im", "insurance_fund_usd": 20000.0},
    "traders": {
        "n": 40,
        "collateral_usd": {"median": 5000.0, "sigma_log": 0.8},
        "leverage": {"median": 12.0, "sigma_log": 0.5, "max": 40.0},
        "long_fraction": 0.8,
        "asset_weights": {"BTC": 0.6, "ETH": 0.4},
        "multi_asset_fraction": 0.4,
        "wallet_reserve_fraction": 0.3,
        "topup_probability_per_step": 0.2,
    },
    "models": [
        {"name": "isolated", "kind": "isolated", "mm_rate": 0.04, "im_rate": 0.08},
        {"name": "cross", "kind": "cross", "mm_rate": 0.04, "im_rate": 0.08},
        {"name": "standard", "kind": "standard", "mm_base": 0.02, "im_base": 0.04,
         "size_slope_per_unit": {"BTC": 0.002, "ETH": 0.0001}},
        {"name": "risk_matrix", "kind": "risk_matrix", "spot_shocks": [-0.06, -0.03, 0.0, 0.03, 0.06],
         "extreme_shock": 0.15, "extreme_weight": 0.35, "addon_rate": 0.004, "im_factor": 1.5},
        {"name": "var99", "kind": "var", "confidence": 0.99, "vol_daily": {"BTC": 0.03, "ETH": 0.04},
         "correlation": 0.8, "im_factor": 1.25},
        {"name": "dynamic", "kind": "dynamic", "initial_vol_daily": {"BTC": 0.03, "ETH": 0.04}, "correlation": 0.8,
         "apc": {"stressed_vol_daily": {"BTC": 0.06, "ETH": 0.08}, "stress_weight": 0.25,
                 "floor_vol_daily": {"BTC": 0.02, "ETH": 0.025}},
         "liquidity_coef": 1.0, "im_factor": 1.25},
    ],
}


def small_dict(**updates: Any) -> dict[str, Any]:
    """A deep copy of the small scenario with top-level keys replaced."""
    data = copy.deepcopy(SMALL)
    data.update(updates)
    return data


@pytest.fixture
def small() -> Scenario:
    return parse_scenario(small_dict(), "small")


@pytest.fixture
def make_small() -> Any:
    """Factory: ``make_small(**top_level_updates) -> dict`` (a fresh deep copy)."""
    return small_dict
