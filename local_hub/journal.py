"""The request journal: the shape of every API request, in arrival order, and never a value.

An entry is `{"route", "method", "query", "headers", "body"}`: the route's name (as the control
plane's counters name it), the HTTP method, the sorted query keys, the sorted names of the headers
that carry meaning (auth, cookies, content type, user agent) that were present, and the body's shape
(`local_hub.shapes`: a type tree, `"bytes"` for blobs, None for no body). A hub with host names or TLS
adds `"host"`, the name the request was sent to (`www.hub.test`, `127.0.0.1`; `local_hub.hosts`).
Paths, query values, header values and bodies are never kept, so the journal can be read by anyone
without leaking a token, a cookie, a model name or a byte of content. Tests compare the journals of
the official SDK and of our client (tests/compat/test_wire_dialect.py); the control plane serves it at
`/_local_hub/journal`.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl

from local_hub.shapes import Shape

# Only whether these are present is recorded, by name; their values never reach the journal.
MEANINGFUL_HEADERS = ("authorization", "content-type", "cookie", "user-agent")
DEFAULT_LIMIT = 10_000  # entries kept; the oldest go first (a long-running hub must not grow without end)


def query_keys(params: Iterable[tuple[str, str]]) -> list[str]:
    """The sorted, distinct keys of a parsed query string (values are dropped).

    Example:
        >>> query_keys(parse_qsl("Revision=master&FilePath=a%2Fb.txt&Revision=v1"))
        ['FilePath', 'Revision']
    """
    return sorted({key for key, _ in params})


def parse_query(query_string: bytes) -> list[tuple[str, str]]:
    """A raw ASGI query string as (key, value) pairs, blank values kept (a bare key is still sent).

    Example:
        >>> parse_query(b"Recursive=True&Root=")
        [('Recursive', 'True'), ('Root', '')]
    """
    return parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)


def header_names(headers: Iterable[tuple[bytes, bytes]]) -> list[str]:
    """The meaningful headers present in raw ASGI headers, by name only.

    Example:
        >>> header_names([(b"Authorization", b"Bearer ms-secret"), (b"x-request-id", b"42")])
        ['authorization']
    """
    present = {name.decode("latin-1").lower() for name, _ in headers}
    return [name for name in MEANINGFUL_HEADERS if name in present]


def journal_entry(
    route: str,
    method: str,
    params: Iterable[tuple[str, str]],
    headers: Iterable[tuple[bytes, bytes]],
    body: Shape | None,
    host: str | None = None,
) -> dict[str, Any]:
    """One journal entry from the parts of a request that may be kept (`params`: the parsed query;
    `host`: the host name it was sent to, recorded only when given, i.e. under host names or TLS).

    Example:
        >>> journal_entry("login", "POST", [], [(b"content-type", b"application/json")], {"AccessToken": "str"})
        {'route': 'login', 'method': 'POST', 'query': [], 'headers': ['content-type'], 'body': {'AccessToken': 'str'}}
        >>> journal_entry("download", "GET", [], [(b"cookie", b"c")], None, host="www.hub.test")["host"]
        'www.hub.test'
    """
    entry = {
        "route": route,
        "method": method,
        "query": query_keys(params),
        "headers": header_names(headers),
        "body": body,
    }
    if host is not None:
        entry["host"] = host
    return entry


class Journal:
    """The entries of one running hub, bounded to the newest `limit`, safe to use from any thread.

    Example:
        >>> journal = Journal(limit=2)
        >>> for route in ("login", "whoami", "create_model"):
        ...     journal.add(journal_entry(route, "GET", [], [], None))
        >>> [e["route"] for e in journal.entries()], journal.dropped
        (['whoami', 'create_model'], 1)
    """

    def __init__(self, limit: int = DEFAULT_LIMIT) -> None:
        self._lock = threading.Lock()
        self._entries: deque[dict[str, Any]] = deque(maxlen=limit)
        #: Entries pushed out by newer ones since the last `clear()`.
        self.dropped = 0

    def add(self, entry: dict[str, Any]) -> None:
        """Append one entry (the oldest goes when the journal is full)."""
        with self._lock:
            if len(self._entries) == self._entries.maxlen:
                self.dropped += 1
            self._entries.append(entry)

    def entries(self) -> list[dict[str, Any]]:
        """A copy of the entries, oldest first."""
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        """Forget every entry."""
        with self._lock:
            self._entries.clear()
            self.dropped = 0
