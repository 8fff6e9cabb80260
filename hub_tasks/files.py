"""Local-file primitives shared by the push and download engines: path patterns and streaming sha256.

A leaf: it imports only `errors`, so both engines use one copy of each rule.
"""

from __future__ import annotations

import fnmatch
import functools
import hashlib
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from hub_tasks.errors import InvalidParameter

BUFFER = 8 << 20  # 8 MiB reads: hashlib releases the GIL, so threads hash in parallel


def matches(rel: str, patterns: Iterable[str]) -> bool:
    """True when a glob matches the POSIX path `rel` or its last component.

    Example:
        >>> matches("logs/run.log", ["*.log"]), matches("a/b.bin", ["a/*"]), matches("c.txt", ["*.bin"])
        (True, True, False)
    """
    compiled = _one_regex(tuple(patterns))
    if compiled is None:
        return False
    return compiled.match(rel) is not None or compiled.match(rel.rsplit("/", 1)[-1]) is not None


@functools.lru_cache(maxsize=256)
def _one_regex(patterns: tuple[str, ...]) -> re.Pattern[str] | None:
    """The globs as one compiled alternation (`fnmatchcase` semantics): a scan asks once per file, and
    20,000 files times a dozen `fnmatchcase` calls each took seconds."""
    if not patterns:
        return None
    return re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in patterns))


def _string_list(patterns: str | Iterable[str] | None, what: str, kind: str) -> list[str]:
    """One non-empty string or an iterable of them as a list; anything else names `what` and `kind`."""
    if patterns is None:
        return []
    if isinstance(patterns, str):
        return [patterns]
    result = list(patterns) if isinstance(patterns, Iterable) else [patterns]  # e.g. 123: refused below
    if not all(isinstance(p, str) and p for p in result):
        raise InvalidParameter(f"{what} must be {kind}, got {patterns!r}")
    return result


def normalize_patterns(patterns: str | Iterable[str] | None, what: str = "ignore_file_pattern") -> list[str]:
    """One glob or a list of globs as a list; anything else is an `InvalidParameter`.

    Example:
        >>> normalize_patterns("*.log"), normalize_patterns(None), normalize_patterns(("a", "b/*"))
        (['*.log'], [], ['a', 'b/*'])
    """
    return _string_list(patterns, what, "a glob string or a list of glob strings")


def normalize_regexes(patterns: str | Iterable[str] | None, what: str = "ignore_file_pattern") -> list[str]:
    """One regular expression or a list of them, each compiled once to refuse a bad one early.

    Example:
        >>> normalize_regexes(r"checkpoint-\\d+"), normalize_regexes(None)
        (['checkpoint-\\\\d+'], [])
    """
    result = _string_list(patterns, what, "a regular expression or a list of them")
    for pattern in result:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise InvalidParameter(
                f"{what} {pattern!r} is not a valid regular expression ({exc}); for globs such as '*.log' "
                "use ignore_patterns"
            ) from None
    return result


@dataclass(frozen=True)
class IgnoreRules:
    """Which relative paths a publish leaves alone: the seed's regular expressions and globs.

    `ignore_file_pattern` (the seed's name) holds regular expressions, searched (`re.search`) in the
    POSIX path relative to the folder, so the seed's top-level names (`r"checkpoint-\\d+"`) still
    match; `ignore_patterns` holds globs, matched against the path or its last component, as SDK
    1.40's `upload_folder` takes them.

    Example:
        >>> rules = IgnoreRules(regexes=(r"checkpoint-\\d+",), globs=("*.log",))
        >>> rules("checkpoint-12/w.bin"), rules("logs/run.log"), rules("model.bin")
        (True, True, False)
    """

    regexes: tuple[str, ...] = ()
    globs: tuple[str, ...] = ()

    @classmethod
    def parse(
        cls, ignore_file_pattern: str | Iterable[str] | None, ignore_patterns: str | Iterable[str] | None
    ) -> IgnoreRules:
        """The rules from the two arguments as callers pass them, each checked (`InvalidParameter`)."""
        return cls(
            tuple(normalize_regexes(ignore_file_pattern)), tuple(normalize_patterns(ignore_patterns, "ignore_patterns"))
        )

    def __call__(self, rel: str) -> bool:
        return any(re.search(p, rel) for p in self.regexes) or matches(rel, self.globs)


def sha256_file(path: str, on_bytes: Callable[[int], None] | None = None) -> str:
    """Hex sha256 of a file, read in 8 MiB pieces; `on_bytes(n)` after each piece.

    Example:
        >>> import tempfile
        >>> with tempfile.NamedTemporaryFile(delete=False) as f:
        ...     _ = f.write(b"hello")
        >>> sha256_file(f.name)[:12]
        '2cf24dba5fb0'
    """
    digest = hashlib.sha256()
    with open(path, "rb", buffering=0) as handle:
        # No bigger than the file: zero-filling 8 MiB per file cost 20 s over 20,000 small files.
        buffer = bytearray(min(BUFFER, os.fstat(handle.fileno()).st_size + 1))
        view = memoryview(buffer)
        while n := handle.readinto(buffer):
            digest.update(view[:n])
            if on_bytes:
                on_bytes(n)
    return digest.hexdigest()
