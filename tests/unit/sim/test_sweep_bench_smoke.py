"""The sweep benchmark runs end to end at a tiny size without Ray (no timing is asserted)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[3]


def test_sweep_bench_runs_and_prints_ratios(tmp_path: Path, monkeypatch: Any, capsys: Any) -> None:
    monkeypatch.syspath_prepend(str(ROOT / "bench"))
    import bench_sweep

    out = tmp_path / "bench.json"
    rc = bench_sweep.main(["--tasks", "2", "--traders", "20", "--days", "1", "--noop", "20", "--no-ray",
                           "--workers", "2", "--json", str(out)])
    assert rc == 0
    text = capsys.readouterr().out
    assert "local pool / sequential throughput" in text and "byte-identical across executors True" in text
    doc = json.loads(out.read_text())
    assert doc["tasks"] == 2 and doc["identical_parquet"] is True
    assert set(doc["tasks_per_second"]) == {"sequential", "local"}
    for kind, secs in doc["seconds"].items():
        assert doc["tasks_per_second"][kind] == 2 / secs
