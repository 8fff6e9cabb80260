"""The deployment's custom-run form in Prefect's UI: reading it, checking it, filling it in, submitting it.

The form is read once per state into `FormField`s (label, help text, type toggles, errors), by one
script that walks the rendered DOM: each field is a `div.group` holding a `label[data-slot=label]`,
its help `p`, and a `fieldset` with the control (Prefect UI v2, the default UI of Prefect 3.9).
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from typing import Any

from playwright.sync_api import Page, Response
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from ui_tests.browser import settle
from ui_tests.deployment import FormSpec, Section
from ui_tests.report import Report

# The first fields, in the order a publish is described; the options follow them.
LEADING = ("model_id", "model_dir", "revision", "tag", "commit_message")
# Optional text fields: empty text means none, so the form must not offer a "str | None" toggle.
PLAIN_TEXT = {"request": ("tag", "chinese_name", "original_model_id"), "lock": ("name",)}
OPTIONAL = re.compile(r"\s*\(Optional\)$")
# What a raw regular expression looks like in an error message (anchors, classes, escapes).
REGEX_SYNTAX = re.compile(r"[\^$\\\[\]]|\.\*|[A-Za-z0-9]\+")
# Words that stay lower case in a title-case label.
SMALL_WORDS = {"a", "an", "and", "as", "at", "for", "in", "of", "on", "or", "the", "to"}

READ_FIELDS = """() => {
  const heading = [...document.querySelectorAll('h3')].find(h => h.textContent.trim() === 'Parameters');
  const root = heading && heading.nextElementSibling;
  if (!root) return [];
  // A field's group is a div.group whose header holds a label; widgets use "group" for styling too.
  const isField = g => !!g.querySelector(':scope > div label[data-slot="label"]');
  const outer = g => (g.parentElement ? g.parentElement.closest('div.group') : null);
  const groupOf = el => {
    for (let g = el ? el.closest('div.group') : null; g; g = outer(g)) if (isField(g)) return g;
    return null;
  };
  const up = group => groupOf(group.parentElement);
  const labelOf = group => group.querySelector(':scope > div label[data-slot="label"]');
  return [...root.querySelectorAll('label[data-slot="label"]')].map(label => {
    const group = groupOf(label);
    const own = el => groupOf(el) === group;
    const parents = [];
    for (let g = up(group); g; g = up(g)) parents.unshift(labelOf(g) ? labelOf(g).textContent : '?');
    const help = label.parentElement.querySelector(':scope > p');
    const picker = [...group.querySelectorAll('button[data-slot="popover-trigger"]')].filter(own)[0];
    const logo = [...group.querySelectorAll('img')].filter(own)[0];
    return {
      label: label.textContent,
      help: help ? help.textContent : null,
      parents,
      tabs: [...group.querySelectorAll('[role="tab"]')].filter(own).map(t => t.textContent),
      errors: [...group.querySelectorAll('p.text-destructive')].filter(own).map(p => p.textContent),
      picker: picker ? picker.textContent : null,
      logo: logo ? {src: logo.getAttribute('src'), loaded: logo.complete && logo.naturalWidth > 0} : null,
      control: label.htmlFor || null,
    };
  });
}"""

# Whether the field labelled `title` (a top-level parameter) shows its selector button yet.
PICKER_SHOWN = f"""title => ({READ_FIELDS})().some(
  f => !f.parents.length && f.picker !== null && f.label.replace(/ \\(Optional\\)$/, '') === title)"""
PICKER_TIMEOUT_MS = 30_000


@dataclass(frozen=True)
class FormField:
    """One field of the form as rendered.

    Attributes:
        label: The label without the UI's " (Optional)" suffix.
        optional: Whether the UI marked it "(Optional)".
        help: The help text under the label, verbatim.
        parents: Labels of the groups around it, outermost first (e.g. ("request",)).
        tabs: Its type toggle (one tab per `anyOf` branch, e.g. ("ModelScopeCredentials", "None")).
        errors: Validation messages shown under it.
        picker: Text of its selector button (block pickers, enum selects).
        logo: `{"src", "loaded"}` of its image (a block picker's logo), if it has one.
        control: The id of its input, for filling it in.
    """

    label: str
    optional: bool
    help: str | None
    parents: tuple[str, ...]
    tabs: tuple[str, ...]
    errors: tuple[str, ...]
    picker: str | None
    logo: dict[str, Any] | None
    control: str | None


def read_fields(page: Page) -> list[FormField]:
    """Every field of the Parameters section, in page order."""
    fields = []
    for raw in page.evaluate(READ_FIELDS):
        label = raw["label"].strip()
        fields.append(
            FormField(
                label=OPTIONAL.sub("", label),
                optional=bool(OPTIONAL.search(label)),
                help=raw["help"],
                parents=tuple(OPTIONAL.sub("", p.strip()) for p in raw["parents"]),
                tabs=tuple(raw["tabs"]),
                errors=tuple(raw["errors"]),
                picker=raw["picker"],
                logo=raw["logo"],
                control=raw["control"],
            )
        )
    return fields


def open_form(page: Page, url: str, spec: FormSpec) -> list[FormField]:
    """Load the run form and wait (bounded) until the request's first field is rendered."""
    page.goto(url)
    first = spec.request.title_of(LEADING[0])
    page.locator('label[data-slot="label"]', has_text=re.compile(rf"^{re.escape(first)}( \(Optional\))?$")).wait_for()
    settle(page)
    # The block picker renders last, once its block documents are loaded (a skeleton, then nothing,
    # then the picker). A picker that never comes is what the credentials check reports, so the
    # bounded wait ends quietly.
    with contextlib.suppress(PlaywrightTimeoutError):
        page.wait_for_function(PICKER_SHOWN, arg=spec.credentials_title, timeout=PICKER_TIMEOUT_MS)
    return read_fields(page)


def section_fields(fields: list[FormField], section: Section) -> list[tuple[str | None, FormField]]:
    """(field name, field) of the fields directly in a section's group, in page order."""
    return [(section.key_of(f.label), f) for f in fields if f.parents[-1:] == (section.title,)]


def _field(fields: list[FormField], section: Section, key: str) -> FormField | None:
    """The rendered field of `section.key`, if the form shows it."""
    return next((f for name, f in section_fields(fields, section) if name == key), None)


# -- checks ----------------------------------------------------------------------------------------
def check_order(report: Report, fields: list[FormField], spec: FormSpec) -> None:
    """The request's fields start with model id, folder, revision, tag and message; the options follow."""
    shown = section_fields(fields, spec.request)
    keys = [key for key, _ in shown]
    leading_ok = tuple(keys[: len(LEADING)]) == LEADING
    rest_ok = set(keys[len(LEADING) :]) == set(spec.request.fields) - set(LEADING)
    unknown = [f.label for key, f in shown if key is None]
    missing = sorted(set(spec.request.fields) - set(keys))
    report.check(
        "form: field order",
        leading_ok and rest_ok,
        " | ".join(f.label for _, f in shown)
        + (f" (labels of no field: {unknown}; fields not shown: {missing})" if unknown or missing else ""),
        f"first {[spec.request.title_of(k) for k in LEADING]}, then the other "
        f"{len(spec.request.fields) - len(LEADING)} request fields (the options)",
    )


def _case_style(label: str) -> str | None:
    """The label's capitalisation: title (Commit Message), sentence (Model folder), mixed, or None (one word)."""
    words = [w for w in label.split()[1:] if w.isalpha() and not w.isupper() and w.lower() not in SMALL_WORDS]
    if not words:
        return None
    capitals = {w[0].isupper() for w in words}
    return "mixed" if len(capitals) > 1 else ("title" if True in capitals else "sentence")


def check_labels(report: Report, fields: list[FormField], spec: FormSpec) -> None:
    """The model id's label is "Model ID" (no "Id" anywhere), and the labels share one capitalisation."""
    shown = [f for _, f in section_fields(fields, spec.request) + section_fields(fields, spec.lock)]
    model_id = _field(fields, spec.request, "model_id")
    bad_id = [f.label for f in shown if re.search(r"\bId\b", f.label)]
    report.check(
        "form: labels spell ID",
        model_id is not None and model_id.label == "Model ID" and not bad_id,
        f"model id field labelled {model_id.label if model_id else None!r}; labels with 'Id': {bad_id}",
        "'Model ID' (and no label with 'Id')",
    )
    styles: dict[str, list[str]] = {}
    for f in shown:
        style = _case_style(f.label)
        if style:
            styles.setdefault(style, []).append(f.label)
    report.check(
        "form: labels share one capitalisation",
        len(styles) <= 1,
        "; ".join(f"{style}: {labels}" for style, labels in styles.items()),
        "every multi-word label of the request and lock in one style (all sentence case or all title case)",
    )


def check_toggles(report: Report, fields: list[FormField], spec: FormSpec) -> None:
    """Optional text fields are plain text boxes, without a "str | None" type toggle."""
    seen, ok = [], True
    for section, keys in ((spec.request, PLAIN_TEXT["request"]), (spec.lock, PLAIN_TEXT["lock"])):
        for key in keys:
            field = _field(fields, section, key)
            ok = ok and field is not None and not field.tabs
            shown = "not shown" if field is None else (" | ".join(field.tabs) or "no toggle")
            seen.append(f"{section.title}.{key} ({field.label if field else '?'}): {shown}")
    report.check("form: no type toggles on optional text", ok, "; ".join(seen), "no toggle on any of them")


def check_help(report: Report, fields: list[FormField], spec: FormSpec) -> None:
    """Every help text reads exactly as the code wrote it; the lock name's help keeps its placeholder."""
    mismatched, count = [], 0
    for section in (spec.request, spec.lock):
        for key, field in section_fields(fields, section):
            if key is None:
                continue
            count += 1
            wanted = section.fields[key].get("description")
            if field.help != wanted:
                mismatched.append(f"{section.title}.{key}: shown {field.help!r}, declared {wanted!r}")
    report.check(
        "form: help texts shown as written",
        count > 0 and not mismatched,
        "; ".join(mismatched) or f"all {count} request and lock help texts verbatim",
        "each field's help text equal to its schema description",
    )
    name = _field(fields, spec.lock, "name")
    wanted = spec.lock.fields["name"].get("description")
    report.check(
        "form: lock-name help whole",
        name is not None and name.help == wanted and bool(re.search(r"owner.*--.*name", name.help or "", re.I)),
        repr(name.help if name else None),
        f"the declared text {wanted!r}, naming the default lock's owner--name placeholder",
    )


def check_credentials(report: Report, fields: list[FormField], spec: FormSpec) -> None:
    """The credentials picker shows the block the deployment names (the one the run will use)."""
    field = next((f for f in fields if f.label == spec.credentials_title and not f.parents), None)
    shown = field.picker if field else None
    report.check(
        "form: credentials selector shows the deployment's block",
        spec.block_name is not None and shown == spec.block_name,
        f"selector text {shown!r}; toggle tabs {list(field.tabs) if field else None}; "
        f"logo {field.logo if field else None}",
        f"the block the deployment names: {spec.block_name!r}",
    )


def note_other_labels(report: Report, fields: list[FormField]) -> None:
    """Record every label in page order with its nesting (the full picture behind the checks)."""
    report.note("form labels in order: " + " | ".join("/".join((*f.parents, f.label)) for f in fields))
    toggles = [f"{f.label}: {' | '.join(f.tabs)}" for f in fields if f.tabs]
    report.note(f"type toggles anywhere in the form: {toggles or 'none'}")


# -- filling in and submitting ---------------------------------------------------------------------
def fill(page: Page, fields: list[FormField], section: Section, values: dict[str, str]) -> None:
    """Type `values` (field name -> text) into the section's text boxes, replacing what is there."""
    for key, text in values.items():
        field = _field(fields, section, key)
        if field is None or field.control is None:
            raise AssertionError(f"the form shows no text box for {section.title}.{key}")
        page.locator(f'[id="{field.control}"]').fill(text)


def _is_run_creation(response: Response) -> bool:
    return response.request.method == "POST" and response.url.endswith("/create_flow_run")


def submit(page: Page, timeout_ms: int = 15_000) -> dict[str, Any]:
    """Press Submit and wait (bounded) for the run creation request.

    Returns:
        `{"status": HTTP status, "body": the server's answer}`, or `{"status": None}` when the form sent no
        run creation within `timeout_ms` (it refused the values itself).
    """
    button = page.get_by_role("button", name="Submit", exact=True)
    button.wait_for()  # so that a timeout below can only mean "no request was sent"
    try:
        with page.expect_response(_is_run_creation, timeout=timeout_ms) as answer:
            button.click()
    except PlaywrightTimeoutError:
        return {"status": None}
    response = answer.value
    return {"status": response.status, "body": response.json() if response.ok else response.text()}


def read_error(page: Page, spec: FormSpec) -> tuple[FormField | None, list[str]]:
    """After a refused submit: the model id field (with its errors) and the toasts shown, once a field
    error is on the page (a bounded wait: no error at all is an answer too, which the check records)."""
    with contextlib.suppress(PlaywrightTimeoutError):
        page.locator("p.text-destructive").first.wait_for(timeout=15_000)
    toasts = [t.strip() for t in page.locator("[data-sonner-toast]").all_inner_texts()]
    return _field(read_fields(page), spec.request, "model_id"), toasts


def check_model_id_error(report: Report, field: FormField | None, toasts: list[str], typed: str) -> None:
    """Next to the model id field: words that say what to type, never the raw regular expression."""
    errors = list(field.errors) if field else []
    words = " ".join(errors)
    report.check(
        "form: invalid model id explained in words",
        bool(errors) and "owner/name" in words and not REGEX_SYNTAX.search(words),
        f"typed {typed!r}; next to the field: {errors or 'nothing'}; toasts: {toasts or 'none'}",
        "a message naming the owner/name form (e.g. 'owner/name, e.g. alice/my-model'), with no regex syntax",
    )
