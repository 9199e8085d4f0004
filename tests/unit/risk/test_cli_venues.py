"""``zkmargin compare --venues``, ``margin --preset`` for every venue, SPAN and parametric VaR from
the CLI, and their bad-input errors (``error: <field>: <problem>``, exit 2, nothing written)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from offchain.risk.margin.presets import preset_names
from zkmargin.cli import main

EX = Path(__file__).resolve().parents[3] / "examples"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    rc = main(list(args))
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_compare_all_venues_writes_json_csv_png(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    rc, out, err = run(capsys, "compare", "--portfolio", str(EX / "portfolio_venues.json"), "--venues", "all",
                       "--span-file", str(EX / "span_crypto.json"), "--out", str(tmp_path), "--json")
    assert rc == 0, err
    d = json.loads(out)
    rows = {r["preset"]: r for r in d["venues"]}
    assert set(rows) == {*preset_names(), "span"}
    for r in rows.values():
        assert r["im"] >= r["mm"] >= 0 and r["binding"], r
        assert r["free_collateral"] == pytest.approx(d["equity"] - r["im"])
    # Deribit nets the 42,000 conversion per strike and the calendar's offsetting futures
    assert "BTC" in rows["deribit_pm"]["binding"] and "vol" in rows["deribit_pm"]["binding"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["compare.csv", "compare.json", "compare.png"]
    assert json.loads((tmp_path / "compare.json").read_text())["venues"] == d["venues"]
    table = list(csv.DictReader((tmp_path / "compare.csv").open()))
    assert [t["preset"] for t in table] == [r["preset"] for r in d["venues"]]
    assert float(table[0]["im"]) == pytest.approx(d["venues"][0]["im"])
    assert (tmp_path / "compare.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_compare_venue_that_refuses_the_collateral_says_why(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    # Aevo accepts USDC, USDT, aeUSD, ETH, WBTC only: the BTC collateral of this portfolio is refused
    rc, out, err = run(capsys, "compare", "--portfolio", str(EX / "portfolio_options.json"), "--venues",
                       "aevo_pm,deribit_pm", "--out", str(tmp_path), "--json")
    assert rc == 0, err
    rows = json.loads(out)["venues"]
    assert rows[0]["im"] is None and rows[0]["note"].startswith("collateral[1].asset: BTC is not accepted")
    assert rows[1]["im"] > 0
    rc, out, err = run(capsys, "compare", "--portfolio", str(EX / "portfolio_options.json"), "--venues", "all",
                       "--out", str(tmp_path / "h"))
    assert rc == 0 and "venues compared" in out and "n/a" in out


@pytest.mark.parametrize("args,field", [
    (["--venues", "deribit_pm,nope"], "--venues"),
    (["--venues", "all", "--span-file", "missing.json"], "config.risk_parameters"),
    (["--out", "x"], "--out"),
])
def test_compare_bad_input(capsys: pytest.CaptureFixture[str], tmp_path: Path, args: list[str], field: str) -> None:
    fixed = [a if a != "x" else str(tmp_path / "x") for a in args]
    rc, out, err = run(capsys, "compare", "--portfolio", str(EX / "portfolio_venues.json"), *fixed)
    assert rc == 2 and out == "" and err.startswith(f"error: {field}: "), err
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("preset", preset_names())
def test_margin_with_every_preset(capsys: pytest.CaptureFixture[str], preset: str) -> None:
    rc, out, err = run(capsys, "margin", "--portfolio", str(EX / "portfolio_venues.json"), "--preset", preset, "--json")
    assert rc == 0, err
    acc = json.loads(out)["account"]
    assert acc["im"] >= acc["mm"] > 0


def test_margin_preset_errors(capsys: pytest.CaptureFixture[str]) -> None:
    pf = str(EX / "portfolio_venues.json")
    rc, _, err = run(capsys, "margin", "--portfolio", pf, "--model", "risk_matrix", "--preset", "deribit_sm")
    assert rc == 2 and err.startswith("error: --preset: preset 'deribit_sm' configures model 'standard_options'")
    rc, _, err = run(capsys, "margin", "--portfolio", pf)
    assert rc == 2 and err.startswith("error: --model: ")
    rc, _, err = run(capsys, "margin", "--portfolio", pf, "--preset", "nope")
    assert rc == 2 and err.startswith("error: --preset: unknown preset")


def test_span_from_a_pa2_file_on_the_cli(capsys: pytest.CaptureFixture[str]) -> None:
    # examples/span_mcmillan.pa2: McMillan's CME covered write, scan risk 6,620; IM 1.1x (speculator)
    rc, out, err = run(capsys, "margin", "--portfolio", str(EX / "portfolio_sp_covered_write.json"), "--model",
                       "span", "--config", str(EX / "config_span_pa2.json"), "--json")
    assert rc == 0, err
    acc = json.loads(out)["account"]
    assert acc["mm"] == pytest.approx(6620.0) and acc["im"] == pytest.approx(7282.0)


@pytest.mark.parametrize("method", ["parametric_normal", "delta_gamma"])
def test_var_parametric_cli(capsys: pytest.CaptureFixture[str], method: str) -> None:
    rc, out, err = run(capsys, "var", "--history", str(EX / "history_btc_eth_2021.csv"), "--method", method,
                       "--portfolio", str(EX / "portfolio_hedged.json"), "--backtest", "--lookback", "120", "--json")
    assert rc == 0, err
    d = json.loads(out)
    assert d["portfolio"]["es"] >= d["portfolio"]["var"] > 0
    b = d["backtest"]
    assert b["basel_zone"] in ("green", "yellow", "red") and "christoffersen_p_cc" in b
