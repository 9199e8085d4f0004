"""SQL over sweep results (DuckDB) against the Parquet files read directly with pyarrow, the
named reports (CSV + PNG) and the bootstrap confidence intervals against normal theory."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from _sweep_testlib import write_sweep

from offchain.sim.results import Results, bootstrap_ci
from offchain.sim.sweep import load_sweep
from offchain.sim.sweep_runner import run_sweep
from zkmargin.cli import main
from zkmargin.errors import InputError
from zkmargin.executor import make_executor


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two finished sweeps side by side: ``tiny`` (3 replicates x latency 0, 6) and ``wide``."""
    folder = tmp_path_factory.mktemp("results")
    with make_executor("sequential") as ex:
        run_sweep(load_sweep(write_sweep(folder, count=3)), folder / "sweeps" / "tiny", ex)
        run_sweep(load_sweep(write_sweep(folder, name="wide", count=2, values=[2], timeseries=False)),
                  folder / "sweeps" / "wide", ex)
    return folder / "sweeps"


def parquet_rows(folder: Path, table: str) -> list[dict[str, object]]:
    return [r for f in sorted((folder / "tasks").glob(f"*/{table}.parquet")) for r in pq.read_table(f).to_pylist()]


def test_sql_agrees_with_the_parquet_files(root: Path) -> None:
    rows = parquet_rows(root / "tiny", "summary")
    with Results(root / "tiny") as res:
        cols, got = res.query("SELECT task, model, bad_debt_usd, param_latency FROM summary ORDER BY task, model")
        assert cols == ["task", "model", "bad_debt_usd", "param_latency"]
        assert got == [(r["task"], r["model"], r["bad_debt_usd"], r["param_latency"]) for r in rows]
        _, agg = res.query("SELECT model, avg(liquidation_volume_usd) FROM summary GROUP BY model ORDER BY model")
        for model, mean in agg:
            assert mean == pytest.approx(np.mean([r["liquidation_volume_usd"] for r in rows if r["model"] == model]))
        _, n = res.query("SELECT count(*) FROM timeseries")
        assert n[0][0] == sum(pq.read_metadata(f).num_rows for f in (root / "tiny" / "tasks").glob("*/timeseries.parquet"))
        _, plan = res.query("SELECT count(*), count(DISTINCT seed) FROM plan")
        assert plan == [(6, 3)]
        with pytest.raises(InputError) as exc:
            res.query("SELECT nope FROM summary")
        assert exc.value.field == "sql" and "nope" in exc.value.problem


def test_a_folder_of_sweeps_is_one_database(root: Path) -> None:
    with Results(root) as res:
        _, rows = res.query("SELECT sweep, count(DISTINCT task), count(*) FROM summary GROUP BY sweep ORDER BY sweep")
        assert rows == [("tiny", 6, 12), ("wide", 2, 4)]
        _, sweeps = res.query("SELECT sweep, tasks, finished, failed FROM sweeps ORDER BY sweep")
        assert sweeps == [("tiny", 6, 6, 0), ("wide", 2, 2, 0)]
        _, ts = res.query("SELECT DISTINCT sweep FROM timeseries")
        assert ts == [("tiny",)]  # "wide" keeps no time series


