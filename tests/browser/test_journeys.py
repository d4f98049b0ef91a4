"""Journeys of real people through the site, in Chromium, with an accessibility check on every page."""

import re

import pytest
import sqlalchemy as sa

from app.accounts.models import User
from app.consultations.models import PhaseKind
from app.core.mail import OutboxMessage
from app.extensions import db
from app.organizations.models import Membership, MembershipStatus
from tests.browser import PLAYWRIGHT_MISSING, unavailable
from tests.browser.axe import check_accessibility
from tests.factories import make_consultation, make_organization

try:
    from playwright.sync_api import expect
except ImportError:
    unavailable(PLAYWRIGHT_MISSING, module_level=True)

pytestmark = pytest.mark.browser


def confirmation_path(live_app, address: str) -> str:
    """The path of the confirmation link mailed to `address` (mails point to PUBLIC_URL, not the live server)."""
    with live_app.app_context():
        body = db.session.scalars(sa.select(OutboxMessage.body).where(OutboxMessage.recipient == address)
                                  .order_by(OutboxMessage.id.desc())).first()
    assert body is not None, f"aucun courriel pour {address}"
    return re.search(r"http://localhost(/compte/confirmer/\S+)", body).group(1)


def test_an_agent_signs_up_confirms_signs_in_and_asks_to_join_their_commune(page, live_app, live_server):
    # Fresh app contexts give fresh sessions, closed on exit: an open one would hold SQLite's write lock.
    with live_app.app_context():
        make_consultation(PhaseKind.COLLECT)
        commune_id = make_organization("Saint-Flour", departement_code="15").id
        make_organization("Aurillac", departement_code="15")

    page.goto("/")
    expect(page).to_have_title(re.compile("^Accueil — Agora"))
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("Consultation"))
    check_accessibility(page)

    page.get_by_role("navigation", name="Menu principal").get_by_role("link", name="Créer un compte").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Créer un compte")
    check_accessibility(page)

    page.get_by_role("button", name="Créer mon compte").click()
    expect(page).to_have_title(re.compile("^Erreur : Créer un compte"))
    summary = page.get_by_role("alert")
    expect(summary.get_by_role("heading")).to_have_text("Le formulaire contient 3 erreurs")
    expect(summary).to_contain_text("Indiquez votre nom.")
    expect(summary).to_contain_text("Choisissez un mot de passe.")
    expect(page.get_by_label("Nom et prénom")).to_have_attribute("aria-invalid", "true")
    check_accessibility(page)

    page.get_by_label("Nom et prénom").fill("Jeanne Martin")
    page.get_by_label("Adresse électronique").fill("jeanne.martin@saint-flour.fr")
    page.get_by_label("Mot de passe").fill("une phrase assez longue")
    page.get_by_role("button", name="Créer mon compte").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Vérifiez vos courriels")
    check_accessibility(page)

    page.goto(live_server + confirmation_path(live_app, "jeanne.martin@saint-flour.fr"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Se connecter")
    expect(page.get_by_role("status")).to_have_text("Votre adresse est confirmée. Vous pouvez vous connecter.")
    check_accessibility(page)

    page.get_by_label("Adresse électronique").fill("jeanne.martin@saint-flour.fr")
    page.get_by_label("Mot de passe").fill("une phrase assez longue")
    page.get_by_role("main").get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("status")).to_have_text("Bienvenue, Jeanne Martin.")
    expect(page.get_by_role("link", name="Rejoignez votre collectivité")).to_be_visible()
    check_accessibility(page)

    page.get_by_role("navigation", name="Menu principal").get_by_role("link", name="Collectivités").click()
    expect(page).to_have_url(re.compile(r"/collectivites/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Annuaire des collectivités")
    check_accessibility(page)

    page.get_by_label("Nom, code postal, code INSEE ou SIREN").fill("saint flour")
    page.get_by_role("search").get_by_role("button", name="Rechercher").click()
    expect(page.get_by_role("heading", name="1 organisation trouvée")).to_be_visible()
    results = page.get_by_role("table")
    expect(results.get_by_role("link", name="Saint-Flour")).to_be_visible()
    expect(results).not_to_contain_text("Aurillac")
    check_accessibility(page)

    results.get_by_role("link", name="Saint-Flour").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Saint-Flour")
    expect(page.get_by_role("heading", name="Rejoindre cette organisation")).to_be_visible()
    check_accessibility(page)

    # DSFR draws its own radio over the native one: the person clicks the label.
    page.get_by_text("Agent", exact=True).click()
    expect(page.get_by_role("radio", name="Agent", exact=True)).to_be_checked()
    page.get_by_role("button", name="Demander à rejoindre").click()
    expect(page.get_by_role("status")).to_have_text(
        "Votre demande est envoyée. Un élu de la collectivité ou l'équipe d'Agora la vérifiera.")
    expect(page.get_by_role("main")).to_contain_text(
        "Vous êtes membre de cette organisation (agent) : demande en attente.")
    expect(page.get_by_role("button", name="Demander à rejoindre")).to_have_count(0)
    check_accessibility(page)

    with live_app.app_context():
        memberships = db.session.execute(
            sa.select(Membership.organization_id, Membership.role, Membership.status)
            .join(User, Membership.user_id == User.id).where(User.email == "jeanne.martin@saint-flour.fr")).all()
    assert memberships == [(commune_id, "agent", MembershipStatus.PENDING)]
