"""The lowest Prefect the project supports is stated once and kept in step, and the flows stay loadable there.

pyproject.toml declares the floor; the floor tier installs exactly it (constraints/prefect-floor.txt) and the
README names it. Prefect 3.4 builds a flow's parameter model from the signature without resolving postponed
annotations (`from __future__ import annotations`): a flow whose parameters are strings fails there before
it runs ("`Publish_ModelModel` is not fully defined"), so every flow of ours has real annotations.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def floor() -> str:
    found = re.search(r'"prefect>=([0-9.]+),<4"', (ROOT / "pyproject.toml").read_text())
    assert found, "pyproject.toml must declare prefect>=FLOOR,<4"
    return found.group(1)


def test_the_floor_is_at_most_the_first_release_with_concurrency_leases() -> None:
    assert tuple(map(int, floor().split("."))) <= (3, 4, 10)


def test_the_floor_tier_installs_the_declared_floor_and_the_readme_names_it() -> None:
    pins = (ROOT / "constraints" / "prefect-floor.txt").read_text().splitlines()
    assert f"prefect=={floor()}" in pins
    assert f"prefect>={floor()},<4" in (ROOT / "README.md").read_text()


@pytest.mark.parametrize(
    "entrypoint",
    [
        "flows.publish.flow.publish_dataset",
        "flows.publish.flow.publish_model",
        "flows.snapshot.flow.snapshot_revisions",
        "flows.snapshot.reading.read_repos",
        "flows.train_and_publish.train_and_publish",
    ],
)
def test_every_flow_has_real_annotations(entrypoint: str) -> None:
    module, name = entrypoint.rsplit(".", 1)
    flow = getattr(__import__(module, fromlist=[name]), name)
    strings = {
        p.name: p.annotation for p in inspect.signature(flow.fn).parameters.values() if isinstance(p.annotation, str)
    }
    assert not strings, f"{entrypoint}: postponed annotations that Prefect 3.4 cannot resolve: {strings}"
