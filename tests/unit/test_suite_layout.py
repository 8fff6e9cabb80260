"""The test suite's own layout: no test module and no conftest imports a test module or a conftest.

What two test modules share lives in tests/helpers (plain functions and classes) or in a conftest as a
fixture, which pytest hands out without an import. Imports are read from the source (every `import`
statement, also inside functions), so nothing is executed.
"""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def module_file(module: str) -> Path | None:
    """The file of a `tests.…` module (None when it is not one)."""
    parts = module.split(".")
    if parts[0] != "tests":
        return None
    base = TESTS.joinpath(*parts[1:])
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def imported_test_files(path: Path) -> set[Path]:
    """The files below tests/ that `path` imports (`from pkg import module` counts as the module)."""
    found: set[Path] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        else:
            continue
        found.update(f for name in names if (f := module_file(name)) is not None)
    return found


def is_test_or_conftest(path: Path) -> bool:
    return path.name == "conftest.py" or (path.name.startswith("test_") and path.suffix == ".py")


def test_no_test_module_or_conftest_is_imported() -> None:
    sources = sorted(TESTS.rglob("*.py"))
    assert len(sources) > 40  # the walk really saw the suite
    wrong = [
        f"{source.relative_to(TESTS)} imports {target.relative_to(TESTS)}"
        for source in sources
        for target in sorted(imported_test_files(source))
        if is_test_or_conftest(target)
    ]
    assert not wrong, "import it from tests/helpers instead:\n" + "\n".join(wrong)


def test_helpers_depend_on_nothing_else_of_the_suite() -> None:
    helpers = TESTS / "helpers"
    sources = sorted(helpers.rglob("*.py"))
    assert len(sources) > 5
    wrong = [
        f"{source.relative_to(TESTS)} imports {target.relative_to(TESTS)}"
        for source in sources
        for target in sorted(imported_test_files(source))
        if helpers not in target.parents
    ]
    assert not wrong, "\n".join(wrong)
