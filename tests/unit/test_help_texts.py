"""Every help text of the deployed run forms and of the credentials block reads the same in both Prefect UIs.

Prefect 3.9 serves two UIs. v1 renders a parameter's or a block field's description as markdown (without
code spans), v2 shows it as plain text. So "e.g. `*.log or runs/*`" reads as italic ".log or runs/" in v1
and keeps its backticks in v2, and the regex `\\.tmp$` loses its backslash in v1 (a different regex). A
text is safe when no markdown construct can change it: no backticks, no pair of `*`, `_` or `~` delimiter
runs that can open and close emphasis (CommonMark's flanking rules), no backslash before punctuation, no
link, image, HTML tag or entity, and no line that starts a list, heading, quote or setext underline.

The texts come from where the UIs read them: the parameter schema of every flow deployments/prefect.yaml
deploys (as the server stores it), and the block's schema and catalog description.
"""

from __future__ import annotations

import importlib
import re
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from prefect.utilities.callables import parameter_schema

from hub_tasks import ModelScopeCredentials

ROOT = Path(__file__).resolve().parents[2]

BACKSLASH_ESCAPE = re.compile(r"\\[!-/:-@\[-`{-~]")
LINK_OR_IMAGE = re.compile(r"!?\[[^\]]*\]\(")
HTML = re.compile(r"<|&(#\d+|#x[0-9a-f]+|[a-z][a-z0-9]*);", re.IGNORECASE)
# Per line: a bullet or ordered list item, an ATX heading, a block quote, a setext underline, a fence.
BLOCK_START = re.compile(r"^ {0,3}(([-+*]|\d{1,9}[.)])(\s|$)|#{1,6}(\s|$)|>|(=+|-+)\s*$|```|~~~)")


def _is_space(char: str) -> bool:
    return char == "" or char.isspace()


def _is_punctuation(char: str) -> bool:
    return char != "" and unicodedata.category(char)[0] in "PS"


def _delimiter_runs(text: str, char: str) -> Iterator[tuple[int, bool, bool]]:
    """(start, can open, can close) of every run of `char`, by CommonMark's flanking rules ("" is a text edge).

    `*` and GFM's `~` open when left-flanking and close when right-flanking; `_` does neither inside a word.
    """
    for found in re.finditer(re.escape(char) + "+", text):
        before = text[found.start() - 1] if found.start() else ""
        after = text[found.end()] if found.end() < len(text) else ""
        left = not _is_space(after) and (not _is_punctuation(after) or _is_space(before) or _is_punctuation(before))
        right = not _is_space(before) and (not _is_punctuation(before) or _is_space(after) or _is_punctuation(after))
        if char == "_":
            yield (
                found.start(),
                left and (not right or _is_punctuation(before)),
                right and (not left or _is_punctuation(after)),
            )
        else:
            yield found.start(), left, right


def markdown_hazards(text: str) -> list[str]:
    """What in `text` a markdown renderer could show differently from the text itself (empty: safe).

    Example:
        >>> markdown_hazards("Globs, e.g. `*.log or runs/*`")
        ['backtick', 'emphasis with *']
        >>> markdown_hazards("e.g. checkpoint-\\\\d+ or [.]tmp$; keys/public.pem or * for all")
        []
    """
    found = []
    if "`" in text:
        found.append("backtick")
    for char in "*_~":
        runs = list(_delimiter_runs(text, char))
        openers = [start for start, can_open, _ in runs if can_open]
        if openers and any(can_close and start > openers[0] for start, _, can_close in runs):
            found.append(f"emphasis with {char}")
    if BACKSLASH_ESCAPE.search(text):
        found.append("backslash before punctuation")
    if LINK_OR_IMAGE.search(text):
        found.append("link")
    if HTML.search(text):
        found.append("HTML tag or entity")
    if any(BLOCK_START.match(line) for line in text.splitlines()):
        found.append("line starting a list, heading, quote or fence")
    return found


def _descriptions(schema: Any, path: str) -> Iterator[tuple[str, str]]:
    """(where, text) of every `description` anywhere in a JSON schema."""
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key == "description" and isinstance(value, str):
                yield path or "(schema)", value
            else:
                yield from _descriptions(value, f"{path}.{key}" if path else key)
    elif isinstance(schema, list):
        for index, value in enumerate(schema):
            yield from _descriptions(value, f"{path}[{index}]")


