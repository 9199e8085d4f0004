"""The Ray-backed :class:`~zkmargin.executor.Executor` (optional extra: ``pip install 'zkmargin[ray]'``).

Point it at a running cluster with ``address`` (``ray://host:10001`` or ``host:6379``; what
``ray start --head`` prints), or leave it ``None`` to start a private local Ray instance (on
loopback).
Each worker is a Ray actor: the ``initializer`` runs once in each actor (keys are loaded once
per worker, as on the local pool), and the actors are kept busy with one task each. An actor
that dies (its node lost, the process killed) is replaced and its task retried, up to
``retries`` times; a task that raises is reported, not retried. Results stream back as tasks
complete, with the same :class:`~zkmargin.executor.TaskResult` as every other executor, so
callers (``prove_many``, ``zkmargin sweep``) cannot tell the executors apart except by speed.

A loopback address (``127.0.0.1:PORT``, ``localhost:PORT``) means a head on this machine only:
Ray would otherwise swap the loopback host for the machine's outward address (where a head
started with ``--node-ip-address=127.0.0.1`` does not listen) and retry for minutes, unless
``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0`` was set before ``ray`` was imported; the executor sets
Ray's single-machine mode itself for such an address.

The task functions are pickled by reference (module and name): the workers must be able to
import the project, which holds on one machine and on a cluster whose nodes have it installed
(or use Ray's ``runtime_env``).
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TypeVar

import ray
from ray.exceptions import RayActorError, WorkerCrashedError

from zkmargin.errors import InputError
from zkmargin.executor import Executor, TaskResult, _call

T = TypeVar("T")
R = TypeVar("R")


LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def _is_loopback(address: str) -> bool:
    """Whether a Ray address (``host:port``, ``ray://host:port``, ``[::1]:port``) is on loopback."""
    host = address.split("://", 1)[-1].rsplit(":", 1)[0].strip("[]")
    return host in LOOPBACK_HOSTS


def _single_machine() -> None:
    """Keep Ray's addresses on loopback (what ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0`` does when it
    is set before ``ray`` is imported; Ray reads it into a module constant at import)."""
    from ray._private import ray_constants

    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    ray_constants.ENABLE_RAY_CLUSTER = False


@ray.remote(max_restarts=0)
class _Worker:
    """One Ray worker process: runs the initializer once, then tasks one at a time."""

    def __init__(self, initializer: Callable[..., None] | None, initargs: Sequence[Any]) -> None:
        if initializer is not None:
            initializer(*initargs)

    def call(self, fn: Callable[[Any], Any], item: Any) -> tuple[bool, Any]:
        return _call(fn, item)


class RayExecutor(Executor):
    """Tasks on Ray actors (see the module docstring)."""

    kind = "ray"

    def __init__(self, address: str | None = None, workers: int | None = None) -> None:
        self._owns_ray = not ray.is_initialized()
        if self._owns_ray:
            target = address or os.environ.get("RAY_ADDRESS")
            if target is None or _is_loopback(target):  # a private instance, or a head on this machine
                _single_machine()
            ray.init(address=address, include_dashboard=False, logging_level="ERROR", log_to_driver=False,
                     configure_logging=False)
        cpus = int(ray.cluster_resources().get("CPU", 1))
        n = workers if workers is not None else max(1, cpus)
        if n < 1:
            raise InputError("workers", f"must be at least 1, got {n}")
        self._workers = n
        self.address = address

    @property
    def workers(self) -> int:
        return self._workers

    def run(
        self,
        fn: Callable[[T], R],
        items: Iterable[T],
        *,
        initializer: Callable[..., None] | None = None,
        initargs: Sequence[Any] = (),
        retries: int = 2,
    ) -> Iterator[TaskResult[R]]:
        pending = deque(enumerate(items))
        attempts: dict[int, int] = {}
        if not pending:
            return

        def new_worker() -> Any:
            return _Worker.options(num_cpus=1).remote(initializer, tuple(initargs))  # type: ignore[attr-defined]

        actors = [new_worker() for _ in range(min(self._workers, len(pending)))]
        idle = list(actors)
        inflight: dict[Any, tuple[int, T, Any]] = {}
        try:
            while pending or inflight:
                while pending and idle:
                    i, item = pending.popleft()
                    actor = idle.pop()
                    attempts[i] = attempts.get(i, 0) + 1
                    inflight[actor.call.remote(fn, item)] = (i, item, actor)
                done, _ = ray.wait(list(inflight), num_returns=1)
                ref = done[0]
                i, item, actor = inflight.pop(ref)
                try:
                    ok, out = ray.get(ref)
                except (RayActorError, WorkerCrashedError):
                    ray.kill(actor, no_restart=True)
                    actors.remove(actor)
                    replacement = new_worker()
                    actors.append(replacement)
                    idle.append(replacement)
                    if attempts[i] > retries:
                        yield TaskResult(i, None, f"worker died {attempts[i]} times running this task", attempts[i])
                    else:
                        pending.appendleft((i, item))
                    continue
                idle.append(actor)
                yield TaskResult(i, out if ok else None, None if ok else out, attempts[i])
        finally:
            for actor in actors:
                ray.kill(actor, no_restart=True)

    def close(self) -> None:
        if self._owns_ray and ray.is_initialized():
            ray.shutdown()
            self._owns_ray = False
