"""Sharded batch margin: the same arrays, bit for bit, as one process; synthetic accounts are
the same rows whatever the range they are drawn in; the CLI's sharded path writes the same file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from offchain.risk.batch import (
    SYNTHETIC_BLOCK,
    BatchEngine,
    run_sharded,
    shard_ranges,
    synthetic_accounts,
    synthetic_accounts_range,
    synthetic_listing,
)
from offchain.risk.margin.risk_matrix import preset_config
from offchain.risk.market import MarketState
from zkmargin.cli import main
from zkmargin.errors import InputError
from zkmargin.executor import make_executor

MARKET = MarketState.model_validate(
    {"timestamp": "2024-01-01T00:00:00Z", "spots": {"BTC": 40000.0, "ETH": 2000.0}, "rate": 0.03,
     "default_vol": {"BTC": 0.6, "ETH": 0.75}}
)
LISTING = synthetic_listing(MARKET, 30, seed=3)
FIELDS = ("im", "mm", "scan_risk", "worst_scenario")


def test_synthetic_rows_do_not_depend_on_the_range() -> None:
    n = SYNTHETIC_BLOCK + 500  # two blocks
    indptr, indices, sizes = synthetic_accounts(n, 30, 4, seed=5)
    for start, stop in [(0, 10), (SYNTHETIC_BLOCK - 7, SYNTHETIC_BLOCK + 9), (n - 3, n)]:
        p, i, s = synthetic_accounts_range(start, stop, 30, 4, seed=5)
        np.testing.assert_array_equal(p, indptr[: stop - start + 1])
        np.testing.assert_array_equal(i, indices[start * 4 : stop * 4])
        np.testing.assert_array_equal(s, sizes[start * 4 : stop * 4])
    rows = indices.reshape(n, 4)
    assert np.all(np.diff(rows, axis=1) > 0)  # distinct, sorted instruments per account
    assert not np.array_equal(synthetic_accounts(100, 30, 4, seed=6)[2], sizes[:400])


def test_shard_ranges_cover_the_accounts_in_order() -> None:
    assert shard_ranges(10, 3) == [(0, 3), (3, 6), (6, 10)]
    assert shard_ranges(2, 5) == [(0, 1), (1, 2)]
    assert shard_ranges(300_000, 3, SYNTHETIC_BLOCK) == [(0, 65536), (65536, 196608), (196608, 300000)]
    with pytest.raises(InputError):
        shard_ranges(10, 0)


@pytest.mark.parametrize("config", [preset_config("deribit_pm"), preset_config("cme_span", short_option_minimum=0.05),
                                    preset_config("derive_pmrm")], ids=["deribit", "short-minimum", "static-discount"])
def test_sharded_equals_one_process_bit_for_bit(config) -> None:  # type: ignore[no-untyped-def]
    engine = BatchEngine(LISTING, MARKET, config)
    arrays = synthetic_accounts(3000, 30, 5, seed=8)
    single = engine.run(engine.accounts_matrix(*arrays), chunk=256)
    with make_executor("sequential") as ex:
        for shards in (1, 4, 7):
            for res in (run_sharded(engine, ex, shards, accounts=arrays, chunk=100),
                        run_sharded(engine, ex, shards, synthetic=(3000, 5, 8))):
                for f in FIELDS:
                    np.testing.assert_array_equal(getattr(res, f), getattr(single, f))


def test_sharded_on_the_local_pool_and_the_cli(tmp_path: Path) -> None:
    engine = BatchEngine(LISTING, MARKET, "deribit_pm")
    single = engine.run(engine.accounts_matrix(*synthetic_accounts(4000, 30, 5, seed=1)))
    with make_executor("local", workers=2) as ex:
        res = run_sharded(engine, ex, 5, synthetic=(4000, 5, 1))
    for f in FIELDS:
        np.testing.assert_array_equal(getattr(res, f), getattr(single, f))

    market = Path(__file__).resolve().parents[3] / "examples" / "market.json"
    args = ["batch", "--market", str(market), "--synthetic", "3000", "--instruments", "40", "--json"]
    assert main([*args, "--out", str(tmp_path / "one.npz")]) == 0
    assert main([*args, "--out", str(tmp_path / "sharded.npz"), "--shards", "3", "--executor", "sequential"]) == 0
    np.savez(tmp_path / "acc.npz", **dict(zip(("indptr", "indices", "sizes"), synthetic_accounts(3000, 40, 5, seed=0))))
    files = ["--accounts", str(tmp_path / "acc.npz"), "--market", str(market), "--instruments", "40", "--json"]
    assert main(["batch", *files, "--out", str(tmp_path / "file.npz"), "--shards", "4", "--executor", "sequential"]) == 0
    with np.load(tmp_path / "one.npz") as a, np.load(tmp_path / "sharded.npz") as b, np.load(tmp_path / "file.npz") as c:
        for f in FIELDS:
            np.testing.assert_array_equal(a[f], b[f])
            np.testing.assert_array_equal(a[f], c[f])
    assert main([*args, "--executor", "ray"]) == 2
