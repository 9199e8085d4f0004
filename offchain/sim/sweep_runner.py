"""Run a sweep on an executor: skip finished tasks, record failures, keep going.

:func:`run_sweep` prepares the results folder (refusing a folder of another sweep before
writing anything), lists the tasks not yet finished and hands them to a
:class:`~zkmargin.executor.Executor` (sequential, the local process pool, or Ray); each result
is written by this process as it arrives (:class:`~offchain.sim.sweep_store.SweepStore`), so
a sweep killed at any point loses at most the tasks in flight and a rerun finishes the rest.
A task that raises, or whose worker keeps dying, is recorded with its seed and traceback in
``failures/`` and does not stop the others; a rerun retries it. A progress bar (tasks/s, ETA)
goes to stderr.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from offchain.sim.sweep import Sweep, SweepTask
from offchain.sim.sweep_store import SweepStore, _now
from offchain.sim.sweep_task import run_task
from zkmargin.executor import Executor
from zkmargin.info import git_commit, package_versions

TaskFunction = Callable[[SweepTask], dict[str, bytes]]


@dataclass
class SweepOutcome:
    """What one run did: ``skipped`` were finished before, ``ran`` finished now."""

    out: Path
    total: int
    skipped: int
    ran: int
    failed: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def complete(self) -> bool:
        return self.skipped + self.ran == self.total

    def to_dict(self) -> dict[str, object]:
        return {"out": str(self.out), "tasks": self.total, "skipped": self.skipped, "ran": self.ran,
                "failed": len(self.failed), "failed_tasks": self.failed, "seconds": round(self.seconds, 3),
                "tasks_per_second": round(self.ran / self.seconds, 3) if self.seconds > 0 else None}


def run_sweep(
    sweep: Sweep,
    out: Path,
    executor: Executor,
    *,
    progress: bool = False,
    retries: int = 2,
    task_fn: TaskFunction = run_task,
) -> SweepOutcome:
    """Run every unfinished task of ``sweep`` on ``executor``, results into ``out``.

    ``task_fn`` is the module-level function run per task (default :func:`run_task`);
    ``retries`` is how often a task whose worker died is tried again.
    """
    store = SweepStore.prepare(out, sweep)
    t0 = time.perf_counter()
    with store.lock():
        doc = store.initialize()
        done = store.finished()
        todo = [t for t in sweep.tasks() if t.key not in done]
        outcome = SweepOutcome(out=Path(out), total=sweep.n_tasks, skipped=sweep.n_tasks - len(todo), ran=0)
        run_record: dict[str, object] = {
            "started": _now(), "executor": executor.kind, "workers": executor.workers,
            "address": getattr(executor, "address", None), "git_commit": git_commit(),
            "packages": package_versions(), "skipped": outcome.skipped, "to_run": len(todo),
        }
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=sweep.n_tasks, initial=outcome.skipped, unit="task", desc=sweep.spec.name,
                       file=sys.stderr, dynamic_ncols=True, smoothing=0.1)
        try:
            if todo:
                for res in executor.run(task_fn, todo, retries=retries):
                    task = todo[res.index]
                    if res.ok and res.value is not None:
                        store.commit(task.key, res.value)
                        outcome.ran += 1
                    else:
                        store.record_failure(task, res.error or "no result", res.attempts)
                        outcome.failed.append(task.key)
                    if bar is not None:
                        bar.update(1)
                        if outcome.failed:
                            bar.set_postfix_str(f"{len(outcome.failed)} failed")
        finally:
            if bar is not None:
                bar.close()
            outcome.seconds = time.perf_counter() - t0
            outcome.failed.sort()
            finished = store.finished()
            run_record.update({"finished": _now(), "ran": outcome.ran, "failed": len(outcome.failed),
                               "seconds": round(outcome.seconds, 3)})
            doc["runs"] = [*doc.get("runs", []), run_record]
            doc["status"] = {"finished": len(finished), "failed": len(store.failed() - finished),
                             "missing": sweep.n_tasks - len(finished)}
            store.write_manifest(doc)
    return outcome
