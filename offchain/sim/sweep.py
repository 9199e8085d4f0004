"""Sweep files: many scenarios x parameter grids x seeds, expanded into seeded tasks.

A sweep file (JSON, or YAML with pyyaml) names the scenario files, the replicates (a range of
seed indices), the margin models, a parameter grid and overrides; see ``docs/simulator.md``
and ``scenarios/sweeps/``. It is validated completely before anything runs: the sweep's own
fields (pydantic, unknown keys rejected), every scenario file, every override and grid value
applied to every scenario, and every grid point. A problem raises
:class:`~zkmargin.errors.InputError` whose field names it (``<sweep file>:grid[0].values[2]``).

Expansion: one task per (scenario, grid point, replicate); a task runs every selected model
on one seeded path and trader population (:func:`offchain.sim.runner.compare_models`). The
task's seed is derived from one root ``SeedSequence(root_seed)`` and the task's seed key,
``(scenario name, replicate)``, or ``(scenario name, grid point, replicate)`` without
``common_random_numbers``: :func:`task_seed`. With common random numbers (the default) every
grid point of a replicate sees the same price path and traders, so differences between grid
points are paired. Seeds do not depend on the executor, the worker count or the task order.

Paths into a scenario (``overrides`` keys and ``grid[].path``) are dotted, with ``[i]`` for a
list index and ``[name]`` for the list element whose ``name`` is ``name``:
``liquidators[0].latency_steps``, ``models[cross].config.imf_base``, ``traders.n``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import product
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from offchain.sim.runner import MAX_SEED
from offchain.sim.scenario import Scenario, parse_scenario, scenario_hash
from zkmargin.errors import InputError

ParamType = Literal["bool", "int", "float", "string", "json"]
MAX_TASKS = 10_000_000


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SeedRange(_Strict):
    """Replicates ``start, start + 1, ..., start + count - 1`` (each gets its own derived seed)."""

    start: int = Field(default=0, ge=0, le=2**31)
    count: int = Field(ge=1, le=1_000_000)


class ScenarioRef(_Strict):
    """A scenario file (relative to the sweep file) and overrides for it alone."""

    file: str = Field(min_length=1)
    overrides: dict[str, Any] = Field(default_factory=dict)


class GridAxis(_Strict):
    """One axis of the full-factorial grid: a scenario path and its values."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=48)
    path: str = Field(min_length=1)
    values: list[Any] = Field(min_length=1)

    @model_validator(mode="after")
    def _distinct(self) -> GridAxis:
        seen = [_canonical(v) for v in self.values]
        if len(set(seen)) != len(seen):
            raise ValueError(f"values: must be distinct, got {self.values}")
        return self


