"""Price-path generators: exact knots, closed forms, recursions, determinism, bad input."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from offchain.sim.paths import (
    DATA_DIR,
    SECONDS_PER_DAY,
    brownian_bridge_log,
    daily_closes,
    garch_path,
    gbm_jump_path,
    history_path,
    load_history,
)
from zkmargin.errors import InputError


def _csv_closes(name: str) -> dict[int, float]:
    with (DATA_DIR / name).open() as fh:
        return {int(r["timestamp"]) // 1000: float(r["price"]) for r in csv.DictReader(fh)}


def test_history_path_hits_every_daily_close_exactly() -> None:
    path = history_path(["BTC", "ETH"], "2021-05-10", "2021-05-24", 48, seed=3)
    assert path.prices.shape == (14 * 48 + 1, 2)
    assert path.assets == ("BTC", "ETH")
    btc = _csv_closes("btc_usd_daily_2021.csv")
    eth = _csv_closes("eth_usd_daily_2021.csv")
    for k in range(15):
        ts = int(path.timestamps[k * 48])
        assert ts % SECONDS_PER_DAY == 0
        assert path.prices[k * 48, 0] == pytest.approx(btc[ts], rel=1e-12)
        assert path.prices[k * 48, 1] == pytest.approx(eth[ts], rel=1e-12)
    # 19 May 2021 -> 20 May 2021 close: the crash day of the scenario
    assert btc[1621382400] == pytest.approx(43091.04144756922)
    assert np.all(np.diff(path.timestamps) == SECONDS_PER_DAY // 48)


def test_history_path_is_deterministic_and_seed_dependent() -> None:
    a = history_path("BTC", "2021-01-01", "2021-01-10", 24, seed=11)
    b = history_path("BTC", "2021-01-01", "2021-01-10", 24, seed=11)
    c = history_path("BTC", "2021-01-01", "2021-01-10", 24, seed=12)
    np.testing.assert_array_equal(a.prices, b.prices)
    assert not np.array_equal(a.prices, c.prices)
    np.testing.assert_array_equal(a.prices[::24], c.prices[::24])  # same knots


def test_brownian_bridge_variance_matches_closed_form() -> None:
    # Var of a Brownian bridge at fraction u of the interval is sigma^2 u (1 - u).
    rng = np.random.default_rng(0)
    n, sigma = 8, 0.05
    samples = np.stack([brownian_bridge_log(np.zeros(2001), n, sigma, rng) for _ in range(5)])
    mids = samples[:, 4::n][:, :-1].ravel()  # u = 1/2
    quarter = samples[:, 2::n].ravel()  # u = 1/4
    assert np.var(mids) == pytest.approx(sigma**2 * 0.25, rel=0.05)
    assert np.var(quarter) == pytest.approx(sigma**2 * 0.1875, rel=0.05)


def test_history_rejects_dates_outside_the_data_and_unknown_assets() -> None:
    with pytest.raises(InputError) as exc:
        history_path("BTC", "2020-12-01", "2021-01-05", 24, seed=1)
    assert exc.value.field == "start"
    with pytest.raises(InputError) as exc:
        history_path("DOGE", "2021-01-01", "2021-01-05", 24, seed=1)
    assert exc.value.field == "asset"
    with pytest.raises(InputError) as exc:
        history_path("BTC", "2021-01-05", "2021-01-01", 24, seed=1)
    assert exc.value.field == "end"
    with pytest.raises(InputError) as exc:
        history_path("BTC", "2021-01-01", "2021-01-05", 0, seed=1)
    assert exc.value.field == "steps_per_day"
    with pytest.raises(InputError) as exc:
        history_path("BTC", "2021-01-01", "2021-01-05", 24, seed=-1)
    assert exc.value.field == "seed"


def test_history_keeps_the_final_intraday_snapshot_but_daily_closes_skip_it() -> None:
    ts, _px = load_history("ETH")
    assert ts.size == 366 and ts[-1] % SECONDS_PER_DAY != 0
    t_days, _ = daily_closes("ETH", "2021-12-01", "2021-12-31")
    assert t_days.size == 31


def test_gbm_without_noise_is_the_closed_form_exponential() -> None:
    mu = 0.365  # per year -> 0.001 per day
    p = gbm_jump_path(100.0, days=10, steps_per_day=4, seed=5, mu_annual=mu, sigma_annual=0.0)
    t_days = np.arange(41) / 4
    np.testing.assert_allclose(p.prices[:, 0], 100.0 * np.exp(mu / 365.0 * t_days), rtol=1e-12)


def test_gbm_forced_jump_lands_at_the_requested_step() -> None:
    p = gbm_jump_path(
        {"BTC": 50_000.0, "ETH": 3_000.0},
        assets=["BTC", "ETH"],
        days=2,
        steps_per_day=10,
        seed=1,
        sigma_annual=0.0,
        forced_jumps=[(1.0, {"BTC": -0.2, "ETH": -0.3})],
    )
    r = np.diff(np.log(p.prices), axis=0)
    assert r[9] == pytest.approx([-0.2, -0.3], abs=1e-12)
    assert np.allclose(np.delete(r, 9, axis=0), 0.0)


def test_gbm_statistics_match_the_merton_model() -> None:
    lam, jm, js, sig = 2.0, -0.02, 0.01, 0.8
    p = gbm_jump_path(
        1.0,
        days=4000,
        steps_per_day=24,
        seed=9,
        sigma_annual=sig,
        jump_intensity_per_day=lam,
        jump_mean=jm,
        jump_std=js,
    )
    r = np.diff(np.log(p.prices[:, 0]))
    dt = 1 / 24
    var_theory = (sig**2 / 365) * dt + lam * dt * (jm**2 + js**2)
    assert np.var(r) == pytest.approx(var_theory, rel=0.05)
    assert p.meta["n_random_jumps"] == pytest.approx(lam * 4000, rel=0.05)
    # compensated drift: E[S_T / S_0] = 1 -> daily log-return mean = -(sig^2/2 + lam kappa)
    kappa = np.exp(jm + js**2 / 2) - 1
    mean_theory = (-0.5 * sig**2 / 365 - lam * kappa + lam * jm) * dt
    assert np.mean(r) == pytest.approx(mean_theory, abs=4 * np.sqrt(var_theory / r.size))


def test_gbm_is_deterministic_and_correlated() -> None:
    kw = {
        "assets": ["BTC", "ETH"],
        "days": 200,
        "steps_per_day": 24,
        "sigma_annual": 0.8,
        "correlation": 0.75,
    }
    a = gbm_jump_path({"BTC": 1.0, "ETH": 1.0}, seed=4, **kw)
    b = gbm_jump_path({"BTC": 1.0, "ETH": 1.0}, seed=4, **kw)
    np.testing.assert_array_equal(a.prices, b.prices)
    r = np.diff(np.log(a.prices), axis=0)
    assert np.corrcoef(r.T)[0, 1] == pytest.approx(0.75, abs=0.03)


def test_garch_follows_its_recursion_and_forced_shock() -> None:
    om, al, be = 1e-6, 0.1, 0.85
    p = garch_path(
        100.0, n_steps=500, steps_per_day=24, seed=2, omega=om, alpha=al, beta=be, shock_day=5.0, shock_z=-9.0
    )
    r = np.diff(np.log(p.prices[:, 0]))
    h = p.meta["conditional_variance"][:, 0]
    assert h[0] == pytest.approx(om / (1 - al - be))
    np.testing.assert_allclose(h[1:], om + al * r[:-1] ** 2 + be * h[:-1], rtol=1e-10)
    assert r[119] == pytest.approx(-9.0 * np.sqrt(h[119]), rel=1e-10)
    assert h[120] > 5 * h[119]  # volatility clustering after the crash


def test_garch_rejects_non_stationary_parameters() -> None:
    with pytest.raises(InputError) as exc:
        garch_path(100.0, n_steps=10, steps_per_day=24, seed=1, alpha=0.2, beta=0.85)
    assert exc.value.field == "beta"
    with pytest.raises(InputError) as exc:
        garch_path(-1.0, n_steps=10, steps_per_day=24, seed=1)
    assert exc.value.field == "s0[BTC]"
    with pytest.raises(InputError) as exc:
        gbm_jump_path(1.0, days=1, steps_per_day=10, seed=1, forced_jumps=[(5.0, -0.1)])
    assert exc.value.field == "forced_jumps[0].day"
