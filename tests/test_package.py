"""The package's shape: exports, public module names and an import graph without cycles."""

from __future__ import annotations

import ast
import pathlib

import pixverse_speech

PACKAGE = pathlib.Path(pixverse_speech.__file__).parent


def test_all_lists_every_public_name_sorted() -> None:
    """__all__ is sorted and holds exactly the public names the package defines or imports."""
    public = sorted(
        name
        for name, value in vars(pixverse_speech).items()
        if not name.startswith("_")
        and not isinstance(value, type(pixverse_speech))
        and name != "annotations"
    )
    assert sorted(pixverse_speech.__all__) == pixverse_speech.__all__
    assert sorted([*public, "__version__"]) == sorted(pixverse_speech.__all__)


def test_public_classes_report_the_package_as_their_module() -> None:
    """Every exported class says __module__ == 'pixverse_speech' (as httpx's do)."""
    for name in pixverse_speech.__all__:
        value = getattr(pixverse_speech, name)
        if isinstance(value, type):
            assert value.__module__ == "pixverse_speech", name


def _imports(path: pathlib.Path) -> set[str]:
    """The package modules ``path`` imports anywhere, functions included (a function-level
    import does not break a cycle), but for ``TYPE_CHECKING`` blocks and the optional aiohttp
    extra, which stays lazy."""
    module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if module.endswith(".__init__"):
        module = module[: -len(".__init__")]
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found: set[str] = set()
    tree = ast.parse(path.read_text())
    typing_only = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.dump(node.test)
        for inner in ast.walk(node)
    }
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and "_aiohttp" in node.module:
            continue
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package.split(".")
            base = base[: len(base) - node.level + 1]
            target = ".".join([*base, *(node.module.split(".") if node.module else [])])
            if node.module is None:
                found.update(f"{target}.{alias.name}" for alias in node.names)
            else:
                found.add(target)
        elif (
            isinstance(node, ast.ImportFrom)
            and node.module
            and node.module.startswith("pixverse_speech")
        ):
            found.add(node.module)
    return found


def test_import_graph_has_no_cycles() -> None:
    """No module of pixverse_speech imports, directly or not, a module that imports it."""
    graph: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        name = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        name = name.removesuffix(".__init__")
        graph[name] = _imports(path)
    modules = set(graph)
    for name in graph:
        graph[name] = {m for m in graph[name] if m in modules and m != name}

    state: dict[str, int] = {}
    cycle: list[str] = []

    def visit(node: str, trail: list[str]) -> bool:
        state[node] = 1
        for nxt in sorted(graph[node]):
            # A package importing its own submodule is not a cycle of interest.
            if nxt.startswith(node + "."):
                continue
            if state.get(nxt) == 1 and not node.startswith(nxt + "."):
                cycle.extend([*trail, node, nxt])
                return True
            if nxt not in state and visit(nxt, [*trail, node]):
                return True
        state[node] = 2
        return False

    for name in sorted(graph):
        if name not in state and visit(name, []):
            break
    assert not cycle, " -> ".join(cycle)
