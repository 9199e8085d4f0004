"""The settler's loop as a process runs it: poll, stop cleanly on SIGTERM, optional fault injection.

:func:`run_settler` steps the settler until a step does nothing (or, with ``follow``, forever,
sleeping ``poll_seconds`` between idle steps). SIGTERM and SIGINT set a flag: the step in progress
finishes (the database is consistent after every step anyway) and the loop returns 0.

Fault injection, for the kill-and-restart tests: with ``ZKMARGIN_SETTLER_CRASH_AT=<stage>:<n>``
the process kills itself with SIGKILL the ``n``-th time (1-based) a batch reaches ``<stage>``
(one of :data:`offchain.operator.settler.STAGES`), exactly as an external ``kill -9`` would.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from types import FrameType

from offchain.operator.settler import STAGES, Settler, StageHook
from zkmargin.errors import InputError

CRASH_ENV = "ZKMARGIN_SETTLER_CRASH_AT"


def parse_crash_at(spec: str) -> tuple[str, int]:
    """``"<stage>:<n>"`` -> ``(stage, n)`` (``InputError`` naming the variable)."""
    stage, sep, count = spec.partition(":")
    if not sep or stage not in STAGES or not count.isdigit() or int(count) < 1:
        raise InputError(CRASH_ENV, f"expected <stage>:<n> with stage in {list(STAGES)} and n >= 1, got {spec!r}")
    return stage, int(count)


def crash_hook(spec: str | None) -> StageHook | None:
    """The hook that SIGKILLs this process at the point ``spec`` names (None: no hook)."""
    if not spec:
        return None
    stage, n = parse_crash_at(spec)
    seen = [0]

    def hook(reached: str, batch_id: int) -> None:
        if reached == stage:
            seen[0] += 1
            if seen[0] == n:
                os.kill(os.getpid(), signal.SIGKILL)

    return hook


class StopFlag:
    """Set by SIGTERM/SIGINT once :meth:`install` ran (in the main thread)."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def install(self) -> StopFlag:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self._event.set()

    def set(self) -> None:
        self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set()

    def wait(self, seconds: float) -> bool:
        return self._event.wait(seconds)


def run_settler(settler: Settler, *, follow: bool, poll_seconds: float, stop: StopFlag,
                echo: Callable[[str], None]) -> int:
    """Step until idle (or until stopped, with ``follow``); returns the exit status (0)."""
    waiting: dict[str, str] = {}
    while not stop.is_set():
        report = settler.step()
        for line in report.lines(deferred=report.deferred != waiting):
            echo(line)
        waiting = report.deferred
        if report.idle:
            if not follow:
                echo("idle")
                return 0
            stop.wait(poll_seconds)
    echo("stopped")
    return 0
