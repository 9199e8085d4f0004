"""Running sweeps: byte-identical Parquet on the sequential and local-pool executors, results
equal to the simulator run directly, resume without duplicates after a killed worker or a
killed sweep, failed tasks recorded with their seed and traceback, foreign folders refused."""

from __future__ import annotations

import functools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from _sweep_testlib import die_once, write_sweep

from offchain.sim import sweep_task
from offchain.sim.runner import compare_models
from offchain.sim.scenario import load_scenario, parse_scenario
from offchain.sim.sweep import load_sweep
from offchain.sim.sweep_runner import run_sweep
from zkmargin.cli import main
from zkmargin.errors import InputError
from zkmargin.executor import make_executor


def task_files(out: Path) -> dict[str, bytes]:
    """Every Parquet file of a results folder (relative path -> bytes)."""
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*.parquet"))}


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The tiny sweep run sequentially: (sweep file, results folder)."""
    folder = tmp_path_factory.mktemp("ref")
    file = write_sweep(folder)
    out = folder / "out"
    with make_executor("sequential") as ex:
        outcome = run_sweep(load_sweep(file), out, ex)
    assert (outcome.total, outcome.ran, outcome.skipped, outcome.failed) == (4, 4, 0, [])
    return file, out


def test_rows_are_the_simulator_run_directly(reference: tuple[Path, Path]) -> None:
    file, out = reference
    sweep = load_sweep(file)
    task = list(sweep.tasks())[3]
    rows = pq.read_table(out / "tasks" / task.key / "summary.parquet").to_pylist()
    # the scenario saved for reproduction is the task's, and the simulator on it with the
    # task's seed gives the same numbers
    scenario = load_scenario(out / "scenarios" / f"{task.scenario_sha256}.json")
    comp = compare_models(scenario, task.seed, ["cross", "risk_matrix"])
    assert [r["model"] for r in rows] == ["cross", "risk_matrix"]
    for row, ref in zip(rows, comp.summary):
        assert row["seed"] == task.seed and row["param_latency"] == 6 and row["task"] == task.key
        for col in ("bad_debt_usd", "liquidation_volume_usd", "liquidations", "margin_rate_peak_pct",
                    "bad_debt_no_impact_usd", "insurance_fund_drawdown_usd"):
            assert row[col] == ref[col], col
    assets = pq.read_table(out / "tasks" / task.key / "assets.parquet").to_pylist()
    assert [(a["model"], a["asset"]) for a in assets] == [("cross", "BTC"), ("cross", "ETH"),
                                                         ("risk_matrix", "BTC"), ("risk_matrix", "ETH")]
    assert assets[1]["cascade_amplification_pct"] == comp.summary[0]["cascade_amplification_pct_ETH"]
    ts = pq.read_table(out / "tasks" / task.key / "timeseries.parquet")
    steps = comp.with_impact["cross"].series.bad_debt.size
    assert ts.num_rows == 2 * steps
    assert ts.column("bad_debt_usd").to_pylist()[:steps] == comp.with_impact["cross"].series.bad_debt.tolist()
    plan = pq.read_table(out / "plan.parquet").to_pylist()
    assert [(p["task"], p["seed"]) for p in plan] == [(t.key, t.seed) for t in sweep.tasks()]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["sweep"]["sha256"] == sweep.sha256 and manifest["root_seed"] == 11
    assert manifest["packages"]["pyarrow"] and manifest["git_commit"]
    assert manifest["status"] == {"finished": 4, "failed": 0, "missing": 0}


def test_local_pool_gives_byte_identical_parquet_and_a_rerun_skips_everything(
    reference: tuple[Path, Path], tmp_path: Path
) -> None:
    file, ref_out = reference
    out = tmp_path / "pool"
    with make_executor("local", workers=2) as ex:
        first = run_sweep(load_sweep(file), out, ex)
        again = run_sweep(load_sweep(file), out, ex)
    assert (first.ran, again.ran, again.skipped) == (4, 0, 4)
    assert task_files(out) == task_files(ref_out)
    assert len(json.loads((out / "manifest.json").read_text())["runs"]) == 2


def test_a_worker_killed_mid_sweep_is_retried_without_duplicates(reference: tuple[Path, Path], tmp_path: Path) -> None:
    file, ref_out = reference
    out = tmp_path / "killed"
    fn = functools.partial(die_once, str(tmp_path))
    with make_executor("local", workers=2) as ex:
        outcome = run_sweep(load_sweep(file), out, ex, task_fn=fn)
    assert (tmp_path / "died-s00-g0000-r000001").exists()  # a worker did die
    assert (outcome.ran, outcome.failed) == (4, [])
    assert task_files(out) == task_files(ref_out)
    assert not list((out / "failures").iterdir()) and not list((out / ".partial").iterdir())


def test_a_failed_task_records_its_seed_and_traceback_and_the_rest_finish(
    reference: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    file, ref_out = reference
    sweep = load_sweep(file)
    bad = list(sweep.tasks())[1]  # replicate 1: its seed is shared by both grid points
    real = sweep_task.compare_models

    def flaky(scenario, seed, *args, **kwargs):  # type: ignore[no-untyped-def]
        if seed == bad.seed:
            raise FloatingPointError("the engine blew up")
        return real(scenario, seed, *args, **kwargs)

    monkeypatch.setattr(sweep_task, "compare_models", flaky)
    out = tmp_path / "out"
    assert main(["sweep", str(file), "--out", str(out), "--executor", "sequential", "-q"]) == 1
    err = capsys.readouterr().err
    assert "2 of 4 tasks failed" in err and "rerun the same command" in err
    failures = sorted((out / "failures").glob("*.json"))
    assert [f.stem for f in failures] == ["s00-g0000-r000001", "s00-g0001-r000001"]
    doc = json.loads(failures[0].read_text())
    assert doc["seed"] == bad.seed and doc["params"] == {"latency": 0} and doc["attempts"] == 1
    assert "FloatingPointError: the engine blew up" in doc["error"] and "Traceback" in doc["error"]
    assert f"--seed {bad.seed}" in doc["rerun"]
    assert sorted(p.name for p in (out / "tasks").iterdir()) == ["s00-g0000-r000000", "s00-g0001-r000000"]
    # the crash report's scenario reproduces the failing input
    rerun = parse_scenario(json.loads((out / doc["scenario_file"]).read_text()))
    with pytest.raises(FloatingPointError):
        flaky(rerun, doc["seed"], ["cross"])

    monkeypatch.setattr(sweep_task, "compare_models", real)
    assert main(["sweep", str(file), "--out", str(out), "--executor", "sequential", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert (result["skipped"], result["ran"], result["failed"]) == (2, 2, 0)
    assert not list((out / "failures").iterdir())
    assert task_files(out) == task_files(ref_out)


def test_a_killed_sweep_resumes_and_completes_without_duplicates(tmp_path: Path) -> None:
    file = write_sweep(tmp_path, name="slow", count=4, values=[0, 6], days=3.0)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "zkmargin.cli", "sweep", str(file), "--out", str(out), "--executor", "sequential", "-q"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if (out / "tasks").is_dir() and len(list((out / "tasks").iterdir())) >= 2:
            break
        time.sleep(0.01)
    assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = len(list((out / "tasks").iterdir()))
    assert 2 <= done_before < 8
    with make_executor("local", workers=2) as ex:
        outcome = run_sweep(load_sweep(file), out, ex)
    assert outcome.skipped == done_before and outcome.ran == 8 - done_before and outcome.complete
    with make_executor("sequential") as ex:
        run_sweep(load_sweep(file), tmp_path / "clean", ex)
    assert task_files(out) == task_files(tmp_path / "clean")
    from offchain.sim.results import Results

    with Results(out) as res:
        _, rows = res.query("SELECT count(*), count(DISTINCT (task, model)) FROM summary")
    assert rows == [(16, 16)]


def test_a_folder_of_another_sweep_or_other_files_is_refused(
    reference: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file, ref_out = reference
    other = write_sweep(tmp_path, name="other", values=[0, 7])
    before = task_files(ref_out)
    assert main(["sweep", str(other), "--out", str(ref_out), "-q"]) == 2
    assert "holds sweep 'tiny'" in capsys.readouterr().err
    assert task_files(ref_out) == before
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "notes.txt").write_text("mine")
    assert main(["sweep", str(file), "--out", str(tmp_path / "junk"), "-q"]) == 2
    assert "is not empty and holds no sweep" in capsys.readouterr().err
    assert sorted(p.name for p in (tmp_path / "junk").iterdir()) == ["notes.txt"]
    with pytest.raises(InputError), make_executor("sequential") as ex:
        run_sweep(load_sweep(other), ref_out, ex)
