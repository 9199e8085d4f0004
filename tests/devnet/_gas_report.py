"""The committed gas report (``gas/gas-report.json`` and ``gas/gas-report.md``), written by the
tests that measure it: ``tests/devnet/test_real_verifier.py`` (the ``gas`` table: one figure per
external function) and ``tests/devnet/test_transitions_real_verifier.py`` (the ``settlement``
section: gas per settled fill). Each test owns its part of the JSON; the Markdown is rendered
from the whole JSON, so neither test's rewrite drops the other's figures.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

GAS_DIR = Path(__file__).resolve().parents[2] / "gas"
JSON_PATH = GAS_DIR / "gas-report.json"
MD_PATH = GAS_DIR / "gas-report.md"


def load() -> dict[str, Any]:
    return json.loads(JSON_PATH.read_text()) if JSON_PATH.exists() else {}


def write_section(key: str, value: Any, **top: Any) -> None:
    """Set ``key`` (and the ``top`` keys) of the JSON report and re-render the Markdown."""
    data = load()
    data.update(top)
    data[key] = value
    GAS_DIR.mkdir(exist_ok=True)
    JSON_PATH.write_text(json.dumps(data, indent=1) + "\n")
    MD_PATH.write_text(render(data))


def check_section(key: str, measured: dict[str, int]) -> None:
    """Every figure of ``measured`` within 2% (at least 500 gas) of the committed ``key`` figures."""
    committed = load().get(key)
    assert committed is not None, f"gas/gas-report.json has no '{key}' section: ZKMARGIN_UPDATE_GAS=1"
    figures = committed["gas"] if isinstance(committed, dict) and "gas" in committed else committed
    assert set(figures) == set(measured), f"gas/gas-report.json '{key}' lists other figures: ZKMARGIN_UPDATE_GAS=1"
    for name, gas in measured.items():
        assert abs(gas - figures[name]) <= max(500, figures[name] // 50), (name, gas, figures[name])


def render(data: dict[str, Any]) -> str:
    lines = ["# Gas report", "", ("Gas used per transaction (21,000 base and calldata included) on anvil, "
             "solc 0.8.28 (optimizer, 200 runs, cancun). Produced by `tests/devnet/test_real_verifier.py` "
             "and `tests/devnet/test_transitions_real_verifier.py` with `ZKMARGIN_UPDATE_GAS=1`; the tests "
             "fail when a figure moves by more than 2%."), "",
             "| function | gas | target |", "|---|---:|---:|"]
    targets = data.get("targets", {})
    for name, gas in sorted(data.get("gas", {}).items()):
        t = targets.get(name)
        mark = "" if t is None else (f"<= {t:,} {'met' if gas <= t else '**missed**'}")
        lines.append(f"| `{name}` | {gas:,} | {mark} |")
    settlement = data.get("settlement")
    if settlement:
        lines += ["", "## Settlement: gas per settled fill", "", settlement["description"], "",
                  "| accounts | fills | parties (proofs) | gas per batch | gas per fill | gas per party |",
                  "|---|---:|---:|---:|---:|---:|"]
        for row in settlement["rows"]:
            lines.append(f"| {row['accounts']} | {row['fills']} | {row['parties']} | {row['batch_gas']:,} | "
                         f"{row['per_fill']:,} | {row['per_party']:,} |")
    return "\n".join(lines) + "\n"
