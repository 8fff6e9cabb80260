"""The published run in the UI: its page once Completed, and its markdown artifact checked against the hub.

The run's end is awaited through the API (polled, with a deadline); the pages are opened afterwards,
so the browser only ever waits for rendering.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from playwright.sync_api import Page
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from prefect.client.orchestration import SyncPrefectClient
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, ArtifactFilterType
from prefect.client.schemas.objects import FlowRun

from hub_tasks import HubClient
from tests.helpers.polling import wait_for
from tests.helpers.stack import final
from ui_tests.report import Report

# A publish on the process worker takes seconds; a worker that has not started it by then is broken.
RUN_DEADLINE = 120.0
# Prefect's state names, final ones first (a Completed page may also say "Running" in its timeline).
STATE_NAMES = ("Completed", "Failed", "Crashed", "Cancelled", "Running", "Pending", "Scheduled")
READ_TABLES = """() => [...document.querySelectorAll('table tr')]
  .map(row => [...row.querySelectorAll('td')].map(cell => cell.textContent.trim()))
  .filter(cells => cells.length >= 2)"""


@dataclass(frozen=True)
class Published:
    """What the hub holds after the publish: the truth the artifact is checked against.

    Attributes:
        model_id: "owner/name".
        model_url: The model's page on the hub.
        commit_id: The head commit of the published revision.
        files: How many files the folder held (all new: the model did not exist before).
    """

    model_id: str
    model_url: str
    commit_id: str
    files: int


def wait_until_final(client: SyncPrefectClient, run_id: UUID) -> FlowRun:
    """Poll the API until the run is in a final state (Completed, Failed, Crashed, ...), within the deadline."""
    return wait_for(lambda: final(client, run_id), f"flow run {run_id} to finish", RUN_DEADLINE, 0.5)


def hub_truth(hub_url: str, token: str, model_id: str, revision: str, files: int) -> Published:
    """The published model's page (the hub's /models/OWNER/NAME, written out here rather than asked of the
    client under test) and its head commit, read from the hub itself."""
    with HubClient(endpoint=hub_url, token=token) as client:
        head = client.list_commits(model_id, revision, 1, 1)[0]
    return Published(model_id, f"{hub_url}/models/{model_id}", head.id, files)


def open_run(page: Page, url: str, state: str) -> str | None:
    """Open the run's page and wait (bounded) until it shows `state` as a word of its own; returns the state
    the page shows (None when it shows none of Prefect's state names)."""
    page.goto(url)
    with contextlib.suppress(PlaywrightTimeoutError):
        page.get_by_text(state, exact=True).first.wait_for(timeout=30_000)
    text = page.inner_text("body")
    return next((name for name in STATE_NAMES if re.search(rf"(^|\n)\s*{name}\s*($|\n)", text)), None)


def check_run_page(report: Report, where: str, shown: str | None) -> None:
    """The run page shows the run as Completed."""
    report.check(f"{where}: shows Completed", shown == "Completed", f"state shown: {shown!r}", "'Completed'")


def markdown_artifact_key(client: SyncPrefectClient, run_id: UUID) -> str | None:
    """The key of the run's markdown artifact, as the API lists it."""
    only = ArtifactFilter(
        flow_run_id=ArtifactFilterFlowRunId(any_=[run_id]), type=ArtifactFilterType(any_=["markdown"])
    )
    found = client.read_artifacts(artifact_filter=only)
    return found[0].key if found else None


def open_artifact(page: Page, ui: str, key: str) -> None:
    """From the run page, open the Artifacts tab and then the artifact `key`; waits for its tables."""
    tab = page.get_by_role("tab", name="Artifacts") if ui == "v2" else page.locator("li.p-tab", has_text="Artifacts")
    tab.first.click()
    if ui == "v2":
        page.locator("a", has=page.get_by_role("heading", name=key, exact=True)).first.click()
    else:
        page.locator(".artifact-card__title", has_text=key).first.click()
    page.wait_for_url(re.compile(r"/artifacts/artifact/"))
    page.locator("table").first.wait_for()


def read_artifact(page: Page) -> dict[str, Any]:
    """The artifact page's links (text -> href) and table rows (first cell -> second cell)."""
    links = {a.inner_text().strip(): a.get_attribute("href") for a in page.locator("a").all()}
    rows = {cells[0]: cells[1] for cells in page.evaluate(READ_TABLES)}
    return {"links": links, "rows": rows}


def check_artifact(report: Report, where: str, shown: dict[str, Any], truth: Published) -> None:
    """The artifact links the hub's model page and names the hub's head commit and the file counts."""
    link = shown["links"].get(truth.model_id)
    report.check(
        f"{where}: hub link",
        link == truth.model_url,
        f"link {truth.model_id!r} -> {link!r} (all links: {shown['links']})",
        f"a link {truth.model_id!r} to {truth.model_url}",
    )
    rows = shown["rows"]
    report.check(
        f"{where}: commit id",
        rows.get("commit") == truth.commit_id,
        f"commit row {rows.get('commit')!r}",
        f"the hub's head commit {truth.commit_id}",
    )
    counts = f"{truth.files} added, 0 changed, 0 deleted, 0 unchanged"
    report.check(
        f"{where}: file counts",
        rows.get("files") == counts,
        f"files row {rows.get('files')!r} (rows: {rows})",
        f"{counts!r} (a new model from a folder of {truth.files} files)",
    )
