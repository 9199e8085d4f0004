"""The foundation's toolchain: the solc-js adapter, the bootstrap's prerequisite checks, the CLI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import solcx
from solcx.wrapper import get_solc_version

from zkmargin.cli import main

ROOT = Path(__file__).resolve().parents[2]
SOLC_VERSION = json.loads((ROOT / "node_modules" / "solc" / "package.json").read_text())["version"]
ADAPTER = ROOT / ".toolchain" / "solcx" / f"solc-v{SOLC_VERSION}"
KIB = 1024


def _big_source(n_contracts: int) -> str:
    """A valid Solidity file whose compiled standard-JSON output is large (many contracts, ABIs, bytecode)."""
    parts = ["// SPDX-License-Identifier: MIT\npragma solidity ^0.8.28;\n"]
    # a long comment block makes the *input* large too (solc ignores it)
    parts.append("\n".join(f"// padding line {k:06d} " + "x" * 100 for k in range(2_600)))
    for i in range(n_contracts):
        fns = "\n".join(
            f"    function f{j}(uint256 x, address who) external returns (uint256) {{ emit E{j}(who, x); return x * {j + 1} + {i}; }}\n"
            f"    event E{j}(address indexed who, uint256 value);"
            for j in range(8)
        )
        parts.append(f"contract Big{i} {{\n    uint256 public s{i};\n{fns}\n}}\n")
    return "\n".join(parts)


def _standard_json(source: str) -> str:
    return json.dumps(
        {
            "language": "Solidity",
            "sources": {"Big.sol": {"content": source}},
            "settings": {
                "optimizer": {"enabled": True, "runs": 200},
                "evmVersion": "cancun",
                "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object", "devdoc"]}},
            },
        }
    )


def test_adapter_reports_version_like_native_solc() -> None:
    out = subprocess.run([str(ADAPTER), "--version"], capture_output=True, text=True, check=True).stdout
    assert f"Version: {SOLC_VERSION}+commit." in out
    # py-solc-x parses it exactly as it would a native binary
    assert str(get_solc_version(ADAPTER)) == SOLC_VERSION


def test_adapter_survives_large_stdin_and_stdout_on_pipes() -> None:
    """Standard-JSON in and out over pipes, both well above the 64-128 KiB pipe-buffer trap."""
    request = _standard_json(_big_source(60))
    assert len(request) > 256 * KIB  # large stdin (EAGAIN trap)
    proc = subprocess.run([str(ADAPTER), "--standard-json"], input=request, check=False, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert len(proc.stdout) > 256 * KIB  # large stdout (truncation trap)
    out = json.loads(proc.stdout)  # nothing but JSON on stdout (SMT-notice trap)
    assert not [e for e in out.get("errors", []) if e["severity"] == "error"]
    contracts = out["contracts"]["Big.sol"]
    assert len(contracts) == 60
    assert all(len(c["evm"]["bytecode"]["object"]) > 100 for c in contracts.values())


def test_py_solc_x_compiles_through_the_adapter() -> None:
    """The exact path ape-solidity takes: solcx.compile_standard with the adapter as the binary."""
    out = solcx.compile_standard(json.loads(_standard_json(_big_source(2))), solc_binary=ADAPTER)
    abi = out["contracts"]["Big.sol"]["Big1"]["abi"]
    assert {item.get("name") for item in abi} >= {"f0", "f7", "s1", "E3"}


def test_adapter_reports_compile_errors_as_json() -> None:
    bad = _standard_json("pragma solidity ^0.8.28; contract X { function f() { return 1 } }")
    proc = subprocess.run([str(ADAPTER), "--standard-json"], input=bad, capture_output=True, text=True, check=True)
    errors = json.loads(proc.stdout)["errors"]
    assert any(e["severity"] == "error" for e in errors)


def test_adapter_rejects_unknown_flags() -> None:
    proc = subprocess.run([str(ADAPTER), "--bin", "x.sol"], check=False, capture_output=True, text=True)
    assert proc.returncode == 2
    assert "unsupported argument '--bin'" in proc.stderr


def _tool_dir(tmp_path: Path, tools: list[str]) -> str:
    """A PATH directory holding only ``tools`` (symlinks to the real ones)."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for tool in tools:
        real = shutil.which(tool)
        assert real, tool
        (bindir / tool).symlink_to(real)
    return str(bindir)


BASE_TOOLS = ["bash", "cat", "sha256sum", "cut", "mkdir", "dirname", "uname", "sed", "head", "rm", "mv", "chmod", "grep"]


def test_bootstrap_names_missing_node(tmp_path: Path) -> None:
    path = _tool_dir(tmp_path, BASE_TOOLS)
    env = {"PATH": path, "HOME": str(tmp_path), "PYTHON": sys.executable}
    proc = subprocess.run(["bash", str(ROOT / "bin" / "bootstrap")], check=False, capture_output=True, text=True, env=env)
    assert proc.returncode != 0
    assert "Node.js 18+ is required" in proc.stderr and "install Node.js" in proc.stderr


def test_bootstrap_names_wrong_python(tmp_path: Path) -> None:
    fake = tmp_path / "python3.10"
    fake.write_text("#!/bin/bash\nexit 1\n")  # answers 'no' to the 3.11 check
    fake.chmod(0o755)
    path = _tool_dir(tmp_path, BASE_TOOLS + ["node", "npm"])
    (Path(path) / "python3").symlink_to(fake)  # the only python3 on PATH is not 3.11
    env = {"PATH": path, "HOME": str(tmp_path)}
    proc = subprocess.run(["bash", str(ROOT / "bin" / "bootstrap")], check=False, capture_output=True, text=True, env=env)
    assert proc.returncode != 0
    assert "Python 3.11 is required" in proc.stderr


def test_cli_info_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info", "--json"]) == 0
    versions = json.loads(capsys.readouterr().out)
    assert versions["eth-ape"] == "0.8.51" and versions["python"].startswith("3.11")


def test_cli_unknown_command_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["no-such-command"]) == 2
    assert "No such command" in capsys.readouterr().err


def test_ape_config_pins_compiler_and_never_downloads() -> None:
    import yaml

    cfg = yaml.safe_load((ROOT / "ape-config.yaml").read_text())
    assert str(cfg["solidity"]["version"]) == SOLC_VERSION
    assert cfg["solidity"]["evm_version"] == "cancun"
    assert cfg["ethereum"]["local"]["default_provider"] == "foundry"
    assert os.access(ADAPTER, os.X_OK)
