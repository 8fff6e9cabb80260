"""A loopback forward proxy that makes the hub's host names reachable: CONNECT tunnels and plain HTTP.

Clients reach `www.`, `lfs.` and `cdn.DOMAIN` the way they reach a real hub from behind a corporate
proxy: `HTTPS_PROXY=http://127.0.0.1:PORT` makes `requests` open a `CONNECT host:443` tunnel and speak
TLS inside it (protocol.md §22.4), and `HTTP_PROXY` sends `GET http://host/path` for plain HTTP. The
proxy maps the three names (on ports 443, 80 or the hub's own port) to the hub's listener and answers
403 for any other host, so nothing leaves the machine. It counts, by host name, the tunnels and
requests it carried and refused (`proxy`, `proxy_refused` in `/_local_hub/stats`).

The relay is asyncio protocols on a loop of its own, in a thread: bytes read from one socket go
straight to the other's transport, up to `RELAY_READ` at a time, and a side stops reading while its
peer has `WRITE_HIGH` bytes queued (back-pressure, bounded memory). It never decrypts a tunnel.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Callable, Collection
from typing import cast
from urllib.parse import urlsplit

from local_hub.hosts import split_host

RELAY_READ = 1 << 20  # bytes per recv (asyncio's default is 256 KiB; multi-GB uploads pass through here)
WRITE_HIGH = 4 << 20  # a side stops reading while its peer's socket has this much waiting to be sent
MAX_HEAD = 64 << 10  # a request head longer than this is refused
# Hop-by-hop headers of a plain HTTP request, replaced by `Connection: close` on the way to the hub.
_HOP_BY_HOP = (b"connection", b"proxy-connection", b"keep-alive", b"proxy-authorization", b"te", b"upgrade")


def _answer(status: str, text: str) -> bytes:
    body = text.encode()
    head = f"HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    return head.encode() + body


class _Side(asyncio.Protocol):
    """One socket of a relay: what it reads goes to its peer's transport."""

    def __init__(self, proxy: ForwardProxy) -> None:
        self.proxy = proxy
        self.transport: asyncio.Transport | None = None
        self.peer: _Side | None = None
        self.got_eof = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport = cast(asyncio.Transport, transport)
        # asyncio's selector transport reads `max_size` bytes per recv (an attribute it reads on every
        # recv): 1 MiB instead of 256 KiB cut the proxy's CPU per GB by about a third (measured). Other
        # loops' transports may not have it, and then keep their own.
        with contextlib.suppress(AttributeError):
            transport.max_size = RELAY_READ  # type: ignore[attr-defined]
        transport.set_write_buffer_limits(high=WRITE_HIGH)
        self.proxy.sides.add(self)

    def data_received(self, data: bytes) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.write(data)

    def eof_received(self) -> bool:
        """Pass a half-close on; close both sockets once both directions are done."""
        self.got_eof = True
        peer = self.peer
        if peer is None or peer.transport is None or peer.got_eof or not peer.transport.can_write_eof():
            self.close()
            return False
        peer.transport.write_eof()
        return True  # keep writing the other direction

    def connection_lost(self, exc: Exception | None) -> None:
        self.proxy.sides.discard(self)
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.close()  # flushes what is queued, then closes

    def pause_writing(self) -> None:  # our socket is backed up: stop reading what would be sent to it
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.resume_reading()

    def close(self) -> None:
        for side in (self, self.peer):
            if side is not None and side.transport is not None:
                side.transport.close()


