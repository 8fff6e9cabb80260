"""Input rules checked before any request; each refusal is an `InvalidParameter` naming value and rule."""

from __future__ import annotations

import re

from hub_tasks.errors import InvalidParameter

NAME_RE = re.compile(r"[A-Za-z0-9_.-]+")  # ASCII only: unicode look-alikes are refused
VISIBILITIES = {1: "private", 3: "internal", 5: "public"}
MAX_PAGE_SIZE = 100
COMMIT_ID_RE = re.compile(r"[0-9a-f]{40}")  # a full commit id, as the hub writes it
_REF_BAD = re.compile(r"[\s~^:?*\[\\\x00-\x1f\x7f]|\.\.|//|@\{")


def validate_model_id(model_id: object, operation: str | None = None, repo_type: str = "model") -> tuple[str, str]:
    """Split "owner/name" after checking both parts match `[A-Za-z0-9_.-]+`; errors name the repo type.

    Example:
        >>> validate_model_id("alice/demo-model")
        ('alice', 'demo-model')
        >>> validate_model_id("corpus", "push_dataset", "dataset")
        Traceback (most recent call last):
        hub_tasks.errors.InvalidParameter: push_dataset: dataset id 'corpus' must be 'owner/name' with exactly one '/'
    """
    if not isinstance(model_id, str) or model_id.count("/") != 1:
        raise InvalidParameter(
            f"{repo_type} id {model_id!r} must be 'owner/name' with exactly one '/'", operation=operation
        )
    owner, name = model_id.split("/")
    for part, what in ((owner, "owner"), (name, "name")):
        if not NAME_RE.fullmatch(part) or set(part) == {"."}:
            raise InvalidParameter(
                f"{repo_type} id {model_id!r}: the {what} {part!r} must be 1+ characters from A-Z a-z 0-9 _ . - "
                "(not only dots)",
                operation=operation,
            )
    return owner, name


def validate_ref(value: object, what: str = "revision", operation: str | None = None) -> str:
    """A branch or tag name: non-empty, no whitespace, no '..', none of git's forbidden characters."""
    if not isinstance(value, str) or not value:
        raise InvalidParameter(f"{what} must be a non-empty string, got {value!r}", operation=operation)
    parts = value.split("/")
    if (
        _REF_BAD.search(value)
        or value.startswith(("/", "-"))
        or value.endswith(("/", "."))
        or value == "@"
        or any(part.startswith(".") or part.endswith(".lock") for part in parts)
    ):
        raise InvalidParameter(
            f"{what} {value!r} is not a valid name (git check-ref-format): no whitespace, '..', '//', '@{{', "
            "or any of ~^:?*[\\, no part starting with '.' or ending with '.lock', no leading '/' or '-', "
            "no trailing '/' or '.'",
            operation=operation,
        )
    return value


def validate_branch(branch: object, operation: str | None = None) -> str:
    """A name for a new branch: a valid ref that git would not read as something else.

    Refused on top of `validate_ref`: `HEAD`, a name starting with `refs/`, and a 40-hex name
    (it would read as a commit id).

    Example:
        >>> validate_branch("release/1.x")
        'release/1.x'
    """
    value = validate_ref(branch, "branch", operation)
    if value == "HEAD" or value.startswith("refs/") or COMMIT_ID_RE.fullmatch(value):
        raise InvalidParameter(
            f"branch {value!r} would be read as something else than a branch name; choose a name such as 'dev'",
            operation=operation,
        )
    return value


def validate_tag(tag: object, operation: str | None = None) -> str:
    """A tag name: a valid ref that is not `master`/`main` (those are branches)."""
    value = validate_ref(tag, "tag", operation)
    if value.lower() in ("master", "main"):
        raise InvalidParameter(
            f"tag {value!r} is reserved for branches; choose a version-like tag such as 'v1.0'",
            operation=operation,
        )
    return value


def validate_visibility(visibility: object, operation: str | None = None) -> int:
    """Visibility 1 (private), 3 (internal) or 5 (public)."""
    if isinstance(visibility, bool) or visibility not in VISIBILITIES:
        raise InvalidParameter(
            f"visibility {visibility!r} must be 1 (private), 3 (internal) or 5 (public)", operation=operation
        )
    return int(visibility)  # type: ignore[arg-type]


def validate_page(page_number: object, page_size: object, operation: str | None = None) -> tuple[int, int]:
    """Page number >= 1 and page size 1..100."""
    if isinstance(page_number, bool) or not isinstance(page_number, int) or page_number < 1:
        raise InvalidParameter(f"page_number {page_number!r} must be an integer >= 1", operation=operation)
    if isinstance(page_size, bool) or not isinstance(page_size, int) or not 1 <= page_size <= MAX_PAGE_SIZE:
        raise InvalidParameter(
            f"page_size {page_size!r} must be an integer from 1 to {MAX_PAGE_SIZE}", operation=operation
        )
    return page_number, page_size


def validate_cutoff(cutoff_timestamp: object, operation: str | None = None) -> int | None:
    """None, or whole epoch seconds (an int, not a bool or a float).

    Example:
        >>> validate_cutoff(1700000000), validate_cutoff(None)
        (1700000000, None)
    """
    if cutoff_timestamp is None:
        return None
    if isinstance(cutoff_timestamp, bool) or not isinstance(cutoff_timestamp, int) or cutoff_timestamp < 0:
        raise InvalidParameter(
            f"cutoff_timestamp {cutoff_timestamp!r} must be whole epoch seconds (an int >= 0), or None for all tags",
            operation=operation,
        )
    return cutoff_timestamp


def validate_owner(owner: object, operation: str | None = None) -> str:
    """An owner or group name (the part before '/' of a model id)."""
    if not isinstance(owner, str) or not NAME_RE.fullmatch(owner) or set(owner) == {"."}:
        raise InvalidParameter(
            f"owner or group {owner!r} must be 1+ characters from A-Z a-z 0-9 _ . -", operation=operation
        )
    return owner
