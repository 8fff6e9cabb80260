"""What one run of the tier saw: checks (seen vs expected), step timings and screenshots.

A failed check never stops the run: every check is recorded and the summary lists them all, so one
run reports every problem at once. A step that raises is recorded as a failed check of its own, and
the steps after it that need its result say they were skipped.
"""

from __future__ import annotations

import contextlib
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Check:
    """One assertion: what the page showed and what was expected of it.

    Attributes:
        name: What is checked, e.g. "form: field order".
        passed: Whether `seen` met `expected`.
        seen: What the browser (or the API) showed, verbatim where it is text.
        expected: The rule `seen` was held to.
    """

    name: str
    passed: bool
    seen: str
    expected: str


@dataclass
class Step:
    """One timed step of the scenario.

    Attributes:
        name: What the step does, e.g. "open the run form".
        seconds: Wall time of the step.
        error: Why the step stopped early, if it did.
    """

    name: str
    seconds: float
    error: str | None = None


@dataclass
class Report:
    """The run's checks, steps and screenshots, printed as one summary at the end.

    Attributes:
        shots_dir: Where screenshots are saved (`NN-name.png`, numbered in the order taken).
        checks: Every check recorded, in order.
        steps: Every step timed, in order.
        shots: Every screenshot saved, in order.
        notes: Observations that are not checks (e.g. labels outside the checked sections).
        secrets: Values never printed: each is replaced by "[hub token]" in everything recorded.
    """

    shots_dir: Path
    secrets: tuple[str, ...] = ()
    checks: list[Check] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    shots: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def redact(self, text: object) -> str:
        """`text` as a string with every secret replaced (a page that leaked the token must not leak it here)."""
        out = str(text)
        for secret in self.secrets:
            out = out.replace(secret, "[hub token]")
        return out

    def check(self, name: str, passed: bool, seen: object, expected: str) -> bool:
        """Record a check, print its verdict at once (progress on a slow machine), return `passed`."""
        entry = Check(name, bool(passed), self.redact(seen), self.redact(expected))
        self.checks.append(entry)
        print(f"  [{'PASS' if entry.passed else 'FAIL'}] {name}: saw {entry.seen}", flush=True)
        return entry.passed

    def note(self, text: str) -> None:
        """Record (and print) an observation that is not held to any rule."""
        self.notes.append(self.redact(text))
        print(f"  [note] {self.notes[-1]}", flush=True)

    def shot_path(self, name: str) -> Path:
        """The next screenshot's path (the caller saves it), registered in the report."""
        path = self.shots_dir / f"{len(self.shots) + 1:02d}-{name}.png"
        self.shots.append(path)
        return path

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        """Time a step; an exception ends the step (not the run) and is recorded as a failed check."""
        print(f"step: {name}", flush=True)
        start = time.monotonic()
        error = None
        try:
            yield
        except Exception as exc:  # the run goes on: the next steps report what they can still see
            error = self.redact(f"{type(exc).__name__}: {exc}".strip())
            self.check(f"step '{name}' finished", False, error[:2000], "the step runs to its end")
            print(self.redact(traceback.format_exc()), flush=True)
        self.steps.append(Step(name, time.monotonic() - start, error))

    def skip(self, name: str, reason: str) -> None:
        """Record a check that could not run because an earlier step failed."""
        self.check(name, False, f"skipped: {reason}", "an earlier step to provide its input")

    @property
    def failed(self) -> list[Check]:
        """The checks that did not pass."""
        return [c for c in self.checks if not c.passed]

    def summary(self) -> str:
        """Every check with seen/expected, the step timings, the notes and the screenshot list."""
        lines = ["", "=" * 100, f"UI tier: {len(self.checks) - len(self.failed)} of {len(self.checks)} checks passed"]
        for entry in self.checks:
            lines.append(f"[{'PASS' if entry.passed else 'FAIL'}] {entry.name}")
            lines.append(f"    seen:     {entry.seen}")
            if not entry.passed:
                lines.append(f"    expected: {entry.expected}")
        lines += ["", "notes:"] + [f"  - {note}" for note in self.notes]
        lines += ["", "timings:"]
        for step in self.steps:
            stopped = f"  (stopped: {step.error[:120]})" if step.error else ""
            lines.append(f"  {step.seconds:7.2f}s  {step.name}{stopped}")
        lines += [f"  {sum(s.seconds for s in self.steps):7.2f}s  total", "", f"screenshots in {self.shots_dir}:"]
        lines += [f"  {path.name}" + ("" if path.exists() else "  (not taken)") for path in self.shots]
        return "\n".join(lines)
