"""Strict mode: find the first thing in a request that no official client sends.

`query_problem` and `body_problem` check a request against its route's entry in `local_hub.dialect`
and return a message naming the field (an unknown key, a missing required key, a wrong type), or
None when the request is one an official client could have sent. The middleware in
`local_hub.inspection` turns a message into the hub's 400. Messages never say "exist": the SDK reads
that word in a 400 as "already exists" (protocol.md §1.5).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from local_hub.dialect import ListOf, Obj, RouteDialect, Spec
from local_hub.shapes import kind_of, shape_of

_QUERY_TYPES = {
    "str": lambda text: True,
    "int": lambda text: text.isdigit(),
    "bool": lambda text: text.lower() in ("true", "false"),
}


def query_problem(route: str, dialect: RouteDialect, params: Iterable[tuple[str, str]]) -> str | None:
    """What is wrong with a query string, or None.

    Example:
        >>> from local_hub.dialect import DIALECT
        >>> query_problem("repo_files", DIALECT["repo_files"], [("Revision", "master"), ("Recursve", "True")])
        "repo_files: unknown query key 'Recursve' (official clients send Recursive, Revision, Root)"
    """
    seen = set()
    for key, value in params:
        kind = dialect.query.get(key)
        if kind is None:
            known = ", ".join(sorted(dialect.query)) or "no query"
            return f"{route}: unknown query key {key!r} (official clients send {known})"
        if not _QUERY_TYPES[kind](value):
            return f"{route}: query key {key!r} must be {kind}, got {value!r}"
        seen.add(key)
    missing = sorted(dialect.required_query - seen)
    if missing:
        return f"{route}: missing required query key {missing[0]!r}"
    return None


def _type_problem(where: str, spec: str, value: Any) -> str | None:
    """A leaf check: `spec` is a union such as `null|str`; an int is never a float's stand-in the
    other way round, and a bool is never an int."""
    actual = shape_of(value)
    allowed = spec.split("|")
    if isinstance(actual, str) and (actual in allowed or (actual == "int" and "float" in allowed)):
        return None
    return f"{where} must be {' or '.join(allowed)}, got {kind_of(actual)}"


def value_problem(where: str, spec: Spec, value: Any) -> str | None:
    """What is wrong with `value` at `where` (a path such as `actions[2].size`), or None.

    Example:
        >>> from local_hub.dialect import DIALECT
        >>> value_problem("body", DIALECT["create_tag"].body, {"TagName": "v1", "Ref": 3})
        'body.Ref must be str, got int'
    """
    if isinstance(spec, str):
        return _type_problem(where, spec, value)
    if isinstance(spec, ListOf):
        if not isinstance(value, list):
            return _type_problem(where, "list", value)
        for index, item in enumerate(value):
            problem = value_problem(f"{where}[{index}]", spec.item, item)
            if problem:
                return problem
        return None
    return _object_problem(where, spec, value)


def _object_problem(where: str, spec: Obj, value: Any) -> str | None:
    if not isinstance(value, dict):
        return _type_problem(where, "object", value)
    for key, item in value.items():
        field_spec = spec.fields.get(key)
        if field_spec is None:
            if spec.other_keys:
                continue
            known = ", ".join(sorted(spec.fields))
            return f"unknown key {where}.{key} (official clients send {known})"
        problem = value_problem(f"{where}.{key}", field_spec, item)
        if problem:
            return problem
    missing = sorted(spec.required - set(value))
    if missing:
        return f"missing required key {where}.{missing[0]}"
    return None


def body_problem(route: str, dialect: RouteDialect, value: Any) -> str | None:
    """What is wrong with a decoded JSON body (None for an empty one), or None.

    Example:
        >>> from local_hub.dialect import DIALECT
        >>> body_problem("login", DIALECT["login"], {"AccessToken": "t", "Remember": True})
        'login: unknown key body.Remember (official clients send AccessToken)'
    """
    if dialect.raw:
        return None
    if dialect.body is None:
        return None if value is None else f"{route}: official clients send no body here"
    problem = value_problem("body", dialect.body, {} if value is None else value)
    return f"{route}: {problem}" if problem else None


def form_problem(route: str, dialect: RouteDialect, fields: dict[str, str] | None) -> str | None:
    """What is wrong with a form body (`fields` None: the body is no form), or None.

    Example:
        >>> from local_hub.dialect import DIALECT
        >>> form_problem("create_dataset", DIALECT["create_dataset"], {"Name": "x"})
        'create_dataset: missing required key form.Owner'
    """
    if dialect.form is None:
        return None
    if fields is None:
        return f"{route}: official clients send a multipart/form-data body here"
    problem = value_problem("form", dialect.form, fields)
    return f"{route}: {problem}" if problem else None