def deployed_entrypoints() -> list[str]:
    """The distinct flow entrypoints of deployments/prefect.yaml (module paths, e.g. flows.x.flow.fn)."""
    config = yaml.safe_load((ROOT / "deployments" / "prefect.yaml").read_text())
    return sorted({deployment["entrypoint"] for deployment in config["deployments"]})


def _flow(entrypoint: str) -> Any:
    module, _, name = entrypoint.rpartition(".")
    return getattr(importlib.import_module(module), name)


def help_texts() -> dict[str, str]:
    """Every help text the two UIs render: each deployed flow's parameter schema and the block's schema."""
    texts = {}
    for entrypoint in deployed_entrypoints():
        schema = parameter_schema(_flow(entrypoint)).model_dump_for_openapi()
        texts.update({f"{entrypoint}: {where}": text for where, text in _descriptions(schema, "")})
    block = ModelScopeCredentials.model_json_schema()
    texts.update({f"ModelScopeCredentials: {where}": text for where, text in _descriptions(block, "")})
    texts["ModelScopeCredentials: catalog description"] = ModelScopeCredentials.get_description() or ""
    return texts


@pytest.mark.parametrize(
    ("text", "hazards"),
    [
        ("Globs, e.g. *.log or runs/*; matching files are left out.", ["emphasis with *"]),
        ("Regexes, e.g. checkpoint-\\d+ or \\.tmp$.", ["backslash before punctuation"]),
        ("Folder, or the path inside `filesystem_block`.", ["backtick"]),
        ("See [the docs](https://example.com).", ["link"]),
        ("_private_ names", ["emphasis with _"]),
        ("from ~old~ to new", ["emphasis with ~"]),
        ("- a list item", ["line starting a list, heading, quote or fence"]),
        ("Two lines\n# a heading", ["line starting a list, heading, quote or fence"]),
        ("1. first", ["line starting a list, heading, quote or fence"]),
        ("<b>bold</b> &amp; more", ["HTML tag or entity"]),
        # Safe: a lone opener, intraword underscores, a star between spaces, a backslash before a letter.
        ("Globs matched against each path (e.g. *.log).", []),
        ("Empty for REQUESTS_CA_BUNDLE, SSL_CERT_FILE or MODELSCOPE_API_TOKEN.", []),
        ("e.g. keys/public.pem or * for all; modelscope-publish-OWNER--NAME.", []),
        ("e.g. checkpoint-\\d+ or [.]tmp$; on the worker (a leading ~ is expanded).", []),
        ("Base URL, e.g. https://www.modelscope.cn or a local_hub URL for tests.", []),
    ],
)
def test_the_checker_flags_what_markdown_would_change(text: str, hazards: list[str]) -> None:
    assert markdown_hazards(text) == hazards


def test_the_texts_cover_every_deployed_form_and_the_block() -> None:
    texts = help_texts()
    assert deployed_entrypoints() == [
        "flows.publish.flow.publish_dataset",
        "flows.publish.flow.publish_model",
        "flows.snapshot.flow.snapshot_revisions",
        "flows.train_and_publish.train_and_publish",
    ]
    for source in (*deployed_entrypoints(), "ModelScopeCredentials"):
        assert sum(where.startswith(f"{source}:") for where in texts) >= 5, source
    # Spot checks that the walk reaches nested fields, top-level parameters and block fields.
    assert "flows.publish.flow.publish_model: definitions.PublishRequest.properties.ignore_patterns" in texts
    assert "flows.publish.flow.publish_dataset: definitions.DatasetPublishRequest.properties.description" in texts
    assert "flows.snapshot.flow.snapshot_revisions: properties.snapshot_dir" in texts
    assert "flows.train_and_publish.train_and_publish: properties.publish" in texts
    assert "ModelScopeCredentials: properties.ca_bundle" in texts


def test_no_help_text_can_be_changed_by_a_markdown_renderer() -> None:
    unsafe = {where: (text, hazards) for where, text in help_texts().items() if (hazards := markdown_hazards(text))}
    assert unsafe == {}


@pytest.mark.parametrize(
    "entrypoint",
    [
        "flows.publish.flow.publish_dataset",
        "flows.publish.flow.publish_model",
        "flows.snapshot.flow.snapshot_revisions",
        "flows.train_and_publish.train_and_publish",
    ],
)
def test_every_parameter_of_a_deployed_form_has_a_label_for_people(entrypoint: str) -> None:
    """Prefect labels a top-level parameter with its raw name unless the signature gives it a title."""
    properties = parameter_schema(_flow(entrypoint)).model_dump_for_openapi()["properties"]
    raw = [name for name, prop in properties.items() if prop.get("title", name) == name]
    assert raw == []
