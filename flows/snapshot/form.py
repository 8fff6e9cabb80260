"""Run-form helpers: labels and plain optional texts for flow parameters, and the `Args:` section written
from their `Field` descriptions.

Prefect builds a flow's parameter schema (the UI's run form) from the signature and the docstring: for
each parameter it makes a new pydantic `Field(title=<name>, description=<docstring text or None>)` and puts
it on top of the annotation (`prefect/_internal/pydantic/v2_schema.py`, `process_v2_params`). That field wins
over the one inside `Annotated[..., Field(title=..., description=...)]`, so the form shows the raw name as
the label and the docstring's short `Args:` words, or no help at all for a parameter the docstring leaves
out. Two ways through, measured on Prefect 3.4.10 and 3.9.1:

- A title in the `Field`'s `json_schema_extra` is written into the schema after pydantic's own title, so
  `form_field(label, ...)` labels a parameter.
- The docstring's `Args:` section becomes the help, so `document_parameters` writes it from the `Annotated`
  descriptions (where the constraints are enforced on every call): one text, in the form and in `help()`.
  (Only a `Field` used as the default value keeps its description, and such a default is a `FieldInfo`
  when the function is called directly.)
"""

from __future__ import annotations

import inspect
import re
import typing
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from pydantic import BeforeValidator, Field
from pydantic.fields import FieldInfo

F = TypeVar("F", bound=Callable[..., Any])
_NEXT_SECTION = re.compile(r"^(Returns|Raises|Yields|Example|Examples|Note|Notes):\s*$", re.MULTILINE)

# An optional text of a form: empty means none, so the UI draws a plain text box rather than a "str | None"
# type toggle (whose None side the UIs label 'Property is type "None"'); None from Python callers reads as "".
OptionalText = Annotated[str, BeforeValidator(lambda value: "" if value is None else value)]


def form_field(
    label: str, description: str | None = None, *, form_default: str | None = None, **constraints: Any
) -> FieldInfo:
    """`Field(description=description, **constraints)` for a flow parameter, shown in the run form as `label`.

    Args:
        label: The form's label (the UIs append " (Optional)" to a parameter with a default, so a unit is
            a word: "Timeout in seconds", not "Timeout (s)").
        description: The help text, in plain words as both UIs show it (v1 renders it as markdown); it
            reaches the form through the docstring (`document_parameters`). None: the docstring's own.
        form_default: The default the form fills in, when the signature's default does not fit the
            schema (None for an `OptionalText` parameter: the form then starts from "", not null).
        **constraints: Pydantic constraints (`ge`, `min_length`, `pattern`, ...).

    Example:
        >>> form_field("Owners", "Whose models.", min_length=1).json_schema_extra
        {'title': 'Owners'}
    """
    extra: dict[str, Any] = {"title": label}
    if form_default is not None:
        extra["default"] = form_default
    if description is not None:
        constraints["description"] = description
    return Field(json_schema_extra=extra, **constraints)


def field_descriptions(fn: Callable[..., Any]) -> dict[str, str]:
    """Each parameter's `Field(description=...)` from its `Annotated` type, in signature order.

    Example:
        >>> from typing import Annotated
        >>> from pydantic import Field
        >>> def f(a: Annotated[int, Field(description="The a.")], b: int = 0) -> None: ...
        >>> field_descriptions(f)
        {'a': 'The a.'}
    """
    hints = typing.get_type_hints(fn, include_extras=True)
    found = {}
    for name in inspect.signature(fn).parameters:
        for extra in getattr(hints.get(name), "__metadata__", ()):
            if isinstance(extra, FieldInfo) and extra.description:
                found[name] = extra.description
    return found


def document_parameters(fn: F) -> F:
    """Write `fn`'s docstring `Args:` section from its parameters' `Field` descriptions (place it under
    `@flow`). The section goes before `Returns:`/`Raises:`/`Example:`, or at the end.

    Example:
        >>> from typing import Annotated
        >>> from pydantic import Field
        >>> @document_parameters
        ... def f(owner: Annotated[str, Field(description="Whose models (e.g. alice).")]) -> None:
        ...     '''Do it.
        ...
        ...     Returns:
        ...         Nothing.
        ...     '''
        >>> print(f.__doc__)
        Do it.
        <BLANKLINE>
        Args:
            owner: Whose models (e.g. alice).
        <BLANKLINE>
        Returns:
            Nothing.
    """
    args = "Args:\n" + "".join(f"    {name}: {text}\n" for name, text in field_descriptions(fn).items())
    doc = inspect.cleandoc(fn.__doc__ or "")
    at = _NEXT_SECTION.search(doc)
    fn.__doc__ = f"{doc[: at.start()]}{args}\n{doc[at.start() :]}" if at else f"{doc}\n\n{args}"
    return fn
