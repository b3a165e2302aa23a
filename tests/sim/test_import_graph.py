"""The simulator's modules import each other without cycles.

Every import counts, including ones under ``TYPE_CHECKING`` and inside functions: a cycle that only
type checkers or a late import see is still two modules that need each other, which a third should own.
"""

from __future__ import annotations

import ast
from pathlib import Path

import truenas_mcp.sim

PACKAGE = "truenas_mcp.sim"
ROOT = Path(truenas_mcp.sim.__file__).parent


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join([PACKAGE, *parts])


def _imports(path: Path, modules: set[str]) -> set[str]:
    """The simulator modules ``path`` imports; ``from pkg import mod`` counts as importing ``pkg.mod``."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{alias.name}" for alias in node.names] + [node.module]
        else:
            continue
        for name in names:
            if name in modules:
                found.add(name)
            elif name.rsplit(".", 1)[0] in modules and name not in modules:
                found.add(name.rsplit(".", 1)[0])
    return found


def import_graph() -> dict[str, set[str]]:
    paths = {_module_name(p): p for p in sorted(ROOT.rglob("*.py"))}
    modules = set(paths)
    graph = {name: _imports(path, modules) - {name} for name, path in paths.items()}
    # A package's own ``__init__`` is imported before any of its submodules; that edge is not a cycle
    # unless the package imports the submodule back, which the graph shows on its own.
    for name in graph:
        graph[name] = {dep for dep in graph[name] if not name.startswith(dep + ".")}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of module names (first == last), or ``None``."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == 1:
                return [*stack[stack.index(dep) :], dep]
            if dep not in state:
                found = visit(dep)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_the_cycle_finder_reports_a_two_module_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"a"}, "c": set()}) == ["a", "b", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_the_graph_sees_the_simulators_own_imports() -> None:
    graph = import_graph()
    assert f"{PACKAGE}.errors" in graph[f"{PACKAGE}.protocol"]
    assert f"{PACKAGE}.filters" in graph[f"{PACKAGE}.services.common"]


def test_no_module_of_the_simulator_is_part_of_an_import_cycle() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle in the simulator: " + " -> ".join(cycle or [])
