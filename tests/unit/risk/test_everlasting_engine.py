"""Everlasting options throughout the risk engine: portfolio files, market marks, equity, greeks,
the risk matrix, VaR and dynamic margin, the batch engine and the integer epoch; the models
written for dated instruments refuse them naming the position."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from offchain.risk.account import equity
from offchain.risk.batch import BatchEngine
from offchain.risk.epoch import build_epoch, load_epoch
from offchain.risk.greeks import portfolio_greeks
from offchain.risk.instruments import EverlastingOption, Portfolio
from offchain.risk.margin import get_model
from offchain.risk.margin.risk_matrix import preset_config
from offchain.risk.market import MarketState
from offchain.risk.pricing.everlasting import everlasting_greeks, everlasting_price
from offchain.risk.valuation import InstrumentTable
from prover.statement import Epoch
from zkmargin.errors import InputError

ROOT = Path(__file__).resolve().parents[3]
WEEK = 7 * 86400

EVER_CALL = {"kind": "everlasting", "symbol": "BTC-EVER-45000-C", "underlying": "BTC", "strike": 45000,
             "option_type": "call", "funding_period_seconds": WEEK}
EVER_PUT = {"kind": "everlasting", "symbol": "BTC-EVER-40000-P", "underlying": "BTC", "strike": 40000,
            "option_type": "put", "funding_period_seconds": 86400, "lot_size": 0.01}
PERP = {"kind": "perp", "symbol": "BTC-PERP", "underlying": "BTC"}


def market() -> MarketState:
    data = json.loads((ROOT / "examples" / "market.json").read_text())
    data["vols"]["BTC-EVER-40000-P"] = 0.7
    return MarketState.model_validate(data)


def portfolio(positions: list[tuple[str, float]]) -> Portfolio:
    return Portfolio.model_validate({
        "instruments": [EVER_CALL, EVER_PUT, PERP],
        "positions": [{"instrument": s, "size": q} for s, q in positions],
        "collateral": [{"asset": "USDC", "amount": 50_000.0}],
    })


def test_parses_prices_and_values_like_an_option() -> None:
    mk = market()
    pf = portfolio([("BTC-EVER-45000-C", -2.0), ("BTC-EVER-40000-P", 1.0)])
    call, put = pf.instruments[0], pf.instruments[1]
    assert isinstance(call, EverlastingOption) and call.funding_period_years == pytest.approx(7 / 365)
    want_call = float(everlasting_price(42_000.0, 45_000.0, 0.6, 7 / 365, 0.04, True))  # default_vol BTC 0.6
    want_put = float(everlasting_price(42_000.0, 40_000.0, 0.7, 1 / 365, 0.04, False))  # vols[symbol]
    assert mk.mark(call) == pytest.approx(want_call, rel=1e-14)
    assert mk.mark(put) == pytest.approx(want_put, rel=1e-14)
    # premium style: equity = collateral + sum size * mark
    assert equity(pf, mk) == pytest.approx(50_000.0 - 2 * want_call + want_put, rel=1e-12)


@pytest.mark.parametrize(("change", "field"), [
    ({"expiry": 1706256000}, "instruments[0].expiry"),
    ({"funding_period_seconds": 10}, "instruments[0].funding_period_seconds"),
    ({"option_type": "straddle"}, "instruments[0].option_type"),
])
def test_bad_instrument_fields_are_named(change: dict[str, object], field: str) -> None:
    from offchain.validation import parse_model

    with pytest.raises(InputError) as exc:
        parse_model(Portfolio, {"instruments": [{**EVER_CALL, **change}], "positions": [
            {"instrument": "BTC-EVER-45000-C", "size": 1.0}]})
    assert exc.value.field == field


def test_missing_vol_is_named() -> None:
    mk = market().model_copy(update={"default_vol": {}})
    pf = portfolio([("BTC-EVER-45000-C", 1.0)])
    with pytest.raises(InputError) as exc:
        get_model("risk_matrix", {"preset": "deribit_pm"}).requirement(pf, mk)
    assert exc.value.field == "positions[0].instrument"
    assert "vols or default_vol" in exc.value.problem


def test_greeks_include_everlasting_options() -> None:
    mk = market()
    pf = portfolio([("BTC-EVER-45000-C", -2.0), ("BTC-PERP", 0.5)])
    g = portfolio_greeks(pf, mk)["BTC"]
    e = everlasting_greeks(42_000.0, 45_000.0, 0.6, 7 / 365, 0.04, True)
    assert g["delta"] == pytest.approx(-2 * float(e.delta) + 0.5 * 42_030.0 / 42_000.0, rel=1e-12)
    assert g["gamma"] == pytest.approx(-2 * float(e.gamma), rel=1e-12)
    assert g["vega"] == pytest.approx(-2 * float(e.vega), rel=1e-12)
    # a short collects the funding: theta = +2 (mark - payoff) / T per year
    assert g["theta"] == pytest.approx(2 * float(e.price) / (7 / 365), rel=1e-12)


def test_risk_matrix_revalues_everlasting_options_in_every_scenario() -> None:
    mk = market()
    pf = portfolio([("BTC-EVER-45000-C", -3.0)])
    cfg = preset_config("deribit_pm")
    res = get_model("risk_matrix", {"preset": "deribit_pm"}).requirement(pf, mk)
    # by hand: -3 * (V(shocked spot, shocked vol) - V) * weight, vol shock scaled at DTE = 7 days
    scale = (30.0 / 7.0) ** cfg.short_term_vega_power
    v0 = float(everlasting_price(42_000.0, 45_000.0, 0.6, 7 / 365, 0.04, True))
    worst = 0.0
    for sc in res.scenarios:
        x = sc["spot_shock"]["BTC"]
        vs = sc["vol_shock"]
        vol = 0.6 * (1 + cfg.vol_up * scale) if vs > 0 else (0.6 * (1 - cfg.vol_down * scale) if vs < 0 else 0.6)
        pnl = -3.0 * (float(everlasting_price(42_000.0 * (1 + x), 45_000.0, vol, 7 / 365, 0.04, True)) - v0)
        worst = max(worst, -pnl * sc["weight"])
    assert res.details["scan_risk"] == pytest.approx(worst, rel=1e-10)
    # the option contingency applies to everlasting options too
    assert res.details["contingency"] == pytest.approx(3.0 * cfg.contingency.option * 42_000.0, rel=1e-12)
    assert res.mm == pytest.approx(worst + res.details["contingency"], rel=1e-12)


def test_var_and_dynamic_margin_everlasting_options() -> None:
    mk = market()
    pf = portfolio([("BTC-EVER-45000-C", -1.0), ("BTC-PERP", 0.3)])
    history = str(ROOT / "examples" / "history_btc_eth_2021.csv")
    for name in ("var", "dynamic"):
        res = get_model(name, {"history_file": history}).requirement(pf, mk)
        assert np.isfinite(res.im) and res.im >= res.mm > 0, name


@pytest.mark.parametrize("model", ["isolated", "cross", "standard_options", "derive_pm2"])
def test_dated_only_models_refuse_naming_the_position(model: str) -> None:
    pf = portfolio([("BTC-PERP", 1.0), ("BTC-EVER-45000-C", -1.0)])
    with pytest.raises(InputError) as exc:
        get_model(model, None).requirement(pf, market())
    assert exc.value.field == "positions[1].instrument"
    assert "everlasting option" in exc.value.problem and model in exc.value.problem


def test_span_refuses_naming_the_position() -> None:
    pf = portfolio([("BTC-EVER-40000-P", 2.0)])
    model = get_model("span", {"risk_parameters": str(ROOT / "examples" / "span_crypto.json")})
    with pytest.raises(InputError) as exc:
        model.requirement(pf, market())
    assert exc.value.field == "positions[0].instrument"


def test_batch_engine_agrees_with_the_model() -> None:
    mk = market()
    listing = portfolio([("BTC-PERP", 1.0)]).instruments
    engine = BatchEngine(listing, mk, "deribit_pm")
    sizes = [(-2.0, 0.0, 0.4), (1.0, -3.0, 0.0), (0.0, 5.0, -1.0)]
    q = engine.accounts_matrix(np.array([0, 3, 6, 9]), np.tile(np.arange(3), 3), np.array(sizes).ravel())
    out = engine.run(q)
    model = get_model("risk_matrix", {"preset": "deribit_pm"})
    for row, qs in enumerate(sizes):
        pos = [(s, x) for s, x in zip(("BTC-EVER-45000-C", "BTC-EVER-40000-P", "BTC-PERP"), qs) if x]
        res = model.requirement(portfolio(pos).model_copy(update={"collateral": []}), mk)
        assert out.mm[row] == pytest.approx(res.mm, rel=1e-10)


def test_epoch_carries_everlasting_marks_pnl_and_funding(tmp_path: Path) -> None:
    mk = market()
    listing = portfolio([("BTC-PERP", 1.0)]).instruments
    epoch = build_epoch(mk, listing, "deribit_pm", epoch_id=7)
    table = InstrumentTable.build(listing, mk)
    put_lot = 0.01
    assert epoch.marks[1] == round(float(table.mark[1]) * put_lot * 1e6)
    assert epoch.marks[0] == round(float(everlasting_price(42_000.0, 45_000.0, 0.6, 7 / 365, 0.04, True)) * 0.001 * 1e6)
    # the scenario PnL of the everlasting call per lot is its repricing, quantized
    res = get_model("risk_matrix", {"preset": "deribit_pm"}).requirement(portfolio([("BTC-EVER-45000-C", 0.001)]), mk)
    assert [round(p * 1e6) for p in res.scenario_pnl] == list(epoch.scenario_pnl[0])
    path = tmp_path / "epoch.json"
    epoch.write(str(path))
    data = json.loads(path.read_text())
    assert data["instruments"][0] == {"symbol": "BTC-EVER-45000-C", "kind": "everlasting", "underlying": "BTC",
                                      "lot_size": "0.001", "strike": 45000.0, "option_type": "call",
                                      "funding_period_seconds": WEEK}
    assert load_epoch(str(path)) == epoch
    # a funding index enters the digest D exactly as the statement hashes it
    funded = build_epoch(mk, listing, "deribit_pm", epoch_id=7, funding=[1234, -5, 0])
    st = funded.statement()
    assert st.fund == (1234, -5, 0) and funded.digest == st.digest() != epoch.digest
    assert funded.digest == Epoch.create(7, epoch.im_factor_bps, epoch.marks, epoch.scenario_pnl, epoch.addons,
                                         [1234, -5, 0]).digest()
    funded.write(str(path))
    assert load_epoch(str(path)) == funded
    with pytest.raises(InputError) as exc:
        build_epoch(mk, listing, "deribit_pm", epoch_id=7, funding=[1 << 64, 0, 0])
    assert exc.value.field == "funding[0]"
    with pytest.raises(InputError) as exc:
        build_epoch(mk, listing, "deribit_pm", epoch_id=7, funding=[0, 0])
    assert exc.value.field == "funding"


# ---------------------------------------------------------------------------------- the CLI
def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    from zkmargin.cli import main

    rc = main(list(args))
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_cli_price_everlasting_reproduces_deri(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = _cli(capsys, "price", "--spot", "40000", "--strike", "50000", "--vol", "1.0", "--funding-days", "7",
                      "--json")
    assert rc == 0
    d = json.loads(out)
    assert round(d["price"], 4) == 223.3667 and round(d["funding_per_day"], 4) == 31.9095
    rc, _, err = _cli(capsys, "price", "--spot", "40000", "--strike", "50000", "--vol", "1", "--funding-days", "7",
                      "--days", "3")
    assert rc == 2 and "--days" in err


def test_cli_margin_compare_and_epoch_with_everlasting(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    pf = str(ROOT / "examples" / "portfolio_everlasting.json")
    rc, out, err = _cli(capsys, "margin", "--portfolio", pf, "--model", "risk_matrix", "--json")
    assert rc == 0, err
    assert json.loads(out)["account"]["mm"] > 0
    rc, out, err = _cli(capsys, "compare", "--portfolio", pf, "--json")
    assert rc == 0, err
    rows = {r["model"]: r for r in json.loads(out)["models"]}
    assert rows["cross"]["im"] is None and "everlasting option" in rows["cross"]["note"]
    assert rows["risk_matrix:deribit_pm"]["im"] > 0
    listing = tmp_path / "listing.json"
    listing.write_text(json.dumps({"instruments": json.loads(Path(pf).read_text())["instruments"]}))
    rc, _, err = _cli(capsys, "epoch", "--market", str(ROOT / "examples" / "market.json"), "--listing", str(listing),
                      "--epoch-id", "3", "--out", str(tmp_path / "epoch.json"))
    assert rc == 0, err
    epoch = load_epoch(str(tmp_path / "epoch.json"))
    assert [i.kind for i in epoch.instruments] == ["perp", "everlasting", "everlasting"]
    assert all(m > 0 for m in epoch.marks)
