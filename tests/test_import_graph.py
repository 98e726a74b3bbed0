"""The library's import graph: acyclic, and never reaching the UI (issue 15).

The graph is that of the imports a module runs when it is imported (its body,
its classes', its `if` and `try` blocks). An import inside a function runs when
the function does, once every module is loaded: the UI is refused there too.
"""

from __future__ import annotations

import ast
from pathlib import Path

LIBRARY = Path(__file__).resolve().parent.parent / "scoring"


def _module(path: Path) -> str:
    parts = path.relative_to(LIBRARY.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module(p): p for p in LIBRARY.rglob("*.py")}


def _nodes(node: ast.AST, functions: bool):
    """`node` and the nodes under it, those inside function bodies only when `functions`."""
    yield node
    for child in ast.iter_child_nodes(node):
        if functions or not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            yield from _nodes(child, functions)


def _imported(path: Path, functions: bool) -> set[str]:
    """Every module `path` imports, by full name: `from scoring import io` names scoring.io (a package's
    own `__init__`, which Python runs before any of its submodules, is not counted for that);
    `functions`: with the imports inside functions."""
    here = _module(path).split(".")
    if path.name != "__init__.py":
        here = here[:-1]  # the package a relative import starts from
    out = set()
    for node in _nodes(ast.parse(path.read_text(encoding="utf-8")), functions):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = (
                ".".join(here[: len(here) - node.level + 1] + ([node.module] if node.module else []))
                if node.level
                else node.module or ""
            )
            out.update(f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names)
    return out


def _graph(functions: bool = False) -> dict[str, set[str]]:
    """{library module: the library and UI modules it imports}."""
    return {
        name: {m for m in _imported(p, functions) if m != name and (m in MODULES or m.split(".")[0] == "ui")}
        for name, p in MODULES.items()
    }


def test_the_library_never_imports_the_ui():
    reach = {name: sorted(m for m in deps if m.split(".")[0] == "ui") for name, deps in _graph(functions=True).items()}
    assert not {name: ui for name, ui in reach.items() if ui}


def test_the_library_import_graph_has_no_cycle():
    graph = _graph()
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(name: str) -> list[str] | None:
        state[name] = 1
        path.append(name)
        for dep in sorted(graph.get(name, ())):
            if state.get(dep) == 1:
                return path[path.index(dep) :] + [dep]
            if dep not in state and (cycle := visit(dep)):
                return cycle
        path.pop()
        state[name] = 2
        return None

    for name in sorted(graph):
        if name not in state:
            cycle = visit(name)
            assert cycle is None, " -> ".join(cycle)


def test_the_graph_sees_the_imports_it_checks():
    graph = _graph()
    assert "scoring.schema" in graph["scoring.jsonform"]  # from scoring.schema import ...
    assert "scoring.io" in graph["scoring.batch"]  # from scoring import io as files
    assert "scoring.paths" in graph["scoring"]  # the package itself


#: Issue 15: past this many lines (as `ruff format` writes them) a module owns more than one idea.
MAX_LINES = 450


def test_no_module_of_the_library_is_over_the_line_limit():
    sizes = {name: len(path.read_text(encoding="utf-8").splitlines()) for name, path in sorted(MODULES.items())}
    assert sizes["scoring.model"] > 0 and "scoring.store.repository" in sizes  # the walk reaches the subpackages
    long = {name: n for name, n in sizes.items() if n > MAX_LINES}
    assert not long, (
        f"modules over {MAX_LINES} lines, to split by idea (one module per idea, its docstring says which): {long}"
    )
