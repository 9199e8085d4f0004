"""Run many independent tasks: in this process, on a local process pool, or on a Ray cluster.

One interface for every fan-out in the project (proving many accounts, simulation sweeps,
sharded batch margin): :meth:`Executor.run` takes a picklable module-level function and the
task inputs and yields a :class:`TaskResult` per task *as tasks complete*; :meth:`Executor.map`
returns the values in input order and raises on the first failed task.

* :class:`SequentialExecutor`: in this process, in order (the reference; tests compare with it);
* :class:`LocalPoolExecutor`: the default, a local process pool (no cluster needed). Workers are
  started with ``forkserver`` (``spawn`` where that is missing), never forked from a process that
  may hold threads (ape's provider does: a fork can deadlock there). An ``initializer`` runs once
  per worker (e.g. to load proving keys once). A worker that dies (killed, out of memory) breaks
  the pool: the pool is rebuilt and the unfinished tasks are retried, up to ``retries`` times
  each; a task that raises is not retried (its error is reported with its traceback);
* Ray (optional extra, ``pip install zkmargin[ray]``): :func:`make_executor` with a
  ``ray_address`` returns a Ray-backed executor with the same interface (see
  :mod:`zkmargin.ray_executor`).

Choose with :func:`make_executor` (``kind`` "sequential" | "local" | "ray"; the environment
variable ``ZKMARGIN_EXECUTOR`` sets the default kind and ``ZKMARGIN_WORKERS`` the worker count).
"""

from __future__ import annotations

import multiprocessing
import os
import traceback
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, Generic, Self, TypeVar

from zkmargin.errors import InputError, ZkMarginError

T = TypeVar("T")
R = TypeVar("R")

KINDS = ("sequential", "local", "ray")


class TaskFailed(ZkMarginError):
    """A task raised (or its worker kept dying); carries the task index and the traceback."""

    def __init__(self, index: int, error: str) -> None:
        self.index, self.error = index, error
        super().__init__(f"task {index} failed:\n{error}")


@dataclass(frozen=True)
class TaskResult(Generic[R]):
    """The outcome of one task: its ``value``, or the ``error`` (traceback text) it raised."""

    index: int
    value: R | None
    error: str | None
    attempts: int

    @property
    def ok(self) -> bool:
        return self.error is None


