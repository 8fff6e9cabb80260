"""Every ```python example in the docstrings of the public API runs against local_hub.

Collected from: each name in `hub_tasks.__all__` (for tasks, the function's docstring), the methods and
properties that `HubClient` and `ModelScopeCredentials` define in `hub_tasks` (not Prefect's own), and
the product flows. The modules' `>>>` doctests are collected apart, in tests/unit/test_doctests.py.

Every example runs in a working directory that holds what the examples name: `./out` (the folder
published as alice/demo at master and tag v1.0, with a `notes.txt`), `./data` (the dataset alice/corpus
at master and tag v1: a README.md and data/train.jsonl) and `weights.bin`; alice/scratch, alice/old-model
and the dataset alice/old-corpus exist beside them, and a block for alice is saved. The placeholders users replace
are filled in: `URL` and `TOKEN` (the session hub, alice's token) and "BLOCK_NAME", which Prefect
refuses as a block name (lowercase, digits and dashes only), so the block is saved as "block-name".
An example that defines a `@flow` (the task examples) has that flow called too, with arguments
chosen by parameter name (`arguments()`). Each must send the hub at least one request.

An example that prints documents what it prints, in a ```text block after the line "Prints:", and the
test compares the output with it. Values that differ per run are written as placeholders: `<commit id>`
(40 hex digits), `<hash>` (32), `<URL>` (the hub's address, as in the code).
"""

from __future__ import annotations

import contextlib
import inspect
import io
import re
import shutil
import textwrap
from pathlib import Path
from typing import Any

import pytest
from prefect import Flow
from prefect.tasks import Task

import hub_tasks
from flows.publish.flow import publish_dataset, publish_model
from hub_tasks import HubClient, ModelScopeCredentials
from tests.helpers.clients import fast_block, hub_client
from tests.helpers.folders import model_dir, write_files

FENCE = re.compile(r"```python\n(.*?)```(?:\s*Prints:\s*```text\n(.*?)```)?", re.DOTALL)
PLACEHOLDERS = {"<commit id>": "[0-9a-f]{40}", "<hash>": "[0-9a-f]{32}"}
BLOCK_NAME = "block-name"  # what "BLOCK_NAME" in an example stands for here


def docstring_of(obj: Any) -> str:
    if isinstance(obj, (Task, Flow)):
        obj = obj.fn
    if isinstance(obj, property):
        obj = obj.fget
    return inspect.getdoc(obj) or ""


def public_objects() -> dict[str, Any]:
    """Qualified name -> object, for every public name and the two classes' own members."""
    objects: dict[str, Any] = {}
    for name in hub_tasks.__all__:
        objects[name] = getattr(hub_tasks, name)
    objects["flows.publish.flow.publish_model"] = publish_model
    objects["flows.publish.flow.publish_dataset"] = publish_dataset
    for cls in (HubClient, ModelScopeCredentials):
        for klass in cls.__mro__:
            if not klass.__module__.startswith("hub_tasks"):
                continue
            for member_name, member in vars(klass).items():
                if member_name.startswith("_"):
                    continue
                if inspect.isfunction(member) or isinstance(member, (property, classmethod, staticmethod)):
                    objects.setdefault(f"{cls.__name__}.{member_name}", getattr(member, "__func__", member))
    return objects


def collect_examples() -> list[Any]:
    params = []
    for qualname, obj in public_objects().items():
        for index, (block, printed) in enumerate(FENCE.findall(docstring_of(obj))):
            code = textwrap.dedent(block)
            expected = textwrap.dedent(printed).strip() if printed else None
            params.append(pytest.param(qualname, code, expected, id=f"{qualname}-{index}"))
    return params


def printed_as_documented(expected: str, output: str, url: str) -> bool:
    """Whether `output` is the documented `expected` text, its placeholders standing for any such value."""
    pattern = re.escape(expected).replace(re.escape("<URL>"), re.escape(url))
    for placeholder, value in PLACEHOLDERS.items():
        pattern = pattern.replace(re.escape(placeholder), value)
    return re.fullmatch(pattern, output.strip()) is not None


