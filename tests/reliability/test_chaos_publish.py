"""Item 1, chaos publish: 60 files (3 x 64 MiB LFS + 57 small) published by the `publish_model` flow while
local_hub answers 20 % of the publish's requests with a 5xx, 10 % with 429 + Retry-After, and drops 5 % of
connections half-way through the body, under 5 seeds. Every time the flow completes, exactly one commit
is added, and the official SDK's snapshot_download fetches a tree byte-identical to the folder. The same
folder, published as a dataset by `publish_dataset` under the same faults on the dataset's routes, keeps
those promises too.

The retry budget is the product's: 4 attempts per HTTP call, 3 task retries. Only the waiting is
shortened (milliseconds of client back-off, no delay between task retries).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from flows.publish.flow import DatasetPublishRequest, PublishRequest, publish_dataset, publish_model
from tests.helpers.clients import make_block
from tests.helpers.folders import MIB, manifest
from tests.helpers.hub import RunningHub, settled
from tests.helpers.polling import wait_for
from tests.helpers.sdk import sdk_snapshot

pytestmark = pytest.mark.reliability

BIG = [f"weights/model-{i:05d}-of-00003.safetensors" for i in range(1, 4)]
# Seed 123 fails ensure_model's first check four times in a row: the flow failed while that task had no retries.
SEEDS = [1, 2, 3, 4, 123]
FIRED: dict[int, dict[str, int]] = {}  # seed -> fault kind -> how many fired (for the coverage check)
# Every hub route a publish uses (login, repo checks, refs, listings, blob negotiation and upload, commit).
PUBLISH_ROUTES = (
    "login", "get_model", "create_model", "revisions", "commits", "repo_files", "lfs_batch", "blob_put", "commit",
)  # fmt: skip


# The same publish of a dataset goes through the dataset's own routes for the repo, refs and tree.
DATASET_ROUTES = (
    "login", "get_dataset", "create_dataset", "dataset_revisions", "dataset_commits", "dataset_tree", "lfs_batch",
    "blob_put", "commit",
)  # fmt: skip


def chaos_rules(routes: tuple[str, ...] = PUBLISH_ROUTES) -> list[dict]:
    """20 % 5xx (spread over 500/502/503/504), 10 % 429 with Retry-After: 0, 5 % connections cut mid-body."""
    rules = []
    for route in routes:
        rules += [{"route": route, "effect": "status", "status": s, "rate": 0.05} for s in (500, 502, 503, 504)]
        rules.append({"route": route, "effect": "status", "status": 429, "retry_after": 0, "rate": 0.10})
        rules.append({"route": route, "effect": "drop_mid_body", "rate": 0.05})
    return rules


@pytest.fixture(scope="module")
def chaos_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 60-file folder, made once; each seed rewrites the head of the big files (fresh blobs for the hub)."""
    root = tmp_path_factory.mktemp("chaos") / "model"
    (root / "weights").mkdir(parents=True)
    (root / "configuration.json").write_text('{"framework": "pytorch", "task": "text-generation"}\n')
    (root / "README.md").write_text("# chaos\n")
    (root / "config.json").write_text('{"hidden_size": 64}\n')
    for i in range(54):
        sub = root / ("tokenizer" if i % 3 == 0 else "docs" if i % 3 == 1 else "extra/nested")
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"part-{i:02d}.txt").write_bytes(os.urandom(200 + 97 * i))
    for rel in BIG:
        with open(root / rel, "wb") as handle:
            for _ in range(64):
                handle.write(os.urandom(MIB))
    assert sum(1 for p in root.rglob("*") if p.is_file()) == 60
    return root


def fault_kind(rule: dict) -> str:
    return "drop" if rule["effect"] == "drop_mid_body" else "429" if rule["status"] == 429 else "5xx"


def fresh_blobs(folder: Path, seed: int) -> None:
    """New content for the big files (the hub's blob store outlives its resets: reused bytes would not upload)."""
    for rel in BIG:
        with open(folder / rel, "r+b") as handle:
            handle.write(hashlib.sha256(f"{seed}-{rel}-{os.urandom(8).hex()}".encode()).digest())


