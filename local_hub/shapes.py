"""The shape of a JSON value: a type tree that keeps the keys and the types and drops every value.

An object maps each key to the shape of its value; a list holds the merged shape of its items (`[]`
when empty); a leaf is one of `"str"`, `"int"`, `"float"`, `"bool"` or `"null"`. Two shapes of one
place that differ merge into their union, spelled `"null|str"` for leaves (object keys are merged
key by key). A body that is not JSON is `"bytes"` (`BYTES`). The request journal records these shapes, so it
can say what a client sends without holding a token, a path or a byte of content.
"""

from __future__ import annotations

from typing import Any, TypeAlias

Shape: TypeAlias = "str | dict[str, Shape] | list[Shape]"
BYTES = "bytes"
_KIND = {dict: "object", list: "list"}


def shape_of(value: Any) -> Shape:
    """The type tree of a decoded JSON value.

    Example:
        >>> shape_of({"TagName": "v1", "Ref": None, "objects": [{"size": 1}, {"size": 2.5}]})
        {'Ref': 'null', 'TagName': 'str', 'objects': [{'size': 'float|int'}]}
    """
    if value is None:
        return "null"
    if isinstance(value, bool):  # before int: bool is an int subclass
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    if isinstance(value, dict):
        return {str(key): shape_of(value[key]) for key in sorted(value, key=str)}
    if isinstance(value, list):
        merged: Shape | None = None
        for item in value:
            merged = shape_of(item) if merged is None else merge_shapes(merged, shape_of(item))
        return [] if merged is None else [merged]
    return type(value).__name__


def kind_of(shape: Shape) -> str:
    """A leaf shape as it is, an object or a list as its kind.

    Example:
        >>> kind_of("null|str"), kind_of({"a": "int"}), kind_of(["str"])
        ('null|str', 'object', 'list')
    """
    return shape if isinstance(shape, str) else _KIND[type(shape)]


def _alternatives(shape: Shape) -> set[str]:
    """A shape as a set of union members; an object or list counts as its kind."""
    return set(kind_of(shape).split("|"))


def merge_shapes(a: Shape, b: Shape) -> Shape:
    """The shape that describes values of shape `a` and of shape `b`.

    Example:
        >>> merge_shapes({"path": "str"}, {"path": "str", "size": "int"})
        {'path': 'str', 'size': 'int'}
        >>> merge_shapes("str", "null")
        'null|str'
    """
    if a == b:
        return a
    if isinstance(a, dict) and isinstance(b, dict):
        merged = {**a, **b}
        return {k: merge_shapes(a[k], b[k]) if k in a and k in b else merged[k] for k in sorted(merged)}
    if isinstance(a, list) and isinstance(b, list):
        if not a or not b:
            return a or b
        return [merge_shapes(a[0], b[0])]
    # Different kinds (a leaf and an object, two leaves, ...): a union that names each kind once.
    return "|".join(sorted(_alternatives(a) | _alternatives(b)))
