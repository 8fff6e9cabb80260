"""The ModelScope Credentials block in either UI: its catalog card, its block type page, the saved block's
page and its edit page.

Held to the literals of `ui_tests.expected` (the description, the documentation link, the field labels and
help texts), never to the block class's own attributes.
"""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Locator, Page

from ui_tests.browser import settle
from ui_tests.expected import BLOCK_DESCRIPTION, BLOCK_TYPE_NAME, DOCS_URL
from ui_tests.form_checks import words
from ui_tests.report import Report

LOGO_STATE = "img => ({src: img.getAttribute('src'), width: img.naturalWidth})"
# The element that holds the block type's card on the catalog and on the type's own page.
CARD = {"v2": '[data-slot="card"]', "v1": ".p-card"}


def _card(page: Page, ui: str) -> Locator:
    """The first card whose heading is the block type's name."""
    return page.locator(CARD[ui], has=page.get_by_role("heading", name=BLOCK_TYPE_NAME, exact=True)).first


def check_logo(report: Report, where: str, card: Locator) -> None:
    """The card shows the block type's logo, and it decoded (natural width > 0)."""
    images = card.locator("img")
    logo: dict[str, Any] | None = images.first.evaluate(LOGO_STATE) if images.count() else None
    report.check(
        f"{where}: logo shown",
        bool(logo and logo["width"]),
        "no image in the card" if logo is None else f"src {logo['src']!r}, natural width {logo['width']}",
        "an image beside the name that decoded",
    )


def open_catalog_card(page: Page, url: str, ui: str) -> Locator:
    """The catalog page's card of the block type, once rendered (bounded wait), scrolled into view."""
    page.goto(url)
    card = _card(page, ui)
    card.wait_for()
    settle(page)
    card.scroll_into_view_if_needed()
    return card


def check_catalog_card(report: Report, where: str, card: Locator) -> None:
    """The card shows the catalog description and the logo."""
    text = words(card.inner_text())
    report.check(f"{where}: description", BLOCK_DESCRIPTION in text, repr(text), repr(BLOCK_DESCRIPTION))
    check_logo(report, where, card)


def open_type_page(page: Page, url: str, ui: str) -> Locator:
    """The block type's own page (description, docs link, example), once its example's editor rendered."""
    page.goto(url)
    card = _card(page, ui)
    card.wait_for()
    settle(page)
    return card


def check_type_page(report: Report, where: str, card: Locator) -> None:
    """The page shows the description, a documentation link to the README's section, and the logo."""
    text = words(card.inner_text())
    report.check(f"{where}: description", BLOCK_DESCRIPTION in text, repr(text[:300]), repr(BLOCK_DESCRIPTION))
    links = {words(a.inner_text()): a.get_attribute("href") for a in card.locator("a").all()}
    report.check(
        f"{where}: docs link",
        DOCS_URL in links.values(),
        f"links: {links}",
        f"a link to {DOCS_URL}",
    )
    check_logo(report, where, card)


def open_block(page: Page, url: str, name: str) -> str:
    """The saved block's page, once it shows the block's name; returns its text."""
    page.goto(url)
    page.get_by_text(name, exact=True).first.wait_for()
    settle(page)
    return page.inner_text("body")
