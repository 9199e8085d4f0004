"""SPAN fed by a risk-parameter file: McMillan's CME worked example, each charge the file
carries, engine-computed arrays with look-ahead, and CME's pa2 text layout."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest

from offchain.risk.instruments import Portfolio
from offchain.risk.margin import get_model
from offchain.risk.market import MarketState
from offchain.risk.pricing.black76 import black76_price
from offchain.risk.span_file import parse_pa2
from zkmargin.errors import InputError

T0 = 1_700_000_000
DAY = 86400
# McMillan, Options as a Strategic Investment (5th ed.), ch. 34: CME S&P 500 futures with a price
# scan range of $10,000; SPAN P/L of one long future, one long Dec 410 call, and the covered write
# (long future, short call), in SPAN scenario order (extreme rows already x 0.35). Published scan
# risks: long call 3,990, covered write 6,620, long future 10,000.
FUT_PNL = [0, 0, 3330, 3330, -3330, -3330, 6670, 6670, -6670, -6670, 10000, 10000, -10000, -10000, 7000, -7000]
CALL_PNL = [460, -610, 2640, 1730, -1270, -2340, 5210, 4540, -2540, -3430, 8060, 7640, -3380, -3990, 3130, -1500]
COVERED_PNL = [-460, 610, 690, 1600, -2060, -990, 1460, 2130, -4130, -3240, 1940, 2360, -6620, -6010, 3870, -5500]


def instruments() -> list[dict[str, Any]]:
    return [
        {"kind": "future", "symbol": "SP-DEC", "underlying": "SP", "expiry": T0 + 60 * DAY},
        {"kind": "option", "symbol": "SP-DEC-410-C", "underlying": "SP", "expiry": T0 + 60 * DAY, "strike": 410.0,
         "option_type": "call"},
    ]


def mcmillan_file() -> dict[str, Any]:
    return {"format": "zkmargin-span/1", "exchange": "CME", "source": "McMillan ch. 34",
            "combined_commodities": [{"code": "SP", "contracts": [
                {"instrument": "SP-DEC", "kind": "future", "month": "202412", "risk_array": [-x for x in FUT_PNL],
                 "composite_delta": 1.0},
                {"instrument": "SP-DEC-410-C", "kind": "call", "month": "202412",
                 "risk_array": [-x for x in CALL_PNL], "composite_delta": 0.55}],
                "short_option_minimum": 0.0}]}


MARKET = MarketState.model_validate({"timestamp": T0, "spots": {"SP": 410.0, "BTC": 40000.0, "ETH": 2000.0},
                                     "default_vol": {"SP": 0.16, "BTC": 0.6, "ETH": 0.75}})


def pf(positions: list[tuple[str, float]], insts: list[dict[str, Any]] | None = None) -> Portfolio:
    return Portfolio.model_validate({"instruments": insts or instruments(),
                                     "positions": [{"instrument": s, "size": q} for s, q in positions]})


def span(file: dict[str, Any], **kw: Any):  # type: ignore[no-untyped-def]
    return get_model("span", {"risk_parameters": file, **kw})


def test_mcmillan_worked_example_scan_risks() -> None:
    model = span(mcmillan_file())
    call = model.requirement(pf([("SP-DEC-410-C", 1.0)]), MARKET)
    assert call.details["combined_commodities"]["SP"]["scan_risk"] == pytest.approx(3990.0)
    assert call.details["binding"] == "SP: down 3/3, vol down"
    covered = model.requirement(pf([("SP-DEC", 1.0), ("SP-DEC-410-C", -1.0)]), MARKET)
    cc = covered.details["combined_commodities"]["SP"]
    assert cc["scan_risk"] == pytest.approx(6620.0)
    assert cc["risk_array"] == pytest.approx([-x for x in COVERED_PNL])
    fut = model.requirement(pf([("SP-DEC", 1.0)]), MARKET)
    assert fut.mm == pytest.approx(10000.0) and fut.im == pytest.approx(10000.0)


def test_time_volatility_price_risk_split() -> None:
    # covered write: active scenario 13 (down 3/3, vol up) = 6,620, its pair 14 (vol down) = 6,010;
    # time risk (460 - 610)/2, volatility risk |6620 - 6010|/2 = 305
    cc = span(mcmillan_file()).requirement(pf([("SP-DEC", 1.0), ("SP-DEC-410-C", -1.0)]), MARKET).details[
        "combined_commodities"]["SP"]
    assert cc["active_scenario"] == 13
    assert cc["time_risk"] == pytest.approx((460 - 610) / 2)
    assert cc["volatility_risk"] == pytest.approx((6620 - 6010) / 2)
    assert cc["price_risk"] == pytest.approx(6620 - (460 - 610) / 2 - 305)
    assert cc["net_delta"] == pytest.approx(1 - 0.55)


def calendar_file() -> dict[str, Any]:
    """Two futures months of one commodity plus a second commodity (hand-made parameters)."""
    arr = [0, 0, -100, -100, 100, 100, -200, -200, 200, 200, -300, -300, 300, 300, -210, 210]
    return {"combined_commodities": [
        {"code": "BTC", "contracts": [
            {"instrument": "BTC-JAN", "month": "202401", "risk_array": arr, "composite_delta": 1.0},
            {"instrument": "BTC-MAR", "month": "202403", "risk_array": [1.1 * x for x in arr], "composite_delta": 1.0},
            {"instrument": "BTC-C", "kind": "call", "month": "202403", "risk_array": [10.0] * 16,
             "composite_delta": 0.0}],
         "tiers": [{"tier": 1, "start": "202401", "end": "202401"}, {"tier": 2, "start": "202402", "end": "202412"}],
         "intra_spreads": [{"priority": 1, "charge": 40.0, "legs": [{"tier": 1, "ratio": 1, "side": "A"},
                                                                    {"tier": 2, "ratio": 1, "side": "B"}]}],
         "delivery": [{"month": "202401", "charge_spread": 5.0, "charge_outright": 20.0}],
         "short_option_minimum": 25.0,
         "initial_to_maintenance": {"member": 1.0, "hedger": 1.0, "speculator": 1.1}},
        {"code": "ETH", "contracts": [
            {"instrument": "ETH-MAR", "month": "202403", "risk_array": [0.5 * x for x in arr], "composite_delta": 1.0}]}],
        "inter_spreads": [{"priority": 1, "credit_rate": 0.5, "legs": [{"commodity": "BTC", "ratio": 1, "side": "A"},
                                                                       {"commodity": "ETH", "ratio": 2, "side": "B"}]}]}


def cal_instruments() -> list[dict[str, Any]]:
    out = []
    for sym, u, d in (("BTC-JAN", "BTC", 20), ("BTC-MAR", "BTC", 80), ("ETH-MAR", "ETH", 80)):
        out.append({"kind": "future", "symbol": sym, "underlying": u, "expiry": T0 + d * DAY})
    out.append({"kind": "option", "symbol": "BTC-C", "underlying": "BTC", "expiry": T0 + 80 * DAY, "strike": 50000.0,
                "option_type": "call"})
    return out


def test_intracommodity_and_delivery_charges() -> None:
    # long 3 Jan, short 2 Mar: scan = max over scenarios of 3a - 2(1.1a) = 0.8 a -> 0.8 * 300 = 240;
    # 2 spreads (tier 1 long, tier 2 short) at 40 = 80; Jan: 2 deltas consumed by spreads at 5,
    # 1 left outright at 20 -> 30; IM = 1.1 x MM (speculator)
    res = span(calendar_file()).requirement(pf([("BTC-JAN", 3.0), ("BTC-MAR", -2.0)], cal_instruments()), MARKET)
    cc = res.details["combined_commodities"]["BTC"]
    assert cc["scan_risk"] == pytest.approx(240.0)
    assert cc["intra_charge"] == pytest.approx(80.0)
    assert cc["delivery_charge"] == pytest.approx(2 * 5.0 + 1 * 20.0)
    assert res.mm == pytest.approx(240 + 80 + 30) and res.im == pytest.approx(1.1 * 350)
    # same-side positions form no spread
    same = span(calendar_file()).requirement(pf([("BTC-JAN", 3.0), ("BTC-MAR", 2.0)], cal_instruments()), MARKET)
    assert same.details["combined_commodities"]["BTC"]["intra_charge"] == 0.0


def test_intercommodity_credit_uses_weighted_futures_price_risk() -> None:
    # long 1 BTC-MAR (scan 330 = price risk, delta 1), short 2 ETH-MAR (scan 300, delta -2):
    # one spread (1 BTC delta vs 2 ETH deltas), credit 50% of (1 x 330/1) and (2 x 300/2)
    res = span(calendar_file()).requirement(pf([("BTC-MAR", 1.0), ("ETH-MAR", -2.0)], cal_instruments()), MARKET)
    rows = res.details["combined_commodities"]
    assert rows["BTC"]["scan_risk"] == pytest.approx(330.0) and rows["ETH"]["scan_risk"] == pytest.approx(300.0)
    assert rows["BTC"]["inter_credit"] == pytest.approx(0.5 * 330.0)
    assert rows["ETH"]["inter_credit"] == pytest.approx(0.5 * 300.0)
    assert res.mm == pytest.approx(0.5 * 630.0)


def test_short_option_minimum_binds() -> None:
    # a short call whose array loses only 10: SOM 25 per short option binds
    res = span(calendar_file()).requirement(pf([("BTC-C", -2.0)], cal_instruments()), MARKET)
    assert res.mm == pytest.approx(50.0)
    f = calendar_file()
    f["combined_commodities"][0]["short_option_minimum_method"] = "max"
    both = [("BTC-C", -2.0)]
    assert span(f).requirement(pf(both, cal_instruments()), MARKET).mm == pytest.approx(50.0)


def test_engine_computed_arrays_with_lookahead() -> None:
    scan = {"price_scan_range": 0.1, "vol_scan_range": 0.05, "extreme_move_multiplier": 2.0,
            "extreme_cover_fraction": 0.35, "lookahead_days": 1.0}
    f = {"combined_commodities": [{"code": "BTC", "underlying": "BTC", "scan": scan}]}
    insts = [{"kind": "future", "symbol": "F", "underlying": "BTC", "expiry": T0 + 30 * DAY},
             {"kind": "option", "symbol": "C", "underlying": "BTC", "expiry": T0 + 30 * DAY, "strike": 42000.0,
              "option_type": "call"}]
    fut = span(f).requirement(pf([("F", 1.0)], insts), MARKET).details["combined_commodities"]["BTC"]
    psr = 0.1 * 40000.0
    assert fut["risk_array"][12] == pytest.approx(psr) and fut["risk_array"][14] == pytest.approx(-0.7 * psr)
    opt = span(f).requirement(pf([("C", 1.0)], insts), MARKET).details["combined_commodities"]["BTC"]
    t0, t1 = 30 / 365, 29 / 365
    v0 = float(black76_price(40000.0, 42000.0, 0.6, t0, 0.0, True))
    # scenario 13: down 3/3 with vol up, one day later
    assert opt["risk_array"][12] == pytest.approx(v0 - float(black76_price(36000.0, 42000.0, 0.65, t1, 0.0, True)))
    # time decay alone is a loss of the long call
    assert (opt["risk_array"][0] + opt["risk_array"][1]) / 2 > 0


def _pa2_line(fields: list[tuple[int, str]], width: int = 132) -> str:
    buf = [" "] * width
    for start, text in fields:
        for k, ch in enumerate(text):
            buf[start - 1 + k] = ch
    return "".join(buf)


def _pa2_arrays(values: list[float], start: int) -> list[tuple[int, str]]:
    out = []
    for k, v in enumerate(values):
        out.append((start + 6 * k, f"{abs(round(v)):05d}"))
        out.append((start + 6 * k + 5, "-" if v < 0 else "+"))
    return out


def mcmillan_pa2() -> str:
    """McMillan's arrays in CME's pa2 layout (Types 0, 2, 3, 4, 81, 82)."""
    lines = [_pa2_line([(1, "0 "), (3, "CME"), (9, "20241101"), (36, "U2")]),
             _pa2_line([(1, "2 "), (3, "CME"), (7, "SP"), (23, "SP"), (33, "FUT"), (36, "0"), (39, "SP"), (49, "OOF"),
                        (52, "0")]),
             _pa2_line([(1, "3 "), (3, "SP"), (11, "01"), (13, "202412"), (19, "202412"), (69, "1000"), (73, "1000"),
                        (77, "1100")]),
             _pa2_line([(1, "4 "), (3, "SP"), (9, "10"), (63, "0000000")])]
    risk = {"FUT": [-x for x in FUT_PNL], "OOF": [-x for x in CALL_PNL]}
    for ptype, right, strike, delta in (("FUT", " ", "0000000", "10000"), ("OOF", "C", "0000410", "05500")):
        head = [(3, "CME"), (6, "SP"), (16, "SP"), (26, ptype), (29, right), (30, "202412"), (39, "202412"),
                (48, strike)]
        lines.append(_pa2_line([(1, "81"), *head, *_pa2_arrays(risk[ptype][:9], 55)]))
        lines.append(_pa2_line([(1, "82"), *head, *_pa2_arrays(risk[ptype][9:], 55), (97, delta), (102, "+")]))
    return "\n".join(lines) + "\n"


def test_pa2_file_gives_the_same_requirements(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "mcmillan.pa2"
    path.write_text(mcmillan_pa2())
    parsed = parse_pa2(path.read_text())
    cc = parsed.combined_commodities[0]
    assert cc.code == "SP" and len(cc.contracts) == 2
    assert cc.initial_to_maintenance.speculator == pytest.approx(1.1)
    model = get_model("span", {"risk_parameters": str(path), "instrument_map": {
        "SP-DEC": {"contract": "CME:SP:FUT:202412"}, "SP-DEC-410-C": {"contract": "CME:SP:OOF:202412:202412:C:410"}}})
    res = model.requirement(pf([("SP-DEC", 1.0), ("SP-DEC-410-C", -1.0)]), MARKET)
    assert res.mm == pytest.approx(6620.0) and res.im == pytest.approx(1.1 * 6620.0)
    np.testing.assert_allclose(res.details["combined_commodities"]["SP"]["risk_array"], [-x for x in COVERED_PNL])


def test_bad_span_inputs_name_the_field(tmp_path) -> None:  # type: ignore[no-untyped-def]
    bad = copy.deepcopy(mcmillan_file())
    bad["combined_commodities"][0]["contracts"][0]["risk_aray"] = [0] * 16
    with pytest.raises(InputError) as exc:
        span(bad)
    assert exc.value.field.startswith("config.risk_parameters.combined_commodities[0].contracts[0]")
    short = copy.deepcopy(mcmillan_file())
    short["combined_commodities"][0]["contracts"][0]["risk_array"] = [0] * 15
    with pytest.raises(InputError):
        span(short)
    with pytest.raises(InputError) as exc:
        span(mcmillan_file()).requirement(pf([("F", 1.0)], [{"kind": "future", "symbol": "F", "underlying": "BTC",
                                                             "expiry": T0 + DAY}]), MARKET)
    assert exc.value.field == "positions[0].instrument" and "not in the SPAN" in exc.value.problem
    with pytest.raises(InputError) as exc:
        get_model("span", {"risk_parameters": str(tmp_path / "missing.json")})
    assert exc.value.field == "config.risk_parameters"
    (tmp_path / "x.pa2").write_text("2 CME XX\n81 garbage\n")
    with pytest.raises(InputError):
        get_model("span", {"risk_parameters": str(tmp_path / "x.pa2")})
