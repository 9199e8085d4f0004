"""The risk CLI: JSON output, exit codes and error messages for bad input, atomic outputs."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from zkmargin.cli import main

EX = Path(__file__).resolve().parents[3] / "examples"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    rc = main(list(args))
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_margin_json_every_model(capsys: pytest.CaptureFixture[str]) -> None:
    cases = [
        ("portfolio_options.json", "risk_matrix", ["--preset", "deribit_pm"]),
        ("portfolio_hedged.json", "risk_matrix", ["--config", str(EX / "config_span_custom.json")]),
        ("portfolio_perps.json", "isolated", ["--config", str(EX / "config_isolated.json")]),
        ("portfolio_perps.json", "cross", ["--config", str(EX / "config_cross_oi.json")]),
        ("portfolio_options.json", "standard_options", []),
        ("portfolio_hedged.json", "var", ["--config", str(EX / "config_var.json")]),
        ("portfolio_hedged.json", "dynamic", ["--config", str(EX / "config_dynamic.json")]),
    ]
    for pf, model, extra in cases:
        rc, out, err = run(capsys, "margin", "--portfolio", str(EX / pf), "--model", model, *extra, "--json")
        assert rc == 0, err
        d = json.loads(out)
        assert d["model"] == model
        assert d["account"]["im"] >= d["account"]["mm"] >= 0
        assert d["result"]["im"] == d["account"]["im"]
        if model == "risk_matrix":
            assert len(d["result"]["scenario_pnl"]) == len(d["result"]["scenarios"])


def test_margin_human_output(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = run(capsys, "margin", "--portfolio", str(EX / "portfolio_options.json"), "--model", "risk_matrix", "--moves")
    assert rc == 0 and "scenario PnL" in out and "exhausting move down" in out


def test_price_hull(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = run(capsys, "price", "--spot", "42", "--strike", "40", "--vol", "0.2", "--years", "0.5",
                     "--rate", "0.1", "--type", "put", "--json")
    assert rc == 0 and json.loads(out)["price"] == pytest.approx(0.8086, abs=5e-5)


def test_var_backtest_json(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = run(capsys, "var", "--history", str(EX / "history_btc_eth_2021.csv"), "--lookback", "120",
                       "--backtest", "--exposure", "BTC=1000000", "--json")
    assert rc == 0, err
    d = json.loads(out)
    assert d["backtest"]["observations"] > 200 and "kupiec_p_value" in d["backtest"]
    rc, out, err = run(capsys, "var", "--history", str(EX / "history_btc_eth_2021.csv"), "--portfolio",
                       str(EX / "portfolio_hedged.json"), "--method", "monte_carlo", "--paths", "2000", "--json")
    assert rc == 0, err
    assert json.loads(out)["portfolio"]["es"] >= json.loads(out)["portfolio"]["var"]


def test_batch_and_epoch(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out_file = tmp_path / "res.csv"
    rc, out, err = run(capsys, "batch", "--market", str(EX / "market.json"), "--synthetic", "2000",
                       "--out", str(out_file), "--json")
    assert rc == 0, err
    assert json.loads(out)["accounts"] == 2000
    assert len(out_file.read_text().splitlines()) == 2001
    ep = tmp_path / "epoch.json"
    rc, out, err = run(capsys, "epoch", "--market", str(EX / "market.json"), "--listing", str(EX / "listing.json"),
                       "--epoch-id", "3", "--out", str(ep), "--json")
    assert rc == 0, err
    d = json.loads(ep.read_text())
    assert d["epoch_id"] == 3 and str(d["digest"]) == json.loads(out)["digest"]


# ------------------------------------------------------------------------------ bad input
def _portfolio(tmp_path: Path, mutate) -> Path:  # type: ignore[no-untyped-def]
    d = json.loads((EX / "portfolio_options.json").read_text())
    mutate(d)
    p = tmp_path / "pf.json"
    p.write_text(json.dumps(d))
    return p


BAD = [
    ("unknown instrument", lambda d: d["positions"][1].update(instrument="NOPE"), "positions[1].instrument", "unknown"),
    ("negative price", lambda d: d["market"]["spots"].update(BTC=-5.0), "market.spots.BTC", "> 0"),
    ("NaN vol", lambda d: d["market"]["vols"].update({"BTC-26JAN24-45000-C": math.nan}), "market.vols.BTC-26JAN24-45000-C", "finite"),
    ("infinite price", lambda d: d["market"]["perp_marks"].update({"BTC-PERP": math.inf}), "market.perp_marks.BTC-PERP", "finite"),
    ("expired option", lambda d: d["market"].update(timestamp="2024-02-01T00:00:00Z"), "positions[1].instrument.expiry", "expired"),
    ("mismatched underlying", lambda d: d["instruments"][3].update(underlying="SOL"), "positions[1].instrument.underlying", "SOL"),
    ("empty portfolio", lambda d: d.update(positions=[]), "positions", "no positions"),
    ("NaN size", lambda d: d["positions"][0].update(size=math.nan), "positions[0].size", "finite"),
    ("negative strike", lambda d: d["instruments"][3].update(strike=-1), "instruments[3].strike", "greater than 0"),
    ("bad haircut", lambda d: d["collateral"][1].update(haircut=1.5), "collateral[1].haircut", "less than 1"),
    ("absurd size", lambda d: d["positions"][0].update(size=1e300), "positions[0].size", "at most 1e+08 units"),
    ("huge short", lambda d: d["positions"][0].update(size=-1e9), "positions[0].size", "got -1e+09"),
    ("absurd cash", lambda d: d.update(cash=1e300), "cash", "at most 1e+15"),
    ("absurd collateral", lambda d: d["collateral"][0].update(amount=1e300), "collateral[0].amount", "at most 1e+15"),
    ("typo in a position key", lambda d: d["positions"][0].update(sise=d["positions"][0].pop("size")),
     "positions[0].sise", "unknown key 'sise' (allowed keys: instrument, size, entry_price, margin)"),
    ("typo in an instrument key", lambda d: d["instruments"][3].update(strik=d["instruments"][3].pop("strike")),
     "instruments[3].strik", "unknown key 'strik'"),
    ("typo at the top", lambda d: d.update(colateral=[]), "colateral",
     "unknown key 'colateral' (allowed keys: instruments, positions, collateral, cash, account, market, description)"),
    ("typo in the market", lambda d: d["market"].update(spot={}), "market.spot", "unknown key 'spot'"),
]


@pytest.mark.parametrize("name,mutate,field,words", BAD, ids=[b[0] for b in BAD])
def test_bad_input_exit_2_and_names_field(capsys: pytest.CaptureFixture[str], tmp_path: Path, name, mutate, field, words) -> None:  # type: ignore[no-untyped-def]
    p = _portfolio(tmp_path, mutate)
    rc, out, err = run(capsys, "margin", "--portfolio", str(p), "--model", "risk_matrix", "--json")
    assert rc == 2
    assert out == ""
    assert err.startswith(f"error: {field}: "), err
    assert words in err


def test_bad_model_config_and_files(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    pf = str(EX / "portfolio_options.json")
    rc, _, err = run(capsys, "margin", "--portfolio", pf, "--model", "nope")
    assert rc == 2 and err.startswith("error: model: unknown margin model")
    rc, _, err = run(capsys, "margin", "--portfolio", str(tmp_path / "missing.json"), "--model", "cross")
    assert rc == 2 and err.startswith("error: portfolio: file not found")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    rc, _, err = run(capsys, "margin", "--portfolio", str(bad), "--model", "cross")
    assert rc == 2 and "invalid JSON" in err
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps({"price_range": 2.0}))
    rc, _, err = run(capsys, "margin", "--portfolio", pf, "--model", "risk_matrix", "--config", str(cfg))
    assert rc == 2 and err.startswith("error: config.price_range: ")


def test_nothing_partial_written_on_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    m = json.loads((EX / "market.json").read_text())
    m["timestamp"] = "2024-06-01T00:00:00Z"  # every option of the listing has expired
    mf = tmp_path / "m.json"
    mf.write_text(json.dumps(m))
    ep = tmp_path / "epoch.json"
    rc, _, err = run(capsys, "epoch", "--market", str(mf), "--listing", str(EX / "listing.json"), "--epoch-id", "1",
                     "--out", str(ep))
    assert rc == 2 and "expired" in err
    assert list(tmp_path.iterdir()) == [mf]
    rc, _, err = run(capsys, "batch", "--market", str(EX / "market.json"), "--synthetic", "10", "--out",
                     str(tmp_path / "r.txt"))
    assert rc == 2 and err.startswith("error: --out:")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json"]


def test_compare_every_model(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = run(capsys, "compare", "--portfolio", str(EX / "portfolio_hedged.json"), "--history",
                       str(EX / "history_btc_eth_2021.csv"), "--json")
    assert rc == 0, err
    d = json.loads(out)
    names = [r["model"] for r in d["models"]]
    assert names == ["cross", "standard_options", "risk_matrix:deribit_pm", "risk_matrix:cme_span",
                     "risk_matrix:derive_pmrm", "var", "dynamic"]
    assert all(r["im"] >= r["mm"] >= 0 for r in d["models"])
    # the portfolio margin of a hedged book is below the per-position standard margin
    by = {r["model"]: r["mm"] for r in d["models"]}
    assert by["risk_matrix:deribit_pm"] < by["standard_options"]


@pytest.mark.parametrize(
    "args,field",
    [
        (["--spot", "100", "--strike", "100", "--vol", "0.5", "--days", "0"], "--days"),
        (["--spot", "100", "--strike", "-5", "--vol", "0.5", "--days", "10"], "--strike"),
        (["--spot", "100", "--strike", "100", "--vol", "nan", "--days", "10"], "--vol"),
        (["--spot", "inf", "--strike", "100", "--vol", "0.5", "--days", "10"], "--spot"),
        (["--spot", "100", "--strike", "100", "--premium", "150", "--days", "10"], "price"),
        (["--strike", "100", "--vol", "0.5", "--days", "10"], "--spot"),
    ],
)
def test_price_bad_input(capsys: pytest.CaptureFixture[str], args: list[str], field: str) -> None:
    rc, out, err = run(capsys, "price", *args)
    assert rc == 2 and out == "" and err.startswith(f"error: {field}: ")


def test_batch_from_accounts_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    import numpy as np

    acc = tmp_path / "acc.npz"
    # listing.json has 8 instruments; two accounts: long 1 BTC perp; short 2 BTC puts
    np.savez(acc, indptr=np.array([0, 1, 2]), indices=np.array([0, 4]), sizes=np.array([1.0, -2.0]))
    out = tmp_path / "r.npz"
    rc, _stdout, err = run(capsys, "batch", "--market", str(EX / "market.json"), "--listing", str(EX / "listing.json"),
                          "--accounts", str(acc), "--out", str(out), "--json")
    assert rc == 0, err
    with np.load(out) as z:
        im, mm = z["im"], z["mm"]
    assert im.shape == (2,) and np.all(im >= mm) and np.all(mm > 0)
    # the same numbers as the per-account CLI path
    from offchain.risk.instruments import Portfolio
    from offchain.risk.io import load_market
    from offchain.risk.margin import get_model
    from offchain.validation import load_json

    listing = load_json(EX / "listing.json")["instruments"]
    pf = Portfolio.model_validate({"instruments": listing, "positions": [{"instrument": listing[4]["symbol"], "size": -2.0}]})
    ref = get_model("risk_matrix").requirement(pf, load_market(EX / "market.json"))
    assert mm[1] == pytest.approx(ref.mm, rel=1e-12)
    bad = tmp_path / "bad.npz"
    np.savez(bad, indptr=np.array([0, 1]), indices=np.array([99]), sizes=np.array([1.0]))
    rc, _, err = run(capsys, "batch", "--market", str(EX / "market.json"), "--listing", str(EX / "listing.json"),
                     "--accounts", str(bad))
    assert rc == 2 and err.startswith("error: accounts.indices: ")


def test_margin_ratio_of_a_bankrupt_account_is_not_shown_as_infinite(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    # short 10 BTC perp entered at 20,000 with BTC marked far higher: equity < 0
    p = _portfolio(tmp_path, lambda d: d["positions"][0].update(size=-10.0, entry_price=20_000.0))
    rc, out, _ = run(capsys, "margin", "--portfolio", str(p), "--model", "cross")
    assert rc == 0
    assert "n/a (equity <= 0: bankrupt)" in out and " inf " not in out
    rc, out, _ = run(capsys, "margin", "--portfolio", str(p), "--model", "cross", "--json")
    d = json.loads(out)
    assert d["account"]["equity"] < 0 and d["account"]["margin_ratio"] is None


def test_var_says_what_it_is_on(capsys: pytest.CaptureFixture[str]) -> None:
    hist = str(EX / "history_btc_eth_2021.csv")
    rc, out, _ = run(capsys, "var", "--history", hist)
    assert rc == 0
    assert "VaR and ES on linear exposures of 1,000,000 USD long in each underlying of the history (BTC, ETH" in out
    rc, out, _ = run(capsys, "var", "--history", hist, "--portfolio", str(EX / "portfolio_hedged.json"), "--json")
    assert json.loads(out)["on"] == f"portfolio {EX / 'portfolio_hedged.json'} (6 positions)"
    rc, out, _ = run(capsys, "var", "--history", hist, "--exposure", "BTC=250000", "--json")
    assert json.loads(out)["on"] == "linear exposures BTC 250,000 USD"
