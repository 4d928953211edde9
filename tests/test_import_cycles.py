"""No import cycles among fairpatrol's modules (issue 17): the graph of ``import`` statements anywhere in a
module, lazy imports inside functions included, has no strongly connected component of two or more
modules. Imports under ``if TYPE_CHECKING:`` never run and are left out."""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"


def module_names(root: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every ``.py`` under ``root`` (a package is its ``__init__``)."""
    out = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def _type_checking_only(tree: ast.AST) -> set[int]:
    """ids of the import nodes inside ``if TYPE_CHECKING:`` (or ``typing.TYPE_CHECKING``) blocks."""
    skip = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If):
            test = node.test
            guard = getattr(test, "id", None) or getattr(test, "attr", None)  # (typing.)TYPE_CHECKING
            if guard == "TYPE_CHECKING":
                skip |= {id(n) for stmt in node.body for n in ast.walk(stmt)}
    return skip


def import_graph(root: Path) -> dict[str, set[str]]:
    """Module -> the modules of ``root`` it imports (absolute and relative, at any depth of the code).

    ``from p import x`` is an edge to the module ``p.x`` when there is one, else to ``p`` (x is one of its
    names); Python runs a package's ``__init__`` before any of its modules either way."""
    modules = module_names(root)
    graph: dict[str, set[str]] = defaultdict(set)
    for name, path in modules.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        skip = _type_checking_only(tree)
        for node in ast.walk(tree):
            if id(node) in skip:
                continue
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    source = ".".join(base + ([node.module] if node.module else []))
                else:
                    source = node.module or ""
                # ``from package import submodule`` depends on the submodule; any other name on the package
                subs = [f"{source}.{a.name}" for a in node.names]
                targets = [s for s in subs if s in modules] or [source]
                if any(s not in modules for s in subs):
                    targets.append(source)
            else:
                continue
            graph[name].update(t for t in targets if t in modules and t != name)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of two or more modules (Tarjan), each sorted, largest first."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(v: str) -> None:
        nonlocal counter
        index[v] = low[v] = counter
        counter += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10_000))
    try:
        for v in sorted(set(graph) | {w for ws in graph.values() for w in ws}):
            if v not in index:
                visit(v)
    finally:
        sys.setrecursionlimit(limit)
    return sorted(found, key=len, reverse=True)


def _package(tmp_path: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def test_the_checker_finds_lazy_and_relative_cycles_and_skips_type_checking(tmp_path):
    root = _package(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/a.py": "from pkg import b\n",
            "pkg/b.py": "def f():\n    from . import c\n",  # lazy and relative
            "pkg/c.py": "import pkg.a\n",
            "pkg/d.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.e import E\n",
            "pkg/e.py": "from pkg.d import x\n",
            "pkg/sub/__init__.py": "from .leaf import y\n",
            "pkg/sub/leaf.py": "from ..a import z\n",
        },
    )
    graph = import_graph(root)
    assert graph["pkg.b"] == {"pkg.c"} and graph["pkg.c"] == {"pkg.a"}
    assert graph["pkg.sub.leaf"] == {"pkg.a"} and graph["pkg.sub"] == {"pkg.sub.leaf"}
    assert "pkg.e" not in graph["pkg.d"]  # annotation-only import
    assert cycles(graph) == [["pkg.a", "pkg.b", "pkg.c"]]


def test_no_import_cycle_among_fairpatrol_modules():
    found = cycles(import_graph(SRC))
    assert not found, "import cycles:\n" + "\n".join(f"{len(c)} modules: {', '.join(c)}" for c in found)
