"""Checks of a rendered form (a run form, the block's form) against the literal expectations of `expected`.

A field is found by the label a person should read, else by its raw parameter name (Prefect's default
label), so a form that still shows raw names fails the label check and still has its help checked.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from ui_tests.expected import NONE_TOGGLE_TEXT, Field
from ui_tests.form_reader import FormField
from ui_tests.report import Report


def words(text: str | None) -> str:
    """A rendered text as a person reads it: whitespace runs (line breaks, indents) as one space."""
    return re.sub(r"\s+", " ", text or "").strip()


def find(fields: Iterable[FormField], parent: str | None, key: str, want: Field) -> FormField | None:
    """The field named `key` directly under the group labelled `parent` (None: top level), found by its
    expected label, else by its raw name."""
    here = [f for f in fields if (f.parents[-1:] == (parent,) if parent else not f.parents)]
    return next((f for f in here if f.label == want.label), None) or next((f for f in here if f.label == key), None)


def expected_fields(
    fields: list[FormField], top: Mapping[str, Field], sections: Mapping[str, Mapping[str, Field]]
) -> list[tuple[str, Field, FormField | None]]:
    """(dotted name, expectation, the rendered field or None) for every expected field: the top-level ones,
    then those of each section (a model-typed parameter's group, found under its top-level field's label)."""
    found = [(key, want, find(fields, None, key, want)) for key, want in top.items()]
    for section, members in sections.items():
        group = next((f for key, _, f in found if key == section), None)
        parent = group.label if group else top[section].label
        found += [(f"{section}.{key}", want, find(fields, parent, key, want)) for key, want in members.items()]
    return found


def check_labels(
    report: Report, where: str, found: list[tuple[str, Field, FormField | None]], fields: list[FormField]
) -> None:
    """Every field shows the label a person should read (not its raw name, not a unit in brackets)."""
    wrong = [
        f"{name}: {f.label if f else 'no such label'!r}" for name, want, f in found if not f or f.label != want.label
    ]
    matched = {id(f) for _, _, f in found if f is not None}
    others = ["/".join((*f.parents, f.label)) for f in fields if id(f) not in matched]
    report.check(
        f"{where}: labels",
        not wrong,
        f"{len(found) - len(wrong)} of {len(found)} as expected"
        + (f"; differing: {'; '.join(wrong)}" if wrong else "")
        + (f"; labels of no expected field: {others}" if others else ""),
        "; ".join(f"{name}: {want.label!r}" for name, want, _ in found),
    )


def check_help(report: Report, where: str, found: list[tuple[str, Field, FormField | None]]) -> None:
    """Every field's help, as rendered, reads word for word as written (no markdown ate a character)."""
    wrong = [
        f"{name}: {words(f.help) if f else 'field not shown'!r} (written: {want.help!r})"
        for name, want, f in found
        if not f or words(f.help) != words(want.help)
    ]
    report.check(
        f"{where}: help texts as written",
        not wrong,
        f"{len(found) - len(wrong)} of {len(found)} word for word"
        + (f"; differing: {'; '.join(wrong)}" if wrong else ""),
        "each field's help text exactly as ui_tests/expected.py writes it",
    )


def check_no_toggles(
    report: Report, where: str, found: list[tuple[str, Field, FormField | None]], plain: Iterable[str], page_text: str
) -> None:
    """Optional texts are plain text boxes: no "str | None" toggle, and no "Property is type None" text."""
    chosen = [(name, f) for name, _, f in found if name in set(plain)]
    seen = [f"{name}: {'not shown' if f is None else (' | '.join(f.tabs) or 'no toggle')}" for name, f in chosen]
    none_text = NONE_TOGGLE_TEXT in page_text
    report.check(
        f"{where}: no type toggles on optional text",
        all(f is not None and not f.tabs for _, f in chosen) and not none_text and bool(chosen),
        "; ".join(seen) + f"; page shows {NONE_TOGGLE_TEXT!r}: {none_text}",
        f"plain text boxes for {', '.join(plain)}, and no {NONE_TOGGLE_TEXT!r} anywhere",
    )


def check_picker(report: Report, where: str, field: FormField | None, block_name: str | None) -> None:
    """The credentials selector shows the block the deployment names (the one the run will use)."""
    shown = field.picker if field else None
    report.check(
        f"{where}: credentials selector shows the deployment's block",
        block_name is not None and shown is not None and words(shown) == block_name,
        f"selector text {shown!r}; toggle tabs {list(field.tabs) if field else None}",
        f"the block the deployment names: {block_name!r}",
    )
