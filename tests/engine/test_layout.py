"""The engine's layout holds: nothing under kvmstate/ imports libvirt, and no module-level import cycles."""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

ENGINE = Path(__file__).resolve().parents[2] / "kvmstate"


def _modules() -> dict[str, ast.Module]:
    out = {}
    for path in ENGINE.rglob("*.py"):
        name = ".".join(path.relative_to(ENGINE.parent).with_suffix("").parts).removesuffix(".__init__")
        out[name] = ast.parse(path.read_text(encoding="utf-8"))
    return out


def _targets(nodes, known: set[str]) -> set[str]:
    """The modules some import statements load: `from a import b` loads a.b when that is a module, else a."""
    out = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.update(f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in known else node.module
                       for a in node.names)
    return out


def test_the_engine_never_imports_libvirt() -> None:
    offenders = {name for name, tree in _modules().items()
                 for target in _targets(ast.walk(tree), set())
                 if target.split(".")[0] in ("libvirt", "kvmstate_libvirt")}
    assert not offenders


def test_no_module_level_import_cycles() -> None:
    modules = _modules()
    known = set(modules)
    graph = {name: {t for t in _targets(tree.body, known) if t in known and t != name}
             for name, tree in modules.items()}
    graphlib.TopologicalSorter(graph).prepare()      # raises CycleError, naming the cycle
