"""The results folder of a sweep: one Parquet folder per finished task, written atomically.

Layout of ``<out>/``::

    manifest.json               sweep name and SHA-256, the validated spec, grid columns, package
                                versions, git commit, every run (executor, workers, counts), status
    plan.parquet                every task: key, scenario, scenario hash, seed, replicate, point, params
    scenarios/<sha256>.json     each resolved scenario (rerun a task: zkmargin simulate --scenario
                                scenarios/<sha256>.json --seed <seed>)
    tasks/<key>/summary.parquet, assets.parquet[, timeseries.parquet]
    failures/<key>.json         a failed task: seed, params, scenario, attempts, traceback
    .partial/                   tasks being written (never read)

A task's tables are written into ``.partial/<key>.<pid>/`` and the folder is renamed to
``tasks/<key>`` in one ``rename`` (atomic on POSIX file systems): a task folder exists only
complete, its presence marks the task finished, and a rerun skips it. A process killed at any
point leaves at most a stale ``.partial`` entry, removed by the next run. A second run of the
same sweep into the folder while one is running is refused (an exclusive ``flock``), and a
folder holding another sweep (a different SHA-256) is refused before anything is written.
"""

from __future__ import annotations

import datetime as _dt
import fcntl
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow as pa

from offchain.sim.sweep import Sweep, SweepTask
from offchain.sim.sweep_task import TABLES, param_fields, param_value, to_parquet
from offchain.validation import write_atomic
from zkmargin.errors import InputError
from zkmargin.info import git_commit, package_versions

TOOL = "zkmargin sweep"
FORMAT = 1
MANIFEST = "manifest.json"
PLAN = "plan.parquet"
TASKS = "tasks"
FAILURES = "failures"
SCENARIOS = "scenarios"
PARTIAL = ".partial"
LOCK = ".lock"


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def _dump(obj: Any) -> str:
    return json.dumps(obj, indent=2, sort_keys=True) + "\n"


def read_manifest(root: Path) -> dict[str, Any] | None:
    """The folder's manifest, or None when it has none (an error if it is not a sweep's)."""
    file = root / MANIFEST
    if not file.is_file():
        return None
    try:
        doc = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError("--out", f"{file} is not a readable sweep manifest: {exc}") from None
    if not isinstance(doc, dict) or doc.get("tool") != TOOL:
        raise InputError("--out", f"{root} holds a manifest.json that is not a sweep's")
    return doc


