"""The modules of gradcheck import each other without a cycle, counting function-level imports.

The graph is read from the source with `ast` (nothing is imported): every `import` and
`from … import …` anywhere in a module, relative ones resolved. `from .pkg import name` is an
edge to `pkg.name` when that is a module, else to `pkg`.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE_DIR = Path(__file__).resolve().parent.parent / "gradcheck"


def module_names(root: Path, package: str) -> dict[str, Path]:
    """Every module under `root` (the directory of `package`) by its dotted name."""
    names: dict[str, Path] = {}
    for path in sorted(root.rglob("*.py")):
        parts = [package, *path.relative_to(root).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def _imported(node: ast.AST, module: str, is_package: bool, known: set[str]) -> set[str]:
    """The modules of `known` that one import statement names."""
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names if alias.name in known}
    assert isinstance(node, ast.ImportFrom)
    if node.level:
        base = module.split(".") if is_package else module.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        target = ".".join([*base, node.module] if node.module else base)
    else:
        target = node.module or ""
    found = set()
    for alias in node.names:
        sub = f"{target}.{alias.name}"
        if sub in known:
            found.add(sub)
        elif target in known:
            found.add(target)
    return found


def import_graph(root: Path, package: str) -> dict[str, set[str]]:
    """module → the modules of the package it imports, wherever in the module it does."""
    names = module_names(root, package)
    known = set(names)
    graph: dict[str, set[str]] = {}
    for module, path in names.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        is_package = path.name == "__init__.py"
        graph[module] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                graph[module] |= _imported(node, module, is_package, known) - {module}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle (its modules, the first repeated at the end), or None for a DAG."""
    done: set[str] = set()
    for start in sorted(graph):
        if start in done:
            continue
        path = [start]
        pending = [iter(sorted(graph[start]))]
        while pending:
            nxt = next(pending[-1], None)
            if nxt is None:  # every import of path[-1] explored: no cycle through it
                pending.pop()
                done.add(path.pop())
            elif nxt in path:
                return [*path[path.index(nxt) :], nxt]
            elif nxt not in done:
                path.append(nxt)
                pending.append(iter(sorted(graph.get(nxt, ()))))
    return None


def test_gradcheck_has_no_import_cycle() -> None:
    cycle = find_cycle(import_graph(PACKAGE_DIR, "gradcheck"))
    assert cycle is None, "import cycle: " + " → ".join(cycle or [])


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def test_a_cycle_through_a_function_level_import_is_found(tmp_path: Path) -> None:
    _write(
        tmp_path / "pkg",
        {
            "__init__.py": "",
            "a.py": "from . import b\n",
            "b.py": "def late():\n    from .a import thing\n    return thing\n",
        },
    )
    cycle = find_cycle(import_graph(tmp_path / "pkg", "pkg"))
    assert cycle is not None and set(cycle) == {"pkg.a", "pkg.b"}


def test_relative_imports_resolve_to_submodules_or_their_package(tmp_path: Path) -> None:
    _write(
        tmp_path / "pkg",
        {
            "__init__.py": "from .sub import helper\n",
            "top.py": "import pkg.sub.leaf\nfrom .sub import leaf, helper\nfrom . import top\n",
            "sub/__init__.py": "from ..top import x\nhelper = 1\n",
            "sub/leaf.py": "from . import helper\nfrom .. import top\n",
        },
    )
    graph = import_graph(tmp_path / "pkg", "pkg")
    assert graph == {
        "pkg": {"pkg.sub"},
        "pkg.top": {"pkg.sub.leaf", "pkg.sub"},
        "pkg.sub": {"pkg.top"},
        "pkg.sub.leaf": {"pkg.sub", "pkg.top"},
    }
    assert find_cycle(graph) is not None  # pkg.top → pkg.sub → pkg.top


@pytest.mark.parametrize("layout", ["chain", "diamond"])
def test_a_dag_has_no_cycle(layout: str) -> None:
    graphs = {
        "chain": {"a": {"b"}, "b": {"c"}, "c": set()},
        "diamond": {"a": {"b", "c"}, "b": {"d"}, "c": {"d"}, "d": set()},
    }
    assert find_cycle(graphs[layout]) is None
