"""Risk-epoch export: quantization, digest (prover's Poseidon sponge), and the integer
requirement against the float engine within the bound of docs/ARCHITECTURE.md."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from _risk_testlib import FIXED, make_portfolio
from hypothesis import given
from hypothesis import strategies as st

from offchain.risk.epoch import (
    build_epoch,
    integer_requirement,
    portfolio_lots,
)
from offchain.risk.instruments import Portfolio
from offchain.risk.margin import get_model
from offchain.risk.margin.risk_matrix import preset_config
from offchain.risk.market import MarketState
from prover.statement import KIND_IM, KIND_MM
from zkmargin.errors import ConfigError, InputError

statement = pytest.importorskip("prover.statement")

MARKET = MarketState.model_validate(
    {"timestamp": "2024-01-01T00:00:00Z", "spots": {"BTC": 40000.0, "ETH": 2000.0}, "rate": 0.03,
     "default_vol": {"BTC": 0.6, "ETH": 0.75}}
)
LISTED = make_portfolio([("BTC-PERP", 1.0)]).instruments
EPOCH = build_epoch(MARKET, LISTED, "deribit_pm", epoch_id=7, oracle_round=3)
# the epoch charges Deribit's netted contingencies per position (|q|): the float engine's form
# that the integer statement reproduces within the bound is the preset's linearized config
MM_MODEL = get_model("risk_matrix", preset_config("deribit_pm").linearized())
NETTED_MODEL = get_model("risk_matrix", {"preset": "deribit_pm"})


def test_artefact_shape_and_digest_matches_prover() -> None:
    d = json.loads(EPOCH.to_json())
    assert d["version"] == 1 and d["value_decimals"] == 6 and d["epoch_id"] == 7
    n, s = len(LISTED), len(d["scenarios"])
    assert len(d["marks"]) == n and len(d["addons"]) == n
    assert len(d["scenario_pnl"]) == n and all(len(r) == s for r in d["scenario_pnl"])
    assert all(isinstance(x, int) for x in d["marks"] + d["addons"])
    assert d["im_factor_bps"] == 12500 and d["linearized"] is True
    expected = statement.epoch_digest(7, 12500, d["marks"], d["scenario_pnl"], d["addons"])
    assert int(d["digest"]) == expected
    # the prover's loader accepts the artefact and re-checks the digest
    assert statement.Epoch.from_json(d).digest() == expected


def test_quantization_rules() -> None:
    # BTC perp: mark 40000 USD/BTC, lot 0.001 BTC -> 40 USD -> 40_000_000 base units exactly
    assert EPOCH.marks[0] == 40_000_000
    # contingency 1% of spot per unit (Deribit) -> 400 USD/BTC -> 0.4 USD per lot -> 400000, +1
    assert EPOCH.addons[0] == 400_001
    # the +16% scenario of the BTC perp: +0.16 * 40 USD per lot
    scen = [i for i, sc in enumerate(EPOCH.scenarios) if sc["spot_shock"]["BTC"] == pytest.approx(0.16)]
    assert all(EPOCH.scenario_pnl[0][i] == 6_400_000 for i in scen)
    # extended-table moves are already weighted by their dampener (e.g. -66% at 0.21)
    ext = [i for i, sc in enumerate(EPOCH.scenarios) if sc["weight"] < 1]
    assert len(ext) == 8
    for i in ext:
        sc = EPOCH.scenarios[i]
        assert EPOCH.scenario_pnl[0][i] == round(sc["spot_shock"]["BTC"] * 40e6 * sc["weight"])
    assert any(EPOCH.scenario_pnl[0][i] == round(-0.66 * 40e6 * 0.21) for i in ext)


def test_round_half_even_ties() -> None:
    from offchain.risk.epoch import round_half_even

    assert [round_half_even(x) for x in (0.5, 1.5, 2.5, -0.5, -1.5)] == [0, 2, 2, 0, -2]


def test_integer_helper_mirrors_prover_statement() -> None:
    rng = np.random.default_rng(np.random.SeedSequence(5))
    for _ in range(20):
        q = [int(x) for x in rng.integers(-5000, 5000, EPOCH.n)]
        cash = int(rng.integers(-10**11, 10**11))
        for kind in (KIND_MM, KIND_IM):
            ours = EPOCH.figures(q, cash, 10**9, kind)
            ref = statement.solvency_figures(
                kind, q=q, cash=cash, collateral=10**9, marks=EPOCH.marks, scenario_pnl=EPOCH.scenario_pnl,
                addons=EPOCH.addons, im_factor_bps=EPOCH.im_factor_bps,
            )
            assert (ours.equity, ours.requirement, ours.excess) == (ref.equity, ref.requirement, ref.excess)


def _portfolio_of_lots(q: list[int]) -> Portfolio:
    positions = [{"instrument": LISTED[i].symbol, "size": qi * LISTED[i].lot_size} for i, qi in enumerate(q) if qi]
    return Portfolio.model_validate({"instruments": [i.model_dump() for i in LISTED], "positions": positions})


def _float_excess(q: list[int], cash_units: int) -> tuple[float, float]:
    """Float engine excess in base units (MM, and IM scaled by 10000)."""
    res = MM_MODEL.requirement(_portfolio_of_lots(q), MARKET)
    from offchain.risk.valuation import InstrumentTable

    table = InstrumentTable.build(LISTED, MARKET)
    eq = cash_units + sum(qi * table.mark[i] * LISTED[i].lot_size * 1e6 for i, qi in enumerate(q))
    req = res.mm * 1e6
    return eq - req, eq * 10000 - req * EPOCH.im_factor_bps


@FIXED
@given(
    q=st.lists(st.integers(-20000, 20000), min_size=8, max_size=8).filter(lambda v: any(v)),
    cash=st.integers(-10**11, 10**11),
)
def test_integer_excess_within_stated_bound_of_float_engine(q: list[int], cash: int) -> None:
    f_mm, f_im = _float_excess(q, cash)
    i_mm = EPOCH.figures(q, cash, 0, KIND_MM).excess
    i_im = EPOCH.figures(q, cash, 0, KIND_IM).excess
    abs_q = sum(abs(x) for x in q)
    tol = 1e-9 * max(1.0, abs(f_mm))  # float noise of the float engine itself
    assert i_mm <= f_mm + tol
    assert f_mm - i_mm < 3 * abs_q + tol
    assert i_im <= f_im + 1e4 * tol
    assert f_im - i_im < (5000 + 2.5 * EPOCH.im_factor_bps) * abs_q + 1e4 * tol


@FIXED
@given(q=st.lists(st.integers(-20000, 20000), min_size=8, max_size=8).filter(lambda v: any(v)))
def test_exported_requirement_bounds_the_netted_contingencies(q: list[int]) -> None:
    # Deribit nets calls and puts per strike and charges futures only on offsetting futures;
    # the epoch charges every |q|, so its requirement is never below the netted engine's
    pf = _portfolio_of_lots(q)
    netted = NETTED_MODEL.requirement(pf, MARKET).mm * 1e6
    assert integer_requirement(EPOCH, q, KIND_MM) >= netted - 1e-9 * max(1.0, netted)


def test_integer_requirement_im_rounds_up() -> None:
    q = [1000, 0, 0, -3, 0, 0, 0, 0]
    mm = integer_requirement(EPOCH, q, KIND_MM)
    im = integer_requirement(EPOCH, q, KIND_IM)
    assert im == math.ceil(mm * 12500 / 10000)


def test_portfolio_lots() -> None:
    pf = make_portfolio([("BTC-PERP", 0.5), ("ETH-P-1800", -2.0)])
    q = portfolio_lots(pf, EPOCH)
    assert q[0] == 500 and q[7] == -2000 and sum(map(abs, q)) == 2500
    with pytest.raises(InputError) as exc:
        portfolio_lots(make_portfolio([("BTC-PERP", 0.0005)]), EPOCH)
    assert exc.value.field == "positions[0].size"


def test_nonlinear_presets_are_refused_unless_linearized() -> None:
    with pytest.raises(ConfigError) as exc:
        build_epoch(MARKET, LISTED, "derive_pmrm", epoch_id=1)
    assert exc.value.field == "config.static_discount"
    ep = build_epoch(MARKET, LISTED, "derive_pmrm", epoch_id=1, linearize=True)
    assert ep.linearized and ep.s == 23


def test_bad_epoch_inputs() -> None:
    with pytest.raises(InputError) as exc:
        build_epoch(MARKET, LISTED, "deribit_pm", epoch_id=0)
    assert exc.value.field == "epoch_id"
    expired = MARKET.model_copy(update={"timestamp": MARKET.timestamp + 40 * 86400})
    with pytest.raises(InputError) as exc:
        build_epoch(expired, LISTED, "deribit_pm", epoch_id=1)
    assert exc.value.field.startswith("instruments[") and "expired" in exc.value.problem


def test_write_is_atomic(tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "epoch.json"
    EPOCH.write(str(out))
    assert json.loads(out.read_text())["digest"] == str(EPOCH.digest)
    assert [p.name for p in tmp_path.iterdir()] == ["epoch.json"]


def test_preset_config_cme_has_16_scenarios() -> None:
    ep = build_epoch(MARKET, LISTED, preset_config("cme_span", short_option_minimum=0.0), epoch_id=2)
    assert ep.s == 16


def test_load_epoch_round_trip_and_tamper_check(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from offchain.risk.epoch import load_epoch

    out = tmp_path / "epoch.json"
    EPOCH.write(str(out))
    back = load_epoch(str(out))
    assert back == EPOCH
    d = json.loads(out.read_text())
    d["scenario_pnl"][0][0] += 1
    out.write_text(json.dumps(d))
    with pytest.raises(InputError) as exc:
        load_epoch(str(out))
    assert exc.value.field == "epoch.digest"


def test_float_engine_verdict_agrees_with_prover_statement() -> None:
    # A portfolio, its lots and cash; the prover's check_solvency agrees with the float engine
    # whenever the float excess is outside the rounding band [0, 3 sum|q|).
    pf = make_portfolio([("BTC-PERP", 0.5), ("BTC-C-40000", -1.0), ("BTC-P-35000", 2.0), ("ETH-P-1800", -3.0)])
    q = portfolio_lots(pf, EPOCH)
    mm_units = MM_MODEL.requirement(pf, MARKET).mm * 1e6
    marks_units = sum(qi * mi for qi, mi in zip(q, EPOCH.marks))
    band = 3 * sum(abs(x) for x in q)
    for margin_units in (-10**8, -band - 1, -2, band + 2, 10**8):
        cash = round(mm_units - marks_units + margin_units)  # float excess ~ margin_units
        common = {"q": q, "cash": cash, "collateral": 0, "marks": EPOCH.marks, "scenario_pnl": EPOCH.scenario_pnl,
                      "addons": EPOCH.addons, "im_factor_bps": EPOCH.im_factor_bps}
        solvent_mm = statement.check_solvency(KIND_MM, **common)
        if margin_units < 0:
            assert not solvent_mm and statement.check_solvency(2, **common)
        else:
            assert solvent_mm
