"""Module-level task functions for the executor tests (workers import them by name)."""

from __future__ import annotations

import os
from pathlib import Path

_STATE: dict[str, int] = {}


def square(x: int) -> int:
    return x * x


def fail_on_three(x: int) -> int:
    if x == 3:
        raise ValueError("three is not allowed")
    return x


def init_worker(tag: int) -> None:
    _STATE["tag"] = tag
    _STATE["inits"] = _STATE.get("inits", 0) + 1


def worker_state(_: int) -> tuple[int, int, int]:
    return os.getpid(), _STATE.get("tag", -1), _STATE.get("inits", 0)


def die_once(arg: tuple[int, str]) -> int:
    """Kill this worker the first time it sees its marker missing (a crash, not an exception)."""
    x, marker_dir = arg
    marker = Path(marker_dir) / f"seen-{x}"
    if x == 2 and not marker.exists():
        marker.write_text("1")
        os._exit(9)
    return x + 100


def always_die(_: int) -> int:
    os._exit(9)
