"""How many cores one proof may use, and the python backend's MSMs on several processes.

:func:`cores_per_proof` is the one setting: ``ZKMARGIN_PROVER_PROCESSES`` (default: 2, or
the CPUs this process may use if fewer); a pool worker of ``prove_many`` sets it to 1 for its
process (the pool already keeps every core busy). The native backend runs its MSMs in that many
threads; the python backend (:func:`run_msms`) in that many forked processes, with the jobs
handed over through a module global (no pickling of the bases), each returning one point.

The python backend forks only where that is safe: never from a process that runs other threads
(a child forked while another thread holds a lock can deadlock: ape's test process holds
provider threads), nor from a daemon process or where ``fork`` does not exist; it then runs the
MSMs inline.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Sequence
from typing import Any

from prover.curve import g1_add_affine, g2_add, g2_to_affine, g2_to_jac
from prover.msm_affine import msm_g1_affine as msm_g1
from prover.msm_affine import msm_g2_affine as msm_g2

#: jobs with more points than this are split in two halves so the processes stay balanced
SPLIT_AT = 4096

_JOBS: list[tuple[str, Sequence[Any], Sequence[int]]] = []


_CORES: int | None = None


def set_cores_per_proof(n: int | None) -> None:
    """Fix the cores one proof may use in this process (``None``: back to the default)."""
    global _CORES
    _CORES = None if n is None else max(1, n)


def cores_per_proof() -> int:
    """The cores one proof may use: :func:`set_cores_per_proof`, else ``$ZKMARGIN_PROVER_PROCESSES``,
    else 2 (or fewer if this process may use fewer CPUs)."""
    if _CORES is not None:
        return _CORES
    env = os.environ.get("ZKMARGIN_PROVER_PROCESSES")
    if env:
        try:
            return max(1, int(env))
        except ValueError:
            return 1
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(2, cpus))


def processes() -> int:
    """Processes the python backend forks for one proof's MSMs (1: inline; see the module docstring)."""
    n = cores_per_proof()
    if n <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        return 1
    if multiprocessing.current_process().daemon or threading.active_count() > 1:
        return 1
    return n


def _run(i: int) -> Any:
    kind, points, scalars = _JOBS[i]
    return msm_g1(points, scalars) if kind == "g1" else msm_g2(points, scalars)


def run_msms(jobs: list[tuple[str, Sequence[Any], Sequence[int]]], parallel: bool = True) -> list[Any]:
    """Results of ``msm_g1``/``msm_g2`` for each ``(kind, points, scalars)`` job, in order."""
    global _JOBS
    n_proc = processes() if parallel else 1
    if n_proc <= 1 or len(jobs) <= 1:
        return [msm_g1(p, s) if k == "g1" else msm_g2(p, s) for k, p, s in jobs]
    parts: list[tuple[str, Sequence[Any], Sequence[int]]] = []
    owner: list[int] = []
    for i, (kind, pts, scs) in enumerate(jobs):
        if len(pts) > SPLIT_AT:
            half = len(pts) // 2
            parts += [(kind, pts[:half], scs[:half]), (kind, pts[half:], scs[half:])]
            owner += [i, i]
        else:
            parts.append((kind, pts, scs))
            owner.append(i)
    _JOBS = parts
    try:
        # largest part first (G2 costs ~3x a G1 of the same size) for a better schedule
        order = sorted(range(len(parts)), key=lambda i: -len(parts[i][1]) * (3 if parts[i][0] == "g2" else 1))
        ctx = multiprocessing.get_context("fork")
        with ctx.Pool(n_proc) as pool:
            out = pool.map(_run, order, chunksize=1)
    finally:
        _JOBS = []
    results: list[Any] = [None] * len(jobs)
    for i, res in zip(order, out):
        j = owner[i]
        if jobs[j][0] == "g1":
            results[j] = g1_add_affine(results[j], res)
        else:
            results[j] = g2_to_affine(g2_add(g2_to_jac(results[j]), g2_to_jac(res)))
    return results
