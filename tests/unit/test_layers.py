"""The product's imports point down the layers and close no circle (type-only imports included).

The layers, bottom up, as the README's "How it is built" lists them. A module may import its own layer
or a lower one; `local_hub` imports nothing of the product. Imports are read from the source (every
`import` statement, also under `TYPE_CHECKING` and inside functions), so nothing is executed.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("hub_tasks", "flows", "local_hub")
# Longest prefix wins; a module not listed under a prefix is a bug in this table (the test says so).
LAYERS = {
    "hub_tasks.settings": 0,
    "hub_tasks.errors": 0,
    "hub_tasks.error_mapping": 0,
    "hub_tasks.types": 0,
    "hub_tasks.validation": 0,
    "hub_tasks.files": 0,
    "hub_tasks.repo_types": 0,
    "hub_tasks.wire": 1,
    "hub_tasks.push": 2,
    "hub_tasks.download": 2,
    "hub_tasks.branches": 2,
    "hub_tasks.revisions": 2,
    "hub_tasks.models": 3,
    "hub_tasks.datasets": 3,
    "hub_tasks.client": 3,
    "hub_tasks.prefect": 4,
    "hub_tasks": 5,
    "flows": 6,
    "local_hub": 0,
}


def product_modules() -> dict[str, Path]:
    modules = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            modules[name] = path
    return modules


MODULES = product_modules()


def layer(module: str) -> int:
    prefixes = [p for p in LAYERS if module == p or module.startswith(p + ".")]
    assert prefixes, f"{module} is in no layer: add it to LAYERS"
    return LAYERS[max(prefixes, key=len)]


def imports(module: str) -> set[str]:
    """The product modules `module` imports (a name imported from a package counts as its submodule
    when there is one)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(MODULES[module].read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from pkg import submodule` imports the submodule; `from pkg import name`, the package.
            names = [
                f"{node.module}.{alias.name}" if f"{node.module}.{alias.name}" in MODULES else node.module
                for alias in node.names
            ]
        else:
            continue
        for name in names:
            while name and name not in MODULES:
                name = name.rpartition(".")[0]
            if name and name != module:
                found.add(name)
    return found


GRAPH = {module: imports(module) for module in MODULES}


def test_every_module_has_a_layer() -> None:
    for module in MODULES:
        layer(module)


def test_imports_only_point_down() -> None:
    upward = [
        f"{module} (layer {layer(module)}) imports {target} (layer {layer(target)})"
        for module, targets in GRAPH.items()
        for target in sorted(targets)
        if layer(target) > layer(module)
    ]
    assert not upward, "\n".join(upward)


def test_local_hub_imports_nothing_of_the_product() -> None:
    leaks = [
        f"{m} imports {t}"
        for m, ts in GRAPH.items()
        if m.startswith("local_hub")
        for t in ts
        if t.split(".")[0] != "local_hub"
    ]
    assert not leaks, leaks


def test_no_import_cycle() -> None:
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(module: str) -> None:
        state[module] = 1
        path.append(module)
        for target in sorted(GRAPH[module]):
            if state.get(target) == 1:
                cycle = [*path[path.index(target) :], target]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if target not in state:
                visit(target)
        path.pop()
        state[module] = 2

    for module in sorted(GRAPH):
        if module not in state:
            visit(module)
