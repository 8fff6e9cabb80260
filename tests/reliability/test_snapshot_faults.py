"""Item 4, snapshot under faults: `snapshot_revisions` over 200 models (refs with commit ids and every
branch head's files) while local_hub answers 20 % of the snapshot's requests with a 5xx. The snapshot
must be complete and equal to a fault-free one. A model deleted between the listing and its read is
recorded as not visible, and the run reports it (summary, artifact, diff) without crashing.
"""

from __future__ import annotations

import base64
import threading
from pathlib import Path
from typing import Any

import pytest
import requests
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

from flows.snapshot.flow import snapshot_revisions
from flows.snapshot.format import Snapshot
from tests.helpers.clients import make_block
from tests.helpers.hub import RunningHub
from tests.helpers.polling import wait_for

pytestmark = pytest.mark.reliability

MODELS = 200
DOOMED = "alice/model-077"
SNAPSHOT_ROUTES = ("list_models", "revisions", "commits", "repo_files")


def create_models(hub: RunningHub) -> list[str]:
    """200 models (180 of alice, some private and some tagged; 20 of the group team), one commit each.
    Setup through plain HTTP: the client's own paths are tested elsewhere."""
    ids = [f"alice/model-{i:03d}" for i in range(180)] + [f"team/model-{i:03d}" for i in range(20)]
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {hub.tokens['alice']}"
        for i, model_id in enumerate(ids):
            owner, name = model_id.split("/")
            made = session.post(
                f"{hub.url}/api/v1/models",
                json={"Path": owner, "Name": name, "Visibility": 1 if i % 5 == 0 else 5},
                timeout=30,
            )
            assert made.status_code == 200, made.text
            content = base64.b64encode(f"# {model_id}\n".encode()).decode()
            actions = [
                {"action": "create", "path": path, "type": "normal", "size": len(data), "content": body,
                 "encoding": "base64"}
                for path, data, body in (
                    ("README.md", f"# {model_id}\n".encode(), content),
                    ("configuration.json", b"{}", base64.b64encode(b"{}").decode()),
                )
            ]  # fmt: skip
            committed = session.post(
                f"{hub.url}/api/v1/repos/models/{model_id}/commit/master",
                json={"commit_message": "init", "actions": actions},
                timeout=30,
            )
            assert committed.status_code == 200, committed.text
            if i % 7 == 0:
                tagged = session.post(
                    f"{hub.url}/api/v1/models/{model_id}/repo/tag", json={"TagName": "v1", "Ref": "master"}, timeout=30
                )
                assert tagged.status_code == 200, tagged.text
    return ids


def run_snapshot(hub: RunningHub, folder: Path) -> tuple[Any, Snapshot]:
    state = snapshot_revisions(
        owners=["alice", "team"],
        include_files=True,
        snapshot_dir=str(folder),
        max_concurrency=8,
        modelscope_credentials=make_block(hub),
        return_state=True,
    )
    assert state.is_completed(), state.message
    summary = state.result()
    return summary, Snapshot.model_validate_json(Path(summary.location).read_text())


def delete_when_held(hub: RunningHub, done: list[BaseException | None]) -> None:
    """Delete DOOMED while its first read is held up by the latency rule (rule 0): after the listing."""
    try:
        wait_for(lambda: hub.control.faults()[0]["fired"] >= 1, "the doomed model's read to start", timeout=120)
        gone = requests.delete(
            f"{hub.url}/api/v1/models/{DOOMED}", headers={"Authorization": f"Bearer {hub.tokens['alice']}"}, timeout=30
        )
        assert gone.status_code == 200, gone.text
        done.append(None)
    except BaseException as exc:  # reported by the test
        done.append(exc)


def test_a_snapshot_under_5xx_faults_equals_a_fault_free_one(
    hub_idle: RunningHub, prefect_harness: None, fast_backoff: None, no_retry_delay: None, tmp_path: Path
) -> None:
    hub = hub_idle
    ids = create_models(hub)
    clean_summary, clean = run_snapshot(hub, tmp_path / "snapshots")
    assert clean_summary.models == MODELS and not clean_summary.failed and not clean_summary.not_visible
    assert set(clean.models) == set(ids) and all(m.status == "ok" for m in clean.models.values())

    doomed_reads = f"/api/v1/models/{DOOMED}/revisions$"
    rules: list[dict[str, Any]] = [{"route": "revisions", "path": doomed_reads, "effect": "latency", "seconds": 2,
                                    "times": 1}]  # fmt: skip
    for route in SNAPSHOT_ROUTES:
        rules += [{"route": route, "effect": "status", "status": s, "rate": 0.05} for s in (500, 502, 503, 504)]
    hub.control.set_faults(rules, seed=7)
    deleter_outcome: list[BaseException | None] = []
    deleter = threading.Thread(target=delete_when_held, args=(hub, deleter_outcome), daemon=True)
    deleter.start()
    try:
        summary, faulty = run_snapshot(hub, tmp_path / "snapshots")
        fired = [rule["fired"] for rule in hub.control.faults()]
    finally:
        hub.control.clear_faults()
        deleter.join(timeout=130)
    assert deleter_outcome == [None], deleter_outcome
    assert fired[0] == 1 and sum(fired[1:]) >= 50, f"too few faults fired: {fired}"

    # Complete: every listed model is there, read, and identical to the fault-free snapshot.
    assert set(faulty.models) == set(ids)
    assert not summary.failed, summary.failed
    for model_id in ids:
        if model_id != DOOMED:
            assert faulty.models[model_id] == clean.models[model_id], model_id
    # The model deleted after the listing: recorded as not visible, and reported.
    assert faulty.models[DOOMED].status == "not_visible" and DOOMED in faulty.models[DOOMED].reason
    assert summary.not_visible == [DOOMED] and summary.models == MODELS
    assert summary.changes == 1  # the diff against the fault-free snapshot: exactly model.hidden
    with get_client(sync_client=True) as client:
        report = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["modelscope-snapshot"])),
            sort="CREATED_DESC",
            limit=1,
        )[0]
    assert f"{MODELS} models: {MODELS - 1} read, 1 not visible, 0 failed" in str(report.data)
