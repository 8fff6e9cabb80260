"""Running the emulator: uvicorn (httptools) on a pre-bound socket, in the foreground or in a thread."""

from __future__ import annotations

import contextlib
import secrets
import shutil
import socket
import tempfile
import threading
import time
from pathlib import Path
from types import TracebackType

import uvicorn

from local_hub.app import create_app
from local_hub.control import HubControl
from local_hub.state import HubOptions, HubState


def bind(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A listening socket; port 0 picks a free one, known before the server starts."""
    # proto=IPPROTO_TCP matters: asyncio only sets TCP_NODELAY on accepted sockets whose proto says TCP,
    # and without it Nagle + delayed ACKs add ~40 ms to every keep-alive request.
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def url_of(sock: socket.socket) -> str:
    """The base URL clients use for this socket."""
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def make_server(state: HubState) -> uvicorn.Server:
    """A uvicorn server for the app, with httptools, no access log of its own (ours never logs tokens)."""
    config = uvicorn.Config(
        create_app(state),
        http="httptools",
        loop="asyncio",
        lifespan="off",
        access_log=False,
        log_level="warning",
        timeout_keep_alive=75,
        timeout_graceful_shutdown=2,
    )
    return uvicorn.Server(config)


class LocalHub:
    """An emulator on a free port in a background thread, for tests and demos.

    Args:
        data_dir: State directory; a temporary one (removed on exit) when None.
        users: name -> SDK token.
        groups: group -> member names.
        admin_token: Control-plane token; a random one when None (use `admin=False` to disable).
        admin: Enable the control plane.
        host: Interface to bind.
        port: Port; 0 picks a free one.
        **options: Further `HubOptions` fields (seed, tree_limit, max_list_offset, fsync, revision_commit_ids).

    Example:
        >>> with LocalHub(users={"alice": "ms-alice"}) as hub:
        ...     hub.url.startswith("http://127.0.0.1:")
        True
    """

    def __init__(
        self,
        data_dir: str | Path | None = None,
        users: dict[str, str] | None = None,
        groups: dict[str, list[str]] | None = None,
        admin_token: str | None = None,
        admin: bool = True,
        host: str = "127.0.0.1",
        port: int = 0,
        **options: object,
    ) -> None:
        self._own_dir = data_dir is None
        self.data_dir = Path(data_dir) if data_dir is not None else Path(tempfile.mkdtemp(prefix="local-hub-"))
        token = (admin_token or f"admin-{secrets.token_hex(16)}") if admin else None
        self.options = HubOptions(
            data_dir=self.data_dir, users=dict(users or {}), groups=dict(groups or {}), admin_token=token, **options
        )  # type: ignore[arg-type]
        self.host, self.port = host, port
        self.url = ""
        self.control: HubControl | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> LocalHub:
        """Start serving; returns once the server accepts connections."""
        state = HubState(self.options)
        sock = bind(self.host, self.port)
        self.url = url_of(sock)
        self._server = make_server(state)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="local-hub", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("local_hub did not start")
            time.sleep(0.01)
        if self.options.admin_token:
            self.control = HubControl(self.url, self.options.admin_token)
        return self

    def stop(self) -> None:
        """Stop serving (the state stays on disk until the temporary dir is removed)."""
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
        self._server = self._thread = None

    def __enter__(self) -> LocalHub:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
        if self._own_dir:
            with contextlib.suppress(OSError):
                shutil.rmtree(self.data_dir)
