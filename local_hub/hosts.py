"""Which of the hub's host names a request was sent to, and which routes each name serves.

Under `--hosts DOMAIN` local_hub answers to three names, as the real hub's network does (protocol.md
§22.1): `www.DOMAIN` serves the API and git, `lfs.DOMAIN` takes blob uploads (the LFS batch's `href`s
point there), and `cdn.DOMAIN` serves the signed downloads the file route redirects to. The name is
read from the Host header. Any other name, such as the listener's own `127.0.0.1:PORT`, is the
"direct" host, which serves everything the hub served before it had names (the control plane
included), so the control plane and plain-loopback clients work as they always did.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

# The scope key under which the middleware and routes find the request's `Host`.
HOST_SCOPE_KEY = "local_hub.host"
Role = Literal["www", "lfs", "cdn", "direct"]
ROLES: tuple[Role, ...] = ("www", "lfs", "cdn")
# The only routes `lfs.` and `cdn.` serve. `www.` and the direct host serve every route but the CDN's
# (blob uploads included: a client that is handed a `www.` or a direct href must still be able to PUT).
ROLE_ROUTES: Mapping[str, frozenset[str]] = {
    "lfs": frozenset({"blob_put"}),
    "cdn": frozenset({"cdn_download"}),
}
CDN_ONLY = ROLE_ROUTES["cdn"]
_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")


def hosts_domain(value: object) -> str:
    """Check the domain `--hosts` names (`hub.test`): its three host names are derived from it.

    Raises:
        ValueError: Not a lowercase DNS name of at least two labels.

    Example:
        >>> hosts_domain("Hub.Test")
        'hub.test'
    """
    text = value.lower().rstrip(".") if isinstance(value, str) else ""
    labels = text.split(".")
    if len(labels) < 2 or not all(_LABEL.fullmatch(label) for label in labels) or len(text) > 240:
        raise ValueError(f"--hosts needs a domain name such as hub.test, got {value!r}")
    return text


def split_host(header: str) -> tuple[str, int | None]:
    """A Host header (or a CONNECT target) as (lowercase name, port or None).

    Example:
        >>> split_host("WWW.hub.test:8443"), split_host("[::1]:80"), split_host("cdn.hub.test")
        (('www.hub.test', 8443), ('::1', 80), ('cdn.hub.test', None))
    """
    text = header.strip().lower()
    if text.startswith("["):  # an IPv6 literal
        name, _, rest = text[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    else:
        name, _, port = text.rpartition(":") if text.count(":") == 1 else (text, "", "")
    return name, int(port) if port.isdigit() else None


@dataclass(frozen=True)
class Host:
    """The host a request named.

    Attributes:
        name: The name without its port (`www.hub.test`, `127.0.0.1`).
        port: The port the Host header named, None when it named none (the scheme's default).
        role: `www`, `lfs`, `cdn`, or `direct` for any other name.
        domain: The hub's domain (`hub.test`); None when the hub has no host names.
    """

    name: str
    port: int | None
    role: Role
    domain: str | None

    def serves(self, route: str) -> bool:
        """Whether this host answers `route` (the others are answered 404, as an unknown path)."""
        own = ROLE_ROUTES.get(self.role)
        return route in own if own is not None else route not in CDN_ONLY

    def sibling(self, role: Role) -> str:
        """The netloc of the hub's `role` host, on the port this request named (a client that
        reached `www.` on a port of its own reaches the other names there too)."""
        netloc = f"{role}.{self.domain}"
        return f"{netloc}:{self.port}" if self.port is not None else netloc


class HostMap:
    """Tells the hub's host names apart.

    Args:
        domain: The `--hosts` domain; None when the hub has no host names (every request is direct).

    Example:
        >>> hosts = HostMap("hub.test")
        >>> hosts.classify({"headers": [(b"host", b"lfs.hub.test")]}).role
        'lfs'
        >>> hosts.classify({"headers": [(b"host", b"127.0.0.1:8000")]}).serves("blob_put")
        True
    """

    def __init__(self, domain: str | None) -> None:
        self.domain = domain
        self._roles: dict[str, Role] = {f"{role}.{domain}": role for role in ROLES} if domain else {}

    @property
    def names(self) -> tuple[str, ...]:
        """The three host names (none without a domain)."""
        return tuple(self._roles)

    def classify(self, scope: Mapping[str, Any]) -> Host:
        """The host an ASGI request scope was sent to (its Host header; the socket's address without one)."""
        header = next((value for key, value in scope.get("headers", []) if key == b"host"), None)
        if header is not None:
            name, port = split_host(header.decode("latin-1"))
        else:
            server = scope.get("server") or ("", None)
            name, port = str(server[0]), server[1]
        return Host(name, port, self._roles.get(name, "direct"), self.domain)

    def place(self, scope: dict[str, Any], route: str) -> tuple[dict[str, Any], str]:
        """Tag `scope` with its `Host`; a route the host does not serve becomes "unmatched"."""
        host = self.classify(scope)
        return {**scope, HOST_SCOPE_KEY: host}, route if host.serves(route) else "unmatched"
