"""``prove_many`` on every executor: the local process pool (default), this process, and Ray on
a local head; a killed worker's proof is retried and every request comes back exactly once."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from _prover_testlib import ray_head_on_loopback

from prover.api import ProofRequest, devnet_setup, iter_prove_many, prove_many, verify_solvency
from prover.errors import ProverError, UnsatisfiedError
from prover.statement import Account, Epoch
from zkmargin.executor import SequentialExecutor, TaskResult, make_executor

EPOCH = Epoch.create(5, 15000, [100, 200], [[1, -5, 2], [3, 4, -1]], [2, 3])


def _requests(count: int) -> list[ProofRequest]:
    return [ProofRequest(EPOCH, Account.create([5 + i, -3], -100 + i, 42 + i), i % 2, 0xA0 + i, 1000 + i) for i in range(count)]


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    return devnet_setup(2, 3, tmp_path_factory.mktemp("many"), seed="prove-many")


def _check(keys, requests: list[ProofRequest], proofs: list) -> None:  # type: ignore[no-untyped-def,type-arg]
    assert len(proofs) == len(requests)
    for req, sp in zip(requests, proofs):
        assert sp.public[2:] == [req.kind, req.address, req.collateral]
        assert verify_solvency(keys.vk, sp.proof, sp.public)


def test_local_pool_and_sequential_give_valid_proofs_in_order(keys) -> None:  # type: ignore[no-untyped-def]
    reqs = _requests(5)
    ticks: list[tuple[int, int]] = []
    pooled = prove_many(keys, reqs, progress=lambda done, total: ticks.append((done, total)))
    _check(keys, reqs, pooled)
    assert ticks == [(i, 5) for i in range(1, 6)]
    inline = prove_many(keys, reqs, SequentialExecutor())
    _check(keys, reqs, inline)
    assert [p.public for p in pooled] == [p.public for p in inline]


def test_statements_are_checked_before_any_proving(keys) -> None:  # type: ignore[no-untyped-def]
    bad = [*_requests(2), ProofRequest(EPOCH, Account.create([5, -3], -100, 1), 2, 0xA0, 1000)]
    with pytest.raises(UnsatisfiedError, match="account: not insolvent for kind 2"):
        prove_many(keys, bad)
    other = Epoch.create(5, 15000, [100], [[1, -5, 2]], [2])
    with pytest.raises(Exception, match="epoch: has n=1, S=3; the circuit is n=2, S=3"):
        prove_many(keys, [ProofRequest(other, Account.create([1], 0, 1), 0, 1, 10)])
    assert prove_many(keys, []) == []


def _forkserver_workers() -> list[int]:
    """PIDs of the local pool's workers: the children of this process's forkserver (Linux /proc)."""
    def children(pid: int) -> list[int]:
        out = []
        for d in Path("/proc").iterdir():
            if d.name.isdigit():
                try:
                    stat = (d / "stat").read_text()
                except OSError:
                    continue
                if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                    out.append(int(d.name))
        return out

    servers = [c for c in children(os.getpid()) if b"forkserver" in Path(f"/proc/{c}/cmdline").read_bytes()]
    return [w for s in servers for w in children(s)]


def test_a_killed_worker_loses_no_proof_and_posts_none_twice(keys) -> None:  # type: ignore[no-untyped-def]
    reqs = _requests(8)
    seen: list[int] = []
    killed: list[int] = []
    for i, sp in iter_prove_many(keys, reqs, processes=2):
        seen.append(i)
        assert verify_solvency(keys.vk, sp.proof, sp.public)
        if not killed:  # the pool is busy with the next proofs: kill one of its workers
            workers = _forkserver_workers()
            assert workers, "no pool worker found"
            os.kill(workers[0], signal.SIGKILL)
            killed.append(workers[0])
    assert sorted(seen) == list(range(len(reqs)))  # every proof, each once


class _Replaying(SequentialExecutor):
    """Yields every result twice, as a flaky transport might: the caller must keep one."""

    def run(self, fn: Callable[[Any], Any], items: Iterable[Any], **kw: Any) -> Iterator[TaskResult[Any]]:
        for res in super().run(fn, items, **kw):
            yield res
            yield res


class _Dropping(SequentialExecutor):
    def run(self, fn: Callable[[Any], Any], items: Iterable[Any], **kw: Any) -> Iterator[TaskResult[Any]]:
        yield from (r for r in super().run(fn, items, **kw) if r.index != 1)


def test_duplicates_are_dropped_and_a_missing_proof_is_an_error(keys) -> None:  # type: ignore[no-untyped-def]
    reqs = _requests(3)
    assert [i for i, _ in iter_prove_many(keys, reqs, _Replaying())] == [0, 1, 2]
    with pytest.raises(ProverError, match=r"no proof came back for requests \[1\]"):
        prove_many(keys, reqs, _Dropping())


def test_prove_many_on_a_local_ray_head(keys) -> None:  # type: ignore[no-untyped-def]
    reqs = _requests(4)
    with ray_head_on_loopback(2) as address, make_executor(ray_address=address) as ex:
        assert ex.kind == "ray"
        t0 = time.monotonic()
        proofs = prove_many(keys, reqs, ex)
        assert time.monotonic() - t0 < 300
    _check(keys, reqs, proofs)
