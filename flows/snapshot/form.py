"""The run form's help text: a flow's `Args:` section written from its parameters' `Field` descriptions.

Prefect builds a flow's parameter schema (the UI's run form) from the signature and the docstring: for
each parameter it makes a new pydantic `Field(description=<docstring text or None>)` and puts it on
top of the annotation (`prefect/_internal/pydantic/v2_schema.py`, `process_v2_params`). That field wins
over the one inside `Annotated[..., Field(description=...)]`, so the form shows the docstring's short
`Args:` words, or no help at all for a parameter the docstring leaves out. Only a `Field` used as the
default value keeps its description, and such a default is a `FieldInfo` when the function is called
directly. So the rich text stays in `Annotated` (where the constraints are enforced on every call) and
this decorator writes the docstring's `Args:` section from it: one text, in the form and in `help()`.
"""

from __future__ import annotations

import inspect
import re
import typing
from collections.abc import Callable
from typing import Any, TypeVar

from pydantic.fields import FieldInfo

F = TypeVar("F", bound=Callable[..., Any])
_NEXT_SECTION = re.compile(r"^(Returns|Raises|Yields|Example|Examples|Note|Notes):\s*$", re.MULTILINE)


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