class SweepSpec(_Strict):
    """A whole sweep file."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$", max_length=100)
    description: str = ""
    root_seed: int = Field(default=0, ge=0, le=MAX_SEED)
    scenarios: list[str | ScenarioRef] = Field(min_length=1)
    seeds: SeedRange
    models: list[str] | None = Field(default=None, min_length=1)
    grid: list[GridAxis] = Field(default_factory=list)
    overrides: dict[str, Any] = Field(default_factory=dict)
    no_impact_runs: bool = True
    timeseries: bool = True
    common_random_numbers: bool = True

    @model_validator(mode="after")
    def _unique(self) -> SweepSpec:
        names = [a.name for a in self.grid]
        if len(set(names)) != len(names):
            raise ValueError(f"grid: axis names must be unique, got {names}")
        paths = [a.path for a in self.grid]
        if len(set(paths)) != len(paths):
            raise ValueError(f"grid: axis paths must be unique, got {paths}")
        if self.models is not None and len(set(self.models)) != len(self.models):
            raise ValueError(f"models: names must be unique, got {self.models}")
        return self


@dataclass(frozen=True)
class Param:
    """A grid axis as a results column ``param_<name>`` of type ``type``."""

    name: str
    path: str
    type: ParamType

    @property
    def column(self) -> str:
        return f"param_{self.name}"


@dataclass(frozen=True)
class SweepTask:
    """One unit of work: every selected model on one scenario, grid point and seed.

    ``scenario`` is the resolved scenario document (overrides and grid values applied), so a
    worker on another machine needs nothing but the installed package.
    """

    key: str
    scenario_index: int
    scenario_name: str
    point: int
    replicate: int
    seed: int
    params: tuple[tuple[str, Any], ...]
    param_types: tuple[tuple[str, ParamType], ...]
    scenario: dict[str, Any]
    scenario_sha256: str
    models: tuple[str, ...] | None
    no_impact_runs: bool
    timeseries: bool


@dataclass(frozen=True)
class Point:
    """A resolved (scenario, grid point): the scenario document every replicate of it runs."""

    scenario_index: int
    scenario_name: str
    point: int
    params: tuple[tuple[str, Any], ...]
    scenario: dict[str, Any]
    scenario_sha256: str


@dataclass(frozen=True)
class Sweep:
    """A validated sweep: the spec, its source, the grid columns and the resolved points."""

    spec: SweepSpec
    source: str
    params: tuple[Param, ...]
    points: tuple[Point, ...]
    sha256: str

    @property
    def n_tasks(self) -> int:
        return len(self.points) * self.spec.seeds.count

    def replicates(self) -> range:
        s = self.spec.seeds
        return range(s.start, s.start + s.count)

    def tasks(self) -> Iterator[SweepTask]:
        """Every task, in key order (scenario, grid point, replicate)."""
        spec = self.spec
        types = tuple((p.name, p.type) for p in self.params)
        models = tuple(spec.models) if spec.models else None
        for pt in self.points:
            for rep in self.replicates():
                yield SweepTask(
                    key=task_key(pt.scenario_index, pt.point, rep),
                    scenario_index=pt.scenario_index,
                    scenario_name=pt.scenario_name,
                    point=pt.point,
                    replicate=rep,
                    seed=task_seed(
                        spec.root_seed, pt.scenario_name, rep, None if spec.common_random_numbers else pt.point
                    ),
                    params=pt.params,
                    param_types=types,
                    scenario=pt.scenario,
                    scenario_sha256=pt.scenario_sha256,
                    models=models,
                    no_impact_runs=spec.no_impact_runs,
                    timeseries=spec.timeseries,
                )


# ----------------------------------------------------------------------------- seeds and keys


def task_key(scenario_index: int, point: int, replicate: int) -> str:
    """``s<scenario>-g<grid point>-r<replicate>``, zero-padded so that keys sort in task order."""
    return f"s{scenario_index:02d}-g{point:04d}-r{replicate:06d}"


def task_seed(root_seed: int, scenario_name: str, replicate: int, point: int | None = None) -> int:
    """The simulation seed of a task: a 63-bit integer drawn from ``SeedSequence(root_seed)``
    with the spawn key ``(h0, h1, [point,] replicate)`` (``h`` the first two 32-bit words of the
    SHA-256 of the scenario name). Pass it to ``zkmargin simulate --seed`` to rerun a task."""
    words = np.frombuffer(hashlib.sha256(scenario_name.encode()).digest()[:8], dtype="<u4")
    key = (int(words[0]), int(words[1])) + (() if point is None else (point,)) + (replicate,)
    seq = np.random.SeedSequence(root_seed, spawn_key=key)
    return int(seq.generate_state(1, dtype=np.uint64)[0]) >> 1


# ----------------------------------------------------------------------------- scenario paths

_NAMED = re.compile(r"^([A-Za-z_][A-Za-z0-9_.\[\]]*): (.*)$", re.DOTALL)
_SEGMENT = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)((?:\[[^\[\]]+\])*)$")
_INDEX = re.compile(r"\[([^\[\]]+)\]")


def parse_path(path: str) -> list[str | int | tuple[str]]:
    """``a.b[0].c[name]`` -> ``["a", "b", 0, "c", ("name",)]`` (a 1-tuple selects by name)."""
    out: list[str | int | tuple[str]] = []
    for seg in path.split("."):
        m = _SEGMENT.match(seg)
        if not m:
            raise InputError("path", f"bad path {path!r}: segment {seg!r} is not name[index]...")
        out.append(m.group(1))
        for idx in _INDEX.findall(m.group(2)):
            out.append(int(idx) if idx.isdigit() else (idx,))
    return out


def set_path(doc: dict[str, Any], path: str, value: Any) -> None:
    """Set ``path`` in the scenario document ``doc`` (in place); missing mapping keys are created
    (the scenario's validation then rejects unknown ones), list elements must exist."""
    tokens = parse_path(path)
    node: Any = doc
    for i, tok in enumerate(tokens):
        last = i == len(tokens) - 1
        where = ".".join(str(t) for t in tokens[: i + 1])
        if isinstance(tok, str):
            if not isinstance(node, dict):
                raise InputError("path", f"{path!r}: {where!r} is not inside a mapping")
            if last:
                node[tok] = value
            else:
                if node.get(tok) is None:
                    node[tok] = [] if isinstance(tokens[i + 1], (int, tuple)) else {}
                node = node[tok]
            continue
        if not isinstance(node, list):
            raise InputError("path", f"{path!r}: {where!r} indexes something that is not a list")
        if isinstance(tok, int):
            if tok >= len(node):
                raise InputError("path", f"{path!r}: index {tok} out of range (the list has {len(node)} items)")
            pos = tok
        else:
            names = [item.get("name") if isinstance(item, dict) else None for item in node]
            if tok[0] not in names:
                raise InputError("path", f"{path!r}: no item named {tok[0]!r} (have {names})")
            pos = names.index(tok[0])
        if last:
            node[pos] = value
        else:
            node = node[pos]


# ----------------------------------------------------------------------------- loading


def _canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"))


def _param_type(values: Sequence[Any]) -> ParamType:
    if all(isinstance(v, bool) for v in values):
        return "bool"
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return "int"
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return "float"
    if all(isinstance(v, str) for v in values):
        return "string"
    return "json"


def _loc(loc: Sequence[int | str]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part not in ("str", "ScenarioRef"):  # union branches pydantic adds to the path
            out += ("." if out else "") + str(part)
    return out


def read_document(path: str | Path, field: str) -> Any:
    """A JSON (or YAML) file's content; errors are InputError naming ``field``."""
    file = Path(path)
    if not file.is_file():
        raise InputError(field, f"file {file} does not exist")
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(field, f"cannot read {file}: {exc}") from None
    if file.suffix.lower() in {".yaml", ".yml"}:
        import yaml

        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise InputError(field, f"invalid YAML in {file.name}: {exc}") from None
    if file.suffix.lower() != ".json":
        raise InputError(field, f"unsupported file type {file.suffix!r} (use .json, .yaml or .yml)")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(field, f"invalid JSON in {file.name} at line {exc.lineno} column {exc.colno}: {exc.msg}") from None


def parse_sweep_spec(data: object, source: str = "sweep") -> SweepSpec:
    """Validate a decoded sweep document (fields only; :func:`resolve` checks the scenarios)."""
    if not isinstance(data, dict):
        raise InputError(source, "must be a JSON/YAML object (mapping) at the top level")
    try:
        return SweepSpec.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        msg = str(err["msg"]).removeprefix("Value error, ")
        field = _loc(tuple(err["loc"]))
        named = _NAMED.match(msg)  # a model validator's "<field>: <problem>"
        if named:
            field = f"{field}.{named.group(1)}" if field else named.group(1)
            msg = named.group(2)
        if err["type"] == "extra_forbidden":
            msg = f"unknown key {field.rsplit('.', 1)[-1]!r}"
        raise InputError(f"{source}:{field}" if field else source, msg) from None


def load_sweep(path: str | Path) -> Sweep:
    """Read, validate and resolve a sweep file (scenario files relative to it)."""
    file = Path(path)
    spec = parse_sweep_spec(read_document(file, "sweep"), file.name)
    return resolve(spec, file.parent, file.name)


def resolve(spec: SweepSpec, base_dir: Path, source: str = "sweep") -> Sweep:
    """Load every scenario, apply overrides and every grid point, validate each; hash the sweep."""

    def err(field: str, problem: str) -> InputError:
        return InputError(f"{source}:{field}", problem)

    bases: list[tuple[str, dict[str, Any]]] = []
    for i, ref in enumerate(spec.scenarios):
        ref = ScenarioRef(file=ref) if isinstance(ref, str) else ref
        file = Path(ref.file) if Path(ref.file).is_absolute() else base_dir / ref.file
        try:
            data = read_document(file, "file")
        except InputError as exc:
            raise err(f"scenarios[{i}]", exc.problem) from None
        if not isinstance(data, dict):
            raise err(f"scenarios[{i}]", f"{file.name} must hold a JSON/YAML object")
        for where, overrides in ((f"scenarios[{i}].overrides", ref.overrides), ("overrides", spec.overrides)):
            for key, value in overrides.items():
                _apply(data, key, value, lambda p, _w=where, _k=key: err(f"{_w}.{_k}", p))
        scenario = _validate(data, lambda p, _i=i, _n=file.name: err(f"scenarios[{_i}]", f"{_n}: {p}"))
        if spec.models:
            unknown = [m for m in spec.models if m not in {e.name for e in scenario.models}]
            if unknown:
                raise err("models", f"unknown model(s) {unknown} in scenario {scenario.name!r} "
                                    f"(it has {[e.name for e in scenario.models]})")
        bases.append((scenario.name, data))
    names = [n for n, _ in bases]
    if len(set(names)) != len(names):
        raise err("scenarios", f"scenario names must be unique (they seed the tasks), got {names}")

    # each grid value alone on each scenario: a bad value is named precisely
    for a, axis in enumerate(spec.grid):
        for j, value in enumerate(axis.values):
            for name, data in bases:
                doc = json.loads(json.dumps(data))
                _apply(doc, axis.path, value, lambda p, _a=a: err(f"grid[{_a}].path", p))
                _validate(doc, lambda p, _a=a, _j=j, _n=name: err(f"grid[{_a}].values[{_j}]", f"in scenario {_n!r}: {p}"))

    n_points = 1
    for axis in spec.grid:
        n_points *= len(axis.values)
    if len(bases) * n_points * spec.seeds.count > MAX_TASKS:
        raise err("grid", f"the sweep has {len(bases) * n_points * spec.seeds.count:,} tasks, more than {MAX_TASKS:,}")

    points: list[Point] = []
    for s, (name, data) in enumerate(bases):
        for g, combo in enumerate(product(*(axis.values for axis in spec.grid))):
            doc = json.loads(json.dumps(data))
            for axis, value in zip(spec.grid, combo):
                set_path(doc, axis.path, value)
            params = tuple((axis.name, value) for axis, value in zip(spec.grid, combo))
            scenario = _validate(doc, lambda p, _n=name, _pr=params: err("grid", f"point {dict(_pr)} in scenario {_n!r}: {p}"))
            resolved = scenario.model_dump(mode="json")
            points.append(Point(s, name, g, params, resolved, scenario_hash(scenario)))

    params_cols = tuple(Param(a.name, a.path, _param_type(a.values)) for a in spec.grid)
    identity = {
        "spec": spec.model_dump(mode="json", exclude={"description", "scenarios"}),
        "points": [[p.scenario_index, p.scenario_name, p.point, p.scenario_sha256] for p in points],
    }
    sha = hashlib.sha256(_canonical(identity).encode()).hexdigest()
    return Sweep(spec=spec, source=source, params=params_cols, points=tuple(points), sha256=sha)


def _apply(doc: dict[str, Any], path: str, value: Any, err: Any) -> None:
    try:
        set_path(doc, path, value)
    except InputError as exc:
        raise err(exc.problem) from None


def _validate(doc: dict[str, Any], err: Any) -> Scenario:
    try:
        return parse_scenario(doc, "scenario")
    except InputError as exc:
        field = exc.field.removeprefix("scenario:").removeprefix("scenario")
        raise err(f"{field}: {exc.problem}" if field else exc.problem) from None
