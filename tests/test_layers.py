"""The house rules of the code, checked from its source (ast), not by convention.

* The pure core imports nothing of relay outside ``relay.core`` (and
  ``relay.errors``): no I/O, no store, no CLI, no daemon.
* Only the store speaks SQL: no module outside ``relay/edge/`` imports sqlite3
  or sqlite_utils, and no string outside the store package
  (``relay/edge/store/``) is SQL.
* Nothing below the CLI imports it, and no two modules import each other,
  directly or around a ring (imports inside functions count too).
* No module over 600 lines.
"""

from __future__ import annotations

import ast
import itertools
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

RELAY = Path(__file__).resolve().parents[1] / "relay"
MODULES = sorted(RELAY.rglob("*.py"))
STORE_MODULES = set((RELAY / "edge" / "store").glob("*.py"))  # the store package: the one place for SQL
SQL = re.compile(
    r"\b(SELECT\s+\S|INSERT\s+(OR\s+\w+\s+)?INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|CREATE\s+TABLE|PRAGMA\s+\w)"
)
MAX_LINES = 600


def module_name(path: Path) -> str:
    parts = path.relative_to(RELAY.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> Iterator[str]:
    """Every module ``path`` imports, anywhere in it, as absolute dotted names."""
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([*package.split(".")[: len(package.split(".")) - node.level + 1], base]).strip(".")
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def relay_modules() -> set[str]:
    return {module_name(p) for p in MODULES}


def graph() -> dict[str, set[str]]:
    known = relay_modules()
    return {module_name(p): {m for m in imports(p) if m in known and m != module_name(p)} for p in MODULES}


def docstrings(tree: ast.AST) -> set[int]:
    """ids of the string constants that are docstrings."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def test_the_core_imports_nothing_of_relay_outside_itself() -> None:
    offenders = [
        f"{module_name(p)} imports {m}"
        for p in MODULES
        if module_name(p).startswith("relay.core")
        for m in imports(p)
        if m.startswith("relay.") and not m.startswith(("relay.core", "relay.errors"))
    ]
    assert offenders == []


def test_only_the_store_speaks_sql() -> None:
    offenders = [
        f"{module_name(p)} imports {m}"
        for p in MODULES
        if not module_name(p).startswith("relay.edge")
        for m in imports(p)
        if m.split(".")[0] in ("sqlite3", "sqlite_utils")
    ]
    for path in MODULES:
        if path in STORE_MODULES:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skip = docstrings(tree)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Constant) or not isinstance(node.value, str) or id(node) in skip:
                continue
            if SQL.search(node.value):
                offenders.append(f"{module_name(path)}:{node.lineno} holds SQL: {node.value[:60]!r}")
    assert offenders == []


def test_nothing_below_the_cli_imports_it() -> None:
    offenders = [
        f"{module_name(p)} imports {m}"
        for p in MODULES
        if not module_name(p).startswith("relay.cli") and module_name(p) != "relay.__main__"
        for m in imports(p)
        if m == "relay.cli" or m.startswith("relay.cli.")
    ]
    assert offenders == []


def test_no_import_cycle() -> None:
    edges = graph()
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the path, 2: done
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append([*path[path.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node)
    # A package importing its own modules to re-export them is not a cycle of jobs.
    real = [c for c in cycles if not any(a == b.rpartition(".")[0] for a, b in itertools.pairwise(c))]
    assert real == []


@pytest.mark.parametrize("path", MODULES, ids=[module_name(p) for p in MODULES])
def test_no_module_over_600_lines(path: Path) -> None:
    assert len(path.read_text(encoding="utf-8").splitlines()) <= MAX_LINES
