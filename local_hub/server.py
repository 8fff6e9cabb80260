"""Running the emulator: uvicorn (httptools) on a pre-bound socket, in the foreground or in a thread,
with the realistic topology's TLS files and forward proxy around it when asked for (`Topology`)."""

from __future__ import annotations

import contextlib
import secrets
import shutil
import socket
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import uvicorn

from local_hub.app import create_app
from local_hub.control import HubControl
from local_hub.proxy import ForwardProxy
from local_hub.state import HubOptions, HubState

if TYPE_CHECKING:
    from local_hub.tls import TlsFiles


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


def url_of(sock: socket.socket, scheme: str = "http") -> str:
    """The base URL clients use for this socket."""
    host, port = sock.getsockname()[:2]
    return f"{scheme}://[{host}]:{port}" if ":" in host else f"{scheme}://{host}:{port}"


@dataclass
class Topology:
    """What one hub is reached through: its listener, and under `--tls`/`--hosts` the TLS files and
    the forward proxy (design.md, "Growing past models and loopback").

    Attributes:
        url: The endpoint clients use: `https://www.<domain>` (http:// without TLS) under host names,
            reached through `proxy`; else `listen_url`.
        listen_url: The listener's own address (`https://127.0.0.1:PORT` under TLS), which serves every
            route, the control plane included, without the proxy.
        proxy: The forward proxy to the host names; None without them.
        tls: The TLS files; None without `--tls`.
    """

    url: str
    listen_url: str
    proxy: ForwardProxy | None = None
    tls: TlsFiles | None = None

    @classmethod
    def around(cls, state: HubState, sock: socket.socket) -> Topology:
        """The topology `state.options` asks for around the bound `sock` (the proxy bound, not started)."""
        options = state.options
        listen_url = url_of(sock, "https" if options.tls else "http")
        if not options.topology:
            return cls(listen_url, listen_url)
        host, port = sock.getsockname()[:2]
        # A wildcard listener is reached on loopback, by the proxy and by the control plane alike.
        address = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
        names = state.hosts.names if state.hosts is not None else ()
        tls = None
        if options.tls:
            from local_hub.tls import ensure_tls  # `cryptography` (36 ms to import) only for hubs that use it

            tls = ensure_tls(options.data_dir, [*names, "127.0.0.1", address])
        if options.hosts is None:
            return cls(listen_url, listen_url, None, tls)
        proxy = ForwardProxy(bind("127.0.0.1", 0), names, {443, 80, port}, (address, port), state.stats.count)
        return cls(f"{'https' if options.tls else 'http'}://www.{options.hosts}", listen_url, proxy, tls)

    def startup_fields(self) -> dict[str, Any]:
        """What the start-up line adds under the topology (nothing on plain loopback): `proxy`,
        `ca_bundle` (None when absent) and `listen_url`."""
        if self.proxy is None and self.tls is None:
            return {}
        return {
            "proxy": self.proxy.url if self.proxy else None,
            "ca_bundle": str(self.tls.ca_bundle) if self.tls else None,
            "listen_url": self.listen_url,
        }

    def start(self) -> None:
        """Start the proxy (the hub itself is started by its caller)."""
        if self.proxy is not None:
            self.proxy.start()

    def stop(self) -> None:
        """Stop the proxy and close its socket. Safe to call twice, and from any thread."""
        if self.proxy is not None:
            self.proxy.stop()
            self.proxy.sock.close()


class _TopologyServer(uvicorn.Server):
    """uvicorn's server that, on shutdown, first stops the proxy and ends idle connections at once.

    A TLS connection closes gracefully: the server sends close_notify and waits (asyncio: up to 30 s)
    for the client's. An idle keep-alive client (a pooled `requests` connection) never reads it, so
    every shutdown sat out `timeout_graceful_shutdown` and logged an error (measured: 2 s per stop).
    Idle connections are aborted instead; a request in flight still finishes.
    """

    def __init__(self, config: uvicorn.Config, topology: Topology) -> None:
        super().__init__(config)
        self.topology = topology

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self.topology.stop()  # tunnels end, so the hub's side of each sees its client go
        for connection in list(self.server_state.connections):
            cycle = getattr(connection, "cycle", None)
            transport = getattr(connection, "transport", None)
            if transport is not None and (cycle is None or cycle.response_complete):
                transport.abort()
        await super().shutdown(sockets)


def make_server(state: HubState, topology: Topology | None = None) -> uvicorn.Server:
    """A uvicorn server for the app, with httptools, no access log of its own (ours never logs tokens),
    serving TLS with the topology's certificate when it has one."""
    tls = topology.tls if topology is not None else None
    ssl = {"ssl_certfile": str(tls.certfile), "ssl_keyfile": str(tls.keyfile)} if tls is not None else {}
    config = uvicorn.Config(
        create_app(state),
        http="httptools",
        loop="asyncio",
        lifespan="off",
        access_log=False,
        log_level="warning",
        timeout_keep_alive=75,
        timeout_graceful_shutdown=2,
        **ssl,
    )
    if topology is not None and (topology.tls is not None or topology.proxy is not None):
        return _TopologyServer(config, topology)
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
        **options: Further `HubOptions` fields (seed, tree_limit, max_list_offset, fsync, revision_commit_ids;
            the realistic topology's `tls`, `hosts`, `download_redirect`, `cdn_url_ttl_seconds`).

    Attributes:
        url: The endpoint clients use (`https://www.<domain>` under `hosts`, through `proxy`).
        listen_url: The listener's own address; the control plane (`control`) talks to it directly.
        proxy: The forward proxy's URL (`http://127.0.0.1:PORT`) under `hosts`, else None.
        ca_bundle: The CA certificate that verifies the hub under `tls`, else None.

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
        self.url = self.listen_url = ""
        self.proxy: str | None = None
        self.ca_bundle: Path | None = None
        self.control: HubControl | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._topology: Topology | None = None

    def start(self) -> LocalHub:
        """Start serving; returns once the server (and its proxy) accepts connections."""
        state = HubState(self.options)
        sock = bind(self.host, self.port)
        topology = self._topology = Topology.around(state, sock)
        self.url, self.listen_url = topology.url, topology.listen_url
        self.proxy = topology.proxy.url if topology.proxy is not None else None
        self.ca_bundle = topology.tls.ca_bundle if topology.tls is not None else None
        topology.start()
        self._server = make_server(state, topology)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="local-hub", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("local_hub did not start")
            time.sleep(0.01)
        if self.options.admin_token:
            self.control = HubControl(self.listen_url, self.options.admin_token, ca_bundle=self.ca_bundle)
        return self

    def stop(self) -> None:
        """Stop serving (the state stays on disk until the temporary dir is removed)."""
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
        if self._topology is not None:
            self._topology.stop()
        self._server = self._thread = self._topology = None

    def __enter__(self) -> LocalHub:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
        if self._own_dir:
            with contextlib.suppress(OSError):
                shutil.rmtree(self.data_dir)
