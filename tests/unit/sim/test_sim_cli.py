"""``zkmargin simulate``: outputs, provenance, determinism, bad input, nothing half-written."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from zkmargin.cli import main


@pytest.fixture
def scenario_file(tmp_path: Path, make_small: Any) -> Path:
    file = tmp_path / "small.json"
    file.write_text(json.dumps(make_small()))
    return file


def test_simulate_writes_summary_timeseries_and_plots(tmp_path: Path, scenario_file: Path) -> None:
    out = tmp_path / "out"
    rc = main(
        [
            "simulate",
            "--scenario",
            str(scenario_file),
            "--seed",
            "11",
            "--out",
            str(out),
            "-q",
            "--models",
            "cross,dynamic",
        ]
    )
    assert rc == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(
        [
            "summary.csv",
            "summary.json",
            "timeseries.csv",
            "scenario.json",
            "price.png",
            "liquidations.png",
            "insurance_fund.png",
            "margin_rate.png",
            "bad_debt.png",
            "summary.png",
        ]
    )
    doc = json.loads((out / "summary.json").read_text())
    assert doc["seed"] == 11 and len(doc["scenario_sha256"]) == 64
    assert [r["model"] for r in doc["summary"]] == ["cross", "dynamic"]
    rows = list(csv.DictReader((out / "summary.csv").open()))
    assert {r["seed"] for r in rows} == {"11"} and {r["scenario_sha256"] for r in rows} == {
        doc["scenario_sha256"]
    }
    assert float(rows[0]["bad_debt_usd"]) == doc["summary"][0]["bad_debt_usd"]
    ts = list(csv.DictReader((out / "timeseries.csv").open()))
    steps = doc["path"]["steps"] + 1
    assert len(ts) == 2 * 2 * steps  # two models, impact on and off
    on = [r for r in ts if r["model"] == "cross" and r["impact"] == "on"]
    assert sum(float(r["liquidation_volume_usd"]) for r in on) == pytest.approx(
        doc["summary"][0]["liquidation_volume_usd"]
    )
    for r in doc["summary"]:
        assert 0 < r["margin_rate_start_pct"] <= r["margin_rate_peak_pct"] < 100
    from offchain.sim.report import PLOTS

    assert sorted(p.name for p in out.glob("*.png")) == sorted(PLOTS)
    for png in out.glob("*.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_simulate_is_deterministic_for_a_seed(tmp_path: Path, scenario_file: Path) -> None:
    args = [
        "simulate",
        "--scenario",
        str(scenario_file),
        "--seed",
        "5",
        "-q",
        "--no-plots",
        "--models",
        "var",
    ]
    assert main([*args, "--out", str(tmp_path / "a")]) == 0
    assert main([*args, "--out", str(tmp_path / "b")]) == 0
    for name in ("summary.json", "summary.csv", "timeseries.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert main([*args[:4], "6", *args[5:], "--out", str(tmp_path / "c")]) == 0
    assert (tmp_path / "a" / "timeseries.csv").read_bytes() != (
        tmp_path / "c" / "timeseries.csv"
    ).read_bytes()


def test_bad_scenario_exits_2_and_writes_nothing(tmp_path: Path, make_small: Any, capsys: Any) -> None:
    data = make_small()
    data["traders"]["n"] = 0
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    out = tmp_path / "out"
    assert main(["simulate", "--scenario", str(bad), "--out", str(out)]) == 2
    assert "error: bad.json:traders.n: " in capsys.readouterr().err
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.json"]


def test_unknown_model_and_missing_file_exit_2(tmp_path: Path, scenario_file: Path, capsys: Any) -> None:
    assert (
        main(["simulate", "--scenario", str(scenario_file), "--models", "nope", "--out", str(tmp_path / "o")])
        == 2
    )
    assert "error: models: unknown model(s) ['nope']" in capsys.readouterr().err
    assert main(["simulate", "--scenario", str(tmp_path / "missing.json")]) == 2
    assert "error: scenario: file" in capsys.readouterr().err
    assert main(["simulate", "--scenario", str(scenario_file), "--seed", "-3"]) == 2
    assert not (tmp_path / "o").exists()


def test_refuses_to_overwrite_a_foreign_directory(tmp_path: Path, scenario_file: Path, capsys: Any) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    assert main(["simulate", "--scenario", str(scenario_file), "--out", str(out), "-q", "--no-plots"]) == 2
    assert "error: --out: " in capsys.readouterr().err
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
    # a previous simulate output is replaced as a whole
    prev = tmp_path / "prev"
    args = [
        "simulate",
        "--scenario",
        str(scenario_file),
        "-q",
        "--no-plots",
        "--models",
        "cross",
        "--out",
        str(prev),
    ]
    assert main(args) == 0
    assert main(args) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine", "prev", "small.json"]


def test_failure_mid_write_leaves_no_output(tmp_path: Path, scenario_file: Path, monkeypatch: Any) -> None:
    from offchain.sim import report

    def boom(*_: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(report, "_write_timeseries_csv", boom)
    out = tmp_path / "out"
    with pytest.raises(RuntimeError):
        main(
            [
                "simulate",
                "--scenario",
                str(scenario_file),
                "--out",
                str(out),
                "-q",
                "--no-plots",
                "--models",
                "cross",
            ]
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["small.json"]


def test_mixed_venue_breakdown_adds_up(tmp_path: Path, scenario_file: Path) -> None:
    out = tmp_path / "mixed"
    args = ["simulate", "--scenario", str(scenario_file), "--out", str(out), "-q", "--no-plots", "--mixed"]
    assert main(args) == 0
    doc = json.loads((out / "summary.json").read_text())
    venue, rows = doc["mixed_venue"]["venue"], doc["mixed_venue"]["by_model"]
    assert [r["model"] for r in rows] == [r["model"] for r in doc["summary"]]
    assert sum(r["traders"] for r in rows) == 40
    assert sum(r["liquidation_volume_usd"] for r in rows) == pytest.approx(venue["liquidation_volume_usd"])
    assert sum(r["liquidations"] for r in rows) == venue["liquidations"]
    assert sum(r["bad_debt_usd"] for r in rows) == pytest.approx(venue["bad_debt_usd"])
    assert venue["liquidations"] > 0
    assert abs(venue["cash_conservation_error_usd"]) < 1e-6
    mixed_rows = list(csv.DictReader((out / "summary_mixed.csv").open()))
    assert len(mixed_rows) == len(rows) and mixed_rows[0]["seed"] == str(doc["seed"])
    ts = [r for r in csv.DictReader((out / "timeseries.csv").open()) if r["model"] == "mixed"]
    assert len(ts) == 2 * (doc["path"]["steps"] + 1)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (
            lambda d: d["path"]["forced_jumps"][0].update(day=9.0),
            "error: path.forced_jumps[0].day: day 9.0 is outside",
        ),
        (
            lambda d: d["calibration"].update(start="2020-06-01"),
            "error: calibration.start: history for BTC covers",
        ),
        (
            lambda d: d["models"][4]["config"].update(method="bootstrap"),
            "error: small.json:models[4].config.method",
        ),
    ],
)
def test_semantic_errors_name_the_scenario_field(
    tmp_path: Path, make_small: Any, capsys: Any, mutate: Any, message: str
) -> None:
    data = make_small()
    mutate(data)
    file = tmp_path / "small.json"
    file.write_text(json.dumps(data))
    out = tmp_path / "out"
    assert main(["simulate", "--scenario", str(file), "--out", str(out), "-q"]) == 2
    assert message in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["small.json"]


def test_a_foreign_out_is_refused_before_the_simulation_runs(
    tmp_path: Path, scenario_file: Path, monkeypatch: Any, capsys: Any
) -> None:
    from offchain.sim import cli as sim_cli

    def must_not_run(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the simulation ran before --out was checked")

    monkeypatch.setattr(sim_cli, "compare_models", must_not_run)
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    assert main(["simulate", "--scenario", str(scenario_file), "--out", str(out), "-q"]) == 2
    assert f"error: --out: {out} is not empty and is not a previous simulate output" in capsys.readouterr().err
