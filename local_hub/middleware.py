"""The base of local_hub's inner middlewares: they wrap the Starlette app and keep its routes visible.

The fault middleware outside names each request by the app's routes (`FaultMiddleware.route_name`), so a
layer between them must show the routes of the app it wraps.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from starlette.types import ASGIApp

    from local_hub.state import HubState


class InnerMiddleware:
    """An ASGI layer around the app that needs the hub's state; `routes` are the wrapped app's.

    Args:
        app: The Starlette app (or another inner layer).
        state: The hub's state.
    """

    def __init__(self, app: ASGIApp, state: HubState) -> None:
        self.app = app
        self.state = state

    @property
    def routes(self) -> list[Any]:
        """The wrapped app's routes (the fault middleware names requests by them)."""
        return getattr(self.app, "routes", [])
