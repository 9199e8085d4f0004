"""Shared helpers of the risk-engine tests (hypothesis settings, a small listing and portfolios).

A uniquely named module rather than ``conftest.py``: test folders have no ``__init__.py``, so
a second ``conftest`` module name would clash with another folder's.
"""

from __future__ import annotations

from hypothesis import settings

from offchain.risk.instruments import Portfolio

#: Hypothesis settings of every property test here: derandomized (fixed seed), no deadline.
#: Applied per test (not as a global profile) so other test folders keep their own settings.
FIXED = settings(derandomize=True, deadline=None, max_examples=60)

T0 = "2024-01-01T00:00:00Z"


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
