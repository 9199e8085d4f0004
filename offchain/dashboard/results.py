"""Finding and reading result folders for the dashboard's results explorer.

Three kinds are recognised under the roots it is given (default ``out/``):

* **simulator runs** (``zkmargin simulate``): ``summary.json`` with ``"tool": "zkmargin simulate"``,
  ``timeseries.csv``, ``summary.csv`` and PNG plots;
* **sweeps**: a folder holding Parquet files (``zkmargin sweep``: one row per run); read with
  pyarrow, and queried with DuckDB SQL when ``duckdb`` is installed;
* **demo reports** (``ape run demo``): ``summary.json`` + ``manifest.json`` + ``accounts.csv``.

Everything optional is detected, never required: a sweep needs pyarrow, SQL needs duckdb.
"""

from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SIM_TOOL = "zkmargin simulate"
MAX_DEPTH = 4


@dataclass(frozen=True)
class ResultFolder:
    kind: str  # "simulation" | "sweep" | "demo"
    path: Path
    title: str

    @property
    def pngs(self) -> list[Path]:
        return sorted(self.path.glob("*.png"))


def has_module(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


def _kind(folder: Path) -> tuple[str, str] | None:
    summary = folder / "summary.json"
    if summary.is_file():
        try:
            doc = json.loads(summary.read_text())
        except (OSError, json.JSONDecodeError):
            return None
        if isinstance(doc, dict) and doc.get("tool") == SIM_TOOL:
            return "simulation", f"{doc.get('scenario', folder.name)} (seed {doc.get('seed')})"
        if isinstance(doc, dict) and "scenario" in doc and (folder / "accounts.csv").is_file():
            name = doc["scenario"].get("name", folder.name) if isinstance(doc["scenario"], dict) else folder.name
            return "demo", f"{name} (seed {doc.get('seed')})"
    if any(folder.glob("*.parquet")):
        return "sweep", folder.name
    return None


def discover(roots: list[Path]) -> list[ResultFolder]:
    """Every result folder under ``roots`` (at most :data:`MAX_DEPTH` levels down), sorted by kind and path."""
    found: dict[Path, ResultFolder] = {}
    for root in roots:
        if not root.is_dir():
            continue
        stack = [(root, 0)]
        while stack:
            folder, depth = stack.pop()
            k = _kind(folder)
            if k is not None:
                found[folder.resolve()] = ResultFolder(k[0], folder, k[1])
                if k[0] != "sweep":
                    continue
            if depth < MAX_DEPTH:
                stack += [(p, depth + 1) for p in sorted(folder.iterdir()) if p.is_dir() and not p.name.startswith(".")]
    return sorted(found.values(), key=lambda r: (r.kind, str(r.path)))


def read_simulation(folder: Path) -> dict[str, Any]:
    """The run's summary document, its per-model summary and time series (pandas DataFrames)."""
    import pandas as pd

    doc = json.loads((folder / "summary.json").read_text())
    return {"doc": doc, "summary": pd.DataFrame(doc["summary"]), "timeseries": pd.read_csv(folder / "timeseries.csv")}


def parquet_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.parquet"))


def read_parquet(path: Path) -> Any:
    """A Parquet file as a pandas DataFrame (pyarrow)."""
    import pyarrow.parquet as pq

    return pq.read_table(path).to_pandas()


def sql(folder: Path, query: str) -> Any:
    """Run DuckDB SQL over the folder's Parquet files; each file is a view named after its stem."""
    import duckdb

    con = duckdb.connect()
    try:
        for f in parquet_files(folder):
            name = "".join(ch if ch.isalnum() else "_" for ch in f.stem)
            con.execute(f"CREATE VIEW \"{name}\" AS SELECT * FROM read_parquet('{f.as_posix()}')")
        return con.execute(query).fetchdf()
    finally:
        con.close()


def read_demo(folder: Path) -> dict[str, Any]:
    import pandas as pd

    out: dict[str, Any] = {"summary": json.loads((folder / "summary.json").read_text())}
    for name in ("accounts", "steps", "alerts", "margin_calls"):
        f = folder / f"{name}.csv"
        if f.is_file() and f.stat().st_size:
            out[name] = pd.read_csv(f)
    return out
