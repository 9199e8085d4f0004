"""The dashboard pages through Streamlit's own app-testing API (no browser, no chain): the margin
calculator against the risk engine called directly, the results explorer on a simulator run made
here and on a Parquet sweep (pyarrow, DuckDB SQL), the live page without a deployment, and the
CLI's input checks. The live page against a devnet, in a real browser, is
tests/devnet/test_dashboard_browser.py."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from streamlit.testing.v1 import AppTest

from offchain.dashboard.chain import fmt_units, parse_units
from offchain.dashboard.settings import ENV_RESULTS, ENV_RPC, ENV_STATE
from offchain.risk.io import load_portfolio
from offchain.risk.margin import get_model
from offchain.risk.margin.risk_matrix import PRESETS

ROOT = Path(__file__).resolve().parents[3]
VIEWS = ROOT / "offchain" / "dashboard" / "views"


def _rows(table) -> dict[str, dict[str, str]]:
    df = table.value
    return {str(i): {str(c): str(v) for c, v in row.items()} for i, row in df.iterrows()}


@pytest.mark.parametrize(("units", "decimals", "text"), [
    (0, 6, "0.000000"), (1, 6, "0.000001"), (-1_234_500_000, 6, "-1,234.500000"),
    (4_300_000_000_000, 8, "43,000.00000000"), (10**30 + 7, 6, "1,000,000,000,000,000,000,000,000.000007"),
])
def test_exact_amounts(units, decimals, text):
    assert fmt_units(units, decimals) == text and parse_units(text, decimals) == units


def test_calculator_shows_every_preset_as_the_risk_engine_computes_it():
    at = AppTest.from_file(str(VIEWS / "calculator.py"), default_timeout=120).run()
    assert not at.exception, at.exception
    portfolio, market = load_portfolio(ROOT / "examples" / "portfolio_hedged.json")
    rows = _rows(at.table[0])
    assert list(rows) == list(PRESETS)
    for preset in PRESETS:
        res = get_model("risk_matrix", {"preset": preset}).requirement(portfolio, market)
        worst = int(np.argmin(res.scenario_pnl))
        r = rows[preset]
        assert r["IM"] == f"{res.im:,.2f}" and r["MM"] == f"{res.mm:,.2f}"
        assert r["binding scenario"] == f"#{worst} of {len(res.scenario_pnl)}"
        assert r["binding PnL"] == f"{res.scenario_pnl[worst]:,.2f}"
        assert r["binding PnL"] == f"{-res.details['scan_risk']:,.2f}"  # the binding loss is the scan risk
    others = _rows(at.table[1])
    assert set(others) == {"cross", "standard_options"}  # options in the book: no isolated margin
    assert others["cross"]["MM"] == f"{get_model('cross', None).requirement(portfolio, market).mm:,.2f}"


def _tiny_simulation(out: Path) -> dict:
    from offchain.sim.report import write_outputs
    from offchain.sim.runner import compare_models
    from offchain.sim.scenario import parse_scenario

    doc = json.loads((ROOT / "scenarios" / "gbm_jump_crash.json").read_text())
    doc["path"].update(days=1, steps_per_day=24, forced_jumps=[{"day": 0.5, "log_return": {"BTC": -0.15, "ETH": -0.2}}])
    doc["traders"]["n"] = 60
    doc["models"] = [m for m in doc["models"] if m["name"] in ("isolated", "cross")]
    comp = compare_models(parse_scenario(doc), 5, no_impact_runs=False)
    write_outputs(comp, out, plots=False)
    return json.loads((out / "summary.json").read_text())


def test_results_explorer_reads_a_simulation_and_a_sweep(tmp_path, monkeypatch):
    summary = _tiny_simulation(tmp_path / "runs" / "tiny")
    sweep = tmp_path / "runs" / "sweep-1"
    sweep.mkdir()
    df = pd.DataFrame({"seed": [1, 1, 2, 2], "model": ["a", "b", "a", "b"], "bad_debt_usd": [1.5, 0.0, 2.5, 4.0]})
    pq.write_table(pa.Table.from_pandas(df), sweep / "runs.parquet")
    monkeypatch.setenv(ENV_RESULTS, str(tmp_path / "runs"))

    at = AppTest.from_file(str(VIEWS / "results.py"), default_timeout=60).run()
    assert not at.exception, at.exception
    options = at.selectbox[0].options
    assert len(options) == 2 and options[0].startswith("simulation: ") and options[1].startswith("sweep: sweep-1")
    rows = _rows(at.table[0])
    assert set(rows) == {"isolated", "cross"}
    for row in summary["summary"]:
        assert rows[row["model"]]["bad_debt_usd"] == f"{row['bad_debt_usd']:,.2f}"
    # the charts: bad debt by model, the venue price vs the exogenous path, liquidations, insurance fund, bad debt
    assert len(at.get("vega_lite_chart")) == 5

    at.selectbox[0].select(options[1]).run()
    assert not at.exception, at.exception
    shown = at.dataframe[0].value
    assert shown.equals(df)
    at.text_area[0].input('SELECT model, SUM(bad_debt_usd) AS total FROM "runs" GROUP BY model ORDER BY model').run()
    assert not at.exception, at.exception
    result = at.dataframe[1].value
    assert result.to_dict("list") == {"model": ["a", "b"], "total": [4.0, 4.0]}


def test_live_page_names_a_missing_deployment(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_STATE, str(tmp_path / "nothing"))
    monkeypatch.setenv(ENV_RPC, "http://127.0.0.1:9")
    at = AppTest.from_file(str(VIEWS / "live.py"), default_timeout=30).run()
    assert not at.exception
    assert "deployment.json: no deployment here" in at.error[0].value


@pytest.mark.parametrize(("args", "field"), [
    (["--rpc", "ftp://127.0.0.1:8545"], "--rpc"),
    (["--port", "0"], "--port"),
])
def test_cli_refuses_bad_input(args, field):
    proc = subprocess.run([sys.executable, "-m", "zkmargin.cli", "dashboard", *args], check=False, capture_output=True,
                          text=True, timeout=60, cwd=ROOT)
    assert proc.returncode == 2 and field in proc.stderr


def test_cli_names_a_bad_tiers_file(tmp_path):
    bad = tmp_path / "tiers.json"
    bad.write_text(json.dumps({"tiers": [{"name": "a", "min_ratio": 1}, {"name": "b", "min_ratio": 2}, {"name": "c"}]}))
    proc = subprocess.run([sys.executable, "-m", "zkmargin.cli", "dashboard", "--tiers-config", str(bad)],
                          check=False, capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert proc.returncode == 2 and str(bad) in proc.stderr and "decrease" in proc.stderr
