"""Small sweeps for the sweep tests (a few short tasks) and a task function that crashes once."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from conftest import small_dict

from offchain.sim.sweep import SweepTask
from offchain.sim.sweep_task import run_task


def write_sweep(folder: Path, *, name: str = "tiny", count: int = 2, values: list[int] | None = None,
                days: float = 1.0, file_name: str | None = None, **updates: Any) -> Path:
    """A sweep over the small scenario: 2 models, a latency grid, ``count`` replicates."""
    scenario = small_dict()
    scenario["path"]["days"] = days
    scenario["path"]["forced_jumps"] = [{"day": 0.4, "log_return": {"BTC": -0.12, "ETH": -0.15}}]
    (folder / "small.json").write_text(json.dumps(scenario))
    doc: dict[str, Any] = {
        "name": name,
        "root_seed": 11,
        "scenarios": ["small.json"],
        "seeds": {"start": 0, "count": count},
        "models": ["cross", "risk_matrix"],
        "grid": [{"name": "latency", "path": "liquidators[slow].latency_steps", "values": values or [0, 6]}],
        "overrides": {"traders.n": 30},
    }
    doc.update(updates)
    file = folder / (file_name or f"{name}.json")
    file.write_text(json.dumps(doc))
    return file


def die_once(marker_dir: str, task: SweepTask) -> dict[str, bytes]:
    """Kill the worker (no exception: the process ends) the first time it runs replicate 1 of
    grid point 0; every other run is the real task."""
    marker = Path(marker_dir) / f"died-{task.key}"
    if task.point == 0 and task.replicate == 1 and not marker.exists():
        marker.write_text("1")
        os._exit(9)
    return run_task(task)