@pytest.mark.parametrize("seed", SEEDS, ids=[f"seed-{s}" for s in SEEDS])
def test_chaos_publish_is_complete_exact_and_single_commit(
    hub: RunningHub, prefect_harness: None, fast_backoff: None, no_retry_delay: None, chaos_folder: Path,
    tmp_path: Path, seed: int,
) -> None:  # fmt: skip
    fresh_blobs(chaos_folder, seed)
    expected = manifest(chaos_folder)
    assert len(expected) == 60 and sum(size for _, size in expected.values()) > 3 * 64 * MIB
    model_id = f"alice/chaos-{seed}"
    before = hub.control.stats()
    hub.control.set_faults(chaos_rules(), seed=seed)
    try:
        state = publish_model(
            PublishRequest(model_id=model_id, model_dir=str(chaos_folder)), make_block(hub), return_state=True
        )
        rules = hub.control.faults()
    finally:
        hub.control.clear_faults()
    wait_for(lambda: settled(hub), "the hub to finish every request")
    assert state.is_completed(), state.message
    result = state.result()
    after = hub.control.stats()

    sent = sum(rule["matched"] for rule in rules) // 6  # six rules per route: each request is matched 6 times
    fired = {kind: sum(r["fired"] for r in rules if fault_kind(r) == kind) for kind in ("5xx", "429", "drop")}
    FIRED[seed] = fired
    assert 0.15 * sent <= sum(fired.values()) <= 0.6 * sent, (fired, sent)  # 35 % on average
    assert after["commits_total"] - before["commits_total"] == 1, "exactly one commit must be added"
    assert result.commit_id is not None and result.commit_ids == [result.commit_id]
    assert after["blob_bytes_stored"] - before["blob_bytes_stored"] == 3 * 64 * MIB
    assert sdk_snapshot(hub, tmp_path, model_id) == expected


def test_every_fault_kind_fired_across_the_seeds(request: pytest.FixtureRequest) -> None:
    """The seeds together hit the publish with 5xx, 429 and mid-body drops (else the chaos proved less).

    The seeds run before this test, in the same process (one module is one unit of work for pytest-xdist,
    tests/conftest.py). Only when the session did not select them all (`-k`, `--lf`) is there nothing to
    check; a session that selected them all, as CI's does, must have seen them all pass here.
    """
    chaos = test_chaos_publish_is_complete_exact_and_single_commit.__name__
    selected = {item.callspec.params["seed"] for item in request.session.items if item.name.startswith(chaos)}
    if selected != set(SEEDS):
        pytest.skip(f"this session selected the seeds {sorted(selected)} of {SEEDS}: run the module whole")
    assert sorted(FIRED) == SEEDS, f"every seed was selected, but only {sorted(FIRED)} passed before this check"
    totals = {kind: sum(f[kind] for f in FIRED.values()) for kind in ("5xx", "429", "drop")}
    assert all(totals.values()), totals


def test_chaos_dataset_publish_is_complete_exact_and_single_commit(
    hub: RunningHub, prefect_harness: None, fast_backoff: None, no_retry_delay: None, chaos_folder: Path,
    tmp_path: Path,
) -> None:  # fmt: skip
    """The same folder as a dataset, through `publish_dataset` and the dataset routes, under seed 7."""
    fresh_blobs(chaos_folder, 7)
    expected = manifest(chaos_folder)
    before = hub.control.stats()
    hub.control.set_faults(chaos_rules(DATASET_ROUTES), seed=7)
    try:
        request = DatasetPublishRequest(dataset_id="alice/chaos-data", dataset_dir=str(chaos_folder))
        state = publish_dataset(request, make_block(hub), return_state=True)
        rules = hub.control.faults()
    finally:
        hub.control.clear_faults()
    wait_for(lambda: settled(hub), "the hub to finish every request")
    assert state.is_completed(), state.message
    result = state.result()
    fired = sum(r["fired"] for r in rules)
    assert fired >= 10, f"only {fired} faults fired"
    assert hub.control.stats()["commits_total"] - before["commits_total"] == 1, "exactly one commit must be added"
    assert result.repo_type == "dataset" and result.commit_ids == [result.commit_id]
    fetched = sdk_snapshot(hub, tmp_path, "alice/chaos-data", repo_type="dataset")
    assert {p: e for p, e in fetched.items() if p != ".gitattributes"} == expected