def test_query_command_prints_writes_csv_and_rejects_bad_sql(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sql = "SELECT model, count(*) AS n FROM summary GROUP BY model ORDER BY model"
    assert main(["results", "query", sql, "--dir", str(root / "tiny"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == [{"model": "cross", "n": 6}, {"model": "risk_matrix", "n": 6}]
    assert main(["results", "query", sql, "--dir", str(root / "tiny"), "--csv", str(tmp_path / "q.csv")]) == 0
    assert (tmp_path / "q.csv").read_text() == "model,n\ncross,6\nrisk_matrix,6\n"
    assert main(["results", "query", "SELEC 1", "--dir", str(root)]) == 2
    assert capsys.readouterr().err.startswith("error: sql: ")
    assert main(["results", "query", "SELECT 1", "--dir", str(tmp_path / "none")]) == 2
    assert "error: --dir: " in capsys.readouterr().err


def test_bootstrap_interval_matches_normal_theory_and_is_seeded() -> None:
    x = np.random.default_rng(3).normal(10.0, 2.0, 400)
    lo, hi = bootstrap_ci(x, "group", resamples=4000)
    half = 1.96 * x.std(ddof=1) / math.sqrt(x.size)
    assert lo < x.mean() < hi
    assert (hi - lo) / 2 == pytest.approx(half, rel=0.1)
    assert bootstrap_ci(x, "group", resamples=4000) == (lo, hi)
    assert bootstrap_ci(x, "other group", resamples=4000) != (lo, hi)
    assert all(math.isnan(v) for v in bootstrap_ci([1.0], "g"))
    assert bootstrap_ci([2.0, 2.0, 2.0], "g") == (2.0, 2.0)


def test_named_reports_write_csv_and_png(root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "reports"
    assert main(["results", "report", "all", "--dir", str(root / "tiny"), "--out", str(out), "--resamples", "500"]) == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(
        f"{n}.{ext}" for n in ("bad-debt", "latency", "procyclicality") for ext in ("csv", "png"))
    assert all((out / f"{n}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for n in ("bad-debt", "latency", "procyclicality"))
    rows = parquet_rows(root / "tiny", "summary")

    bad = list(csv.DictReader((out / "bad-debt.csv").open()))
    assert [(r["model"], r["param_latency"]) for r in bad] == [("cross", "0"), ("risk_matrix", "0"),
                                                               ("cross", "6"), ("risk_matrix", "6")]
    for r in bad:
        x = [s["bad_debt_usd"] for s in rows if s["model"] == r["model"] and s["param_latency"] == int(r["param_latency"])]
        assert int(r["tasks"]) == len(x) == 3
        assert float(r["bad_debt_usd_mean"]) == pytest.approx(np.mean(x))
        assert float(r["share_with_bad_debt"]) == pytest.approx(np.mean(np.array(x) > 0))
        if len(set(x)) > 1:
            assert min(x) <= float(r["bad_debt_usd_ci_low"]) <= float(r["bad_debt_usd_mean"]) <= float(r["bad_debt_usd_ci_high"]) <= max(x)

    lat = list(csv.DictReader((out / "latency.csv").open()))
    # the slow liquidator (400k of 550k capital) at latency L: capital-weighted mean 400/550 L
    assert sorted({float(r["liquidator_latency_mean_steps"]) for r in lat}) == [0.0, pytest.approx(6 * 400 / 550)]
    assert "param_latency" not in lat[0]  # the latency axis is the x axis, not a group

    pro = list(csv.DictReader((out / "procyclicality.csv").open()))
    for r in pro:
        ratios = [s["margin_rate_peak_to_trough"] for s in rows
                  if s["model"] == r["model"] and s["param_latency"] == int(r["param_latency"])]
        assert float(r["margin_rate_peak_to_trough_mean"]) == pytest.approx(np.mean(ratios))
        assert float(r["margin_rate_peak_to_trough_mean"]) >= 1.0

    # the same report twice is the same CSV (seeded bootstrap); default folder <dir>/reports
    assert main(["results", "report", "bad-debt", "--dir", str(root / "tiny"), "--resamples", "500"]) == 0
    assert (root / "tiny" / "reports" / "bad-debt.csv").read_text() == (out / "bad-debt.csv").read_text()
    capsys.readouterr()


def test_procyclicality_measures_against_the_time_series(root: Path) -> None:
    with Results(root / "tiny") as res:
        _, rows = res.query(
            "SELECT s.task, s.model, s.margin_rate_peak_to_trough, s.margin_rate_trough_pct, "
            "max(t.margin_rate_pct) FILTER (WHERE t.open_interest_usd > 0), "
            "min(t.margin_rate_pct) FILTER (WHERE t.open_interest_usd > 0) "
            "FROM summary s JOIN timeseries t USING (task, model) GROUP BY ALL ORDER BY ALL")
    assert len(rows) == 12
    for _, _, ratio, trough, peak_ts, trough_ts in rows:
        assert trough == pytest.approx(trough_ts, rel=1e-12)
        assert ratio == pytest.approx(peak_ts / trough_ts, rel=1e-12)
