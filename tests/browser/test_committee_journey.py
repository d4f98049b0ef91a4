"""A committee member creates two major issues and puts three proposals in them from the committee's list.

In Chromium, with an accessibility check on every page visited.
"""

import pytest
import sqlalchemy as sa

from app.committee.models import Issue
from app.consultations.models import PhaseKind
from app.extensions import db
from app.proposals.models import Proposal
from tests.browser import PLAYWRIGHT_MISSING, unavailable
from tests.browser.axe import check_accessibility
from tests.factories import PASSWORD, make_consultation, make_organization, make_proposal, make_support, make_user, seat

try:
    from playwright.sync_api import expect
except ImportError:
    unavailable(PLAYWRIGHT_MISSING, module_level=True)

pytestmark = pytest.mark.browser

TITLES = ("Inscription en ligne à la cantine", "Réservation des repas de la cantine",
          "Transport à la demande en zone rural", "Sensibiliser les agents aux rançongiciels")


def test_a_committee_member_creates_two_issues_and_assigns_three_proposals(page, live_app):
    with live_app.app_context():  # closed on exit: an open session would hold SQLite's write lock
        consultation = make_consultation(PhaseKind.DELIBERATION, slug="besoins-2027")
        proposals = [make_proposal(consultation, title=title) for title in TITLES]
        make_support(proposals[0], make_organization("Mauriac"))
        seat(consultation, make_user("karim@example.org", "Karim Benali"))
    main = page.get_by_role("main")

    page.goto("/compte/connexion")
    page.get_by_label("Adresse électronique").fill("karim@example.org")
    page.get_by_label("Mot de passe").fill(PASSWORD)
    main.get_by_role("button", name="Se connecter").click()
    page.get_by_role("navigation", name="Menu principal").get_by_role("link", name="Espace du comité").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Espace du comité")
    expect(main).to_contain_text("Le comité n'a encore défini aucun grand enjeu.")
    check_accessibility(page)

    breadcrumb = page.get_by_role("navigation", name="Vous êtes ici :")
    for title in ("Restauration scolaire", "Mobilités"):
        main.get_by_role("link", name="Créer un grand enjeu").click()
        page.get_by_label("Titre").fill(title)
        page.get_by_role("button", name="Enregistrer").click()
        expect(page.get_by_role("heading", level=1)).to_have_text(title)
        expect(main.get_by_role("status")).to_have_text("Grand enjeu créé.")
        check_accessibility(page)
        breadcrumb.get_by_role("link", name="Espace du comité").click()

    main.get_by_role("link", name="Liste des propositions").click()
    expect(page.get_by_role("heading", name="4 propositions")).to_be_visible()
    page.get_by_label("Grand enjeu", exact=True).select_option(label="Sans grand enjeu")
    page.get_by_role("button", name="Filtrer").click()
    expect(page.get_by_role("heading", name="4 propositions")).to_be_visible()
    check_accessibility(page)

    page.get_by_role("button", name="Ranger dans ce grand enjeu").click()  # nothing ticked
    expect(page.get_by_role("alert")).to_contain_text("Cochez au moins une proposition.")
    check_accessibility(page)

    for title in TITLES[:2]:  # DSFR draws the box on the label, which takes the click
        main.get_by_text(title, exact=True).click()
        expect(page.get_by_label(title, exact=True)).to_be_checked()
    page.get_by_label("Grand enjeu de destination").select_option(label="Restauration scolaire")
    page.get_by_role("button", name="Ranger dans ce grand enjeu").click()
    expect(main.get_by_role("status")).to_have_text("Propositions rangées dans « Restauration scolaire ».")
    expect(page.get_by_role("heading", name="2 propositions")).to_be_visible()  # those left without issue
    main.get_by_text(TITLES[2], exact=True).click()
    page.get_by_label("Grand enjeu de destination").select_option(label="Mobilités")
    page.get_by_role("button", name="Ranger dans ce grand enjeu").click()
    expect(page.get_by_role("heading", name="1 proposition")).to_be_visible()
    check_accessibility(page)

    breadcrumb.get_by_role("link", name="Espace du comité").click()
    table = main.get_by_role("table", name="Grands enjeux, dans l'ordre du comité")
    expect(table.get_by_role("row")).to_have_count(3)
    expect(table.get_by_role("row").nth(1)).to_contain_text("Restauration scolaire")
    expect(table.get_by_role("row").nth(1)).to_contain_text("2")
    table.get_by_role("button", name="Monter « Mobilités »").click()
    expect(table.get_by_role("row").nth(1)).to_contain_text("Mobilités")
    check_accessibility(page)

    table.get_by_role("link", name="Restauration scolaire", exact=True).click()
    expect(main.get_by_role("heading", name="1 organisation soutient ce grand enjeu")).to_be_visible()
    expect(main.get_by_role("table", name="Besoins de ce grand enjeu, les plus soutenus d'abord")
           .get_by_role("row")).to_have_count(3)
    expect(main.get_by_text("cantine", exact=True)).to_be_visible()
    check_accessibility(page)

    with live_app.app_context():
        assigned = dict(db.session.execute(sa.select(Proposal.title, Issue.title)
                                           .join(Issue, Proposal.issue_id == Issue.id)).all())
        db.session.remove()
    assert assigned == {TITLES[0]: "Restauration scolaire", TITLES[1]: "Restauration scolaire",
                        TITLES[2]: "Mobilités"}
