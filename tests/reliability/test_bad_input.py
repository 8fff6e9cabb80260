"""Item 6, bad input: a table of wrong calls across the tasks and the flows. Each raises a typed error whose
message names the problem, and local_hub's counters prove that nothing changed remotely (no write route
answered 2xx, no commit, no blob). Rows marked local must be refused before any request at all.

The test ids are the table (`pytest -m reliability tests/reliability/test_bad_input.py -v` lists it).
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from prefect.exceptions import ParameterTypeError
from prefect.settings import PREFECT_API_URL

from flows.publish.flow import publish_model
from flows.snapshot.flow import snapshot_revisions
from flows.train_and_publish import train_and_publish
from hub_tasks import (
    InvalidParameter,
    ModelScopeCredentials,
    NotExistError,
    NotLoginError,
    PermissionDeniedError,
    create_model,
    create_tag,
    delete_model,
    download_model,
    fetch_meta_files_from_url,
    get_model,
    list_all_models,
    list_models,
    login,
    push_model,
)
from tests.helpers.clients import make_block
from tests.helpers.hub import ROOT, RunningHub, remote_writes
from tests.helpers.permissions import permission_bound_prefix

pytestmark = [
    pytest.mark.reliability,
    # tasks called outside a flow run: Prefect notes that their run logger cannot ship logs to the API
    pytest.mark.filterwarnings("ignore:Logger .prefect.task_runs. attempted to send logs"),
]

MODEL = "alice/bad-input"
FLOWS = ("publish_model", "snapshot_revisions", "train_and_publish")
PRIVATE = "bob/vault"  # bob's private model, with one commit


@dataclass
class Ctx:
    """What a case needs: the hub, alice's block, a scratch folder, a publishable folder."""

    hub: RunningHub
    block: ModelScopeCredentials
    tmp: Path
    good: Path
    monkeypatch: pytest.MonkeyPatch

    def folder(self, name: str, files: dict[str, str] | None = None, config: str | None = "{}") -> str:
        root = self.tmp / name
        root.mkdir()
        if config is not None:
            (root / "configuration.json").write_text(config)
        for rel, text in (files or {"README.md": "# hi\n"}).items():
            (root / rel).write_text(text)
        return str(root)

    def push(self, model_dir: str | None = None, model_id: str = MODEL, **options: Any) -> Any:
        return push_model(model_id, model_dir or str(self.good), modelscope_credentials=self.block, **options)

    def publish(self, **request: Any) -> Any:
        fields = {"model_id": MODEL, "model_dir": str(self.good), **request}
        return publish_model(request=fields, modelscope_credentials=self.block)


@dataclass
class Case:
    call: Callable[[Ctx], Any]
    error: type[BaseException]
    says: str  # a fragment the message must contain (case-insensitive)
    local: bool = True  # refused before any request to the hub


def _symlink_out(c: Ctx) -> str:
    folder = c.folder("link")
    outside = c.tmp / "outside.txt"
    outside.write_text("not part of the model")
    os.symlink(outside, Path(folder) / "escape.txt")
    return folder


def _a_file(c: Ctx) -> str:
    path = c.tmp / "weights.bin"
    path.write_bytes(b"\x00" * 10)
    return str(path)


def _no_token(c: Ctx) -> Any:
    c.monkeypatch.setenv("MODELSCOPE_ENDPOINT", c.hub.url)  # the SDK's variables: an endpoint but no token
    return push_model(MODEL, str(c.good))


UNREADABLE = """
import json, sys
from hub_tasks import ModelScopeCredentials, push_model
url, token, folder = sys.argv[1:4]
try:
    push_model("alice/bad-input", folder, modelscope_credentials=ModelScopeCredentials(token=token, endpoint=url))
    print(json.dumps({"error": None}))
except Exception as exc:
    print(json.dumps({"error": type(exc).__name__, "text": str(exc)}))
"""


