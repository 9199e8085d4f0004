"""The matching benchmark runs end to end at a tiny size (no timing is asserted)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[3]


def test_bench_matching_runs_and_reports(tmp_path: Path, monkeypatch: Any, capsys: Any) -> None:
    monkeypatch.syspath_prepend(str(ROOT / "bench"))
    import bench_matching

    out = tmp_path / "bench.json"
    monkeypatch.setattr(sys, "argv", ["bench_matching.py", "3000", "--ref-ops", "500", "--risk-ops", "800",
                                      "--json", str(out)])
    assert bench_matching.main() == 0
    text = capsys.readouterr().out
    assert "orders/s" in text and "reports identical: True" in text and "goal >= 200,000" in text
    data = json.loads(out.read_text())
    assert [c["instruments"] for c in data["cases"]] == [1, 4]
    for case in data["cases"]:
        assert case["reports_identical"] and case["prefix_fills"] > 0 and case["risk_rejections"] > 0
        assert case["ops"] == 3000 and case["speedup_vs_reference"] > 0
