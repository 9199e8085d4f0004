"""Progress output for long prover work (``zkmargin setup``, ``zkmargin prove``, batches).

:class:`StageProgress` is a :data:`prover.backend.Progress` callback, ``(stage, done, total)``:
it prints one line per stage to stderr as the stage starts, draws a bar for a counted stage
(``total > 0``) when stderr is a terminal, and :meth:`StageProgress.close` prints the total
time with the time of each stage. :func:`proof_bar` is the bar of a batch of proofs
(accounts and accounts per second).
"""

from __future__ import annotations

import sys
import time
from typing import IO, Any

from tqdm import tqdm


class StageProgress:
    """Stage lines, bars for counted stages, and a timing summary (see the module docstring)."""

    def __init__(self, prefix: str, stream: IO[str] | None = None, bars: bool | None = None) -> None:
        self.prefix = prefix
        self.stream = stream or sys.stderr
        self.bars = self.stream.isatty() if bars is None else bars
        self.timings: dict[str, float] = {}
        self._stage: str | None = None
        self._bar: Any = None
        self._t0 = self._ts = time.perf_counter()

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage != self._stage:
            self._end_stage()
            self._stage, self._ts = stage, time.perf_counter()
            print(f"{self.prefix}: {stage}" + (f" ({total:,})" if total else ""), file=self.stream, flush=True)
            if total and self.bars:
                self._bar = tqdm(total=total, file=self.stream, leave=False, unit="pt", unit_scale=True, mininterval=0.3)
        if self._bar is not None:
            self._bar.update(done - self._bar.n)

    def _end_stage(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        if self._stage is not None:
            self.timings[self._stage] = self.timings.get(self._stage, 0.0) + time.perf_counter() - self._ts

    def close(self, message: str = "done") -> None:
        """Print ``message``, the total time and each stage's."""
        self._end_stage()
        self._stage = None
        parts = "; ".join(f"{stage.split(' (')[0]} {t:.1f} s" for stage, t in self.timings.items())
        print(f"{self.prefix}: {message} in {time.perf_counter() - self._t0:.1f} s" + (f" ({parts})" if parts else ""),
              file=self.stream, flush=True)


def proof_bar(total: int, desc: str, stream: IO[str] | None = None, disable: bool | None = False) -> Any:
    """A bar for ``total`` proofs: done/total, accounts per second, time left (tqdm)."""
    return tqdm(total=total, desc=desc, unit="acct", file=stream or sys.stderr, leave=True, mininterval=0.2,
                dynamic_ncols=True, disable=disable)
