"""Scenario files: the shipped ones load; bad files fail with the field named; the hash."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from offchain.sim.scenario import load_scenario, parse_scenario, scenario_hash
from zkmargin.errors import InputError

SCENARIOS = Path(__file__).resolve().parents[3] / "scenarios"


@pytest.mark.parametrize("name", ["crash_2021_05_19.json", "gbm_jump_crash.json", "garch_crash.json"])
def test_shipped_scenarios_load(name: str) -> None:
    sc = load_scenario(SCENARIOS / name)
    assert sc.assets == ("BTC", "ETH")
    kinds = {m.model for m in sc.models}
    assert kinds == {"isolated", "cross", "standard_options", "risk_matrix", "var", "dynamic"}


def _write(tmp_path: Path, data: Any, name: str = "s.json") -> Path:
    file = tmp_path / name
    file.write_text(json.dumps(data) if name.endswith(".json") else yaml.safe_dump(data))
    return file


def test_yaml_and_json_give_the_same_hash(tmp_path: Path, make_small: Any) -> None:
    a = load_scenario(_write(tmp_path, make_small(), "s.json"))
    b = load_scenario(_write(tmp_path, make_small(), "s.yaml"))
    assert scenario_hash(a) == scenario_hash(b)
    c = load_scenario(_write(tmp_path, make_small(seed=8), "t.json"))
    assert scenario_hash(c) != scenario_hash(a)


def _err(tmp_path: Path, data: Any) -> InputError:
    with pytest.raises(InputError) as exc:
        load_scenario(_write(tmp_path, data))
    return exc.value


def test_unknown_key_is_rejected_with_its_path(tmp_path: Path, make_small: Any) -> None:
    data = make_small()
    data["market"]["depht_usd_per_pct"] = 1.0
    err = _err(tmp_path, data)
    assert err.field == "s.json:market.depht_usd_per_pct"
    assert err.problem.startswith("unknown key 'depht_usd_per_pct' (allowed keys: ")
    assert "depth_usd_per_pct" in err.problem  # the key it was meant to be is among those named


def test_missing_field_and_bad_values_name_the_field(tmp_path: Path, make_small: Any) -> None:
    data = make_small()
    del data["traders"]["n"]
    assert _err(tmp_path, data).field == "s.json:traders.n"
    data = make_small()
    data["traders"]["long_fraction"] = 1.5
    assert _err(tmp_path, data).field == "s.json:traders.long_fraction"
    data = make_small()
    data["models"][0]["model"] = "magic"
    assert _err(tmp_path, data).field == "s.json:models[0].model"
    data = make_small()
    data["models"][1]["config"]["mmf"] = 2.0
    err = _err(tmp_path, data)
    assert err.field == "s.json:models[1].config.mmf"
    data = make_small()
    del data["calibration"]
    err = _err(tmp_path, data)
    assert err.field == "s.json:models[4]" and "calibration" in err.problem
    data = make_small()
    data["liquidators"] = []
    assert _err(tmp_path, data).field == "s.json:liquidators"


def test_per_asset_maps_must_name_the_scenario_assets(tmp_path: Path, make_small: Any) -> None:
    data = make_small()
    data["market"]["depth_usd_per_pct"] = {"BTC": 1e5, "SOL": 1e5}
    err = _err(tmp_path, data)
    assert "market.depth_usd_per_pct" in err.problem and "SOL" in err.problem


def test_duplicate_model_names_are_rejected(tmp_path: Path, make_small: Any) -> None:
    data = make_small()
    data["models"][1]["name"] = data["models"][0]["name"]
    assert "unique" in _err(tmp_path, data).problem


def test_unreadable_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(InputError) as exc:
        load_scenario(tmp_path / "nope.json")
    assert exc.value.field == "scenario" and "does not exist" in exc.value.problem
    bad = tmp_path / "bad.json"
    bad.write_text('{"name": "x",,}')
    with pytest.raises(InputError) as exc:
        load_scenario(bad)
    assert exc.value.field == "bad.json" and "line 1" in exc.value.problem
    txt = tmp_path / "s.txt"
    txt.write_text("{}")
    with pytest.raises(InputError) as exc:
        load_scenario(txt)
    assert "unsupported" in exc.value.problem
    with pytest.raises(InputError) as exc:
        parse_scenario([1, 2], "list.json")
    assert exc.value.field == "list.json"


def test_select_models(make_small: Any) -> None:
    sc = parse_scenario(make_small())
    assert [m.name for m in sc.select_models(["var", "cross"])] == ["var", "cross"]
    with pytest.raises(InputError) as exc:
        sc.select_models(["nope"])
    assert exc.value.field == "models"
