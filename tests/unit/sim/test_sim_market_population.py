"""Depth curve, arbitrage and the trader population: closed forms and invariants."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from offchain.sim.liquidity import arbitrage_quantity, book_density, depth_at_vol, trade_through_book
from offchain.sim.population import draw_traders, open_accounts
from offchain.sim.runner import calibration_history, policy_for, seed_streams
from offchain.sim.scenario import Scenario


def test_linear_book_closed_form_and_symmetry() -> None:
    p, d = np.array([100.0, 50.0]), np.array([1e4, 2e4])
    q = np.array([10.0, -40.0])  # sell 10 of asset 0, buy 40 of asset 1
    new, avg = trade_through_book(q, p, d, max_move=0.5)
    np.testing.assert_allclose(new, p * (1 - 0.01 * q * p / d))
    np.testing.assert_allclose(avg, (p + new) / 2)
    # the price moves by Q / rho with rho the book density, whatever the direction
    np.testing.assert_allclose(p - new, q / book_density(p, d))
    back, _ = trade_through_book(-q, new, d * (new / p) ** 2, max_move=0.5)  # same density
    np.testing.assert_allclose(back, p, rtol=1e-12)


def test_exhausted_book_fills_the_rest_at_the_floor() -> None:
    p, d = np.array([100.0]), np.array([1e3])
    q = np.array([1000.0])  # would move the price by 100 %
    new, avg = trade_through_book(q, p, d, max_move=0.5)
    assert new[0] == pytest.approx(50.0)
    # 500 units fit in the book down to 50 (average 75), the other 500 fill at the floor
    in_book = 0.5 * 100.0 * book_density(p, d)[0]
    assert in_book == pytest.approx(500.0)
    assert avg[0] == pytest.approx((500.0 * 75.0 + 500.0 * 50.0) / 1000.0)
    up, avg_up = trade_through_book(-q, p, d, max_move=0.5)  # a buy is capped the same way
    assert up[0] == pytest.approx(150.0) and avg_up[0] == pytest.approx(137.5)


def test_arbitrage_closes_the_gap_up_to_capacity() -> None:
    p, x, d = np.array([90.0]), np.array([100.0]), np.array([1e4])
    qty = arbitrage_quantity(p, x, d, recovery=0.5, capacity_usd=1e9)
    new, _ = trade_through_book(-qty, p, d, max_move=0.5)
    assert new[0] == pytest.approx(95.0)  # half the gap closed
    capped = arbitrage_quantity(p, x, d, recovery=0.5, capacity_usd=900.0)
    assert capped[0] == pytest.approx(10.0)
    assert arbitrage_quantity(x, p, d, 0.5, 1e9)[0] < 0  # above the reference: they sell


def test_depth_is_withdrawn_only_above_the_reference_vol() -> None:
    d0, ref = np.array([1e6, 1e6]), np.array([0.04, 0.04])
    out = depth_at_vol(d0, np.array([0.02, 0.08]), ref, elasticity=1.0)
    np.testing.assert_allclose(out, [1e6, 5e5])


@pytest.mark.parametrize("model", ["isolated", "cross", "standard", "risk_matrix", "var", "dynamic"])
def test_accounts_open_at_their_initial_margin_or_desired_size(small: Scenario, model: str) -> None:
    traders = draw_traders(small.traders, small.assets, seed_streams(7)["traders"])
    spec = small.select_models([model])[0]
    policy = policy_for(small, spec, calibration_history(small))
    p0 = np.array([50_000.0, 3_000.0])
    acc = open_accounts(traders, [(policy, np.arange(traders.n))], p0)
    _, im = policy.requirements(acc.q, p0)
    equity = acc.cash + acc.q @ p0
    # equity is the posted collateral; per trader the collateral and wallet are conserved
    np.testing.assert_allclose(np.bincount(acc.owner, equity, traders.n), traders.collateral, rtol=1e-12)
    np.testing.assert_allclose(np.bincount(acc.owner, acc.wallet, traders.n), traders.wallet, rtol=1e-12)
    assert np.all(im <= equity * (1 + 1e-9))
    # a position is either the desired one or sized so IM uses all the collateral
    desired = np.zeros_like(acc.q)
    for j, i in enumerate(acc.owner):
        mask = acc.q[j] != 0
        desired[j, mask] = traders.desired[i, mask] / p0[mask]
    at_desired = np.all(np.isclose(acc.q, desired, rtol=1e-12), axis=1)
    at_im = np.isclose(im, equity, rtol=1e-6)
    assert np.all(at_desired | at_im)
    assert at_im.sum() > 0
    if model == "isolated":
        assert np.all((acc.q != 0).sum(axis=1) == 1) and acc.m > traders.n
    else:
        assert acc.m == traders.n


def test_population_is_deterministic_and_shaped_by_the_spec(small: Scenario, make_small: Any) -> None:
    a = draw_traders(small.traders, small.assets, seed_streams(3)["traders"])
    b = draw_traders(small.traders, small.assets, seed_streams(3)["traders"])
    np.testing.assert_array_equal(a.desired, b.desired)
    big = small.model_copy(update={"traders": small.traders.model_copy(update={"n": 20_000})})
    t = draw_traders(big.traders, big.assets, seed_streams(3)["traders"])
    long_share = (t.desired > 0).sum() / (t.desired != 0).sum()
    assert long_share == pytest.approx(0.8, abs=0.02)
    multi = ((t.desired != 0).sum(axis=1) == 2).mean()
    assert multi == pytest.approx(0.4, abs=0.02)
    assert np.median(t.collateral) == pytest.approx(5000.0, rel=0.05)
    lev = np.abs(t.desired).sum(axis=1) / t.collateral
    assert lev.max() <= 40.0 + 1e-9
    assert np.mean(t.wallet / t.collateral) == pytest.approx(0.3, rel=0.05)
