"""An admin in Chromium: an empty audit log, a budget typed the French way after a refused one, then the
log saying what was done; every page is checked for accessibility."""

import re

import pytest

from tests.browser import PLAYWRIGHT_MISSING, unavailable
from tests.browser.axe import check_accessibility
from tests.consultations.test_views import PHASE_FIELDS
from tests.factories import PASSWORD, make_user

try:
    from playwright.sync_api import expect
except ImportError:
    unavailable(PLAYWRIGHT_MISSING, module_level=True)

pytestmark = pytest.mark.browser


def as_datetime_local(typed: str) -> str:
    """What a datetime-local input takes: 2027-01-01T09:00 for the form's 01/01/2027 09:00."""
    found = re.fullmatch(r"(\d\d)/(\d\d)/(\d{4}) (\d\d:\d\d)", typed)
    return f"{found[3]}-{found[2]}-{found[1]}T{found[4]}" if found else typed


def test_an_admin_types_a_budget_the_french_way_and_reads_in_the_log_what_was_done(page, live_app):
    with live_app.app_context():
        make_user("admin@example.org", name="Camille Roux", is_admin=True)
    main = page.get_by_role("main")

    page.goto("/compte/connexion")
    page.get_by_label("Adresse électronique").fill("admin@example.org")
    page.get_by_label("Mot de passe").fill(PASSWORD)
    main.get_by_role("button", name="Se connecter").click()
    page.goto("/admin/journal")
    expect(main).to_contain_text("Le journal est vide")
    check_accessibility(page)

    page.goto("/admin/consultations/nouvelle")
    page.get_by_label("Titre").fill("Besoins numériques 2027")
    page.get_by_label("Identifiant d'adresse").fill("besoins-2027")
    page.get_by_label("Enveloppe budgétaire").fill("NaN")
    page.get_by_text("Commune", exact=True).click()
    for kind, (start, end) in PHASE_FIELDS.items():
        page.locator(f"#{kind}_starts_at").fill(as_datetime_local(start))
        page.locator(f"#{kind}_ends_at").fill(as_datetime_local(end))
    expect(page.locator("#vote_limit")).to_have_accessible_description(
        re.compile("Dans Decidim : vote_limit"))
    check_accessibility(page)
    page.get_by_role("button", name="Enregistrer", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("Indiquez un montant en euros positif ou nul")
    expect(page.get_by_label("Enveloppe budgétaire")).to_have_attribute("aria-invalid", "true")
    check_accessibility(page)

    page.get_by_label("Enveloppe budgétaire").fill("12 000 000 €")
    page.get_by_role("button", name="Enregistrer", exact=True).click()
    expect(main.get_by_role("status")).to_have_text("Consultation enregistrée.")
    expect(page.get_by_label("Enveloppe budgétaire")).to_have_value("12 000 000")

    page.goto("/admin/journal")
    expect(main).to_contain_text("Camille Roux a créé la consultation « Besoins numériques 2027 »")
    expect(main).to_contain_text(re.compile(r"Enveloppe budgétaire : 12\s000\s000 €"))
    check_accessibility(page)
    main.get_by_role("link", name="Besoins numériques 2027").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Besoins numériques 2027")
