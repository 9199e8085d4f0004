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
    "calibration": {"start": "2021-03-01", "end": "2021-05-01"},
    "models": [
        {
            "name": "isolated",
            "model": "isolated",
            "config": {
                "brackets": [
                    {"max_notional": 20000, "mmr": 0.01, "imr": 0.02},
                    {"max_notional": 100000, "mmr": 0.02, "imr": 0.04},
                    {"max_notional": None, "mmr": 0.04, "imr": 0.08},
                ]
            },
        },
        {
            "name": "cross",
            "model": "cross",
            "config": {"imf_base": 0.05, "mmf": 0.03, "scaling": "size", "imf_factor": 0.04},
        },
        {
            "name": "standard",
            "model": "standard_options",
            "config": {"linear_im_rate": 0.04, "linear_mm_rate": 0.02, "linear_rate_per_unit": 0.002},
        },
        {
            "name": "risk_matrix",
            "model": "risk_matrix",
            "config": {
                "preset": "deribit_pm",
                "price_range": 0.06,
                "price_range_by_underlying": {"BTC": 0.06, "ETH": 0.08},
                "static_discount": 0.8,
            },
        },
        {
            "name": "var",
            "model": "var",
            "config": {"method": "historical", "measure": "es", "confidence": 0.97, "lookback_days": 40},
        },
        {
            "name": "dynamic",
            "model": "dynamic",
            "config": {
                "apc_tool": "stress_weight",
                "mpor_days": 1,
                "liquidity": {
                    "BTC": {"points": [[100000, 0.005], [300000, 0.02]]},
                    "ETH": {"points": [[100000, 0.01]]},
                },
            },
        },
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
