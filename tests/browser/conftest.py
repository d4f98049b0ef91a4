"""Browser fixtures: one Debian Chromium per session, a fresh French context and page per test."""

import shutil
from pathlib import Path

import pytest

from tests.browser import CHROMIUM_MISSING, PLAYWRIGHT_MISSING, unavailable
from tests.browser.axe import require_axe

CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]
# Long enough for a slow CI machine, short enough that a missing element fails fast.
TIMEOUT_MS = 10_000


def chromium_path() -> str | None:
    """Debian's Chromium: Playwright must never download a browser of its own."""
    if Path("/usr/bin/chromium").is_file():
        return "/usr/bin/chromium"
    return shutil.which("chromium")


@pytest.fixture(scope="session")
def browser():
    executable = chromium_path()
    if executable is None:
        unavailable(CHROMIUM_MISSING)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable(PLAYWRIGHT_MISSING)
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_FLAGS)
        try:
            yield browser
        finally:
            browser.close()
    finally:
        playwright.stop()


@pytest.fixture
def page(browser, live_server):
    """A page in a context of its own (no cookies shared between tests), aimed at the live server."""
    require_axe()  # every journey checks its pages: find out before walking through them
    context = browser.new_context(locale="fr-FR", timezone_id="Europe/Paris", base_url=live_server)
    context.set_default_timeout(TIMEOUT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()
