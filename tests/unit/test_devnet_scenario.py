"""The devnet scenario file: validation with named fields, role resolution, intraday wicks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from offchain.devnet.demo import price_path
from offchain.devnet.demo_scenario import ROLES, load_scenario, resolve_holdings
from offchain.devnet.listing import devnet_listing
from zkmargin.errors import InputError

ROOT = Path(__file__).resolve().parents[2]


def _write(tmp_path: Path, obj: dict) -> Path:
    p = tmp_path / "s.json"
    p.write_text(json.dumps(obj))
    return p


_FILL = {"buyer": "a", "seller": "b", "instrument": "ETH-EVCALL", "lots": 10}


def test_shipped_scenarios_load():
    for name in ("devnet-demo.json", "devnet-smoke.json"):
        s = load_scenario(ROOT / "config" / name)
        assert s.n_accounts >= 2


@pytest.mark.parametrize(
    ("patch", "field", "words"),
    [
        ({"accounts": []}, "scenario.accounts", "at least 1"),
        ({"accounts": [{"label": "x", "holdings": {"DOGE-PERP": 1}, "deposit_usd": 1}]}, "scenario.accounts.0.holdings", "DOGE-PERP"),
        ({"accounts": [{"label": "x", "holdings": {"BTC-PERP": 0}, "deposit_usd": 1}]}, "scenario.accounts.0.holdings", "non-zero"),
        ({"accounts": [{"label": "x", "holdings": {"BTC-PERP": 1}, "deposit_usd": -5}]}, "scenario.accounts.0.deposit_usd", "greater than 0"),
        ({"vols": {"BTC": float("nan")}}, "scenario.vols", "vol of BTC"),
        ({"path": {"kind": "history", "assets": ["BTC", "ETH"], "start": "2021-05-20", "end": "2021-05-12", "steps_per_day": 2}},
         "scenario", "path.end must be after path.start"),
        ({"path": {"kind": "history", "assets": ["BTC"], "start": "2021-05-10", "end": "2021-05-12", "steps_per_day": 2}},
         "scenario", "path.assets must be BTC and ETH"),
        ({"path": {"kind": "history", "assets": ["BTC", "ETH"], "start": "2021-05-10", "end": "2021-05-12", "steps_per_day": 2,
                   "sise": 1}}, "scenario.path.sise", "unknown key 'sise' (allowed keys: kind, assets, start"),
        ({"accounts": [{"label": "x", "holdings": {"BTC-PERP": 1}, "deposit": 100}]}, "scenario.accounts.0.deposit",
         "unknown key 'deposit' (allowed keys: label, count, holdings, deposit_usd)"),
        ({"accounts": [{"label": "x", "holdings": {"BTC-PERP": 1.5}, "deposit_usd": 100}]}, "scenario.accounts.0.holdings.BTC-PERP",
         "fractional part"),
        ({"grace_seconds": 60}, "scenario.grace_seconds", "unknown key 'grace_seconds'"),
        ({"trading": {"rounds": [{"at_step": 0, "fills": [_FILL | {"size": 1}]}]}}, "scenario.trading.rounds.0.fills.0.size",
         "unknown key 'size'"),
        ({"trading": {"rounds": [{"at_step": 0, "fills": [_FILL | {"instrument": "BTC-CALLX"}]}]}},
         "scenario.trading.rounds.0.fills.0.instrument", "unknown instrument role 'BTC-CALLX'"),
        ({"trading": {"rounds": [{"at_step": 0, "fills": [_FILL | {"seller": "a"}]}]}}, "scenario.trading.rounds.0.fills.0",
         "buyer and seller are the same account 'a'"),
        ({"trading": {"rounds": [{"at_step": 0, "fills": [_FILL | {"seller": "zz"}]}]}}, "scenario",
         "trading.rounds[0].fills[0].seller: no account with count 1 is labelled 'zz'"),
        ({"trading": {"rounds": [{"at_step": 0, "fills": [_FILL | {"price_vs_mark_bps": 6000}]}]}},
         "scenario.trading.rounds.0.fills.0.price_vs_mark_bps", "less than or equal to 5000"),
        ({"trading": {"withdrawals": [{"label": "b", "at_step": -1}]}}, "scenario.trading.withdrawals.0.at_step",
         "greater than or equal to 0"),
    ],
)
def test_bad_scenarios_name_the_field(tmp_path, patch, field, words):
    base = {"accounts": [{"label": "a", "holdings": {"BTC-PERP": 1}, "deposit_usd": 100},
                         {"label": "b", "holdings": {"BTC-PERP": -1}, "deposit_usd": 100}]}
    with pytest.raises(InputError) as err:
        load_scenario(_write(tmp_path, base | patch))
    assert err.value.field == field
    assert words in err.value.problem


def test_trading_section_loads_and_its_steps_are_checked(tmp_path):
    s = load_scenario(ROOT / "config" / "devnet-smoke.json")
    assert s.trading is not None and [r.at_step for r in s.trading.rounds] == [0, 2]
    assert {f.instrument for r in s.trading.rounds for f in r.fills} == {"BTC-PERP", "ETH-EVCALL"}
    from offchain.devnet.demo_trading import TradingPhase

    TradingPhase.check_steps(s.trading, 2)
    with pytest.raises(InputError) as err:
        TradingPhase.check_steps(s.trading, 1)  # the path has fewer steps than the second round needs
    assert err.value.field == "scenario.trading.rounds.1.at_step" and "steps 0..1" in err.value.problem


def test_roles_resolve_to_the_listed_symbols():
    listing = devnet_listing(1_700_000_000, {"BTC": 40_000, "ETH": 2_000})
    symbols = [i.symbol for i in listing]
    assert len(symbols) == len(ROLES)
    assert resolve_holdings({"BTC-PUT": -3, "ETH-PERP": 2, "BTC-FUT": 0}, symbols) == {"BTC-P36000": -3, "ETH-PERP": 2}
    # the everlasting call, at the money, in the place of the ETH call (n stays 8)
    assert resolve_holdings({"ETH-EVCALL": 5}, symbols) == {"ETH-EVC2000": 5}
    assert listing[6].kind == "everlasting" and listing[6].strike == 2000 and listing[6].funding_period_seconds == 86_400


def test_wick_replaces_one_step_and_must_hit_a_step(tmp_path):
    base = {"accounts": [{"label": "a", "holdings": {"BTC-PERP": 1}, "deposit_usd": 100}],
            "path": {"kind": "history", "assets": ["BTC", "ETH"], "start": "2021-05-18", "end": "2021-05-20", "steps_per_day": 2,
                     "wicks": [{"at": "2021-05-19T12:00:00Z", "prices": {"BTC": 30000, "ETH": 1900}}]}}
    s = load_scenario(_write(tmp_path, base))
    without = load_scenario(_write(tmp_path, base | {"path": base["path"] | {"wicks": []}}))
    a, b = price_path(s, 5), price_path(without, 5)
    diff = np.nonzero((a.prices != b.prices).any(axis=1))[0]
    assert list(diff) == [3] and list(a.prices[3]) == [30000.0, 1900.0]
    off = base | {"path": base["path"] | {"wicks": [{"at": "2021-05-19T13:00:00Z", "prices": {"BTC": 1}}]}}
    with pytest.raises(InputError) as err:
        price_path(load_scenario(_write(tmp_path, off)), 5)
    assert err.value.field == "scenario.path.wicks.0.at"


def test_accounts_file_example_and_errors(tmp_path):
    from offchain.devnet.onboarding import load_accounts_file

    spec = load_accounts_file(ROOT / "examples" / "devnet-accounts.json")
    assert [a.label for a in spec.accounts] == ["naked long BTC perp", "long BTC perp + protective put", "long ETH perp"]
    assert (spec.insurance_fund_usd, spec.liquidator_capital_usd) == (20_000, 200_000)
    bad = tmp_path / "a.json"
    for obj, field, words in [
        ({"accounts": [{"label": "x", "holdings": {"BTC-PERP": 2.5}, "deposit_usd": 100}]}, "accounts[0].holdings.BTC-PERP",
         "fractional part"),
        ({"accounts": [{"label": "x", "holding": {"BTC-PERP": 2}, "deposit_usd": 100}]}, "accounts[0].holding",
         "unknown key 'holding'"),
        ({"liquidator_usd": 5}, "liquidator_usd",
         "unknown key 'liquidator_usd' (allowed keys: accounts, insurance_fund_usd, liquidator_capital_usd)"),
        ({"insurance_fund_usd": float("inf")}, "insurance_fund_usd", "finite"),
        ({"accounts": [{"label": "x", "holdings": {"BTC-PERP": 2}, "deposit_usd": 1e300}]}, "accounts[0].deposit_usd",
         "less than or equal to 1000000000000"),
    ]:
        bad.write_text(json.dumps(obj))
        with pytest.raises(InputError) as err:
            load_accounts_file(bad)
        assert err.value.field == f"{bad}:{field}", err.value
        assert words in err.value.problem, err.value


def test_vol_options_name_bad_items():
    import click

    from offchain.devnet.scripting import parse_vols

    assert parse_vols(("btc=1.2",), {"BTC": 0.8, "ETH": 0.9}) == {"BTC": 1.2, "ETH": 0.9}
    for item, words in (("BTC=abc", "expected UNDERLYING=VOL"), ("DOGE=0.5", "unknown underlying 'DOGE'"), ("BTC", "expected")):
        with pytest.raises(click.BadParameter) as err:
            parse_vols((item,), {"BTC": 0.8, "ETH": 0.9})
        assert words in err.value.message
