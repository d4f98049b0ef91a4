"""The committee compares the rules, picks laureates within the envelope, answers everyone, the chair
publishes; a visitor reads the results, then the statistics.

In Chromium, with an accessibility check on every page visited.
"""

import pytest

from app.consultations.models import PhaseKind
from app.extensions import db
from tests.browser import PLAYWRIGHT_MISSING, unavailable
from tests.browser.axe import check_accessibility
from tests.factories import PASSWORD, make_consultation, make_organization, make_proposal, make_support, make_user, seat

try:
    from playwright.sync_api import expect
except ImportError:
    unavailable(PLAYWRIGHT_MISSING, module_level=True)

pytestmark = pytest.mark.browser

# title, requested budget (€), supporting communes
SERVICES = [("Portail famille mutualisé", 60_000, 3), ("Centre régional de réponse cyber", 50_000, 2),
            ("Transport solidaire à la demande", 30_000, 1)]


def test_the_committee_picks_laureates_within_the_envelope_the_chair_publishes_and_a_visitor_reads_them(
        page, live_app):
    with live_app.app_context():
        consultation = make_consultation(PhaseKind.SELECTION, slug="besoins-2027", budget_envelope_cents=100_000_00)
        communes = [make_organization(name) for name in ("Mauriac", "Murat", "Riom-ès-Montagnes")]
        ids = []
        for title, euros, supporters in SERVICES:
            proposal = make_proposal(consultation, kind="service", title=title, requested_budget_cents=euros * 100)
            for commune in communes[:supporters]:
                make_support(proposal, commune)
            ids.append(proposal.id)
        seat(consultation, make_user("helene@example.org", "Hélène Garnier"), is_chair=True)
        db.session.commit()
        db.session.remove()
    main = page.get_by_role("main")
    space = "/consultations/besoins-2027/comite"
    page.goto("/compte/connexion")
    page.get_by_label("Adresse électronique").fill("helene@example.org")
    page.get_by_label("Mot de passe").fill(PASSWORD)
    main.get_by_role("button", name="Se connecter").click()

    page.goto(f"{space}/selection/regles")
    expect(main).to_contain_text("parts égales")
    check_accessibility(page)

    def decide(proposal_id: int, state: str, amount: str, answer: str):
        page.goto(f"{space}/decisions/{proposal_id}")
        page.get_by_label(state, exact=True).check(force=True)  # DSFR draws the radio on its label
        page.get_by_label("Montant accordé (lauréates)").fill(amount)
        page.get_by_label("Motif de la décision").fill("Le plus soutenu de son grand enjeu.")
        page.get_by_label("Réponse publique").fill(answer)
        main.get_by_role("button", name="Enregistrer la décision et la réponse").click()

    decide(ids[0], "Lauréate", "60 000", "Retenu : le comité accorde 60 000 €.")
    expect(main.get_by_role("status")).to_have_text("Décision et réponse enregistrées.")
    check_accessibility(page)
    decide(ids[1], "Lauréate", "50 000", "Retenu.")  # 110,000 € would exceed the envelope
    expect(page.get_by_role("alert")).to_contain_text("dépasserait l'enveloppe")
    check_accessibility(page)
    decide(ids[1], "Non retenue", "", "Non retenu cette année : l'enveloppe est atteinte.")
    expect(main.get_by_role("status")).to_have_text("Décision et réponse enregistrées.")
    decide(ids[2], "Lauréate", "30 000", "Retenu : le comité accorde 30 000 €.")
    expect(main.get_by_role("status")).to_have_text("Décision et réponse enregistrées.")

    page.goto(f"{space}/decisions/publier")
    check_accessibility(page)
    page.get_by_label("Votre mot de passe").fill(PASSWORD)
    main.get_by_role("button", name="Publier toutes les réponses").click()
    expect(main.get_by_role("status")).to_have_text(
        "Réponses publiées : les organisations en sont informées par courriel.")

    page.context.clear_cookies()  # a visitor
    page.goto("/consultations/besoins-2027/resultats")
    for title in (SERVICES[0][0], SERVICES[2][0]):
        expect(main).to_contain_text(title)
    check_accessibility(page)
    main.get_by_role("link", name="Voir le classement et toutes les réponses").click()
    expect(main).to_contain_text("Non retenu cette année : l'enveloppe est atteinte.")
    check_accessibility(page)

    page.goto("/consultations/besoins-2027")  # the statistics, charts with their tables
    main.get_by_role("link", name="Statistiques").click()
    expect(main.get_by_role("heading", level=1)).to_have_text("Statistiques")
    expect(main).to_contain_text("3 services numériques")
    expect(main.get_by_role("img", name="Besoins et services par thème")).to_be_visible()
    expect(main.get_by_role("table", name="Données du graphique « Contributions publiées dans le temps »")
           ).to_be_visible()
    check_accessibility(page)
