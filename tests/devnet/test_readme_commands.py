"""Every command the README and the docs show runs as written, so they cannot drift.

The shell blocks (```bash) of ``README.md``, ``docs/*.md`` and ``examples/README.md`` are
extracted and run, in document order, with bash (``set -e``) in a temporary copy of the
repository (the tracked and untracked-but-not-ignored files, with the toolchain of this checkout:
``.venv``, ``node_modules``, ``.toolchain``; the deterministic devnet proving keys of
``.build/zk`` and ape's compiled contracts are copied as the caches they are). An HTML comment right above a block says how
to treat it, and the test reads it:

* ``<!-- readme-test: skip: REASON -->``: not run here; the reason is required and printed
  (``make demo`` and ``make test`` themselves, the unit/devnet suites and the benchmarks: they
  are what CI runs anyway, and they take minutes);
* ``<!-- readme-test: own-node -->``: the block starts a long-lived node (``anvil ... &``) and
  stops it (``kill %1``); the test runs the block against an anvil it starts itself on a free
  loopback port (``8545`` in the block becomes that port) and stops at the end.

A command hidden in a block of another language (a ``zkmargin``/``ape``/``make``/``anvil`` line
outside a ```bash block) fails the test, so every command example is either run or explicitly
marked.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "examples" / "README.md"]
SHELL_LANGS = {"bash", "sh", "shell", "console"}
COMMAND = re.compile(r"^\s*(zkmargin|ape|make|anvil|python bench/)\b")
MARKER = re.compile(r"<!--\s*readme-test:\s*(skip|own-node)\s*(?::\s*(.*?))?\s*-->")
#: every block together must finish well inside CI's budget (2 cores); one block at most this
BLOCK_TIMEOUT_S = 420


@dataclass
class Block:
    doc: Path
    line: int  # 1-based line of the opening fence
    lang: str
    text: str
    mode: str  # "run" | "skip" | "own-node"
    reason: str = ""

    @property
    def where(self) -> str:
        return f"{self.doc.relative_to(ROOT)}:{self.line}"


def extract_blocks(doc: Path) -> list[Block]:
    """The fenced blocks of ``doc`` with the marker comment (if any) in the three lines above."""
    lines = doc.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        m = re.match(r"^(\s*)```(\S*)", lines[i])
        if not m:
            i += 1
            continue
        start, lang = i, m.group(2).lower()
        j = i + 1
        while j < len(lines) and not lines[j].strip().startswith("```"):
            j += 1
        mode, reason = "run", ""
        for k in range(max(0, start - 3), start):
            mk = MARKER.search(lines[k])
            if mk:
                mode, reason = mk.group(1), (mk.group(2) or "").strip()
        blocks.append(Block(doc, start + 1, lang, "\n".join(lines[start + 1 : j]), mode, reason))
        i = j + 1
    return blocks


def all_blocks() -> list[Block]:
    return [b for doc in DOCS for b in extract_blocks(doc)]


# ------------------------------------------------------------------ fast checks (no commands run)
def test_every_command_example_is_a_marked_or_runnable_shell_block() -> None:
    blocks = all_blocks()
    shell = [b for b in blocks if b.lang in SHELL_LANGS]
    assert len(shell) >= 6, [b.where for b in shell]
    for b in blocks:
        if b.lang not in SHELL_LANGS:
            hidden = [ln for ln in b.text.splitlines() if COMMAND.match(ln)]
            assert not hidden, f"{b.where}: commands in a ```{b.lang or '(plain)'} block are not run by this test: {hidden}"
        elif b.mode == "skip":
            assert len(b.reason) >= 10, f"{b.where}: a skipped block must say why (<!-- readme-test: skip: REASON -->)"
        elif b.mode == "own-node":
            assert re.search(r"^anvil .*&\s*(#.*)?$", b.text, re.MULTILINE), f"{b.where}: an own-node block starts anvil in the background"
            assert "8545" in b.text
    # make demo / make test are in the README and explicitly not run here
    readme = [b for b in shell if b.doc.name == "README.md" and b.doc.parent == ROOT]
    assert any("make demo" in b.text and b.mode == "skip" for b in readme)


def test_blocks_are_valid_bash() -> None:
    for b in all_blocks():
        if b.lang in SHELL_LANGS:
            proc = subprocess.run(["bash", "-n"], input=b.text, text=True, capture_output=True, check=False)
            assert proc.returncode == 0, f"{b.where}: {proc.stderr}"


def test_marker_parsing(tmp_path: Path) -> None:
    doc = tmp_path / "x.md"
    doc.write_text("text\n<!-- readme-test: skip: takes an hour on 2 cores -->\n```bash\nmake bench\n```\n"
                   "```python\nx = 1\n```\n<!-- readme-test: own-node -->\n\n```bash\nanvil --port 8545 &\n```\n")
    a, b, c = extract_blocks(doc)
    assert (a.mode, a.reason, a.lang, a.text, a.line) == ("skip", "takes an hour on 2 cores", "bash", "make bench", 3)
    assert (b.mode, b.lang) == ("run", "python")
    assert (c.mode, c.text) == ("own-node", "anvil --port 8545 &")


# ------------------------------------------------------------------------- running the blocks
def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _copy_repo(dest: Path) -> None:
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, check=True,
                           capture_output=True).stdout.decode().split("\0")
    for name in filter(None, files):
        src = ROOT / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    for tool in (".venv", "node_modules", ".toolchain"):
        os.symlink(ROOT / tool, dest / tool)
    # caches of this checkout, as after `make demo`: the deterministic devnet proving keys and
    # ape's compiled contracts (ape recompiles whatever changed, so `ape compile` still runs)
    if (ROOT / ".build" / "zk").is_dir():
        shutil.copytree(ROOT / ".build" / "zk", dest / ".build" / "zk")
    if (ROOT / ".build" / "__local__.json").is_file():
        shutil.copy2(ROOT / ".build" / "__local__.json", dest / ".build" / "__local__.json")


def _start_anvil(port: int) -> subprocess.Popen[bytes]:
    anvil = shutil.which("anvil", path=f"{ROOT / 'node_modules' / '@foundry-rs' / 'anvil-linux-amd64' / 'bin'}:{os.environ['PATH']}")
    assert anvil, "anvil not found (bin/bootstrap installs it)"
    proc = subprocess.Popen([anvil, "--host", "127.0.0.1", "--port", str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise AssertionError(f"anvil did not start on 127.0.0.1:{port}")


def _own_node_script(text: str, port: int) -> str:
    """The block with its node lines (``anvil ... &``, ``kill %1``) dropped and 8545 -> ``port``."""
    keep = [ln for ln in text.splitlines() if not re.match(r"^\s*(anvil\b.*&|kill %1)\s*(#.*)?$", ln)]
    return "\n".join(keep).replace("8545", str(port))


def _run(script: str, cwd: Path, env: dict[str, str], where: str) -> str:
    t0 = time.monotonic()
    proc = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", script], cwd=cwd, env=env, text=True,
                          capture_output=True, timeout=BLOCK_TIMEOUT_S, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"{where} failed (exit {proc.returncode}):\n{script}\n--- output (tail) ---\n{out[-4000:]}"
    print(f"{where}: ok in {time.monotonic() - t0:.0f} s")
    return out


@pytest.mark.slow
def test_readme_and_docs_commands_run_as_written(tmp_path: Path) -> None:
    repo = tmp_path / "zkmargin"
    repo.mkdir()
    _copy_repo(repo)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ZKMARGIN_", "APE_", "PYTEST"))}
    env["HOME"] = os.environ.get("HOME", str(tmp_path))
    prelude = "source .toolchain/env\n"  # what the README says to do after any make command
    outputs: dict[str, str] = {}
    anvil = None
    skipped = []
    try:
        for b in all_blocks():
            if b.lang not in SHELL_LANGS:
                continue
            if b.mode == "skip":
                skipped.append(f"{b.where}: {b.reason}")
                continue
            script = b.text
            if b.mode == "own-node":
                if anvil is None:
                    port = _free_port()
                    anvil = _start_anvil(port)
                script = _own_node_script(script, port)
            outputs[b.where] = _run(prelude + script, repo, env, b.where)
    finally:
        if anvil is not None:
            os.killpg(anvil.pid, signal.SIGTERM)
            anvil.wait(timeout=30)
    print("not run here (marked in the document):\n  " + "\n  ".join(skipped))
    everything = "\n".join(outputs.values())
    # the README's walkthroughs do what they say
    assert "excess" in everything and "proof written to out/proof/proof.json" in everything
    assert "OK: proof is valid" in everything
    assert "not provable" in everything and "liquidated" in everything  # the roles: a crash liquidates someone
    assert "Traceback" not in everything
