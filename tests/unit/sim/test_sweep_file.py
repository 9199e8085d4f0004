"""Sweep files: validation (every bad field named, exit 2, nothing written), paths into a
scenario, task expansion and seeding from one root SeedSequence, the sweep hash."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from _sweep_testlib import write_sweep

from offchain.sim.sweep import load_sweep, set_path, task_key, task_seed
from zkmargin.cli import main
from zkmargin.errors import InputError

ROOT = Path(__file__).resolve().parents[3]


def test_expansion_keys_params_and_resolved_scenarios(tmp_path: Path) -> None:
    sweep = load_sweep(write_sweep(tmp_path, count=3, values=[0, 6, 12]))
    tasks = list(sweep.tasks())
    assert sweep.n_tasks == len(tasks) == 9
    assert [t.key for t in tasks] == sorted(t.key for t in tasks)
    assert tasks[4].key == "s00-g0001-r000001" and tasks[4].params == (("latency", 6),)
    assert [p.column for p in sweep.params] == ["param_latency"] and sweep.params[0].type == "int"
    for t in tasks:
        slow = next(liq for liq in t.scenario["liquidators"] if liq["name"] == "slow")
        assert slow["latency_steps"] == dict(t.params)["latency"]
        assert t.scenario["traders"]["n"] == 30  # the sweep's override
        assert t.models == ("cross", "risk_matrix")


def test_seeds_come_from_one_root_seed_sequence(tmp_path: Path) -> None:
    tasks = list(load_sweep(write_sweep(tmp_path, count=3)).tasks())
    # common random numbers: every grid point of a replicate has the same seed
    by_rep: dict[int, set[int]] = {}
    for t in tasks:
        by_rep.setdefault(t.replicate, set()).add(t.seed)
    assert all(len(s) == 1 for s in by_rep.values()) and len({s.pop() for s in by_rep.values()}) == 3
    # the seed is SeedSequence(root, spawn_key=(sha256(name) words, replicate)) -> 63 bits
    words = np.frombuffer(__import__("hashlib").sha256(b"small").digest()[:8], dtype="<u4")
    seq = np.random.SeedSequence(11, spawn_key=(int(words[0]), int(words[1]), 2))
    assert tasks[2].seed == int(seq.generate_state(1, dtype=np.uint64)[0]) >> 1 == task_seed(11, "small", 2)
    assert 0 <= tasks[2].seed < 2**63
    # without common random numbers the grid point is part of the seed key
    other = list(load_sweep(write_sweep(tmp_path, name="indep", count=3, common_random_numbers=False)).tasks())
    assert len({t.seed for t in other}) == 6
    assert other[0].seed == task_seed(11, "small", 0, point=0) != task_seed(11, "small", 0, point=1)
    assert task_seed(12, "small", 0) != task_seed(11, "small", 0) != task_seed(11, "other", 0)


def test_sweep_hash_follows_the_work_not_the_words(tmp_path: Path) -> None:
    base = load_sweep(write_sweep(tmp_path)).sha256
    assert load_sweep(write_sweep(tmp_path, description="only words")).sha256 == base
    assert load_sweep(write_sweep(tmp_path, values=[0, 7])).sha256 != base
    assert load_sweep(write_sweep(tmp_path, root_seed=12)).sha256 != base
    file = write_sweep(tmp_path)
    scenario = json.loads((tmp_path / "small.json").read_text())
    scenario["liquidation"]["fee"] = 0.02  # the scenario file changed: another sweep
    (tmp_path / "small.json").write_text(json.dumps(scenario))
    assert load_sweep(file).sha256 != base


def test_set_path_indexes_lists_by_position_and_by_name() -> None:
    doc: dict[str, Any] = {"a": [{"name": "x", "v": 1}, {"name": "y", "v": 2}], "m": {}}
    set_path(doc, "a[y].v", 5)
    set_path(doc, "a[0].v", 7)
    set_path(doc, "m.new.deep", 3)
    assert doc == {"a": [{"name": "x", "v": 7}, {"name": "y", "v": 5}], "m": {"new": {"deep": 3}}}
    for bad, problem in [("a[z].v", "no item named 'z'"), ("a[5].v", "out of range"), ("a.b", "not inside a mapping"),
                         ("m[0]", "not a list"), ("a..b", "bad path")]:
        with pytest.raises(InputError) as exc:
            set_path(doc, bad, 1)
        assert problem in exc.value.problem


BAD = [
    ({"colour": "red"}, "tiny.json:colour", "unknown key 'colour'"),
    ({"seeds": {"count": 0}}, "tiny.json:seeds.count", "greater than or equal to 1"),
    ({"seeds": {"count": 2, "stop": 3}}, "tiny.json:seeds.stop", "unknown key 'stop'"),
    ({"name": "bad name!"}, "tiny.json:name", "should match pattern"),
    ({"grid": [{"name": "latency", "path": "liquidators[slow].latency_steps", "values": [0, -1]}]},
     "tiny.json:grid[0].values[1]", "liquidators[1].latency_steps: Input should be greater than or equal to 0"),
    ({"grid": [{"name": "latency", "path": "liquidators[slow].latency_steps", "values": [1, 1]}]},
     "tiny.json:grid[0].values", "must be distinct"),
    ({"grid": [{"name": "x", "path": "liquidators[nobody].latency_steps", "values": [1]}]},
     "tiny.json:grid[0].path", "no item named 'nobody'"),
    ({"grid": [{"name": "x", "path": "liquidation.colour", "values": [1]}]},
     "tiny.json:grid[0].values[0]", "liquidation.colour: unknown key 'colour' (allowed keys: discount, fee,"),
    ({"grid": [{"name": "a", "path": "traders.n", "values": [10]}, {"name": "a", "path": "seed", "values": [1]}]},
     "tiny.json:grid", "axis names must be unique"),
    ({"overrides": {"traders.n": 0}}, "tiny.json:scenarios[0]", "traders.n: Input should be greater than or equal to 1"),
    ({"overrides": {"liquidators[9].capital_usd": 1}}, "tiny.json:overrides.liquidators[9].capital_usd", "out of range"),
    ({"models": ["cross", "nope"]}, "tiny.json:models", "unknown model(s) ['nope']"),
    ({"scenarios": ["missing.json"]}, "tiny.json:scenarios[0]", "does not exist"),
    ({"scenarios": ["small.json", "small.json"]}, "tiny.json:scenarios", "names must be unique"),
]


@pytest.mark.parametrize(("updates", "field", "problem"), BAD, ids=[b[1].split(":", 1)[1] for b in BAD])
def test_bad_sweep_file_names_the_field_exits_2_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], updates: dict[str, Any], field: str, problem: str
) -> None:
    file = write_sweep(tmp_path, file_name="tiny.json", **updates)
    out = tmp_path / "results"
    assert main(["sweep", str(file), "--out", str(out), "-q"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: {field}: ") and problem in err, err
    assert not out.exists()


def test_unreadable_sweep_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "broken.json").write_text("{not json")
    (tmp_path / "list.json").write_text("[]")
    for name, problem in [("broken.json", "invalid JSON"), ("list.json", "must be a JSON/YAML object"),
                          ("absent.json", "does not exist")]:
        assert main(["sweep", str(tmp_path / name), "--out", str(tmp_path / "o"), "-q"]) == 2
        assert problem in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("name", ["latency.json", "crash_models.json"])
def test_shipped_sweep_files_validate(name: str) -> None:
    sweep = load_sweep(ROOT / "scenarios" / "sweeps" / name)
    assert sweep.n_tasks == len(sweep.points) * sweep.spec.seeds.count
    assert task_key(0, 0, 0) == next(sweep.tasks()).key
