"""Source-level rules of contracts/: one pragma, only libraries in libraries/, each protocol
constant defined once (in libraries/Constants.sol). The values are checked against Python by
tests/devnet/test_constants.py."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
CONTRACTS = ROOT / "contracts"
PRAGMA = "pragma solidity ^0.8.28;"


def _sources() -> list[Path]:
    return sorted(CONTRACTS.rglob("*.sol"))


def _code(path: Path) -> str:
    """The file without comments."""
    text = re.sub(r"/\*.*?\*/", "", path.read_text(), flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


def test_one_pragma_everywhere():
    for path in _sources():
        pragmas = re.findall(r"^pragma solidity [^;]*;", path.read_text(), flags=re.M)
        assert pragmas == [PRAGMA], (path.relative_to(ROOT), pragmas)


def test_generators_write_the_same_pragma():
    for gen in ("prover/solidity.py", "tools/gen_contracts.py"):
        found = set(re.findall(r"pragma solidity [^;]*;", (ROOT / gen).read_text()))
        assert found == {PRAGMA}, (gen, found)


def test_libraries_folder_holds_only_libraries():
    for path in sorted((CONTRACTS / "libraries").glob("*.sol")):
        kinds = re.findall(r"^\s*(abstract contract|contract|interface|library)\s+\w+", _code(path), flags=re.M)
        assert kinds == ["library"], (path.name, kinds)


def test_each_constant_is_defined_once():
    defining = CONTRACTS / "libraries" / "Constants.sol"
    names = re.findall(r"\bconstant\s+([A-Z][A-Z0-9_]*)\s*=", _code(defining))
    assert {"WAD", "BPS", "MAX_DIMENSION", "KIND_MM", "TAG_ACCOUNT", "POSITION_BOUND"} <= set(names)
    for path in _sources():
        if path == defining:
            continue
        code = _code(path)
        for name in names:
            assert not re.search(rf"\bconstant\s+{name}\s*=", code), (path.relative_to(ROOT), name)
        # the values themselves are not repeated either (the generated verifiers are self-contained)
        if "verifiers" not in path.parts:
            assert not re.search(r"\b(10_?000|1e18)\b|\*\*\s*(64|128)\b", code), path.relative_to(ROOT)
