"""Run the prover's independent multi-scalar multiplications on several cores.

The jobs are handed to forked worker processes through a module global (no pickling of the
bases); each worker returns one affine point.  ``ZKMARGIN_PROVER_PROCESSES`` sets the number
of processes (default: 2, or 1 where ``fork`` is unavailable); 1 runs everything inline.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Sequence
from typing import Any

from prover.curve import g1_add_affine, g2_add, g2_to_affine, g2_to_jac
from prover.msm_affine import msm_g1_affine as msm_g1
from prover.msm_affine import msm_g2_affine as msm_g2

#: jobs with more points than this are split in two halves so the processes stay balanced
SPLIT_AT = 4096

_JOBS: list[tuple[str, Sequence[Any], Sequence[int]]] = []


def processes() -> int:
    env = os.environ.get("ZKMARGIN_PROVER_PROCESSES")
    if env:
        try:
            return max(1, int(env))
        except ValueError:
            return 1
    if "fork" not in multiprocessing.get_all_start_methods() or multiprocessing.current_process().daemon:
        return 1  # no fork, or we are a pool worker ourselves (daemons cannot have children)
    return max(1, min(2, os.cpu_count() or 1))


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
