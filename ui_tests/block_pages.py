"""The ModelScope Credentials block in the UI: its catalog card, its block type page, and the saved block.

The card and the page are checked against the block class itself (`get_description()`,
`_documentation_url`, `_logo_url`): what the code declares is what a user should see.
"""

from __future__ import annotations

from typing import Any

import requests
from playwright.sync_api import Locator, Page

from hub_tasks import ModelScopeCredentials
from ui_tests.report import Report

LOGO_STATE = "img => ({src: img.getAttribute('src'), loaded: img.complete && img.naturalWidth > 0})"


def _logo(card: Locator) -> dict[str, Any] | None:
    """The card's image: its `src` and whether it decoded (naturalWidth > 0), or None without one."""
    images = card.locator("img")
    return images.first.evaluate(LOGO_STATE) if images.count() else None


def _why_not_loaded(src: str | None) -> str:
    """Why a logo did not load: no URL at all, or what fetching the URL from this machine answers."""
    if not src:
        return "the image has no src (the block type has no logo_url)"
    try:
        response = requests.get(src, timeout=5)
    except requests.RequestException as exc:
        return f"{src} is unreachable from this machine ({type(exc).__name__})"
    return f"{src} answered HTTP {response.status_code}, {response.headers.get('content-type')}"


def check_logo(report: Report, where: str, logo: dict[str, Any] | None) -> None:
    """The logo the class declares is the image shown, and it loaded; a class that declares none gets no
    image fetched (the UI then draws an empty placeholder square)."""
    declared = ModelScopeCredentials._logo_url
    src = logo.get("src") if logo else None
    loaded = bool(logo and logo.get("loaded"))
    if declared is None:
        shown = "no image" if logo is None else f"an image with src {src!r} (loaded: {loaded})"
        report.check(
            f"{where}: logo",
            not src,
            f"the class declares no logo (_logo_url None); the page shows {shown}",
            "no remote image fetched when the class declares none",
        )
        return
    seen = f"src {src!r}, loaded: {loaded}" + ("" if loaded else f" ({_why_not_loaded(src)})")
    report.check(f"{where}: logo loads", loaded and src == str(declared), seen, f"{declared}, decoded")


def open_catalog_card(page: Page, url: str) -> Locator:
    """The catalog page's card of the block type, once rendered (bounded wait)."""
    page.goto(url)
    name = ModelScopeCredentials.get_block_type_name()
    card = page.locator('[data-slot="card"]', has=page.get_by_role("heading", name=name, exact=True)).first
    card.wait_for()
    card.scroll_into_view_if_needed()
    return card


def check_catalog_card(report: Report, card: Locator) -> None:
    """The card shows the class's description and its logo."""
    description = card.locator("p").first.inner_text().strip()
    report.check(
        "catalog card: description",
        description == ModelScopeCredentials.get_description(),
        repr(description),
        repr(ModelScopeCredentials.get_description()),
    )
    check_logo(report, "catalog card", _logo(card))


def open_type_page(page: Page, url: str) -> Locator:
    """The block type's own page (description, docs link, example), once rendered (bounded wait)."""
    page.goto(url)
    name = ModelScopeCredentials.get_block_type_name()
    card = page.locator('[data-slot="card"]', has=page.get_by_role("heading", name=name, exact=True)).first
    card.locator(".cm-content").first.wait_for()  # the example's editor renders last
    return card


def check_type_page(report: Report, card: Locator) -> None:
    """The page shows the class's description, its documentation link, its logo and an example."""
    paragraph = card.locator("p").first
    docs = paragraph.get_by_role("link")
    href = docs.first.get_attribute("href") if docs.count() else None
    text = paragraph.inner_text().strip()
    description = ModelScopeCredentials.get_description()
    report.check("block type page: description", text.startswith(description or "\0"), repr(text), repr(description))
    declared = ModelScopeCredentials._documentation_url
    report.check(
        "block type page: docs link",
        href == str(declared),
        f"{docs.first.inner_text() if docs.count() else 'no link'!r} -> {href!r}",
        f"the class's _documentation_url {declared!r}",
    )
    check_logo(report, "block type page", _logo(card))
    report.note(f"block type page example: {card.locator('.cm-content').first.inner_text()!r}")


def open_block(page: Page, url: str, name: str) -> str:
    """The saved block's page, once it shows the block's name; returns its main text."""
    page.goto(url)
    page.get_by_text(name, exact=True).first.wait_for()
    return page.inner_text("main")
