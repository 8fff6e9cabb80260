"""The tier's scenario: start everything, walk the pages in order, record every check, print the summary.

Each step is timed and fenced (`Report.step`): a step that fails is recorded and the next steps run
with what is still there, so one run reports every check.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from uuid import UUID

from playwright.sync_api import Page
from prefect.client.orchestration import SyncPrefectClient

from tests.helpers.folders import blob, make_folder
from tests.helpers.stack import DEMO_TOKEN, api
from ui_tests import block_pages, run_form, run_pages
from ui_tests.browser import TokenWatch, capture, open_page
from ui_tests.deployment import CREDENTIALS_TYPE, FormSpec, read_spec, run_ids
from ui_tests.report import Report
from ui_tests.stack import UiStack, ui_stack

MODEL_ID = "demo/ui-tier-model"
INVALID_MODEL_ID = "not a model id"
TAG = "v1"
SUBMIT_ATTEMPTS = 3


class Tier:
    """One walk through the UI, holding what the steps hand each other.

    Attributes:
        stack: The running hub, Prefect stack and UI.
        page: The browser page.
        client: A client of the stack's Prefect server.
        report: Checks, timings and screenshots.
        watch: The token scan over every captured page.
        workdir: The run's scratch folder (the model folder is written there).
        spec: The deployment's form facts (set by `read_deployment`).
        run_id: The run submitted from the form (set by `submit_publish`).
        folder_files: How many files the published folder holds (set by `submit_publish`).
    """

    def __init__(self, stack: UiStack, page: Page, client: SyncPrefectClient, report: Report, workdir: Path) -> None:
        self.stack, self.page, self.client, self.report = stack, page, client, report
        self.workdir = workdir
        self.watch = TokenWatch((stack.token,))
        self.spec: FormSpec | None = None
        self.run_id: UUID | None = None
        self.folder_files = 0

    def form_url(self) -> str:
        """The custom-run form of the deployment."""
        assert self.spec is not None
        return self.stack.page_url(f"/deployments/deployment/{self.spec.deployment_id}/run")

    def read_deployment(self) -> None:
        """Read the deployment's schema and the block its parameters name."""
        self.spec = read_spec(self.client)
        self.report.note(f"the deployment names credentials block {self.spec.block_name!r}")

    def check_form(self) -> None:
        """Open the run form and check order, labels, toggles, help texts and the credentials picker."""
        assert self.spec is not None
        fields = run_form.open_form(self.page, self.form_url(), self.spec)
        capture(self.page, self.report, self.watch, "run-form")
        run_form.note_other_labels(self.report, fields)
        for check in (
            run_form.check_order,
            run_form.check_labels,
            run_form.check_toggles,
            run_form.check_help,
            run_form.check_credentials,
        ):
            check(self.report, fields, self.spec)

    def submit_invalid_model_id(self) -> None:
        """Type an invalid model id, submit, and record what the form says next to the field."""
        assert self.spec is not None
        before = run_ids(self.client, self.spec.deployment_id)
        fields = run_form.open_form(self.page, self.form_url(), self.spec)
        run_form.fill(self.page, fields, self.spec.request, {"model_id": INVALID_MODEL_ID})
        answer = run_form.submit(self.page)
        field, toasts = run_form.read_error(self.page, self.spec)
        capture(self.page, self.report, self.watch, "invalid-model-id")
        run_form.check_model_id_error(self.report, field, toasts, INVALID_MODEL_ID)
        created = run_ids(self.client, self.spec.deployment_id) - before
        status = answer["status"]
        self.report.check(
            "form: invalid model id creates no run",
            not created and (status is None or 400 <= status < 500),
            f"run creation {'never sent' if status is None else f'answered {status}'}; new runs: {len(created)}",
            "the values refused (by the form, or by the server with a 4xx) and no flow run created",
        )

    def submit_publish(self) -> None:
        """Fill in a valid publish of a small folder and submit it; keeps the created run's id."""
        assert self.spec is not None
        folder = make_folder(
            self.workdir / "models" / "ui-tier-model", {"README.md": "# ui tier\n", "model.bin": blob(200_000)}
        )
        self.folder_files = sum(1 for path in folder.rglob("*") if path.is_file())
        fields = run_form.open_form(self.page, self.form_url(), self.spec)
        values = {
            "model_id": MODEL_ID,
            "model_dir": str(folder),
            "tag": TAG,
            "commit_message": "published from the UI tier",
        }
        run_form.fill(self.page, fields, self.spec.request, values)
        capture(self.page, self.report, self.watch, "run-form-filled")
        answers = [run_form.submit(self.page)]
        # 503 is the server's "database busy" (SQLite on a loaded machine) and creates no run: a user
        # presses Submit again, and so does the tier, a bounded number of times.
        while answers[-1]["status"] == 503 and len(answers) < SUBMIT_ATTEMPTS:
            answers.append(run_form.submit(self.page))
        last = answers[-1]
        created = last["status"] == 201 and isinstance(last.get("body"), dict)
        statuses = ", ".join(str(a["status"]) for a in answers)
        self.report.check(
            "form: valid publish submitted",
            created,
            f"run creation answered {statuses}" + ("" if created else f": {last.get('body')}"),
            "HTTP 201 and a flow run",
        )
        if created:
            self.run_id = UUID(last["body"]["id"])
            submitted = last["body"].get("parameters", {}).get("modelscope_credentials")
            self.report.note(f"the form submitted modelscope_credentials={submitted}")

    def check_run(self) -> None:
        """Wait for the run's end through the API, then open its page and check it shows Completed."""
        if self.run_id is None:
            self.report.skip("run: Completed", "no run was created from the form")
            return
        run = run_pages.wait_until_final(self.client, self.run_id)
        state = run.state.name if run.state else None
        self.report.check("run: Completed", state == "Completed", f"final state {state!r}: {run.state}", "Completed")
        run_pages.open_run(self.page, self.stack.page_url(f"/runs/flow-run/{self.run_id}"), state or "Completed")
        capture(self.page, self.report, self.watch, "run-page")

    def check_artifact(self) -> None:
        """Open the run's markdown artifact and hold its link, commit and counts against the hub."""
        if self.run_id is None:
            for name in ("artifact: hub link", "artifact: commit id", "artifact: file counts"):
                self.report.skip(name, "no run was created from the form")
            return
        key = run_pages.markdown_artifact_key(self.client, self.run_id)
        if key is None:
            raise AssertionError(f"the API lists no markdown artifact for run {self.run_id}")
        run_pages.open_artifact(self.page, key)
        capture(self.page, self.report, self.watch, "artifact")
        truth = run_pages.hub_truth(self.stack.hub.url, self.stack.token, MODEL_ID, "master", self.folder_files)
        run_pages.check_artifact(self.report, run_pages.read_artifact(self.page), truth)

    def check_block_type(self) -> None:
        """The block type's catalog card and its own page."""
        card = block_pages.open_catalog_card(self.page, self.stack.page_url("/blocks/catalog"))
        capture(self.page, self.report, self.watch, "catalog", full_page=False)  # 50-odd cards: the one in view
        block_pages.check_catalog_card(self.report, card)
        card = block_pages.open_type_page(self.page, self.stack.page_url(f"/blocks/catalog/{CREDENTIALS_TYPE}"))
        capture(self.page, self.report, self.watch, "block-type")
        block_pages.check_type_page(self.report, card)

    def check_saved_block(self) -> None:
        """The saved credentials block's page (it holds the token: the scan proves it stays hidden)."""
        if self.spec is None or self.spec.block_id is None:
            self.report.note("no saved block page: the deployment names no block")
            return
        text = block_pages.open_block(
            self.page, self.stack.page_url(f"/blocks/block/{self.spec.block_id}"), self.spec.block_name or ""
        )
        capture(self.page, self.report, self.watch, "saved-block")
        self.report.note(f"saved block page: {' | '.join(line for line in text.splitlines() if line.strip())}")

    def walk(self) -> None:
        """Every step in order, each timed and fenced."""
        report = self.report
        steps = (  # (name, step, whether it needs the deployment's facts)
            ("read the deployment", self.read_deployment, False),
            ("check the run form", self.check_form, True),
            ("submit an invalid model id", self.submit_invalid_model_id, True),
            ("submit a valid publish from the form", self.submit_publish, True),
            ("wait for the run and open its page", self.check_run, True),
            ("open the run's markdown artifact", self.check_artifact, True),
            ("open the block type's catalog card and page", self.check_block_type, False),
            ("open the saved credentials block", self.check_saved_block, True),
        )
        for name, step, needs_spec in steps:
            if needs_spec and self.spec is None:
                report.skip(f"step '{name}'", "the deployment could not be read")
                continue
            with report.step(name):
                step()
        self.watch.record(report)


def run(workdir: Path, shots_dir: Path, chromium: Path) -> int:
    """Start the stack and the browser, walk the UI, print the summary.

    Args:
        workdir: Scratch folder (hub data, Prefect home, logs, the model folder).
        shots_dir: Where the screenshots go.
        chromium: The chromium binary Playwright drives.

    Returns:
        0 when every check passed, 1 otherwise.
    """
    shots_dir.mkdir(parents=True, exist_ok=True)
    report = Report(shots_dir, secrets=(DEMO_TOKEN,))  # the token the stack's block will hold
    with contextlib.ExitStack() as running:
        stack: UiStack | None = None
        page: Page | None = None
        with report.step("start local_hub, Prefect server, deployments, worker and UI"):
            stack = running.enter_context(ui_stack(workdir))
        with report.step("launch chromium"):
            page = running.enter_context(open_page(chromium))
        if stack is not None and page is not None:
            client = running.enter_context(api(stack.prefect))
            Tier(stack, page, client, report, workdir).walk()
    print(report.summary())
    print(f"logs and data: {workdir}")
    print(f"screenshots: {shots_dir}")
    return 1 if report.failed else 0
