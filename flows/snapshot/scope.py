"""What a snapshot covers: one hub endpoint plus a sorted set of owners. Two snapshots are compared only
when their scopes are equal, so deployments for other owners or other hubs never see each other's."""

from __future__ import annotations

import hashlib
import json

from pydantic import BaseModel, ConfigDict


class Scope(BaseModel):
    """An endpoint and the owners (users or groups) whose models a snapshot lists.

    Build it with `Scope.of`, which normalises both, so that equal scopes compare and hash equal
    however the owners were ordered or the endpoint was spelled.

    Example:
        >>> a = Scope.of("https://hub.example/", ["team", "alice", "team"])
        >>> a == Scope.of("https://HUB.example", ["alice", "team"]), a.owners
        (True, ('alice', 'team'))
        >>> len(a.key), a.label
        (16, 'alice, team @ https://hub.example')
    """

    model_config = ConfigDict(frozen=True)

    endpoint: str
    owners: tuple[str, ...]

    @classmethod
    def of(cls, endpoint: str, owners: list[str] | tuple[str, ...]) -> Scope:
        """The scope of `owners` on `endpoint`: owners sorted and de-duplicated (names are case-sensitive
        on the hub, so their case is kept), the endpoint without a trailing slash and with its scheme and
        host in lower case (which never change the server reached)."""
        scheme, sep, rest = endpoint.strip().rstrip("/").partition("://")
        host, slash, path = rest.partition("/")
        normalised = f"{scheme.lower()}{sep}{host.lower()}{slash}{path}" if sep else endpoint.strip().rstrip("/")
        return cls(endpoint=normalised, owners=tuple(sorted(set(owners))))

    @property
    def key(self) -> str:
        """16 hex digits naming the scope in file names and artifact keys (a sha256 prefix: 64 bits make
        an accidental clash between one user's scopes practically impossible)."""
        canonical = json.dumps({"endpoint": self.endpoint, "owners": list(self.owners)}, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    @property
    def label(self) -> str:
        """The scope as a person reads it: `alice, team @ https://www.modelscope.cn`."""
        return f"{', '.join(self.owners)} @ {self.endpoint}"
