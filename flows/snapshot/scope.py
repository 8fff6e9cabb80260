"""What a snapshot covers: one hub endpoint, a sorted set of owners and the repo types listed (models,
datasets). Two snapshots are compared only when their endpoint and owners are equal, so deployments for
other owners or other hubs never see each other's; the repo types they both cover are compared.

A snapshot written before repo types existed covers models only; its scope keeps the key it had (a
models-only scope is keyed by endpoint and owners alone), so its pointer and its baseline are still found.
A scope that covers models and more has no snapshot of its own on its first run: it compares its models
with the models-only scope's latest snapshot (`baseline_scopes`), so a tag moved across the upgrade is
still reported, and its other repo types start with that run.
"""

from __future__ import annotations

import hashlib
import json

from pydantic import BaseModel, ConfigDict

from hub_tasks.repo_types import REPO_TYPES, RepoType

MODELS_ONLY: tuple[RepoType, ...] = ("model",)
PLURAL: dict[RepoType, str] = {"model": "models", "dataset": "datasets"}


def sorted_types(repo_types: list[RepoType] | tuple[RepoType, ...]) -> tuple[RepoType, ...]:
    """Repo types de-duplicated, in the hub's order (models first).

    Example:
        >>> sorted_types(["dataset", "model", "dataset"])
        ('model', 'dataset')
    """
    return tuple(t for t in REPO_TYPES if t in set(repo_types))


class Scope(BaseModel):
    """An endpoint, the owners (users or groups) and the repo types a snapshot lists.

    Build it with `Scope.of`, which normalises all three, so that equal scopes compare and hash equal
    however the owners were ordered or the endpoint was spelled.

    Example:
        >>> a = Scope.of("https://hub.example/", ["team", "alice", "team"])
        >>> a == Scope.of("https://HUB.example", ["alice", "team"]), a.owners, a.repo_types
        (True, ('alice', 'team'), ('model',))
        >>> len(a.key), a.label
        (16, 'alice, team @ https://hub.example, models only')
        >>> Scope.of("https://hub.example", ["alice"], ["dataset", "model"]).label
        'alice @ https://hub.example'
    """

    model_config = ConfigDict(frozen=True)

    endpoint: str
    owners: tuple[str, ...]
    repo_types: tuple[RepoType, ...] = MODELS_ONLY

    @classmethod
    def of(
        cls,
        endpoint: str,
        owners: list[str] | tuple[str, ...],
        repo_types: list[RepoType] | tuple[RepoType, ...] = MODELS_ONLY,
    ) -> Scope:
        """The scope of `owners`' repos of `repo_types` on `endpoint` (models only by default, what every
        snapshot covered before repo types): owners sorted and de-duplicated (names are case-sensitive on
        the hub, so their case is kept), repo types in the hub's order, the endpoint without a trailing
        slash and with its scheme and host in lower case (which never change the server reached)."""
        scheme, sep, rest = endpoint.strip().rstrip("/").partition("://")
        host, slash, path = rest.partition("/")
        normalised = f"{scheme.lower()}{sep}{host.lower()}{slash}{path}" if sep else endpoint.strip().rstrip("/")
        return cls(endpoint=normalised, owners=tuple(sorted(set(owners))), repo_types=sorted_types(repo_types))

    @property
    def key(self) -> str:
        """16 hex digits naming the scope in file names and artifact keys (a sha256 prefix: 64 bits make
        an accidental clash between one user's scopes practically impossible). A models-only scope is
        keyed as before repo types existed, so its earlier snapshots keep their pointer and baseline."""
        fields: dict[str, object] = {"endpoint": self.endpoint, "owners": list(self.owners)}
        if self.repo_types != MODELS_ONLY:
            fields["repo_types"] = list(self.repo_types)
        canonical = json.dumps(fields, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    @property
    def label(self) -> str:
        """The scope as a person reads it: `alice, team @ https://www.modelscope.cn` for every repo type,
        with `, models only` (or `, datasets only`) when it covers one."""
        where = f"{', '.join(self.owners)} @ {self.endpoint}"
        if self.repo_types == REPO_TYPES:
            return where
        return f"{where}, {' and '.join(PLURAL[t] for t in self.repo_types)} only"

    def same_owners(self, other: Scope) -> bool:
        """True when `other` lists the same owners on the same endpoint (whatever its repo types)."""
        return (self.endpoint, self.owners) == (other.endpoint, other.owners)

    def baseline_scopes(self) -> tuple[Scope, ...]:
        """The scopes whose latest snapshot this one compares with, in order: its own, then, for a scope
        of models and more, the models-only scope (every snapshot written before repo types).

        Example:
            >>> [s.repo_types for s in Scope.of("https://hub", ["a"], ["model", "dataset"]).baseline_scopes()]
            [('model', 'dataset'), ('model',)]
        """
        if "model" in self.repo_types and self.repo_types != MODELS_ONLY:
            return (self, self.model_copy(update={"repo_types": MODELS_ONLY}))
        return (self,)
