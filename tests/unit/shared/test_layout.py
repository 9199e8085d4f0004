"""The package layout of docs/ARCHITECTURE.md ("Where things live"), checked on the source.

Data flows one way: ``zkmargin`` (shared) <- ``prover`` <- ``offchain.{risk, sim, mirror}``
<- ``offchain.devnet`` <- ``offchain.dashboard``. Every ``import`` and ``from ... import`` in the tree (module level or
inside functions) is read with :mod:`ast` and checked against these rules:

- ``prover`` imports nothing from ``offchain``;
- ``zkmargin`` imports nothing from ``prover`` or ``offchain``, except its CLI entry point,
  which gathers every package's commands;
- the risk engine, the simulator and the contract mirror import nothing from the devnet
  package, and not from each other except where the flow allows (sim -> risk);
- the order book (``offchain.trading``) may use ``zkmargin``, ``prover``, ``offchain.risk`` and
  ``offchain.validation``, never the devnet package, the simulator or the mirror;
- the operator's book and settler (``offchain.operator``) sit on the order book and the devnet
  package's batch building, never on the simulator or the mirror; the devnet package does not
  import it;
- nothing but the CLI entry point imports the dashboard (it reads every layer below it);
- nothing outside ``tests/`` imports the pytest plugin;
- no library module imports a CLI module.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
PACKAGES = ("zkmargin", "prover", "offchain")
OTHER_CODE = ("scripts", "bench", "tools")
CLI_MODULES = {"zkmargin.cli", "offchain.risk.cli", "offchain.sim.cli", "prover.cli", "offchain.operator.cli",
               "offchain.dashboard.cli"}
PLUGIN = "offchain.devnet.pytest_plugin"

#: module prefix -> prefixes it must not import
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "prover": ("offchain",),
    "zkmargin": ("prover", "offchain"),
    "offchain.risk": ("offchain.sim", "offchain.mirror", "offchain.devnet", "offchain.dashboard"),
    "offchain.sim": ("offchain.mirror", "offchain.devnet", "offchain.dashboard"),
    "offchain.mirror": ("offchain.risk", "offchain.sim", "offchain.devnet", "offchain.dashboard"),
    "offchain.validation": ("offchain.risk", "offchain.sim", "offchain.mirror", "offchain.devnet", "offchain.dashboard"),
    "offchain.trading": ("offchain.devnet", "offchain.sim", "offchain.mirror", "offchain.dashboard"),
    "offchain.operator": ("offchain.sim", "offchain.mirror", "offchain.dashboard"),
    # the dashboard sits on top of everything: nothing below it imports it
    "offchain.devnet": ("offchain.operator", "offchain.dashboard"),
}
#: modules exempt from FORBIDDEN (the CLI entry point sits on top of everything)
EXEMPT = {"zkmargin.cli"}


def module_name(path: Path, root: Path) -> str:
    rel = path.relative_to(root).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imports_of(path: Path, module: str) -> list[str]:
    """Every module ``path`` imports (absolute names; relative imports resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    out: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                pkg = module.split(".")
                if path.name != "__init__.py":
                    pkg = pkg[:-1]
                pkg = pkg[: len(pkg) - node.level + 1]
                base = ".".join([*pkg, base] if base else pkg)
            out.append(base)
            out.extend(f"{base}.{alias.name}" for alias in node.names)
    return out


def _hits(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def violations(root: Path) -> list[str]:
    """Every broken rule in the tree under ``root``, as ``module: problem`` lines."""
    found: list[str] = []
    files = [(p, True) for pkg in PACKAGES if (root / pkg).is_dir() for p in sorted((root / pkg).rglob("*.py"))]
    files += [(p, False) for d in OTHER_CODE if (root / d).is_dir() for p in sorted((root / d).rglob("*.py"))]
    for path, in_package in files:
        module = module_name(path, root)
        names = imports_of(path, module)
        for name in names:
            if _hits(name, PLUGIN) and module != PLUGIN:
                found.append(f"{module}: imports the pytest plugin ({name})")
            if any(_hits(name, cli) for cli in CLI_MODULES) and module not in CLI_MODULES:
                found.append(f"{module}: library code imports a CLI module ({name})")
            if not in_package or module in EXEMPT:
                continue
            for owner, banned in FORBIDDEN.items():
                if _hits(module, owner):
                    for prefix in banned:
                        if _hits(name, prefix):
                            found.append(f"{module}: imports {name} (the layer {owner} must not import {prefix})")
    return sorted(set(found))


def test_the_tree_keeps_the_layout() -> None:
    assert violations(ROOT) == []


def test_the_checker_finds_each_kind_of_violation(tmp_path: Path) -> None:
    def write(rel: str, text: str) -> None:
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)

    write("prover/__init__.py", "")
    write("prover/bad.py", "from offchain.risk import epoch\n")
    write("offchain/__init__.py", "")
    write("offchain/risk/__init__.py", "")
    write("offchain/risk/bad.py", "def f():\n    from ..devnet import session\n")
    write("offchain/sim/lib.py", "import offchain.risk.cli\n")
    write("scripts/deploy.py", "from offchain.devnet.pytest_plugin import DEFAULT_VOLS\n")
    write("zkmargin/errors.py", "import prover.field\n")
    write("offchain/trading/bad.py", "from offchain.mirror.oracle import typed_data\n")
    found = violations(tmp_path)
    assert any(v.startswith("prover.bad: imports offchain") for v in found)
    assert any(v.startswith("offchain.risk.bad: imports offchain.devnet") for v in found)
    assert any(v.startswith("offchain.sim.lib: library code imports a CLI module") for v in found)
    assert any(v.startswith("scripts.deploy: imports the pytest plugin") for v in found)
    assert any(v.startswith("zkmargin.errors: imports prover") for v in found)
    assert any(v.startswith("offchain.trading.bad: imports offchain.mirror") for v in found)
    assert {v.split(':')[0] for v in found} == {
        "prover.bad", "offchain.risk.bad", "offchain.sim.lib", "scripts.deploy", "zkmargin.errors",
        "offchain.trading.bad"}
