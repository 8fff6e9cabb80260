"""Shared pieces of the flow tests: hub setup over plain HTTP, and reading a flow run's artifacts and events
back through the Prefect API.

The reliability suite's speed fixtures are reused: `fast_backoff` (milliseconds of client back-off through
the documented `MODELSCOPE_RETRY_*` variables) and `no_retry_delay` (the flows' tasks with their product
retry counts, minus the waiting between attempts). Neither changes what the hub answers.
"""

from __future__ import annotations

import base64
import uuid
from typing import Any

import requests
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, ArtifactFilterKey
from prefect.client.schemas.objects import Artifact
from prefect.events import Event, emit_event
from prefect.events.filters import EventFilter, EventNameFilter, EventRelatedFilter, EventResourceFilter

from tests.conftest import RunningHub
from tests.reliability.conftest import fast_backoff, no_retry_delay, wait_for  # noqa: F401  (fixtures for this package)


class HubWriter:
    """Change local_hub the way another user or the website would: plain HTTP with `user`'s token
    (the client's own paths are tested elsewhere), plus the control plane for branches."""

    def __init__(self, hub: RunningHub, user: str = "alice") -> None:
        self.hub = hub
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {hub.tokens[user]}"

    def _ok(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = self.session.request(method, f"{self.hub.url}{path}", json=body, timeout=30)
        assert response.status_code == 200, f"{method} {path}: {response.status_code} {response.text}"
        return response.json()["Data"]

    def create(self, model_id: str, visibility: int = 5, license: str | None = None) -> None:
        """An empty model."""
        owner, name = model_id.split("/")
        body: dict[str, Any] = {"Path": owner, "Name": name, "Visibility": visibility}
        if license:
            body["License"] = license
        self._ok("POST", "/api/v1/models", body)

    def commit(
        self, model_id: str, files: dict[str, bytes], branch: str = "master", delete: tuple[str, ...] = ()
    ) -> str:
        """One commit that writes `files` (inline) and deletes `delete`; returns its id."""
        actions: list[dict[str, Any]] = [
            {"action": "create", "path": path, "type": "normal", "size": len(data),
             "content": base64.b64encode(data).decode(), "encoding": "base64"}
            for path, data in files.items()
        ]  # fmt: skip
        actions += [{"action": "delete", "path": path} for path in delete]
        data = self._ok(
            "POST", f"/api/v1/repos/models/{model_id}/commit/{branch}", {"commit_message": "test", "actions": actions}
        )
        return data["oid"]

    def tag(self, model_id: str, tag: str, ref: str = "master") -> str:
        """Tag `ref`; returns the commit id the tag points at."""
        return self._ok("POST", f"/api/v1/models/{model_id}/repo/tag", {"TagName": tag, "Ref": ref})["CommitId"]

    def branch(self, model_id: str, branch: str, revision: str = "master") -> str:
        """Create a branch (the HTTP API cannot; git push and the website can); returns its commit id."""
        return self.hub.control.create_branch(model_id, branch, revision)

    def update(self, model_id: str, **fields: Any) -> None:
        """Change Visibility, License, ... of a model."""
        self._ok("PUT", f"/api/v1/models/{model_id}", fields)

    def delete(self, model_id: str) -> None:
        self._ok("DELETE", f"/api/v1/models/{model_id}")

    def exists(self, model_id: str) -> bool:
        return self.session.get(f"{self.hub.url}/api/v1/models/{model_id}", timeout=30).status_code == 200

    def head(self, model_id: str, revision: str = "master") -> str | None:
        """The commit `revision` points at, None when the model has no such ref (or no commit)."""
        response = self.session.get(
            f"{self.hub.url}/api/v1/models/{model_id}/commits", params={"Ref": revision, "PageSize": 1}, timeout=30
        )
        if response.status_code != 200:
            return None
        commits = response.json()["Data"]["Commit"]
        return commits[0]["Id"] if commits else None


def run_artifact(flow_run_id: Any, key: str) -> Artifact | None:
    """The artifact `key` the flow run created, read back from the Prefect API (created synchronously)."""
    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(
                flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]), key=ArtifactFilterKey(any_=[key])
            )
        )
    assert len(found) <= 1, found
    return found[0] if found else None


def events_settled() -> None:
    """Emit a marker event and wait until the server has stored it. The run's events went out earlier on
    the same (ordered) events connection, so after this every event a finished run emitted is readable:
    an event that is still missing was never emitted."""
    marker = f"test.barrier.{uuid.uuid4()}"
    emit_event(event="prefect-modelscope.test.barrier", resource={"prefect.resource.id": marker})

    def stored() -> bool:
        only = EventFilter(resource=EventResourceFilter(id=[marker]))  # built per call: `until` defaults to now
        with get_client(sync_client=True) as client:
            return bool(client.read_events(only, limit=1).events)

    wait_for(stored, "the marker event to reach the server", timeout=30, interval=0.1)


def run_events(flow_run_id: Any, prefix: str = "modelscope.") -> list[Event]:
    """Every event named `prefix*` that the flow run emitted, oldest first, read back from the Prefect API
    (call `events_settled()` once after the runs: the server stores events asynchronously)."""
    only = EventFilter(
        event=EventNameFilter(prefix=[prefix]), related=EventRelatedFilter(id=[f"prefect.flow-run.{flow_run_id}"])
    )
    with get_client(sync_client=True) as client:
        page = client.read_events(only, limit=50)
        events = list(page.events)
        while page.next_page:
            page = client.read_events_page(page.next_page)
            events += page.events
    return sorted(events, key=lambda e: e.occurred)
