"""The committee at work: major issues made by hand and from the machine's suggestion, two duplicates
merged, a proposal scored.

In Chromium, with an accessibility check on every page visited.
"""

import pytest
import sqlalchemy as sa

from app.committee.models import Issue, Score
from app.consultations.models import PhaseKind
from app.extensions import db
from app.proposals.models import Proposal
from app.proposals.vectors import queue_vectors
from tests.browser import PLAYWRIGHT_MISSING, unavailable
from tests.browser.axe import check_accessibility
from tests.committee.test_clustering import NEAR_COPY_OF_FIRST
from tests.factories import PASSWORD, make_consultation, make_organization, make_proposal, make_support, make_user, seat
from tests.helpers import run_jobs
from tests.proposals.test_similarity import PROPOSALS

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


def test_the_committee_suggests_issues_accepts_three_merges_two_duplicates_and_scores_a_proposal(page, live_app):
    with live_app.app_context():
        consultation = make_consultation(PhaseKind.DELIBERATION, slug="besoins-2027")
        proposals = [make_proposal(consultation, title=title, body=body) for _topic, title, body in PROPOSALS[:9]]
        copy = make_proposal(consultation, title=NEAR_COPY_OF_FIRST[0], body=NEAR_COPY_OF_FIRST[1])
        queue_vectors([*proposals, copy])
        seat(consultation, make_user("karim@example.org", "Karim Benali"))
        db.session.commit()
        run_jobs()  # the worker computes the text vectors, as after publication
        scored_title = proposals[4].title
        db.session.remove()
    main = page.get_by_role("main")
    page.goto("/compte/connexion")
    page.get_by_label("Adresse électronique").fill("karim@example.org")
    page.get_by_label("Mot de passe").fill(PASSWORD)
    main.get_by_role("button", name="Se connecter").click()
    page.get_by_role("navigation", name="Menu principal").get_by_role("link", name="Espace du comité").first.click()

    main.get_by_role("link", name="Enjeux proposés").click()
    expect(main).to_contain_text("Aucune suggestion n'a encore été demandée pour cette consultation.")
    check_accessibility(page)
    page.get_by_label("Nombre de grands enjeux").fill("3")
    main.get_by_role("button", name="Proposer des enjeux").click()
    expect(main.get_by_role("heading", name="Calcul en cours")).to_be_visible()
    with live_app.app_context():
        run_jobs()  # the worker computes the suggestion
        db.session.remove()
    main.get_by_role("link", name="Actualiser").click()
    groups = main.get_by_role("table", name="Groupes proposés : cochez ceux à accepter")
    expect(groups.get_by_role("checkbox")).to_have_count(3)
    check_accessibility(page)
    for box in groups.get_by_role("checkbox").all():  # DSFR draws the box on the label, which takes the click
        box.locator("xpath=following-sibling::label").click()
    main.get_by_role("button", name="Accepter les groupes cochés").click()
    expect(main.get_by_role("status")).to_contain_text("3 grands enjeux créés")
    expect(groups.get_by_role("checkbox")).to_have_count(0)
    check_accessibility(page)

    main.get_by_role("link", name="Voir les doublons probables").click()
    expect(main.get_by_role("table", name="1 paire de propositions")).to_contain_text(NEAR_COPY_OF_FIRST[0])
    check_accessibility(page)
    main.get_by_role("link", name="Fusionner").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Fusionner des propositions")
    check_accessibility(page)
    page.get_by_role("textbox", name="Titre", exact=True).fill("Inscription et réservation de la cantine en ligne")
    main.get_by_role("button", name="Vérifier la fusion").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirmer la fusion")
    check_accessibility(page)
    main.get_by_role("button", name="Confirmer la fusion").click()
    expect(main.get_by_role("status")).to_have_text(
        "Propositions fusionnées : leurs organisations en sont informées par courriel.")
    check_accessibility(page)

    page.get_by_role("navigation", name="Vous êtes ici :").get_by_role("link", name="Espace du comité").click()
    main.get_by_role("link", name="Liste des propositions").click()
    main.get_by_role("link", name=f"Évaluer « {scored_title} »").click()
    for number, criterion in enumerate(("Utilité", "Maturité", "Réutilisabilité", "Engagement open source",
                                        "Rapport coût-efficacité")):
        page.get_by_label(f"Note : {criterion}").select_option(str(2 + number % 4))
    page.get_by_label("Commentaire : Utilité").fill("Répond à un besoin partagé par les communes rurales.")
    main.get_by_role("button", name="Enregistrer mes notes").click()
    expect(main.get_by_role("status")).to_have_text("Vos notes sont enregistrées.")
    check_accessibility(page)

    with live_app.app_context():
        issues = db.session.scalars(sa.select(Issue)).all()
        merged = db.session.scalar(sa.select(Proposal).where(Proposal.merged_at.is_not(None)))
        originals = db.session.scalars(sa.select(Proposal.id).where(Proposal.merged_into_id == merged.id)).all()
        scores = db.session.scalars(sa.select(Score.value).join(Proposal).where(Proposal.title == scored_title)).all()
        db.session.remove()
    assert len(issues) == 3 and all(issue.title for issue in issues)
    assert merged.title == "Inscription et réservation de la cantine en ligne" and len(originals) == 2
    assert sorted(scores) == [2, 2, 3, 4, 5]
