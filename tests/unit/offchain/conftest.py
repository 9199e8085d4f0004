"""Shared fixtures for the risk-engine tests (fixed seeds, small markets and portfolios)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import settings

from offchain.instruments import Portfolio
from offchain.market import MarketState

settings.register_profile("zkmargin", derandomize=True, deadline=None, max_examples=60)
settings.load_profile("zkmargin")

T0 = "2024-01-01T00:00:00Z"


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(20240101))


@pytest.fixture
def market() -> MarketState:
    return MarketState.model_validate(
        {"timestamp": T0, "spots": {"BTC": 40000.0, "ETH": 2000.0}, "rate": 0.03,
         "default_vol": {"BTC": 0.6, "ETH": 0.75}}
    )


def make_portfolio(positions: list[tuple[str, float]], extra: dict | None = None) -> Portfolio:
    instruments = [
        {"kind": "perp", "symbol": "BTC-PERP", "underlying": "BTC"},
        {"kind": "perp", "symbol": "ETH-PERP", "underlying": "ETH"},
        {"kind": "future", "symbol": "BTC-29MAR24", "underlying": "BTC", "expiry": "2024-03-29T08:00:00Z"},
        {"kind": "option", "symbol": "BTC-C-45000", "underlying": "BTC", "expiry": "2024-02-01T08:00:00Z",
         "strike": 45000, "option_type": "call"},
        {"kind": "option", "symbol": "BTC-P-35000", "underlying": "BTC", "expiry": "2024-02-01T08:00:00Z",
         "strike": 35000, "option_type": "put"},
        {"kind": "option", "symbol": "BTC-C-40000", "underlying": "BTC", "expiry": "2024-02-01T08:00:00Z",
         "strike": 40000, "option_type": "call"},
        {"kind": "option", "symbol": "BTC-P-40000", "underlying": "BTC", "expiry": "2024-02-01T08:00:00Z",
         "strike": 40000, "option_type": "put"},
        {"kind": "option", "symbol": "ETH-P-1800", "underlying": "ETH", "expiry": "2024-01-12T08:00:00Z",
         "strike": 1800, "option_type": "put"},
    ]
    data = {"instruments": instruments, "positions": [{"instrument": s, "size": q} for s, q in positions],
            "collateral": [{"asset": "USDC", "amount": 100000.0}]}
    if extra:
        data.update(extra)
    return Portfolio.model_validate(data)
