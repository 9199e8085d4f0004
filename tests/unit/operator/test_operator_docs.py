"""docs/trading.md, "The operator's book": the schema table names every table and column of the
database, the export command runs as written and prints what the page shows, the errors quoted
are the ones raised."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from _operator_fakes import TRADERS, UNIT, FakeChain, Orders, epoch, trade

from offchain.operator import OperatorStore, Settler
from offchain.operator.provers import MockProver
from zkmargin.cli import main

ROOT = Path(__file__).resolve().parents[3]
DOC = (ROOT / "docs" / "trading.md").read_text(encoding="utf-8")
SECTION = DOC[DOC.index("## The operator's book"):]


def _schema_rows() -> dict[str, str]:
    part = SECTION[SECTION.index("### Schema"):SECTION.index("### Migrations")]
    rows = {}
    for line in part.splitlines():
        m = re.match(r"\| `(\w+)` \| (.*)\|$", line)
        if m:
            rows[m.group(1)] = m.group(2)
    return rows


def test_the_schema_table_names_every_table_and_column(tmp_path: Path) -> None:
    OperatorStore(tmp_path / "op.sqlite", seed=1).close()
    rows = _schema_rows()
    with sqlite3.connect(tmp_path / "op.sqlite") as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        assert sorted(rows) == sorted(tables)
        for table in tables:
            for col in (r[1] for r in conn.execute(f"PRAGMA table_info({table})")):
                assert f"`{col}`" in rows[table], (table, col)


def _example_database(cwd: Path) -> None:
    """Three accounts, one settled batch and one refused fill (the page's example)."""
    store = OperatorStore(cwd / "out" / "devnet" / "operator.sqlite", seed=7)
    chain = FakeChain()
    chain.post(epoch(1))
    for t in TRADERS:
        chain.balances[t] = 10_000 * UNIT
    chain.balances[TRADERS[5]] = 0
    orders = Orders(store)
    trade(store, orders, 0, 1, 0, 30_000_000, 3)
    trade(store, orders, 2, 0, 1, 20_000_000, 2)
    trade(store, orders, 5, 1, 0, 30_000_000, 1)
    Settler(store, chain, MockProver(chain.allow_statement), slots=4).run_until_idle()
    store.close()


def test_the_export_command_runs_as_written_and_prints_what_the_page_shows(tmp_path: Path) -> None:
    _example_database(tmp_path)
    block = re.search(r"```bash\n(.*?)```", SECTION, re.DOTALL)
    assert block is not None
    (command,) = [line for line in block.group(1).splitlines() if line.startswith("zkmargin operator export")]
    shown = re.search(r"```text\n(.*?)\n```", SECTION, re.DOTALL)
    assert shown is not None
    zkmargin = Path(sys.executable).parent / "zkmargin"
    out = subprocess.run([str(zkmargin), *command.split()[1:]], cwd=tmp_path, capture_output=True, text=True,
                         timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == shown.group(1)
    refused = re.search(r"rejected\*\* with the reason \(for example `(0x[0-9A-Fa-f]{4})\.\.\.(: new state: [^`]*)`\)",
                        " ".join(SECTION.split()))
    assert refused is not None
    with OperatorStore(tmp_path / "out" / "devnet" / "operator.sqlite") as store:
        (fill,) = store.fills("rejected")
    assert fill.reason is not None and fill.reason.startswith(refused.group(1)) and fill.reason.endswith(refused.group(2))


def test_the_errors_the_page_quotes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "op.sqlite"
    OperatorStore(path, seed=1).close()
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO schema_version (version, description, applied_at) VALUES (4, 'future', 0)")
    quoted = re.search(r"`<path>(\.schema_version: version 4 was written by a newer zkmargin[^`]*)`",
                       " ".join(SECTION.split()))
    assert quoted is not None
    with pytest.raises(Exception) as err:
        OperatorStore(path)
    assert str(err.value) == f"{path}{quoted.group(1)}"
    assert main(["operator", "export", "--db", str(tmp_path / "none.sqlite"), "--out", str(tmp_path / "x.json")]) == 2
    assert "error: --db: " in capsys.readouterr().err
    env = {k: v for k, v in os.environ.items() if k != "ZKMARGIN_SETTLER_KEY"}
    out = subprocess.run([sys.executable, "-m", "offchain.operator.cli", "settle", "--state-dir", str(tmp_path)],
                         capture_output=True, text=True, env=env, timeout=120, check=False)
    assert out.returncode == 2 and "error: --key-env: $ZKMARGIN_SETTLER_KEY is not set" in out.stderr
