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
    text = re.sub(r"/\*.*?\*/", "", path.read_text(), flags=re.DOTALL)
    return re.sub(r"//[^\n]*", "", text)


def test_one_pragma_everywhere():
    for path in _sources():
        pragmas = re.findall(r"^pragma solidity [^;]*;", path.read_text(), flags=re.MULTILINE)
        assert pragmas == [PRAGMA], (path.relative_to(ROOT), pragmas)


def test_generators_write_the_same_pragma():
    for gen in ("prover/solidity.py", "tools/gen_contracts.py"):
        found = set(re.findall(r"pragma solidity [^;]*;", (ROOT / gen).read_text()))
        assert found == {PRAGMA}, (gen, found)


def test_libraries_folder_holds_only_libraries():
    for path in sorted((CONTRACTS / "libraries").glob("*.sol")):
        kinds = re.findall(r"^\s*(abstract contract|contract|interface|library)\s+\w+", _code(path), flags=re.MULTILINE)
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


# --- NatSpec -------------------------------------------------------------------------------
_DECL = re.compile(r"^[ \t]*(function|event|error|struct)\s+(\w+)", re.MULTILINE)
_WORDS_NOT_NAMES = {"memory", "calldata", "storage", "indexed", "payable"}


def _split_top(s: str) -> list[str]:
    parts, depth, cur = [], 0, ""
    for ch in s:
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    if cur.strip():
        parts.append(cur)
    return [p.strip() for p in parts]


def _paren(s: str, start: int) -> tuple[str, int]:
    """The text inside the parentheses opening at ``s[start]``, and the index after them."""
    depth = 0
    for i in range(start, len(s)):
        depth += {"(": 1, ")": -1}.get(s[i], 0)
        if depth == 0:
            return s[start + 1 : i], i + 1
    raise ValueError("unbalanced")


def _names(params: str) -> list[str | None]:
    out = []
    for p in _split_top(params):
        words = [w for w in p.split() if w not in _WORDS_NOT_NAMES]
        out.append(words[-1] if len(words) >= 2 else None)
    return out


def _natspec_above(text: str, pos: int) -> list[str]:
    lines = text[:pos].rstrip("\n").split("\n")
    block = []
    while lines and lines[-1].strip().startswith("///"):
        block.insert(0, lines.pop().strip()[3:].strip())
    return block


def _declarations(path: Path):
    """(kind, name, natspec tags, parameter names, return names, visibility words) of each declaration."""
    text = path.read_text()
    for m in _DECL.finditer(text):
        kind, name = m.group(1), m.group(2)
        doc = _natspec_above(text, m.start())
        tags: dict[str, list[str]] = {}
        for line in doc:
            if line.startswith("@"):
                tag, _, rest = line.partition(" ")
                tags.setdefault(tag, []).append(rest.strip())
        if kind == "struct":
            body_start = text.index("{", m.end())
            body = text[body_start + 1 : text.index("}", body_start)]
            body = re.sub(r"//[^\n]*", "", body)
            params = [f.split()[-1] for f in body.split(";") if f.strip()]
            yield kind, name, tags, params, [], ""
            continue
        params_s, after = _paren(text, text.index("(", m.end()))
        end = min(i for i in (text.find(";", after), text.find("{", after)) if i != -1)
        head = text[after:end]
        returns: list[str | None] = []
        r = re.search(r"\breturns\s*\(", head)
        if r:
            returns = _names(_paren(head, r.end() - 1)[0])
        yield kind, name, tags, _names(params_s), returns, head


def _missing(path: Path, functions: str) -> list[str]:
    """Undocumented declarations; ``functions`` is the visibility regex of the functions checked."""
    problems = []
    for kind, name, tags, params, returns, head in _declarations(path):
        if kind == "function" and not re.search(functions, head):
            continue
        if "@inheritdoc" in tags:
            continue
        where = f"{path.relative_to(ROOT)}: {kind} {name}"
        if "@notice" not in tags:
            problems.append(f"{where}: no @notice")
        documented = [t.split()[0] if t else "" for t in tags.get("@param", [])]
        for p in params:
            if p is not None and p not in documented:
                problems.append(f"{where}: no @param {p}")
        rets = tags.get("@return", [])
        if len(rets) != len(returns):
            problems.append(f"{where}: {len(rets)} @return for {len(returns)} return values")
        for r, doc in zip(returns, rets):
            if r is not None and not doc.startswith(r + " "):
                problems.append(f"{where}: @return must start with the name {r}")
    return problems


def test_interfaces_document_every_parameter_and_return_value():
    problems = [p for path in sorted((CONTRACTS / "interfaces").glob("*.sol")) for p in _missing(path, r"external")]
    assert not problems, "\n".join(problems)


def test_contracts_document_their_external_functions():
    """Every external or public function (and every event, error and struct) of the contracts,
    and every internal function of the libraries."""
    skip = {"interfaces", "verifiers", "hashing"}  # generated files use @inheritdoc throughout
    paths = [p for p in _sources() if not skip & set(p.relative_to(CONTRACTS).parts)]
    problems = [
        p for path in paths
        for p in _missing(path, r"\b(internal|external|public)\b" if "libraries" in path.parts else r"\b(external|public)\b")
    ]
    assert not problems, "\n".join(problems)