EXAMPLES = collect_examples()


def test_the_examples_were_found() -> None:
    names = [p.values[0] for p in EXAMPLES]
    assert sum(p.values[2] is not None for p in EXAMPLES) >= 20  # the printed outputs were found too
    flows = [p for p in EXAMPLES if "@flow" in p.values[1]]
    assert len(flows) >= len([n for n in hub_tasks.__all__ if isinstance(getattr(hub_tasks, n), Task)])
    assert {
        "login",
        "push_model",
        "download_model",
        "fetch_meta_files_from_url",
        "ModelScopeCredentials",
        "HubClient.get_model_files",
        "HubClient.create_commit",
        "flows.publish.flow.publish_model",
        "flows.publish.flow.publish_dataset",
    } <= set(names)


@pytest.fixture
def workdir(hub, prefect_harness, tmp_path, monkeypatch) -> Path:
    """The examples' working directory, on a seeded hub (see the module docstring)."""
    fast_block(hub, retry_attempts=2).save(BLOCK_NAME, overwrite=True)
    folder = model_dir(tmp_path / "out", {"README.md": "# demo\n", "notes.txt": "notes\n", "weights/w.bin": "w\n"})
    with hub_client(hub) as client:
        client.push_model("alice/demo", folder, tag="v1.0", hash_cache=None)
        client.create_model("alice/scratch")
        client.create_model("alice/old-model")
        data = tmp_path / "data"
        write_files(data, {"README.md": "# corpus\n", "data/train.jsonl": '{"text": "hello"}\n'})
        client.push_dataset("alice/corpus", data, tag="v1", hash_cache=None)
        client.create_dataset("alice/old-corpus")
    shutil.copyfile(folder / "weights" / "w.bin", tmp_path / "weights.bin")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def arguments(flow: Flow, hub: Any) -> dict[str, Any]:
    """Values for the flow's parameters, by name: obvious ones for the seeded hub."""
    by_name = {
        "model_id": "alice/demo",
        "dataset_id": "alice/corpus",
        "data_folder": "./data",
        "owner": "alice",
        "folder": "./out",
        "version": "v1.0",
        "url": f"{hub.url}/api/v1/models/alice/demo/repo?Revision=master&FilePath=README.md",
    }
    values = {}
    for name, parameter in inspect.signature(flow.fn).parameters.items():
        if name in by_name:
            values[name] = by_name[name]
        else:
            assert parameter.default is not inspect.Parameter.empty, (
                f"no argument for parameter {name!r} of example flow {flow.name}: add one to arguments()"
            )
    return values


@pytest.mark.parametrize(("qualname", "code", "expected"), [p.values for p in EXAMPLES], ids=[p.id for p in EXAMPLES])
def test_example_runs(qualname: str, code: str, expected: str | None, hub, workdir: Path) -> None:
    namespace: dict[str, Any] = {
        "__name__": f"example_{qualname.replace('.', '_')}",
        "URL": hub.url,
        "TOKEN": hub.tokens["alice"],
    }
    code = code.replace('"BLOCK_NAME"', f'"{BLOCK_NAME}"')
    hub.control.reset(state=False)
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        exec(compile(code, f"<example of {qualname}>", "exec"), namespace)
        product = (publish_model, publish_dataset)  # imported by their examples, not defined there
        flows = [
            value for value in namespace.values() if isinstance(value, Flow) and not any(value is p for p in product)
        ]
        assert len(flows) <= 1, f"the example of {qualname} should define at most one flow"
        if flows:
            flows[0](**arguments(flows[0], hub))  # raises if the flow fails
    assert hub.control.requests() > 0, f"the example of {qualname} never reached the hub"
    if "print(" in code:
        assert expected is not None, f"the example of {qualname} prints: document what, after a 'Prints:' line"
        assert printed_as_documented(expected, output.getvalue(), hub.url), (
            f"the example of {qualname} printed {output.getvalue()!r}, its docstring says {expected!r}"
        )
