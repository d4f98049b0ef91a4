"""An elected official's supports in Chromium, from the list to the limit and back, and a visitor checking a
receipt; every page is checked for accessibility."""

import re

import pytest
import sqlalchemy as sa

from app.consultations.models import PhaseKind
from app.extensions import db
from app.votes.models import Support, SupportEvent, SupportQuota
from tests.browser import PLAYWRIGHT_MISSING, unavailable
from tests.browser.axe import check_accessibility
from tests.factories import PASSWORD, make_consultation, make_member, make_organization, make_proposal, make_user

try:
    from playwright.sync_api import expect
except ImportError:
    unavailable(PLAYWRIGHT_MISSING, module_level=True)

pytestmark = pytest.mark.browser

TITLES = ("Guichet unique des démarches", "Cantine en ligne", "Carte scolaire interactive",
          "Paiement des factures d'eau", "Archivage électronique mutualisé")
RECEIPT = re.compile(r"Reçu : (\w{4}-\w{4}-\w{4})\.")


def test_an_elected_official_reaches_the_limit_withdraws_one_supports_another_and_a_visitor_checks_a_receipt(
        page, live_app):
    # Fresh app contexts give fresh sessions, closed on exit: an open one would hold SQLite's write lock.
    with live_app.app_context():
        consultation = make_consultation(PhaseKind.SUPPORT, vote_limit=3)
        saint_flour = make_organization("Saint-Flour", departement_code="15")
        make_member(make_user("maire@saint-flour.fr", name="Pierre Jarlier"), saint_flour, role="elected")
        proposal_ids = {title: make_proposal(consultation, title=title).id for title in TITLES}
        organization_id, slug = saint_flour.id, consultation.slug

    def card(title: str):
        return page.locator(f"#proposition-{proposal_ids[title]}")

    def status():
        return page.get_by_role("main").get_by_role("status")

    page.goto("/")
    check_accessibility(page)
    page.get_by_role("navigation", name="Menu principal").get_by_role("link", name="Se connecter").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Se connecter")
    check_accessibility(page)
    page.get_by_label("Adresse électronique").fill("maire@saint-flour.fr")
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("main").get_by_role("button", name="Se connecter").click()
    expect(status()).to_have_text("Bienvenue, Pierre Jarlier.")
    check_accessibility(page)

    page.get_by_role("link", name="Voir les contributions").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Contributions")
    expect(page.get_by_role("main")).to_contain_text("3 soutiens restants pour Saint-Flour")
    check_accessibility(page)

    for title in TITLES[:3]:
        card(title).get_by_role("button", name=f"Soutenir « {title} »").click()
        expect(status()).to_contain_text("Soutien enregistré au nom de Saint-Flour. Reçu : ")
        expect(card(title).get_by_role("button", name=f"Retirer mon soutien « {title} »")).to_be_visible()
        # Back on the list, scrolled to the proposal just supported.
        expect(page).to_have_url(re.compile(rf"/consultations/{slug}/propositions\??#proposition-{proposal_ids[title]}$"))
        check_accessibility(page)

    # The limit is reached: the other proposals say why, and offer no button.
    expect(page.get_by_role("main")).to_contain_text(re.compile(r"0 soutiens? restants? pour Saint-Flour"))
    for title in TITLES[3:]:
        expect(card(title)).to_contain_text("Votre collectivité a utilisé ses 3 soutiens.")
        expect(card(title).get_by_role("button")).to_have_count(0)

    page.get_by_role("navigation", name="Menu principal").get_by_role("link", name="Accueil").click()
    page.get_by_role("link", name="Les soutiens de Saint-Flour").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Soutiens de Saint-Flour")
    expect(page.get_by_role("main")).to_contain_text("3 soutiens utilisés sur 3.")
    table = page.get_by_role("table")
    for title in TITLES[:3]:
        expect(table.get_by_role("row").filter(has_text=title)).to_contain_text("Pierre Jarlier")
    check_accessibility(page)

    table.get_by_role("button", name=f"Retirer le soutien à « {TITLES[1]} »").click()
    expect(status()).to_have_text("Soutien de Saint-Flour retiré.")
    expect(page.get_by_role("main")).to_contain_text("2 soutiens utilisés sur 3.")
    expect(page.get_by_role("table").get_by_role("row").filter(has_text=TITLES[1])).to_have_count(0)
    check_accessibility(page)

    page.get_by_role("navigation", name="Menu principal").get_by_role("link", name="Accueil").click()
    page.get_by_role("link", name="Voir les contributions").first.click()
    card(TITLES[3]).get_by_role("link", name=TITLES[3]).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(TITLES[3])
    expect(page.get_by_role("main")).to_contain_text("1 soutien restant pour Saint-Flour")
    check_accessibility(page)
    page.get_by_role("button", name=f"Soutenir « {TITLES[3]} »").click()
    expect(status()).to_contain_text("Soutien enregistré au nom de Saint-Flour. Reçu : ")
    receipt = RECEIPT.search(status().inner_text()).group(1)
    expect(page.get_by_role("button", name=f"Retirer mon soutien « {TITLES[3]} »")).to_be_visible()
    check_accessibility(page)

    page.get_by_role("navigation", name="Menu principal").get_by_role("button", name="Se déconnecter").click()
    expect(status()).to_have_text("Vous êtes déconnecté.")
    check_accessibility(page)

    page.get_by_role("contentinfo").get_by_role("link", name="Vérifier un reçu de soutien").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Vérifier un reçu de soutien")
    check_accessibility(page)
    page.get_by_label("Code du reçu").fill("AAAA-BBBB-CCCC")
    page.get_by_role("button", name="Vérifier").click()
    expect(page.get_by_role("alert")).to_contain_text("Aucun soutien ne porte ce code")
    check_accessibility(page)
    page.get_by_label("Code du reçu").fill(receipt.lower())
    page.get_by_role("button", name="Vérifier").click()
    answer = page.get_by_role("status")
    expect(answer.get_by_role("heading")).to_have_text("Ce soutien est enregistré.")
    expect(answer).to_contain_text(f"Il porte sur la proposition « {TITLES[3]} »")
    expect(answer).to_contain_text("Il est compté dans le décompte public.")
    expect(answer).to_contain_text("Exprimé au nom de Saint-Flour")
    check_accessibility(page)

    with live_app.app_context():
        supported = set(db.session.scalars(sa.select(Support.proposal_id).where(
            Support.organization_id == organization_id)))
        assert supported == {proposal_ids[title] for title in (TITLES[0], TITLES[2], TITLES[3])}
        used = db.session.scalar(sa.select(SupportQuota.used).where(SupportQuota.organization_id == organization_id))
        assert used == 3
        assert db.session.scalars(sa.select(SupportEvent.action).order_by(SupportEvent.id)).all() == [
            "cast", "cast", "cast", "withdraw", "cast"]
        code = db.session.scalar(sa.select(Support.receipt_code).where(Support.proposal_id == proposal_ids[TITLES[3]]))
        assert code == receipt.replace("-", "")
