"""Every ```python example in the docstrings of `hub_tasks`' public names compiles, and the runnable ones run.

Collected from: each name in `hub_tasks.__all__` (for tasks, the function's docstring), and the methods
and properties that `HubClient` and `ModelScopeCredentials` define in `hub_tasks` (not Prefect's own).
download_model and fetch_meta_files_from_url belong to another change and are left out.

What happens to an example:
- every one is compiled (a syntax check);
- one that defines a `@flow` (the task examples) is executed against local_hub, and the flow it defines
  is then called, with arguments chosen by parameter name (`arguments()`), after a block for alice was
  saved and alice/demo seeded (a commit, tagged v1.0, of the folder passed as `folder`) with
  alice/scratch beside it. Prefect refuses "BLOCK_NAME" as a block name (lowercase, digits and dashes
  only): it is the placeholder users replace, so the block is saved as "block-name" and the example's
  "BLOCK_NAME" replaced by that before it runs;
- one that loads "BLOCK_NAME" and uses no placeholder (the block's own examples) is executed as is;
- the rest (client examples with URL/TOKEN placeholders, the model-free helpers) are only compiled.
"""

from __future__ import annotations

import inspect
import re
import textwrap
from pathlib import Path
from typing import Any

import pytest
from prefect import Flow
from prefect.tasks import Task

import hub_tasks
from hub_tasks import HubClient, ModelScopeCredentials
from tests.tasks import NOT_OURS, fast_block, hub_client, model_dir

FENCE = re.compile(r"```python\n(.*?)```", re.DOTALL)
PLACEHOLDERS = re.compile(r"\b(URL|TOKEN)\b")
BLOCK_NAME = "block-name"  # what "BLOCK_NAME" in an example stands for here


def docstring_of(obj: Any) -> str:
    if isinstance(obj, Task):
        obj = obj.fn
    if isinstance(obj, property):
        obj = obj.fget
    return inspect.getdoc(obj) or ""


def public_objects() -> dict[str, Any]:
    """Qualified name -> object, for every public name and the two classes' own members."""
    objects: dict[str, Any] = {}
    for name in hub_tasks.__all__:
        if name not in NOT_OURS:
            objects[name] = getattr(hub_tasks, name)
    for cls in (HubClient, ModelScopeCredentials):
        for klass in cls.__mro__:
            if not klass.__module__.startswith("hub_tasks"):
                continue
            for member_name, member in vars(klass).items():
                if member_name.startswith("_") or member_name in NOT_OURS:
                    continue
                if inspect.isfunction(member) or isinstance(member, (property, classmethod, staticmethod)):
                    objects.setdefault(f"{cls.__name__}.{member_name}", getattr(member, "__func__", member))
    return objects


def collect_examples() -> list[Any]:
    params = []
    for qualname, obj in public_objects().items():
        for index, block in enumerate(FENCE.findall(docstring_of(obj))):
            code = textwrap.dedent(block)
            if "@flow" in code:
                kind = "flow"
            elif 'ModelScopeCredentials.load("BLOCK_NAME")' in code and not PLACEHOLDERS.search(code):
                kind = "block"
            else:
                kind = "compile"
            params.append(pytest.param(qualname, code, kind, id=f"{qualname}-{index}-{kind}"))
    return params


EXAMPLES = collect_examples()


def test_the_examples_were_found() -> None:
    kinds = [p.values[2] for p in EXAMPLES]
    names = {p.values[0] for p in EXAMPLES}
    assert kinds.count("flow") >= 12  # one per task
    assert kinds.count("block") >= 2  # the block's class docstring and get_client
    assert {"login", "push_model", "delete_model", "ModelScopeCredentials", "HubClient.get_model_files"} <= names


@pytest.mark.parametrize(("qualname", "code", "kind"), [p for p in EXAMPLES if p.values[2] == "compile"])
def test_example_compiles(qualname: str, code: str, kind: str) -> None:
    compile(code, f"<example of {qualname}>", "exec")


@pytest.fixture
def seeded(hub, prefect_harness, tmp_path) -> Path:
    """Block "block-name" for alice; alice/demo holding `folder` at master and tag v1.0; alice/scratch."""
    fast_block(hub, retry_attempts=2).save(BLOCK_NAME, overwrite=True)
    folder = model_dir(tmp_path / "folder", {"README.md": "# demo\n", "weights/w.bin": "weights\n"})
    with hub_client(hub) as client:
        client.push_model("alice/demo", folder, tag="v1.0", hash_cache=None)
        client.create_model("alice/scratch")
    return folder


def arguments(flow: Flow, folder: Path) -> dict[str, Any]:
    """Values for the flow's parameters, by name: obvious ones for a seeded hub."""
    by_name = {"model_id": "alice/demo", "owner": "alice", "folder": str(folder), "version": "v1.0"}
    values = {}
    for name, parameter in inspect.signature(flow.fn).parameters.items():
        if name in by_name:
            values[name] = by_name[name]
        else:
            assert parameter.default is not inspect.Parameter.empty, (
                f"no argument for parameter {name!r} of example flow {flow.name}: add one to arguments()"
            )
    return values


@pytest.mark.parametrize(("qualname", "code", "kind"), [p for p in EXAMPLES if p.values[2] != "compile"])
def test_example_runs(qualname: str, code: str, kind: str, hub, seeded: Path, capsys) -> None:
    namespace: dict[str, Any] = {"__name__": f"example_{qualname.replace('.', '_')}"}
    code = code.replace('"BLOCK_NAME"', f'"{BLOCK_NAME}"')
    exec(compile(code, f"<example of {qualname}>", "exec"), namespace)
    flows = [value for value in namespace.values() if isinstance(value, Flow)]
    if kind == "block":
        assert not flows
        assert capsys.readouterr().out.strip()  # the block examples print what they fetched
        return
    assert len(flows) == 1, f"the example of {qualname} should define one flow"
    hub.control.reset(state=False)
    flows[0](**arguments(flows[0], seeded))  # raises if the flow fails
    assert hub.control.requests() > 0
