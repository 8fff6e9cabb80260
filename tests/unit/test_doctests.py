"""The `>>>` examples in the product's modules run, as part of the suite.

Every module of hub_tasks, flows and local_hub is searched (a module added later is found too), and each
module that has `>>>` examples is one test case; a module without any is no case at all (never an empty pass).
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

PACKAGES = ("hub_tasks", "flows", "local_hub")


def product_modules() -> list[str]:
    names = []
    for package in PACKAGES:
        names.append(package)
        path = importlib.import_module(package).__path__
        names += [m.name for m in pkgutil.walk_packages(path, f"{package}.") if not m.name.endswith("__main__")]
    return sorted(names)


def with_examples(names: list[str]) -> list[str]:
    """The modules among `names` that have at least one `>>>` example."""
    finder = doctest.DocTestFinder()
    return [name for name in names if any(t.examples for t in finder.find(importlib.import_module(name)))]


MODULES = with_examples(product_modules())


def test_the_doctests_were_found() -> None:
    assert len(MODULES) >= 20, MODULES


@pytest.mark.parametrize("name", MODULES)
def test_doctests_pass(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.attempted > 0, f"{name} was collected for its examples, and none ran"
    assert result.failed == 0, f"{result.failed} of {result.attempted} doctests of {name} failed (output above)"
