"""The package is laid out by layer (README "Layout", CONTRIBUTING.md): imports go one way.

Read from the source with `ast` (nothing is imported), so a cycle hidden in a function-level
import counts too. Three rules:

1. no import cycle among the modules of `analysis`;
2. no private name (``_x``, not a dunder) of one module used in another — neither imported
   (``from analysis.a import _x``) nor reached through an imported module (``a._x``);
   what two modules share is a public helper;
3. each layer imports only the layers below it (`LAYERS`);

and a fourth, on size: a module over `LONG` lines says in its docstring why it is one module
(a paragraph starting ``Why one module:``).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import analysis

PACKAGE = Path(analysis.__file__).resolve().parent

#: What each layer may import (besides itself). Root modules: `config` (paths, settings),
#: `project` (the study file, study.yaml), `cli` (the command line, on top of everything).
LAYERS: dict[str, set[str]] = {
    "config": set(),
    "project": {"config"},
    "instruments": {"config", "project"},
    "ingest": {"config", "project", "instruments"},
    "stats": {"instruments"},
    "disclosure": {"config", "project", "instruments", "ingest", "stats"},
    # The `report` command writes the demo when no wave has been imported yet (README, "The
    # two commands"): the one upward import, lazy, into the synthetic layer's entry point.
    "report": {"config", "project", "instruments", "ingest", "stats", "disclosure", "synthetic"},
    "study": {"config", "project", "instruments", "ingest", "stats", "disclosure", "report"},
    "synthetic": {"config", "project", "instruments", "ingest", "stats"},
    "cli": {"config", "project", "instruments", "ingest", "stats", "disclosure", "report", "study", "synthetic"},
    "__main__": {"cli"},
}
LONG = 600


def _module_name(path: Path) -> str:
    parts = ("analysis",) + path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES: dict[str, Path] = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))
                            if "__pycache__" not in p.parts}


def _layer(module: str) -> str:
    return module.split(".")[1] if module != "analysis" else "analysis"


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _imports(module: str) -> list[tuple[int, str, str | None]]:
    """``(line, imported module, imported name or None)`` for every import of `analysis` code."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name, None) for a in node.names if a.name.split(".")[0] == "analysis"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            if source.split(".")[0] != "analysis":
                continue
            for alias in node.names:
                sub = f"{source}.{alias.name}"
                out.append((node.lineno, sub, None) if sub in MODULES else (node.lineno, source, alias.name))
    return out


def _graph() -> dict[str, set[str]]:
    return {m: {target for _, target, _ in _imports(m) if target in MODULES and target != m} for m in MODULES}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_package_has_the_documented_layers():
    assert {_layer(m) for m in MODULES} - {"analysis"} == set(LAYERS)


def test_no_import_cycle():
    assert _cycles(_graph()) == []


def test_the_cycle_finder_finds_cycles():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_private_name_crosses_a_module():
    crossings = []
    for module, path in MODULES.items():
        bound: set[str] = set()  # local names of imported analysis modules
        for line, target, name in _imports(module):
            if name is None or (target + "." + name) in MODULES:
                continue
            if _is_private(name) and target != module:
                crossings.append(f"{module}:{line} imports {target}.{name}")
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for alias in node.names:
                    full = alias.name if isinstance(node, ast.Import) else f"{node.module}.{alias.name}"
                    if full in MODULES:
                        bound.add(alias.asname or alias.name.split(".")[-1])
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and node.value.id in bound and _is_private(node.attr)):
                crossings.append(f"{module}:{node.lineno} uses {node.value.id}.{node.attr}")
    assert crossings == []


def test_each_layer_imports_only_the_layers_below():
    upward = []
    for module in MODULES:
        layer = _layer(module)
        for line, target, _ in _imports(module):
            other = _layer(target)
            if other not in (layer, "analysis") and other not in LAYERS.get(layer, set()):
                upward.append(f"{module}:{line} imports {target} ({layer} may import {sorted(LAYERS.get(layer, []))})")
    assert upward == []


@pytest.mark.parametrize("module", sorted(MODULES))
def test_a_long_module_says_why_it_is_one_module(module):
    path = MODULES[module]
    text = path.read_text(encoding="utf-8")
    if text.count("\n") <= LONG:
        return
    docstring = ast.get_docstring(ast.parse(text)) or ""
    assert "Why one module:" in docstring, (
        f"{path.relative_to(PACKAGE.parent)} has {text.count(chr(10))} lines: split it along its jobs, "
        "or say in its docstring why it is one module ('Why one module: …')")
