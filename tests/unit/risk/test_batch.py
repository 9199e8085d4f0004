"""The vectorized batch engine agrees account by account with the per-account engine."""

from __future__ import annotations

import numpy as np
import pytest

from offchain.risk.batch import BatchEngine, synthetic_accounts, synthetic_listing
from offchain.risk.instruments import Portfolio
from offchain.risk.margin import get_model
from offchain.risk.margin.risk_matrix import preset_config
from offchain.risk.market import MarketState
from zkmargin.errors import InputError

MARKET = MarketState.model_validate(
    {"timestamp": "2024-01-01T00:00:00Z", "spots": {"BTC": 40000.0, "ETH": 2000.0}, "rate": 0.03,
     "default_vol": {"BTC": 0.6, "ETH": 0.75}}
)
LISTING = synthetic_listing(MARKET, 60, seed=3)


@pytest.mark.parametrize(
    "config",
    [preset_config("deribit_pm"), preset_config("derive_pmrm"), preset_config("cme_span", short_option_minimum=0.05)],
    ids=["deribit_pm", "derive_pmrm(static discount)", "cme_span(short option minimum)"],
)
def test_batch_matches_per_account_engine(config) -> None:  # type: ignore[no-untyped-def]
    engine = BatchEngine(LISTING, MARKET, config)
    indptr, indices, sizes = synthetic_accounts(150, len(LISTING), 5, seed=11)
    res = engine.run(engine.accounts_matrix(indptr, indices, sizes), chunk=64)  # several chunks
    model = get_model("risk_matrix", config)
    listing_json = [i.model_dump() for i in LISTING]
    for a in range(150):
        sl = slice(indptr[a], indptr[a + 1])
        pos = [{"instrument": LISTING[j].symbol, "size": float(q)} for j, q in zip(indices[sl], sizes[sl])]
        ref = model.requirement(Portfolio.model_validate({"instruments": listing_json, "positions": pos}), MARKET)
        assert res.mm[a] == pytest.approx(ref.mm, rel=1e-10, abs=1e-8)
        assert res.im[a] == pytest.approx(ref.im, rel=1e-10, abs=1e-8)
        assert res.scan_risk[a] == pytest.approx(ref.details["scan_risk"], rel=1e-10, abs=1e-8)


def _netting_listing() -> list:  # type: ignore[type-arg]
    insts = [{"kind": "perp", "symbol": "BTC-PERP", "underlying": "BTC"},
             {"kind": "perp", "symbol": "ETH-PERP", "underlying": "ETH"},
             {"kind": "future", "symbol": "BTC-F1", "underlying": "BTC", "expiry": "2024-03-29T08:00:00Z"},
             {"kind": "future", "symbol": "BTC-F2", "underlying": "BTC", "expiry": "2024-06-28T08:00:00Z"}]
    for k in (35000, 40000, 45000):
        for t in ("call", "put"):
            insts.append({"kind": "option", "symbol": f"BTC-{k}-{t}", "underlying": "BTC",
                          "expiry": "2024-02-01T08:00:00Z", "strike": k, "option_type": t})
    return Portfolio.model_validate({"instruments": insts, "positions": [{"instrument": "BTC-PERP", "size": 1}]}).instruments


def test_batch_nets_contingencies_like_the_per_account_engine() -> None:
    # Deribit: calls and puts netted per strike, futures charged on the offsetting amount only
    listing = _netting_listing()
    config = preset_config("deribit_pm")
    engine = BatchEngine(listing, MARKET, config)
    indptr, indices, sizes = synthetic_accounts(200, len(listing), 6, seed=5)
    res = engine.run(engine.accounts_matrix(indptr, indices, sizes), chunk=37)
    model = get_model("risk_matrix", config)
    listing_json = [i.model_dump() for i in listing]
    netted = 0
    for a in range(200):
        sl = slice(indptr[a], indptr[a + 1])
        pos = [{"instrument": listing[j].symbol, "size": float(q)} for j, q in zip(indices[sl], sizes[sl])]
        ref = model.requirement(Portfolio.model_validate({"instruments": listing_json, "positions": pos}), MARKET)
        assert res.mm[a] == pytest.approx(ref.mm, rel=1e-10, abs=1e-8)
        alone = sum(r["contingency"] for r in ref.per_position)
        netted += ref.details["contingency"] < alone - 1e-9
    assert netted > 20  # the sample exercises the netting


def test_empty_accounts_and_duplicates() -> None:
    engine = BatchEngine(LISTING, MARKET, "deribit_pm")
    # account 0 empty, account 1 has the same instrument twice (netted), account 2 empty at the end
    indptr = np.array([0, 0, 2, 2])
    q = engine.accounts_matrix(indptr, np.array([0, 0]), np.array([1.0, -1.0]))
    res = engine.run(q)
    assert res.mm.tolist() == [0.0, 0.0, 0.0]


def test_bad_account_arrays() -> None:
    engine = BatchEngine(LISTING, MARKET, "deribit_pm")
    with pytest.raises(InputError) as exc:
        engine.accounts_matrix(np.array([0, 1]), np.array([999]), np.array([1.0]))
    assert exc.value.field == "accounts.indices"
    with pytest.raises(InputError) as exc:
        engine.accounts_matrix(np.array([0, 1]), np.array([1]), np.array([np.nan]))
    assert exc.value.field == "accounts.sizes"
    with pytest.raises(InputError) as exc:
        engine.accounts_matrix(np.array([1, 1]), np.array([1]), np.array([1.0]))
    assert exc.value.field == "accounts.indptr"


def test_synthetic_accounts_are_distinct_and_seeded() -> None:
    a = synthetic_accounts(1000, 200, 5, seed=1)
    b = synthetic_accounts(1000, 200, 5, seed=1)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    idx = a[1].reshape(1000, 5)
    assert all(len(set(r)) == 5 for r in idx)
