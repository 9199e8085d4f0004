"""Binance USDⓈ-M funding (offchain/risk/funding.py, float) against Binance's published examples.

Sources (docs/trading.md, "Funding"): "Introduction to Binance Futures Funding Rates"
(binance.com/en/support/faq/360033525031): IMN = 200 USDT / IMR, BNBUSDT at 20x -> 4,000 USDT;
the 1..n weighted average of the premium index; F = P + clamp(I - P, 0.05%, -0.05%) with
I = 0.01% per 8 hours; the cap clamp(F, -0.75 MMR, 0.75 MMR) (ADAUSDT at 75x: IMR 1.3%, MMR
0.65%); the 2025-09-16 announcement's F / (8 / N) for N-hour contracts (PUMPUSDT, every 4 hours:
F / 2); the 2023-08-08 DODOBUSD announcement's multiplier 1 (clamp(F, -1 MMR, 1 MMR)).
"""

from __future__ import annotations

import numpy as np
import pytest

from offchain.risk.funding import (
    BinanceFundingConfig,
    binance_accrual,
    binance_average_premium,
    binance_funding_rate,
    binance_impact_price,
    binance_premium_samples,
    everlasting_funding,
)
from zkmargin.errors import InputError


def test_impact_margin_notional_examples() -> None:
    assert BinanceFundingConfig(initial_margin_rate=0.05).impact_notional == pytest.approx(4_000.0)  # BNBUSDT 20x
    assert BinanceFundingConfig().impact_notional == pytest.approx(25_000.0)  # BTCUSDT 125x: 200 / 0.8%


def test_cap_and_floor() -> None:
    ada = BinanceFundingConfig(initial_margin_rate=0.013, maintenance_margin_rate=0.0065)
    assert ada.cap == pytest.approx(0.004875)  # 0.75 * 0.65%
    assert binance_funding_rate(0.05, ada) == pytest.approx(0.004875)
    assert binance_funding_rate(-0.05, ada) == pytest.approx(-0.004875)
    dodo = BinanceFundingConfig(maintenance_margin_rate=0.025, cap_multiplier=1.0)
    assert binance_funding_rate(0.5, dodo) == pytest.approx(0.025)


def test_clamp_cases() -> None:
    cfg = BinanceFundingConfig()
    # |I - P| within 0.05%: F = I = 0.01%
    for p in (0.0, 0.0003, -0.0003, 0.0006, -0.0004):
        assert binance_funding_rate(p, cfg) == pytest.approx(0.0001)
    assert binance_funding_rate(0.0020, cfg) == pytest.approx(0.0020 - 0.0005)
    assert binance_funding_rate(-0.0010, cfg) == pytest.approx(-0.0010 + 0.0005)


def test_interval_scaling() -> None:
    """4-hour contracts pay [P + clamp(I - P)] / 2 per interval (and so the same per hour)."""
    p = 0.0012
    eight = binance_funding_rate(p, BinanceFundingConfig())
    four = binance_funding_rate(p, BinanceFundingConfig(interval_hours=4))
    assert four == pytest.approx(eight / 2)
    mark = 40_000.0
    a8 = binance_accrual(1.0, mark, eight, 3600, BinanceFundingConfig())
    a4 = binance_accrual(1.0, mark, four, 3600, BinanceFundingConfig(interval_hours=4))
    assert float(a8) == pytest.approx(float(a4)) == pytest.approx(mark * eight / 8)


def test_weighted_average_and_samples() -> None:
    assert binance_average_premium([0.001, 0.002, 0.004]) == pytest.approx((0.001 + 0.004 + 0.012) / 6)
    assert binance_average_premium(np.full(5760, 0.0003)) == pytest.approx(0.0003)
    prem = binance_premium_samples([100.0, 100.0, 100.0, 100.0], [100.2, 99.9, 99.5, np.nan], [100.3, 100.1, 99.8, 99.9])
    np.testing.assert_allclose(prem, [0.002, 0.0, -0.002, -0.001])
    with pytest.raises(InputError) as exc:
        binance_average_premium([])
    assert exc.value.field == "samples"


def test_impact_price_walks_the_book() -> None:
    asks = [(100.0, 10.0), (101.0, 10.0), (103.0, 100.0)]
    # 1,500 quote: 10 at 100 (1,000), then 500 / 101 at 101
    assert binance_impact_price(asks, 1_500.0) == pytest.approx(1_500.0 / (10 + 500 / 101))
    assert binance_impact_price(asks, 1_000.0) == pytest.approx(100.0)
    assert binance_impact_price(asks, 1e9) is None


def test_everlasting_funding_is_mark_minus_payoff_per_period() -> None:
    # Deri's example: a 50,000 call worth 223.3667 at S = 40,000, funding period 7 days: 31.9095 a day
    assert float(everlasting_funding(223.3667, 0.0, 86_400, 7 * 86_400)) == pytest.approx(31.90953, rel=1e-6)
    with pytest.raises(InputError) as exc:
        everlasting_funding(1.0, 0.0, -1, 86_400)
    assert exc.value.field == "dt_seconds"


def test_config_names_unknown_and_bad_keys() -> None:
    from offchain.validation import parse_model

    with pytest.raises(InputError) as exc:
        parse_model(BinanceFundingConfig, {"interval_hourz": 4}, "config")
    assert exc.value.field == "config.interval_hourz"
    with pytest.raises(InputError) as exc:
        parse_model(BinanceFundingConfig, {"interval_hours": 12}, "config")
    assert exc.value.field == "config.interval_hours"
