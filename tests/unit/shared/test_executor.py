"""The executor interface: sequential and local-pool runs agree, errors carry the task index and
traceback, an initializer runs once per worker, and a worker that dies is replaced and its task
retried (never lost, never run to completion twice)."""

from __future__ import annotations

import pytest
from _executor_tasks import always_die, die_once, fail_on_three, init_worker, square, worker_state

from zkmargin.errors import InputError
from zkmargin.executor import LocalPoolExecutor, SequentialExecutor, TaskFailed, make_executor


def test_sequential_and_local_pool_give_the_same_values_in_order() -> None:
    items = list(range(40))
    with make_executor("sequential") as seq, make_executor("local", workers=2) as pool:
        assert seq.map(square, items) == pool.map(square, items) == [x * x for x in items]
    results = sorted(LocalPoolExecutor(2).run(square, items), key=lambda r: r.index)
    assert [r.index for r in results] == items and all(r.ok and r.attempts == 1 for r in results)


@pytest.mark.parametrize("kind", ["sequential", "local"])
def test_a_failing_task_is_reported_with_its_index_and_traceback(kind: str) -> None:
    ex = make_executor(kind, workers=2)
    results = {r.index: r for r in ex.run(fail_on_three, range(6))}
    assert [i for i, r in sorted(results.items()) if not r.ok] == [3]
    assert "ValueError: three is not allowed" in (results[3].error or "")
    assert results[3].attempts == 1  # an exception is not retried
    with pytest.raises(TaskFailed) as err:
        ex.map(fail_on_three, range(6))
    assert err.value.index == 3


def test_the_initializer_runs_once_per_worker() -> None:
    out = LocalPoolExecutor(2).map(worker_state, range(20), initializer=init_worker, initargs=(7,))
    assert {tag for _, tag, _ in out} == {7}
    assert {inits for _, _, inits in out} == {1}
    assert 1 <= len({pid for pid, _, _ in out}) <= 2


def test_a_killed_worker_is_replaced_and_its_task_retried(tmp_path) -> None:
    items = [(x, str(tmp_path)) for x in range(6)]
    results = {r.index: r for r in LocalPoolExecutor(2).run(die_once, items, retries=2)}
    assert sorted(results) == list(range(6))  # nothing lost
    assert all(r.ok for r in results.values())
    assert [results[i].value for i in range(6)] == [100 + x for x in range(6)]
    assert results[2].attempts == 2


def test_a_task_whose_worker_keeps_dying_fails_after_the_retries() -> None:
    results = list(LocalPoolExecutor(1).run(always_die, [0], retries=1))
    assert len(results) == 1 and not results[0].ok and results[0].attempts == 2
    assert "worker died 2 times" in (results[0].error or "")


def test_bad_executor_choices_name_the_field(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(InputError) as err:
        make_executor("threads")
    assert err.value.field == "executor"
    with pytest.raises(InputError) as err:
        LocalPoolExecutor(0)
    assert err.value.field == "workers"
    monkeypatch.setenv("ZKMARGIN_EXECUTOR", "sequential")
    assert isinstance(make_executor(), SequentialExecutor)


def test_kept_workers_serve_later_runs_with_the_same_initializer() -> None:
    with LocalPoolExecutor(2, keep_workers=True) as ex:
        first = ex.map(worker_state, range(8), initializer=init_worker, initargs=(3,))
        again = ex.map(worker_state, range(8), initializer=init_worker, initargs=(3,))
        assert {inits for _, _, inits in first + again} == {1}  # the initializer ran once per worker
        assert {pid for pid, _, _ in again} & {pid for pid, _, _ in first}  # the same processes
        other = ex.map(worker_state, range(4), initializer=init_worker, initargs=(4,))
        assert {tag for _, tag, _ in other} == {4} and not {pid for pid, _, _ in other} & {pid for pid, _, _ in first}
    assert ex._pool is None  # closed
