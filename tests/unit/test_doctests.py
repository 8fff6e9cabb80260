"""The `>>>` examples in the product's modules run, as part of the suite.

Every module of hub_tasks, flows and local_hub is collected (a module added later is found too);
a module without a doctest passes trivially.
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


MODULES = product_modules()


def test_the_doctests_were_found() -> None:
    finder = doctest.DocTestFinder()
    with_examples = [name for name in MODULES if any(t.examples for t in finder.find(importlib.import_module(name)))]
    assert len(with_examples) >= 20, with_examples


@pytest.mark.parametrize("name", MODULES)
def test_doctests_pass(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} doctests of {name} failed (output above)"
