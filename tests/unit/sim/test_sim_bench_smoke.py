"""The benchmark script runs end to end at a tiny size (no timing is asserted)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[3]


def test_bench_runs_and_reports_ratios(tmp_path: Path, monkeypatch: Any, capsys: Any) -> None:
    monkeypatch.syspath_prepend(str(ROOT / "bench"))
    import bench_simulator

    out = tmp_path / "bench.json"
    argv = [
        "bench_simulator.py",
        "--agents",
        "300",
        "--steps",
        "150",
        "--small-agents",
        "30",
        "--small-steps",
        "60",
    ]
    monkeypatch.setattr(sys, "argv", [*argv, "--json", str(out)])
    assert bench_simulator.main() == 0
    text = capsys.readouterr().out
    assert "agent-steps/s" in text and "speed-up" in text
    doc = json.loads(out.read_text())
    assert doc["identical_small"] is True
    assert doc["vectorized_full"]["agents"] == 300 and doc["vectorized_full"]["steps"] == 150
    for key in ("loop_small", "vectorized_small", "vectorized_full"):
        row = doc[key]
        assert row["agent_steps_per_s"] == row["agents"] * row["steps"] / row["seconds"]
