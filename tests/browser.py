"""Launching Debian's chromium through Playwright for the browser tests.

Never downloads a browser. Where /usr/bin/chromium is missing the browser
tests skip, unless ONY_REQUIRE_BROWSER is set (CI sets it), where they fail.
A test whose pages set off a Content-Security-Policy violation fails.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connections

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def page() -> Iterator:
    if not CHROMIUM.exists():
        if os.environ.get("ONY_REQUIRE_BROWSER"):
            pytest.fail(f"{CHROMIUM} is missing (apt-get install chromium)")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the Django ORM,
    # which the test also uses here, would otherwise refuse to run beside it.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
            )
            context = browser.new_context()
            context.set_default_timeout(15_000)
            page = context.new_page()
            refused: list[str] = []  # what the Content-Security-Policy blocked
            page.on(
                "console",
                lambda message: (
                    refused.append(message.text)
                    if "Content Security Policy" in message.text
                    else None
                ),
            )
            yield page
            browser.close()
            assert refused == [], f"the page broke its Content-Security-Policy: {refused}"
            # ORM calls made beside Playwright's event loop got a connection of
            # their own; close it, or the test database cannot be dropped.
            connections.close_all()
    finally:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


#: The two widths every page is looked at: a laptop, and a phone (an SMS link opens there).
WIDTHS = (1280, 390)


def screenshots(page: Any, folder: Path, name: str) -> list[Path]:
    """Full-page screenshots of ``page`` at each of ``WIDTHS``, saved in ``folder``.

    ``folder`` is the test's temporary folder; set ONY_SCREENSHOTS to a folder
    to keep a copy there for a look after the run.
    """
    saved = []
    keep = os.environ.get("ONY_SCREENSHOTS")
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        path = folder / f"{name}-{width}.png"
        page.screenshot(path=str(path), full_page=True)
        if keep:
            Path(keep).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(Path(keep) / path.name), full_page=True)
        saved.append(path)
    page.set_viewport_size({"width": WIDTHS[0], "height": 900})
    return saved


def scrolls_sideways(page: Any) -> bool:
    """Whether the page is wider than the window (a phone would scroll it sideways)."""
    return bool(page.evaluate("document.documentElement.scrollWidth > window.innerWidth"))
