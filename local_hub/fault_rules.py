"""Fault rules: what a rule matches, its effect, and the seeded table that decides which fires.

A rule matches requests by route name (a glob over the names in `app.py`), by a regex on the path,
and by method; it fires at its `rate`, and then has one effect:

- `status`: answer with `status` (and `Retry-After` when `retry_after` is set) in the hub's envelope;
- `latency`: wait `seconds`, then serve normally;
- `drop`: read the request, then close the connection without answering;
- `drop_mid_body`: close the connection half-way through the request body (uploads) or, for
  requests without a body, half-way through the response body (downloads; with `seconds`, the
  half-sent response stalls that long before the connection closes);
- `apply_then_fail`: serve the request for real (a commit lands), then answer `status`, or close
  the connection (`then: "drop"`), or hang for `seconds` and close (`then: "hang"`);
- `slow_body`: stretch the response body over `seconds`;
- `corrupt_body`: flip the first byte of the response body (same length, wrong sha256);
- `hang`: accept the request and never answer (until `seconds` pass or the client goes away);
- `rendezvous`: hold each request the rule fires for until `count` of them are waiting together (or
  `seconds` pass), then serve them all: the way to make two clients' requests certainly overlap, where a
  fixed latency would only make it likely.

Several rules may match one request: one random draw per request picks at most one of them by
their cumulative rates, so "20 % 5xx, 10 % 429, 5 % drops" means exactly that.
"""

from __future__ import annotations

import fnmatch
import random
import re
import threading
from dataclasses import asdict, dataclass, field
from typing import Any

from local_hub.errors import BadRequest

EFFECTS = (
    "status", "latency", "drop", "drop_mid_body", "apply_then_fail", "slow_body", "corrupt_body", "hang", "rendezvous",
)  # fmt: skip


@dataclass
class FaultRule:
    """One row of the fault table (see the module docstring for the effects)."""

    effect: str
    rate: float = 1.0
    route: str | None = None
    path: str | None = None
    methods: list[str] | None = None
    status: int = 503
    retry_after: float | None = None
    seconds: float = 0.0
    then: str = "status"
    times: int | None = None
    after: int = 0
    count: int = 2
    matched: int = field(default=0)
    fired: int = field(default=0)

    @classmethod
    def from_dict(cls, raw: Any) -> FaultRule:
        """Validate a rule from JSON.

        Raises:
            BadRequest: Unknown keys or effect, a rate outside 0..1, a bad regex.
        """
        if not isinstance(raw, dict):
            raise BadRequest("each fault rule must be a JSON object")
        known = {f for f in cls.__dataclass_fields__ if f not in ("matched", "fired")}
        unknown = set(raw) - known
        if unknown:
            raise BadRequest(f"unknown fault rule keys {sorted(unknown)}; known: {sorted(known)}")
        try:
            rule = cls(**raw)
        except TypeError as exc:
            raise BadRequest(f"bad fault rule: {exc}") from exc
        if rule.effect not in EFFECTS:
            raise BadRequest(f"unknown fault effect {rule.effect!r}; use one of {', '.join(EFFECTS)}")
        if not 0.0 <= float(rule.rate) <= 1.0:
            raise BadRequest("fault rate must be between 0 and 1")
        if rule.then not in ("status", "drop", "hang"):
            raise BadRequest("apply_then_fail 'then' must be status, drop or hang")
        if rule.path is not None:
            try:
                re.compile(rule.path)
            except re.error as exc:
                raise BadRequest(f"bad fault path regex: {exc}") from exc
        rule.methods = [m.upper() for m in rule.methods] if rule.methods else None
        return rule

    def applies_to(self, route: str, path: str, method: str) -> bool:
        """Whether this rule's route, path and method filters accept the request."""
        if self.methods and method not in self.methods:
            return False
        if self.route is not None and not fnmatch.fnmatchcase(route, self.route):
            return False
        return self.path is None or re.search(self.path, path) is not None


class FaultTable:
    """The active rules, their counters, and the seeded random source that decides firings."""

    def __init__(self, seed: int | None = None) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        self.rules: list[FaultRule] = []

    def configure(self, rules: list[Any], seed: int | None = None) -> None:
        """Replace every rule (validated first, so a bad table changes nothing)."""
        parsed = [FaultRule.from_dict(r) for r in rules]
        with self._lock:
            self.rules = parsed
            if seed is not None:
                self._rng = random.Random(seed)

    def clear(self) -> None:
        """Remove every rule."""
        with self._lock:
            self.rules = []

    def pick(self, route: str, path: str, method: str) -> FaultRule | None:
        """The rule that fires for this request, if any (one draw, cumulative rates)."""
        with self._lock:
            live = []
            for rule in self.rules:
                if not rule.applies_to(route, path, method):
                    continue
                rule.matched += 1
                if rule.matched <= rule.after or (rule.times is not None and rule.fired >= rule.times):
                    continue
                live.append(rule)
            if not live:
                return None
            draw, total = self._rng.random(), 0.0
            for rule in live:
                total += rule.rate
                if draw < total:
                    rule.fired += 1
                    return rule
            return None

    def describe(self) -> list[dict]:
        """Rules with their matched/fired counters, JSON-ready."""
        with self._lock:
            return [asdict(r) for r in self.rules]