class Executor(ABC):
    """Runs independent tasks; see the module docstring."""

    #: "sequential" | "local" | "ray"
    kind: str = ""

    @property
    @abstractmethod
    def workers(self) -> int:
        """How many tasks run at once."""

    @abstractmethod
    def run(
        self,
        fn: Callable[[T], R],
        items: Iterable[T],
        *,
        initializer: Callable[..., None] | None = None,
        initargs: Sequence[Any] = (),
        retries: int = 2,
    ) -> Iterator[TaskResult[R]]:
        """Yield one :class:`TaskResult` per item as the tasks complete (in any order)."""

    def map(
        self,
        fn: Callable[[T], R],
        items: Iterable[T],
        *,
        initializer: Callable[..., None] | None = None,
        initargs: Sequence[Any] = (),
        retries: int = 2,
    ) -> list[R]:
        """The values of ``fn`` over ``items`` in input order; raises :class:`TaskFailed`."""
        results: dict[int, R] = {}
        for res in self.run(fn, items, initializer=initializer, initargs=initargs, retries=retries):
            if res.error is not None:
                raise TaskFailed(res.index, res.error)
            results[res.index] = res.value  # type: ignore[assignment]
        return [results[i] for i in range(len(results))]

    def close(self) -> None:
        """Release the workers (idempotent)."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _call(fn: Callable[[T], R], item: T) -> tuple[bool, Any]:
    """Run one task in a worker; an exception comes back as its traceback text."""
    try:
        return True, fn(item)
    except Exception:  # noqa: BLE001 - reported to the caller with the task's index
        return False, traceback.format_exc()


class SequentialExecutor(Executor):
    """Every task in this process, in input order (the reference)."""

    kind = "sequential"

    @property
    def workers(self) -> int:
        return 1

    def run(
        self,
        fn: Callable[[T], R],
        items: Iterable[T],
        *,
        initializer: Callable[..., None] | None = None,
        initargs: Sequence[Any] = (),
        retries: int = 2,
    ) -> Iterator[TaskResult[R]]:
        if initializer is not None:
            initializer(*initargs)
        for i, item in enumerate(items):
            ok, out = _call(fn, item)
            yield TaskResult(i, out if ok else None, None if ok else out, 1)


def _mp_context() -> multiprocessing.context.BaseContext:
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


class LocalPoolExecutor(Executor):
    """A local process pool (see the module docstring for start method and retries).

    With ``keep_workers`` the pool outlives a run: the next run with the same ``initializer``
    and ``initargs`` reuses the warm workers (their initializer does not run again), a run with
    others replaces the pool, and :meth:`close` stops it. Callers that run many batches (a
    keeper proving every epoch) use it to load keys once per worker, not once per batch.
    """

    kind = "local"

    def __init__(self, workers: int | None = None, keep_workers: bool = False) -> None:
        n = workers if workers is not None else default_workers()
        if n < 1:
            raise InputError("workers", f"must be at least 1, got {n}")
        self._workers = n
        self._keep = keep_workers
        self._pool: ProcessPoolExecutor | None = None
        self._pool_key: tuple[Any, ...] | None = None

    @property
    def workers(self) -> int:
        return self._workers

    def _get_pool(self, initializer: Callable[..., None] | None, initargs: Sequence[Any]) -> ProcessPoolExecutor:
        key = (initializer, tuple(initargs))
        if self._pool is not None and self._pool_key != key:
            self._drop_pool()
        if self._pool is None:
            self._pool = ProcessPoolExecutor(self._workers, mp_context=_mp_context(), initializer=initializer,
                                             initargs=tuple(initargs))
            self._pool_key = key
        return self._pool

    def _drop_pool(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        self._pool, self._pool_key = None, None

    def run(
        self,
        fn: Callable[[T], R],
        items: Iterable[T],
        *,
        initializer: Callable[..., None] | None = None,
        initargs: Sequence[Any] = (),
        retries: int = 2,
    ) -> Iterator[TaskResult[R]]:
        pending = dict(enumerate(items))
        attempts = dict.fromkeys(pending, 0)
        while pending:
            pool = self._get_pool(initializer, initargs)
            broken = False
            futures: dict[Future[tuple[bool, Any]], int] = {}
            try:
                for i, item in pending.items():
                    attempts[i] += 1
                    futures[pool.submit(_call, fn, item)] = i
                todo = set(futures)
                while todo:
                    done, todo = wait(todo, return_when=FIRST_COMPLETED)
                    for fut in done:
                        i = futures[fut]
                        try:
                            ok, out = fut.result()
                        except BrokenProcessPool:
                            broken = True  # the task's worker died: retry it on a new pool
                            continue
                        del pending[i]
                        yield TaskResult(i, out if ok else None, None if ok else out, attempts[i])
            finally:
                if broken or not self._keep:
                    self._drop_pool()
                else:  # stopped early by the caller: cancel what has not started, keep the workers
                    for fut in futures:
                        fut.cancel()
            if broken:
                for i in sorted(pending):
                    if attempts[i] > retries:
                        del pending[i]
                        yield TaskResult(i, None, f"worker died {attempts[i]} times running this task", attempts[i])

    def close(self) -> None:
        self._drop_pool()


def default_workers() -> int:
    """``$ZKMARGIN_WORKERS``, else the number of CPUs this process may use."""
    env = os.environ.get("ZKMARGIN_WORKERS")
    if env:
        try:
            return max(1, int(env))
        except ValueError:
            raise InputError("ZKMARGIN_WORKERS", f"must be an integer, got {env!r}") from None
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def make_executor(kind: str | None = None, *, workers: int | None = None, ray_address: str | None = None) -> Executor:
    """The executor of ``kind`` ("sequential" | "local" | "ray"; default ``$ZKMARGIN_EXECUTOR``,
    else "ray" when ``ray_address`` is given, else "local")."""
    k = kind or os.environ.get("ZKMARGIN_EXECUTOR") or ("ray" if ray_address else "local")
    if k not in KINDS:
        raise InputError("executor", f"unknown executor {k!r}; expected one of {list(KINDS)}")
    if k == "sequential":
        return SequentialExecutor()
    if k == "local":
        return LocalPoolExecutor(workers)
    try:
        from zkmargin.ray_executor import RayExecutor
    except ImportError as exc:
        raise InputError("executor", f"the Ray executor needs the optional extra: pip install 'zkmargin[ray]' ({exc})") from None
    return RayExecutor(address=ray_address, workers=workers)