class _ClientSide(_Side):
    """The client's socket: reads a request head, opens the way to the hub, then relays."""

    def __init__(self, proxy: ForwardProxy) -> None:
        super().__init__(proxy)
        self.head = bytearray()
        self.opening: asyncio.Future[None] | None = None

    def data_received(self, data: bytes) -> None:
        if self.peer is not None:
            super().data_received(data)
            return
        self.head += data
        end = self.head.find(b"\r\n\r\n")
        if end < 0:
            if len(self.head) > MAX_HEAD:
                self.refuse("431 Request Header Fields Too Large", "request head too long")
            return
        assert self.transport is not None
        self.transport.pause_reading()  # until the hub's side is connected
        head, rest = bytes(self.head[: end + 4]), bytes(self.head[end + 4 :])
        self.head = bytearray()
        self.opening = asyncio.ensure_future(self.open(head, rest))  # kept: a task nobody holds may vanish

    def refuse(self, status: str, text: str) -> None:
        if self.transport is not None:
            self.transport.write(_answer(status, text))
            self.transport.close()

    async def open(self, head: bytes, rest: bytes) -> None:
        """Check the request's host, connect to the hub, and start relaying (or refuse)."""
        lines = head.split(b"\r\n")
        method, _, target = lines[0].decode("latin-1").partition(" ")
        target, _, version = target.partition(" ")
        if method == "CONNECT":
            host, port = split_host(target)
            first = b""
        elif target.startswith("http://"):
            url = urlsplit(target)
            host, port = (url.hostname or "").lower(), url.port or 80
            origin = f"{method} {url.path or '/'}{'?' + url.query if url.query else ''} {version}".encode("latin-1")
            kept = [line for line in lines[1:] if line and line.split(b":", 1)[0].strip().lower() not in _HOP_BY_HOP]
            # One request per connection, so that each is counted under its own host name.
            first = b"\r\n".join([origin, *kept, b"Connection: close", b"", b""]) + rest
        else:
            self.refuse("400 Bad Request", "a forward proxy takes CONNECT host:port or an absolute http:// URL")
            return
        if not self.proxy.allows(host, port):
            self.proxy.count("proxy_refused", host or "-")
            self.refuse("403 Forbidden", f"local_hub's proxy only reaches {', '.join(self.proxy.names)}")
            return
        self.proxy.count("proxy", host)
        loop = asyncio.get_running_loop()
        try:
            _, upstream = await loop.create_connection(lambda: _Side(self.proxy), *self.proxy.upstream)
        except OSError as exc:
            self.refuse("502 Bad Gateway", f"the hub did not answer: {exc}")
            return
        if self.transport is None or self.transport.is_closing():
            upstream.close()
            return
        self.peer, upstream.peer = upstream, self
        if method == "CONNECT":
            self.transport.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            first = rest  # a client may have sent its TLS hello already
        if first and upstream.transport is not None:
            upstream.transport.write(first)
        self.transport.resume_reading()


class ForwardProxy:
    """The proxy on its own socket and thread.

    Args:
        sock: A bound, listening socket (its address is `url`).
        names: The host names it reaches (the hub's three).
        ports: The ports those names may be asked on (443, 80 and the hub's own).
        upstream: The hub listener's (host, port).
        count: Called as `count(counter, host)` for every tunnel or request (`proxy`) and every
            refusal (`proxy_refused`); from the proxy's thread.
    """

    def __init__(
        self,
        sock: socket.socket,
        names: Collection[str],
        ports: Collection[int],
        upstream: tuple[str, int],
        count: Callable[[str, str], None],
    ) -> None:
        self.sock = sock
        self.names = tuple(names)
        self.ports = frozenset(ports)
        self.upstream = upstream
        self.count = count
        self.sides: set[_Side] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The proxy's URL, for `HTTPS_PROXY` / `HTTP_PROXY`."""
        host, port = self.sock.getsockname()[:2]
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    def allows(self, host: str, port: int | None) -> bool:
        """Whether a tunnel or request to `host:port` goes through."""
        return host in self.names and port in self.ports

    def start(self) -> None:
        """Start serving on the proxy's thread; returns once it accepts connections."""
        ready = threading.Event()
        self._loop = asyncio.new_event_loop()

        def run() -> None:
            assert self._loop is not None
            loop = self._loop
            server = loop.run_until_complete(loop.create_server(lambda: _ClientSide(self), sock=self.sock))
            ready.set()
            try:
                loop.run_forever()
            finally:
                server.close()
                for side in list(self.sides):
                    if side.transport is not None:
                        side.transport.abort()
                loop.run_until_complete(asyncio.sleep(0))  # let the transports finish closing
                loop.close()

        self._thread = threading.Thread(target=run, name="local-hub-proxy", daemon=True)
        self._thread.start()
        if not ready.wait(30):
            raise RuntimeError("local_hub's proxy did not start")

    def stop(self) -> None:
        """Stop serving and drop open tunnels. Safe to call twice."""
        if self._loop is not None and self._thread is not None:
            with contextlib.suppress(RuntimeError):  # the loop has already closed
                self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
        self._loop = self._thread = None
