"""The browser: Debian's chromium driven by Playwright, screenshots, and the watch for a leaked token.

Playwright is told where chromium lives (`executable_path`), so no browser build is ever downloaded.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

from ui_tests.report import Report

CHROMIUM = Path("/usr/bin/chromium")
# Every wait on a page is bounded by this: a broken page fails in a minute, not at a global timeout.
PAGE_TIMEOUT_MS = 60_000
VIEWPORT = {"width": 1400, "height": 1000}


@contextlib.contextmanager
def open_page(executable: Path = CHROMIUM) -> Iterator[Page]:
    """A fresh headless chromium page with bounded default timeouts; the browser is closed on exit.

    Args:
        executable: The chromium binary (Debian's package installs /usr/bin/chromium).

    Yields:
        A page of a new browser context (no cookies, so the UI starts from its defaults).
    """
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(executable), headless=True)
        try:
            context = browser.new_context(viewport=VIEWPORT)
            context.set_default_timeout(PAGE_TIMEOUT_MS)
            context.set_default_navigation_timeout(PAGE_TIMEOUT_MS)
            yield context.new_page()
        finally:
            browser.close()


@dataclass
class TokenWatch:
    """Scans every captured page for the hub token; reports page names only, never the token.

    Attributes:
        secrets: The values no page may contain.
        scanned: Names of the pages scanned, in order.
        leaked: Names of the pages whose text or HTML contained a secret.
    """

    secrets: tuple[str, ...]
    scanned: list[str] = field(default_factory=list)
    leaked: list[str] = field(default_factory=list)

    def scan(self, page: Page, name: str) -> None:
        """Search the page's visible text and its HTML (attributes, hidden inputs) for a secret."""
        self.scanned.append(name)
        text = page.inner_text("body") + page.content()
        if any(secret in text for secret in self.secrets):
            self.leaked.append(name)

    def record(self, report: Report) -> None:
        """Record one check over every page scanned."""
        seen = f"token found on {self.leaked}" if self.leaked else f"token absent from all {len(self.scanned)} pages"
        report.check(
            "no page shows the hub token",
            bool(self.scanned) and not self.leaked,
            f"{seen} (scanned: {', '.join(self.scanned)})",
            "the block's token in no page's text or HTML",
        )


def settle(page: Page) -> None:
    """Wait (bounded) until the page shows no loading skeleton (`.animate-pulse`) any more."""
    page.wait_for_function("() => !document.querySelector('.animate-pulse')", timeout=PAGE_TIMEOUT_MS)


def capture(page: Page, report: Report, watch: TokenWatch, name: str, *, full_page: bool = True) -> None:
    """Save a screenshot (the whole page, or what is in view) as the report's next shot, and scan the
    page for the token."""
    page.screenshot(path=report.shot_path(name), full_page=full_page)
    watch.scan(page, name)
