"""The Python examples of docs/trading.md run as written and print what their comments say."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


BLOCKS = re.findall(r"```python\n(.*?)```", (ROOT / "docs" / "trading.md").read_text(encoding="utf-8"), re.DOTALL)


@pytest.mark.parametrize(("block", "prints"), [(0, 4), (1, 5)], ids=["order-book", "funding"])
def test_docs_example_runs_and_prints_its_comments(tmp_path: Path, block: int, prints: int) -> None:
    assert len(BLOCKS) == 2
    code = BLOCKS[block]
    expected = [line.split("  # ", 1)[1] for line in code.splitlines() if line.startswith("print(") and "  # " in line]
    script = tmp_path / "example.py"
    script.write_text(code, encoding="utf-8")
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=ROOT, timeout=120,
                         check=False)
    assert out.returncode == 0, out.stderr
    printed = out.stdout.splitlines()
    assert len(printed) == len(expected) == prints
    for got, want in zip(printed, expected):
        if "..." in want:
            head, _, rest = want.partition("...")
            assert got.startswith(head.rstrip()) and rest.strip(" .") in got, (got, want)
        else:
            assert got == want
