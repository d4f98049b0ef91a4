"""The page layout in Chromium: the legal pages from the footer, and the menu on a phone without JavaScript,
reached and opened with the keyboard; every page is checked for accessibility."""

import re

import pytest

from app.consultations.models import PhaseKind
from tests.browser import PLAYWRIGHT_MISSING, unavailable
from tests.browser.axe import check_accessibility
from tests.factories import make_consultation

try:
    from playwright.sync_api import expect
except ImportError:
    unavailable(PLAYWRIGHT_MISSING, module_level=True)

pytestmark = pytest.mark.browser


def test_a_visitor_reads_the_accessibility_statement_from_the_footer(page, live_app):
    errors = []
    page.on("pageerror", lambda error: errors.append(error))  # DSFR's script runs on a header it did not build
    page.goto("/")
    page.get_by_role("contentinfo").get_by_role("link", name="Accessibilité : non conforme").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Déclaration d'accessibilité")
    expect(page.get_by_role("navigation", name="Vous êtes ici :")).to_contain_text("Accueil")
    expect(page.get_by_role("heading", name="Voies de recours")).to_be_visible()
    check_accessibility(page)
    page.get_by_role("contentinfo").get_by_role("link", name="Mentions légales").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mentions légales")
    check_accessibility(page)
    assert errors == []


def phone(browser, live_server, *, javascript: bool):
    """A page 375 pixels wide, as on a small phone."""
    return browser.new_context(locale="fr-FR", timezone_id="Europe/Paris", base_url=live_server,
                               viewport={"width": 375, "height": 740}, java_script_enabled=javascript)


def test_on_a_phone_the_folded_and_the_open_menu_pass_axe(browser, live_server, live_app):
    context = phone(browser, live_server, javascript=True)  # axe itself needs JavaScript
    try:
        page = context.new_page()
        page.goto("/donnees-personnelles")
        check_accessibility(page)
        menu = page.get_by_role("navigation", name="Menu principal")
        menu.locator("summary").click()
        expect(menu.get_by_role("link", name="Se connecter")).to_be_visible()
        check_accessibility(page)
    finally:
        context.close()


def test_on_a_phone_without_javascript_the_menu_opens_with_the_keyboard(browser, live_server, live_app):
    with live_app.app_context():
        slug = make_consultation(PhaseKind.COLLECT).slug
    context = phone(browser, live_server, javascript=False)
    try:
        page = context.new_page()
        page.goto(f"/consultations/{slug}/propositions")
        menu = page.get_by_role("navigation", name="Menu principal")
        expect(menu.get_by_role("link", name="Collectivités")).to_be_hidden()  # folded, out of the way
        trail = page.get_by_role("navigation", name="Vous êtes ici :")
        expect(trail.get_by_role("link", name="Accueil")).to_be_visible()  # unfolded, though DSFR folds it by script

        page.get_by_role("link", name="Menu", exact=True).focus()  # the skip link to the menu
        page.keyboard.press("Enter")
        page.keyboard.press("Tab")
        expect(menu.locator("summary")).to_be_focused()
        page.keyboard.press("Enter")
        expect(menu.get_by_role("link", name="Collectivités")).to_be_visible()

        page.keyboard.press("Tab")  # the first link, then the second
        page.keyboard.press("Tab")
        expect(menu.get_by_role("link", name="Collectivités")).to_be_focused()
        page.keyboard.press("Enter")
        expect(page).to_have_url(re.compile(r"/collectivites/$"))
        expect(page.get_by_role("heading", level=1)).to_have_text("Annuaire des collectivités")
    finally:
        context.close()