class SweepStore:
    """The results folder of one sweep (module docstring)."""

    def __init__(self, root: Path, sweep: Sweep) -> None:
        self.root = Path(root)
        self.sweep = sweep

    @classmethod
    def prepare(cls, root: Path, sweep: Sweep) -> SweepStore:
        """Check that ``root`` is new, empty, or holds this same sweep; writes nothing."""
        root = Path(root)
        if root.exists() and not root.is_dir():
            raise InputError("--out", f"{root} exists and is not a folder")
        if root.is_dir():
            doc = read_manifest(root)
            if doc is None:
                if any(p.name != LOCK for p in root.iterdir()):
                    raise InputError("--out", f"{root} is not empty and holds no sweep: choose another folder")
            elif doc["sweep"]["sha256"] != sweep.sha256:
                raise InputError(
                    "--out",
                    f"{root} holds sweep {doc['sweep']['name']!r} ({doc['sweep']['sha256'][:12]}), not this one "
                    f"({sweep.sha256[:12]}): the sweep file or its scenarios changed; choose another folder",
                )
        return cls(root, sweep)

    # ------------------------------------------------------------------------- paths
    @property
    def tasks_dir(self) -> Path:
        return self.root / TASKS

    def task_dir(self, key: str) -> Path:
        return self.tasks_dir / key

    def failure_file(self, key: str) -> Path:
        return self.root / FAILURES / f"{key}.json"

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the folder's exclusive lock (another run on it is refused)."""
        self.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.root / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise InputError("--out", f"another sweep run is writing into {self.root}") from None
            yield
        finally:
            os.close(fd)

    # ------------------------------------------------------------------------- writing
    def initialize(self) -> dict[str, Any]:
        """Create the folders, the plan and the resolved scenarios (once); clear stale partials."""
        sweep = self.sweep
        doc = read_manifest(self.root)
        if doc is None:  # first: a folder with a manifest is this sweep's, whatever happens next
            doc = {
                "tool": TOOL,
                "format": FORMAT,
                "sweep": {"name": sweep.spec.name, "sha256": sweep.sha256, "source": sweep.source,
                          "description": sweep.spec.description},
                "spec": sweep.spec.model_dump(mode="json"),
                "root_seed": sweep.spec.root_seed,
                "tasks": sweep.n_tasks,
                "scenarios": [list(x) for x in sorted({(p.scenario_index, p.scenario_name) for p in sweep.points})],
                "params": [{"name": p.name, "path": p.path, "type": p.type, "column": p.column}
                           for p in sweep.params],
                "tables": list(TABLES) if sweep.spec.timeseries else list(TABLES[:2]),
                "created": _now(),
                "packages": package_versions(),
                "git_commit": git_commit(),
                "runs": [],
            }
            self.write_manifest(doc)
        shutil.rmtree(self.root / PARTIAL, ignore_errors=True)
        for sub in (TASKS, FAILURES, SCENARIOS, PARTIAL):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        for pt in sweep.points:
            file = self.root / SCENARIOS / f"{pt.scenario_sha256}.json"
            if not file.exists():
                write_atomic(file, _dump(pt.scenario))
        if not (self.root / PLAN).exists():
            self._write_bytes(self.root / PLAN, plan_parquet(sweep))
        for key in self.failed() & self.finished():  # killed between publishing a retry and this clean-up
            self.failure_file(key).unlink(missing_ok=True)
        return doc

    def write_manifest(self, doc: dict[str, Any]) -> None:
        write_atomic(self.root / MANIFEST, _dump(doc))

    def finished(self) -> set[str]:
        """Keys of the finished tasks (their folders exist)."""
        if not self.tasks_dir.is_dir():
            return set()
        return {p.name for p in self.tasks_dir.iterdir() if p.is_dir()}

    def failed(self) -> set[str]:
        folder = self.root / FAILURES
        return {p.stem for p in folder.glob("*.json")} if folder.is_dir() else set()

    def commit(self, key: str, tables: dict[str, bytes]) -> bool:
        """Write a task's tables and publish them in one rename; False if it was already there."""
        final = self.task_dir(key)
        if final.exists():
            return False
        tmp = self.root / PARTIAL / f"{key}.{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        for name in sorted(tables):
            self._write_bytes(tmp / f"{name}.parquet", tables[name], atomic=False)
        _fsync_dir(tmp)
        try:
            os.rename(tmp, final)
        except OSError:  # published meanwhile (another process): keep the first
            shutil.rmtree(tmp, ignore_errors=True)
            return False
        _fsync_dir(self.tasks_dir)
        self.failure_file(key).unlink(missing_ok=True)
        return True

    def record_failure(self, task: SweepTask, error: str, attempts: int) -> None:
        """A failed task's crash report: everything needed to rerun it, and the traceback."""
        doc = {
            "task": task.key,
            "scenario": task.scenario_name,
            "scenario_sha256": task.scenario_sha256,
            "scenario_file": f"{SCENARIOS}/{task.scenario_sha256}.json",
            "seed": task.seed,
            "replicate": task.replicate,
            "point": task.point,
            "params": dict(task.params),
            "models": list(task.models) if task.models else None,
            "attempts": attempts,
            "error": error,
            "rerun": f"zkmargin simulate --scenario {self.root / SCENARIOS / (task.scenario_sha256 + '.json')} "
                     f"--seed {task.seed}",
        }
        write_atomic(self.failure_file(task.key), _dump(doc))

    @staticmethod
    def _write_bytes(path: Path, data: bytes, atomic: bool = True) -> None:
        tmp = path.with_name(f".{path.name}.tmp") if atomic else path
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if atomic:
            os.replace(tmp, path)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def plan_parquet(sweep: Sweep) -> bytes:
    """Every task of the sweep as one table (``plan.parquet``)."""
    types = {p.name: p.type for p in sweep.params}
    rows: dict[str, list[Any]] = {k: [] for k in ("task", "scenario", "scenario_sha256", "seed", "replicate", "point")}
    params: dict[str, list[Any]] = {p.column: [] for p in sweep.params}
    for t in sweep.tasks():
        rows["task"].append(t.key)
        rows["scenario"].append(t.scenario_name)
        rows["scenario_sha256"].append(t.scenario_sha256)
        rows["seed"].append(t.seed)
        rows["replicate"].append(t.replicate)
        rows["point"].append(t.point)
        for name, value in t.params:
            params[f"param_{name}"].append(param_value(value, types[name]))
    schema = pa.schema([
        pa.field("task", pa.string(), nullable=False), pa.field("scenario", pa.string(), nullable=False),
        pa.field("scenario_sha256", pa.string(), nullable=False), pa.field("seed", pa.int64(), nullable=False),
        pa.field("replicate", pa.int64(), nullable=False), pa.field("point", pa.int64(), nullable=False),
        *param_fields([(p.name, p.type) for p in sweep.params]),
    ])
    return to_parquet(pa.table({**rows, **params}, schema=schema))