def _unreadable(c: Ctx) -> Any:
    """A file its reader may not open; the task runs in a child bound by file permissions (as root too:
    tests/helpers/permissions.py)."""
    folder = Path(c.folder("unreadable", {"weights-notes.txt": "nobody may read this"}))
    (folder / "weights-notes.txt").chmod(0)
    prefix = permission_bound_prefix()
    env = {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value()}
    try:
        result = subprocess.run(
            [*prefix, sys.executable, "-c", UNREADABLE, c.hub.url, c.hub.tokens["alice"], str(folder)],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    finally:
        (folder / "weights-notes.txt").chmod(stat.S_IRUSR | stat.S_IWUSR)
    assert result.returncode == 0, result.stderr[-3000:]
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    if outcome["error"] == "InvalidParameter":
        raise InvalidParameter(outcome["text"])
    raise AssertionError(f"expected InvalidParameter, got {outcome}")


CASES: dict[str, Case] = {
    # -- the folder ---------------------------------------------------------------------------------
    "push_model-missing-folder": Case(lambda c: c.push(str(c.tmp / "missing")), InvalidParameter, "does not exist"),
    "push_model-file-not-folder": Case(lambda c: c.push(_a_file(c)), InvalidParameter, "is a file, not a folder"),
    "push_model-no-configuration-json": Case(
        lambda c: c.push(c.folder("noconf", config=None)), InvalidParameter, "configuration.json is missing"
    ),
    "push_model-configuration-json-not-json": Case(
        lambda c: c.push(c.folder("badjson", config="{framework: pytorch")), InvalidParameter, "not valid JSON"
    ),
    "push_model-configuration-json-a-list": Case(
        lambda c: c.push(c.folder("listjson", config="[1, 2]")), InvalidParameter, "must hold a JSON object"
    ),
    "push_model-symlink-escaping-folder": Case(lambda c: c.push(_symlink_out(c)), InvalidParameter, "leads outside"),
    "push_model-secret-looking-file": Case(
        lambda c: c.push(c.folder("secret", {".env": "API_KEY=x\n"})), InvalidParameter, "looks like a secret"
    ),
    "push_model-private-key-file": Case(
        lambda c: c.push(c.folder("key", {"id_rsa": "-----BEGIN\n"})), InvalidParameter, "looks like a secret"
    ),
    "push_model-unreadable-file": Case(_unreadable, InvalidParameter, "cannot be read"),
    # -- model ids ------------------------------------------------------------------------------------
    "push_model-model-id-empty": Case(lambda c: c.push(model_id=""), InvalidParameter, "exactly one '/'"),
    "push_model-model-id-no-slash": Case(lambda c: c.push(model_id="alice"), InvalidParameter, "exactly one '/'"),
    "push_model-model-id-two-slashes": Case(lambda c: c.push(model_id="alice/a/b"), InvalidParameter, "exactly one"),
    "push_model-model-id-spaces": Case(lambda c: c.push(model_id="alice/my model"), InvalidParameter, "my model"),
    "push_model-model-id-dotdot": Case(lambda c: c.push(model_id="alice/.."), InvalidParameter, "not only dots"),
    "push_model-model-id-unicode-lookalike": Case(  # a Cyrillic a (U+0430) in the owner
        lambda c: c.push(model_id="\u0430lice/demo"), InvalidParameter, "A-Z a-z 0-9"
    ),
    "get_model-model-id-unicode-lookalike": Case(  # a Cyrillic e (U+0435) in the name
        lambda c: get_model("alice/d\u0435mo", modelscope_credentials=c.block), InvalidParameter, "A-Z a-z 0-9"
    ),
    # -- revisions and tags ---------------------------------------------------------------------------
    "push_model-revision-with-dotdot": Case(lambda c: c.push(revision="feature..x"), InvalidParameter, "not a valid"),
    "push_model-tag-with-space": Case(lambda c: c.push(tag="v 1.0"), InvalidParameter, "not a valid name"),
    "push_model-tag-master": Case(lambda c: c.push(tag="master"), InvalidParameter, "reserved for branches"),
    "create_tag-tag-main": Case(
        lambda c: create_tag(MODEL, "main", modelscope_credentials=c.block), InvalidParameter, "reserved"
    ),
    # -- visibility and paging ------------------------------------------------------------------------
    "push_model-visibility-2": Case(lambda c: c.push(visibility=2), InvalidParameter, "must be 1 (private)"),
    "create_model-visibility-7": Case(
        lambda c: create_model(MODEL, visibility=7, modelscope_credentials=c.block), InvalidParameter, "visibility 7"
    ),
    "list_models-page-size-0": Case(
        lambda c: list_models("alice", page_size=0, modelscope_credentials=c.block), InvalidParameter, "page_size 0"
    ),
    "list_models-page-size-1000": Case(
        lambda c: list_models("alice", page_size=1000, modelscope_credentials=c.block), InvalidParameter, "1 to 100"
    ),
    "list_all_models-page-size-0": Case(
        lambda c: list_all_models("alice", page_size=0, modelscope_credentials=c.block), InvalidParameter, "page_size"
    ),
    # -- downloads ------------------------------------------------------------------------------------
    "fetch_meta-ftp-url": Case(
        lambda c: fetch_meta_files_from_url("ftp://example.com/a.csv", str(c.tmp / "meta")),
        InvalidParameter,
        "http:// or https://",
    ),
    "fetch_meta-file-url": Case(
        lambda c: fetch_meta_files_from_url("file:///etc/passwd", str(c.tmp / "meta")), InvalidParameter, "http://"
    ),
    "fetch_meta-out-path-is-a-file": Case(
        lambda c: fetch_meta_files_from_url(f"{c.hub.url}/data.csv", _a_file(c), modelscope_credentials=c.block),
        InvalidParameter,
        "is not a folder",
    ),
    "download_model-local-dir-is-a-file": Case(
        lambda c: download_model(MODEL, _a_file(c), modelscope_credentials=c.block), InvalidParameter, "not a folder"
    ),
    # -- tokens and permissions -----------------------------------------------------------------------
    "login-wrong-token": Case(
        lambda c: login(modelscope_credentials=make_block(c.hub, token="ms-wrong-token-0000")),
        NotLoginError,
        "AccessToken",
        local=False,
    ),
    "push_model-wrong-token": Case(
        lambda c: push_model(MODEL, str(c.good), modelscope_credentials=make_block(c.hub, token="ms-wrong-0000")),
        NotLoginError,
        "invalid or expired",
        local=False,
    ),
    "push_model-no-token": Case(_no_token, NotLoginError, "no access token"),
    "push_model-private-model-of-another-user": Case(
        lambda c: c.push(model_id=PRIVATE), PermissionDeniedError, "may not create models under bob", local=False
    ),
    "get_model-private-model-of-another-user": Case(
        lambda c: get_model(PRIVATE, modelscope_credentials=c.block), NotExistError, "not found", local=False
    ),
    "download_model-private-model-of-another-user": Case(
        lambda c: download_model(PRIVATE, str(c.tmp / "dl"), modelscope_credentials=c.block),
        NotExistError,
        "not found",
        local=False,
    ),
    "delete_model-not-confirmed": Case(
        lambda c: delete_model(MODEL, modelscope_credentials=c.block), InvalidParameter, "pass confirm="
    ),
    # -- flows ----------------------------------------------------------------------------------------
    "publish_model-missing-folder": Case(
        lambda c: c.publish(model_dir=str(c.tmp / "missing")), InvalidParameter, "does not exist"
    ),
    "publish_model-model-id-spaces": Case(lambda c: c.publish(model_id="alice/a b"), ParameterTypeError, "model_id"),
    "publish_model-model-id-dotdot": Case(lambda c: c.publish(model_id="alice/.."), ParameterTypeError, "model_id"),
    "publish_model-unknown-visibility": Case(lambda c: c.publish(visibility="secret"), ParameterTypeError, "visibil"),
    "publish_model-tag-master": Case(lambda c: c.publish(tag="master"), ParameterTypeError, "reserved for branches"),
    "publish_model-revision-with-dotdot": Case(
        lambda c: c.publish(revision="feature..x"), ParameterTypeError, "revision"
    ),
    "snapshot_revisions-owner-with-space": Case(
        lambda c: snapshot_revisions(owners=["bad owner"], modelscope_credentials=c.block), InvalidParameter, "owner"
    ),
    "snapshot_revisions-no-owners": Case(
        lambda c: snapshot_revisions(owners=[], snapshot_dir=str(c.tmp / "s"), modelscope_credentials=c.block),
        ParameterTypeError,
        "owners",
    ),
    "snapshot_revisions-max-concurrency-0": Case(
        lambda c: snapshot_revisions(
            owners=["alice"], max_concurrency=0, snapshot_dir=str(c.tmp / "s"), modelscope_credentials=c.block
        ),
        ParameterTypeError,
        "max_concurrency",
    ),
    "train_and_publish-model-id-spaces": Case(
        lambda c: train_and_publish(model_id="my model", output_dir=str(c.tmp / "out"), modelscope_credentials=c.block),
        ParameterTypeError,
        "model_id",
    ),
}


@pytest.fixture
def ctx(hub: RunningHub, prefect_harness: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Ctx:
    """Bob's private model exists; alice's block and a publishable folder are ready."""
    bob = {"Authorization": f"Bearer {hub.tokens['bob']}"}
    made = requests.post(
        f"{hub.url}/api/v1/models", json={"Path": "bob", "Name": "vault", "Visibility": 1}, headers=bob, timeout=30
    )
    assert made.status_code == 200, made.text
    action = {"action": "create", "path": "README.md", "size": 3, "content": "YWJj", "encoding": "base64"}
    committed = requests.post(
        f"{hub.url}/api/v1/repos/models/{PRIVATE}/commit/master",
        json={"commit_message": "init", "actions": [action]},
        headers=bob,
        timeout=30,
    )
    assert committed.status_code == 200, committed.text
    good = tmp_path / "good"
    good.mkdir()
    (good / "configuration.json").write_text('{"framework": "pytorch"}')
    (good / "README.md").write_text("# good\n")
    return Ctx(hub, make_block(hub, retry_attempts=1), tmp_path, good, monkeypatch)


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_bad_input_is_refused_with_a_typed_readable_error_and_changes_nothing(ctx: Ctx, case: str) -> None:
    row = CASES[case]
    before = ctx.hub.control.stats()
    with pytest.raises(row.error) as info:
        row.call(ctx)
    after = ctx.hub.control.stats()

    text = str(info.value)
    assert row.says.lower() in text.lower(), f"{type(info.value).__name__}: {text}"
    assert 0 < len(text) < 2000 and "Traceback" not in text, "the message must be short and readable"
    assert not any(secret in text for secret in ctx.hub.tokens.values()), "a token leaked into the message"
    assert remote_writes(before, after) == {}, f"the hub was changed: {remote_writes(before, after)}"
    if row.local:
        assert after["requests"] == before["requests"], "refused only after asking the hub"


def test_the_table_has_at_least_twenty_rows_across_tasks_and_flows() -> None:
    flows = [name for name in CASES if name.split("-")[0] in FLOWS]
    assert len(CASES) >= 20 and len(flows) >= 5 and len(CASES) - len(flows) >= 15
