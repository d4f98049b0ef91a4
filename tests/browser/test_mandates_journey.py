"""Aidants in Chromium: an elected official grants a mandate from their account, the aidant supports two
proposals in the official's name, the official revokes it and the aidant's buttons go; every page is checked for
accessibility."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.consultations.models import PhaseKind
from app.core import clock
from app.extensions import db
from app.votes.models import Mandate, Support
from tests.browser import PLAYWRIGHT_MISSING, unavailable
from tests.browser.axe import check_accessibility
from tests.factories import PASSWORD, make_consultation, make_member, make_organization, make_proposal, make_user

try:
    from playwright.sync_api import expect
except ImportError:
    unavailable(PLAYWRIGHT_MISSING, module_level=True)

pytestmark = pytest.mark.browser

TITLES = ("Guichet unique des démarches", "Cantine en ligne", "Carte scolaire interactive")


def sign_in(page, email: str, name: str) -> None:
    page.goto("/compte/connexion")
    page.get_by_label("Adresse électronique").fill(email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("main").get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("main").get_by_role("status")).to_have_text(f"Bienvenue, {name}.")


def sign_out(page) -> None:
    page.get_by_role("navigation", name="Menu principal").get_by_role("button", name="Se déconnecter").click()
    expect(page.get_by_role("main").get_by_role("status")).to_have_text("Vous êtes déconnecté.")


def test_an_official_grants_a_mandate_the_aidant_supports_two_proposals_the_official_revokes_it(page, live_app):
    with live_app.app_context():
        consultation = make_consultation(PhaseKind.SUPPORT, vote_limit=3)
        saint_flour = make_organization("Saint-Flour", departement_code="15")
        make_member(make_user("maire@saint-flour.fr", name="Pierre Jarlier"), saint_flour, role="elected")
        make_member(make_user("agent@saint-flour.fr", name="Paul Murat"), saint_flour, role="agent")
        proposal_ids = {title: make_proposal(consultation, title=title).id for title in TITLES}
        slug, organization_id = consultation.slug, saint_flour.id
    now = clock.to_paris(clock.now())

    def status():
        return page.get_by_role("main").get_by_role("status")

    def card(title: str):
        return page.locator(f"#proposition-{proposal_ids[title]}")

    # The official grants the mandate from their account; a mistake first, said in French.
    sign_in(page, "maire@saint-flour.fr", "Pierre Jarlier")
    page.goto("/compte/")
    page.get_by_role("link", name="Voir et confier des mandats d'aidant").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mandats d'aidant")
    check_accessibility(page)
    page.get_by_label("Aidant").select_option(label="Paul Murat — Saint-Flour")
    page.get_by_label("Début du mandat").fill((now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="Confier le mandat").click()
    expect(page.get_by_role("alert")).to_contain_text("Fin du mandat : Indiquez la fin du mandat.")
    check_accessibility(page)
    page.get_by_label("Fin du mandat").fill((now + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="Confier le mandat").click()
    expect(status()).to_have_text("Mandat confié à Paul Murat pour Saint-Flour.")
    expect(page.get_by_role("table").get_by_role("row").filter(has_text="Paul Murat")).to_contain_text("En vigueur")
    check_accessibility(page)
    sign_out(page)

    # The aidant supports two proposals in the official's name.
    sign_in(page, "agent@saint-flour.fr", "Paul Murat")
    page.goto(f"/consultations/{slug}/propositions")
    for title in TITLES[:2]:
        card(title).get_by_role("button", name=f"Soutenir « {title} » — Saint-Flour pour Pierre Jarlier").click()
        expect(status()).to_contain_text(
            "Soutien enregistré au nom de Saint-Flour par Paul Murat pour Pierre Jarlier. Reçu : ")
        check_accessibility(page)
    page.goto(f"/consultations/{slug}/collectivites/{organization_id}/soutiens")
    expect(page.get_by_role("main")).to_contain_text("2 soutiens utilisés sur 3.")
    supports = page.get_by_role("table").first
    for title in TITLES[:2]:
        expect(supports.get_by_role("row").filter(has_text=title)).to_contain_text(
            "Paul Murat, aidant de Pierre Jarlier")
    check_accessibility(page)
    sign_out(page)

    # The official revokes it: the aidant's buttons go.
    sign_in(page, "maire@saint-flour.fr", "Pierre Jarlier")
    page.goto("/compte/mandats")
    page.get_by_role("button", name="Révoquer le mandat de Paul Murat").click()
    expect(status()).to_have_text("Mandat de Paul Murat révoqué.")
    expect(page.get_by_role("table").get_by_role("row").filter(has_text="Paul Murat")).to_contain_text("Révoqué")
    check_accessibility(page)
    sign_out(page)

    sign_in(page, "agent@saint-flour.fr", "Paul Murat")
    page.goto(f"/consultations/{slug}/propositions")
    expect(card(TITLES[2]).get_by_role("button")).to_have_count(0)
    page.goto("/compte/mandats")
    expect(page.get_by_role("table").get_by_role("row").filter(has_text="Pierre Jarlier")).to_contain_text("Révoqué")
    check_accessibility(page)

    with live_app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Support)) == 2
        assert db.session.scalars(sa.select(Mandate)).one().revoked_at is not None
        db.session.remove()
