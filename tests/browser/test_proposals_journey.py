"""An agent drafts a need, sees similar published proposals, publishes; a visitor finds it by search and filter.

In Chromium, with an accessibility check on every page visited.
"""

import re

import pytest
import sqlalchemy as sa

from app.consultations.models import PhaseKind
from app.extensions import db
from app.proposals.models import Proposal, ProposalState
from tests.browser import PLAYWRIGHT_MISSING, unavailable
from tests.browser.axe import check_accessibility
from tests.factories import (CANTEEN, PASSWORD, TRANSPORT, make_consultation, make_member, make_organization, make_user,
                             submit_proposal)
from tests.helpers import run_jobs

try:
    from playwright.sync_api import expect
except ImportError:
    unavailable(PLAYWRIGHT_MISSING, module_level=True)

pytestmark = pytest.mark.browser

NEW_TITLE = "Réservation des repas de la cantine"


def test_an_agent_drafts_previews_similar_proposals_publishes_and_a_visitor_finds_it(page, live_app):
    # Fresh app contexts give fresh sessions, closed on exit: an open one would hold SQLite's write lock.
    with live_app.app_context():
        consultation = make_consultation(PhaseKind.COLLECT)
        slug = consultation.slug
        submit_proposal(consultation, make_member(organization=make_organization("Mauriac")), **CANTEEN)
        submit_proposal(consultation, make_member(organization=make_organization("Murat")), **TRANSPORT,
                        territory_tags=["rural"])
        agent = make_member(make_user("jeanne.martin@saint-flour.fr", "Jeanne Martin"),
                            make_organization("Saint-Flour", departement_code="15"), role="agent")
        email = agent.user.email

    page.goto("/compte/connexion")
    page.get_by_label("Adresse électronique").fill(email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("main").get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("status")).to_have_text("Bienvenue, Jeanne Martin.")

    page.goto(f"/consultations/{slug}/propositions")
    expect(page.get_by_role("heading", level=1)).to_have_text("Contributions")
    expect(page.get_by_role("heading", name="2 contributions")).to_be_visible()
    check_accessibility(page)

    page.get_by_role("link", name="Déposer une contribution").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Déposer une contribution")
    check_accessibility(page)

    page.get_by_role("button", name="Enregistrer le brouillon et voir l'aperçu").click()
    expect(page).to_have_title(re.compile("^Erreur : Déposer une contribution"))
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("Choisissez : besoin ou service.")
    expect(summary).to_contain_text("Donnez un titre.")
    expect(page.get_by_label("Titre")).to_have_attribute("aria-invalid", "true")
    check_accessibility(page)

    # DSFR draws its own radios and checkboxes over the native ones: the person clicks the label.
    page.get_by_text("Besoin", exact=True).click()
    page.get_by_label("Titre").fill(NEW_TITLE)
    page.get_by_label("Résumé").fill("Réserver ou annuler la veille les repas de la cantine.")
    page.get_by_label("Description").fill(
        "Permettre aux parents de **réserver** ou d'annuler la veille les repas de leurs enfants à la cantine, "
        "depuis leur téléphone, pour limiter le gaspillage.")
    page.get_by_text("Démarches en ligne", exact=True).click()
    page.get_by_text("Rural", exact=True).click()
    page.get_by_label("Problème rencontré").fill("Les repas sont commandés trop tôt et beaucoup sont jetés.")
    page.get_by_role("button", name="Enregistrer le brouillon et voir l'aperçu").click()

    expect(page.get_by_role("heading", level=1)).to_have_text(NEW_TITLE)
    expect(page.get_by_role("status")).to_contain_text("Brouillon enregistré.")
    preview = page.locator(".fr-callout", has=page.get_by_role("heading", name="Aperçu avant publication"))
    expect(preview).to_contain_text("Ce brouillon n'est visible que des membres de Saint-Flour.")
    expect(preview).to_contain_text("Les propositions proches de la vôtre sont en cours de recherche : rechargez la "
                                    "page dans quelques instants pour les voir.")
    check_accessibility(page)
    with live_app.app_context():
        run_jobs()  # the worker's turn
    page.reload()
    expect(preview.get_by_role("listitem").first).to_contain_text(f"{CANTEEN['title']} — Mauriac")  # closest first
    expect(page.get_by_role("main").locator("strong", has_text="réserver")).to_be_visible()
    check_accessibility(page)

    preview.get_by_role("button", name="Publier").click()
    expect(page.get_by_role("status")).to_have_text("Proposition publiée : elle est désormais visible de tous.")
    expect(page.get_by_role("heading", name="Aperçu avant publication")).to_have_count(0)
    check_accessibility(page)

    page.get_by_role("button", name="Se déconnecter").click()
    page.goto(f"/consultations/{slug}/propositions")
    expect(page.get_by_role("heading", name="3 contributions")).to_be_visible()
    filters = page.get_by_role("search", name="Filtrer les contributions")
    filters.get_by_label("Rechercher").fill("cantines")
    filters.get_by_label("Type", exact=True).select_option(label="Besoin")
    filters.get_by_role("button", name="Filtrer").click()
    expect(page).to_have_url(re.compile(r"q=cantines.*kind=need"))
    expect(page.get_by_role("heading", name="2 contributions")).to_be_visible()
    results = page.locator("article")
    expect(results.get_by_role("link", name=NEW_TITLE)).to_be_visible()
    expect(results.get_by_role("link", name=CANTEEN["title"])).to_be_visible()
    check_accessibility(page)

    filters.get_by_label("Territoire").select_option(label="Rural")
    filters.get_by_role("button", name="Filtrer").click()
    expect(page).to_have_url(re.compile(r"territory=rural"))
    expect(page.get_by_role("heading", name="1 contribution", exact=True)).to_be_visible()
    expect(filters.get_by_label("Rechercher")).to_have_value("cantines")
    expect(results).to_have_count(1)
    check_accessibility(page)

    results.get_by_role("link", name=NEW_TITLE).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(NEW_TITLE)
    expect(page.get_by_role("main")).to_contain_text("Saint-Flour")
    expect(page.get_by_role("main")).to_contain_text("Version 1")
    check_accessibility(page)

    with live_app.app_context():
        published = db.session.execute(sa.select(Proposal.state, Proposal.kind)
                                       .where(Proposal.title == NEW_TITLE)).all()
    assert published == [(ProposalState.PUBLISHED, "need")]
