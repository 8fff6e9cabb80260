"""A deployment's custom-run form (and the block's edit form) in either UI: opening it, filling it in,
submitting it, reading the error next to a field, and the checks that are particular to the publish form.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

from playwright.sync_api import Page, Response
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from ui_tests import expected
from ui_tests.browser import settle
from ui_tests.form_checks import expected_fields, words
from ui_tests.form_reader import FormField, read_fields
from ui_tests.report import Report

__all__ = ["FormField", "check_model_id_error", "check_order", "fill", "open_form", "read_error", "submit"]

# A field's label as each UI draws it (the first one drawn means the form is there).
LABEL = {"v2": 'label[data-slot="label"]', "v1": ".schema-form-property__label"}
# An error message drawn next to a field.
FIELD_ERROR = {"v2": "p.text-destructive", "v1": ".p-label__message"}
# A toast (a message in a corner of the page, not next to any field).
TOAST = {"v2": "[data-sonner-toast]", "v1": ".p-toast-container > *"}
# Whether the block selector of a top-level field labelled `title` is drawn (it renders last, once the
# block documents are loaded).
PICKER_SHOWN = """name => [...document.querySelectorAll('button, [role=combobox], .p-select, select')]
  .some(b => b.innerText && b.innerText.trim() === name)"""
PICKER_TIMEOUT_MS = 30_000


def open_form(page: Page, url: str, ui: str, block_name: str | None) -> list[FormField]:
    """Load a run form and wait (bounded) until its fields, and the selector showing `block_name`, are drawn."""
    page.goto(url)
    page.locator(LABEL[ui]).first.wait_for()
    settle(page)
    # The block selector renders last, once its block documents are loaded. A selector that never comes is
    # what the selector check reports, so the bounded wait ends quietly.
    with contextlib.suppress(PlaywrightTimeoutError):
        page.wait_for_function(PICKER_SHOWN, arg=block_name or "", timeout=PICKER_TIMEOUT_MS)
    return read_fields(page, ui)


def open_block_form(page: Page, url: str, ui: str, first_label: str) -> list[FormField]:
    """Load a block's edit page, wait (bounded) until its first field's label is drawn, read its fields."""
    page.goto(url)
    page.get_by_text(first_label).first.wait_for()
    settle(page)
    return read_fields(page, ui, "() => document.body")


def page_text(page: Page) -> str:
    """The text of the whole page as rendered (the checks look for Prefect's toggle wording in it)."""
    return page.inner_text("body")


def note_labels(report: Report, where: str, fields: list[FormField]) -> None:
    """Record every label in page order with its nesting, and every toggle (the picture behind the checks)."""
    report.note(f"{where} labels in order: " + " | ".join("/".join((*f.parents, f.label)) for f in fields))
    toggles = [f"{f.label}: {' | '.join(f.tabs)}" for f in fields if f.tabs]
    report.note(f"{where} type toggles: {toggles or 'none'}")


def _publish_fields(fields: list[FormField]) -> dict[str, FormField | None]:
    """Dotted name -> rendered field of the publish form."""
    sections = {"request": expected.PUBLISH_REQUEST, "lock": expected.PUBLISH_LOCK}
    return {name: f for name, _, f in expected_fields(fields, expected.PUBLISH_TOP, sections)}


def check_order(report: Report, where: str, fields: list[FormField], found: list) -> None:
    """The request's fields start with model id, folder, revision, tag and message; the options follow."""
    by_field = {id(f): name.split(".", 1)[1] for name, _, f in found if f is not None and name.startswith("request.")}
    request = next((f for name, _, f in found if name == "request"), None)
    shown = [f for f in fields if request is not None and f.parents[-1:] == (request.label,)]
    keys = [by_field.get(id(f), f"?{f.label}") for f in shown]
    leading = tuple(keys[: len(expected.PUBLISH_LEADING)])
    rest = set(keys[len(expected.PUBLISH_LEADING) :])
    report.check(
        f"{where}: field order",
        leading == expected.PUBLISH_LEADING and rest == set(expected.PUBLISH_REQUEST) - set(expected.PUBLISH_LEADING),
        " | ".join(f.label for f in shown) or "no request fields found",
        f"first {list(expected.PUBLISH_LEADING)}, then the other request fields",
    )


# -- filling in and submitting ---------------------------------------------------------------------
def fill(page: Page, ui: str, fields: list[FormField], values: dict[str, str]) -> None:
    """Type `values` (dotted field name of the publish form -> text) into their text boxes."""
    by_name = _publish_fields(fields)
    for name, text in values.items():
        field = by_name.get(name)
        if field is None or field.control is None:
            raise AssertionError(f"the {ui} form shows no text box for {name}")
        page.locator(field.control).first.fill(text)


def _is_run_creation(response: Response) -> bool:
    return response.request.method == "POST" and response.url.endswith("/create_flow_run")


def submit(page: Page, ui: str, timeout_ms: int = 15_000) -> dict[str, Any]:
    """Press Submit and wait (bounded) for the run creation request, or for the form to refuse the values.

    Returns:
        `{"status": HTTP status, "body": the server's answer}`, or `{"status": None}` when the form sent no
        run creation (it drew an error next to a field instead, or nothing happened within `timeout_ms`).
    """
    button = page.get_by_role("button", name="Submit", exact=True)
    button.wait_for()  # so that no answer below can only mean "no request was sent"
    answers: list[Response] = []

    def collect(response: Response) -> None:
        if _is_run_creation(response):
            answers.append(response)

    page.on("response", collect)
    try:
        button.click()
        refused = page.locator(FIELD_ERROR[ui])
        deadline = time.monotonic() + timeout_ms / 1000
        # Poll the page's own event loop: either answer can come first, and only one of them comes.
        while not answers and not refused.count() and time.monotonic() < deadline:
            page.wait_for_timeout(100)
    finally:
        page.remove_listener("response", collect)
    if not answers:
        return {"status": None}
    response = answers[0]
    return {"status": response.status, "body": response.json() if response.ok else response.text()}


def read_error(page: Page, ui: str) -> tuple[FormField | None, list[str]]:
    """After a refused submit: the model id field (with the errors next to it) and the toasts shown, once
    an error is drawn (a bounded wait: no error at all is an answer too, which the check records)."""
    with contextlib.suppress(PlaywrightTimeoutError):
        page.locator(f"{FIELD_ERROR[ui]}, {TOAST[ui]}").first.wait_for(timeout=15_000)
    with contextlib.suppress(PlaywrightTimeoutError):  # a toast first, the field's message a moment later
        page.locator(FIELD_ERROR[ui]).first.wait_for(timeout=3_000)
    toasts = [words(t) for t in page.locator(TOAST[ui]).all_inner_texts()]
    field = _publish_fields(read_fields(page, ui)).get("request.model_id")
    if field is not None and field.control:  # so that the screenshot shows the field and what is under it
        page.locator(field.control).first.scroll_into_view_if_needed()
    return field, toasts


def check_model_id_error(report: Report, where: str, field: FormField | None, toasts: list[str], typed: str) -> None:
    """Next to the model id field: the words that say what to type, never the raw regular expression."""
    errors = [words(e) for e in field.errors] if field else []
    report.check(
        f"{where}: refused next to the field",
        expected.MODEL_ID_ERROR in errors,
        f"typed {typed!r}; next to the field: {errors or 'nothing'}; toasts: {toasts or 'none'}",
        f"{expected.MODEL_ID_ERROR!r} under the Model ID field",
    )
