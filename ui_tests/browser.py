"""The browser: Debian's chromium driven by Playwright, screenshots, and what every opened page is checked
for (a leaked token, a broken image).

Playwright is told where chromium lives (`executable_path`), so no browser build is ever downloaded.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import Locator, Page, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

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
        """Search the page's visible text, its HTML (attributes, hidden inputs) and the values of its text
        boxes (a typed or loaded value is a property, not in the HTML) for a secret."""
        self.scanned.append(name)
        values = page.evaluate("() => [...document.querySelectorAll('input, textarea')].map(e => e.value)")
        text = page.inner_text("body") + page.content() + "\n".join(values)
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


# Every <img> a person can see, once loading has ended: a broken one (no src, a failed fetch, bytes that do not
# decode) has a natural width of 0.
READ_IMAGES = """root => [...root.querySelectorAll('img')].map(img => {
  const box = img.getBoundingClientRect();
  return {src: img.getAttribute('src'), alt: img.getAttribute('alt'), width: img.naturalWidth,
          height: img.naturalHeight, visible: box.width > 0 && box.height > 0 && img.checkVisibility()};
})"""
IMAGES_DONE = "() => [...document.images].every(img => img.complete)"


def broken_images(page: Page, within: Locator | None = None) -> tuple[list[dict], list[dict]]:
    """(broken, all) visible images of the page (or of the element `within`), after a bounded wait for every
    image of the page to finish loading."""
    with contextlib.suppress(PlaywrightTimeoutError):  # an image still loading then counts as broken
        page.wait_for_function(IMAGES_DONE, timeout=15_000)
    found = (
        within.evaluate(f"root => ({READ_IMAGES})(root)")
        if within
        else page.evaluate(f"() => ({READ_IMAGES})(document)")
    )
    shown = [image for image in found if image["visible"]]
    return [image for image in shown if not image["width"]], shown


def check_images(page: Page, report: Report, name: str, within: Locator | None = None) -> None:
    """Record whether page `name` (or its element `within`) shows any broken image (a visible <img> whose
    natural width is 0)."""
    broken, shown = broken_images(page, within)
    seen = ", ".join(f"{i['src']!r} (alt {i['alt']!r}) {i['width']}x{i['height']}" for i in shown) or "no images"
    report.check(
        f"{name}: no broken image",
        not broken,
        f"{len(broken)} broken of {len(shown)} visible: {seen}",
        "every visible image decoded (natural width > 0)",
    )


def settle(page: Page) -> None:
    """Wait (bounded) until the page shows no loading skeleton (`.animate-pulse`) any more."""
    page.wait_for_function("() => !document.querySelector('.animate-pulse')", timeout=PAGE_TIMEOUT_MS)


def capture(
    page: Page,
    report: Report,
    watch: TokenWatch,
    name: str,
    *,
    full_page: bool = True,
    images_in: Locator | None = None,
) -> None:
    """Check the page (or its element `images_in`) for broken images, save a screenshot (the whole page, or
    what is in view) as the report's next shot, and scan the page for the token."""
    check_images(page, report, name, images_in)
    page.screenshot(path=report.shot_path(re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")), full_page=full_page)
    watch.scan(page, name)
