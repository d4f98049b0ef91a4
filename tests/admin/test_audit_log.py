"""The audit log page: one French sentence per action, linked to its subject, with readable details."""

import re

import sqlalchemy as sa

from app.admin.forms import SETTING_LABELS
from app.committee.models import Issue
from app.consultations.models import Consultation, PhaseKind
from app.consultations.services import ConsultationInput
from app.core import audit
from app.extensions import db
from app.organizations.models import MembershipStatus, Organization
from app.proposals import moderation
from tests.consultations.test_views import consultation_form
from tests.factories import make_comment, make_consultation, make_member, make_organization, make_proposal, make_user
from tests.helpers import counted_statements, text_of

JOURNAL = "/admin/journal"


def consultation_actions(client) -> Consultation:
    """Create a consultation, change its settings and calendar, seat then unseat a member, through the forms."""
    client.post_form("/admin/consultations/nouvelle", consultation_form())
    consultation = db.session.scalars(sa.select(Consultation)).one()
    client.post_form(f"/admin/consultations/{consultation.id}/modifier", consultation_form(
        vote_limit="12", budget_envelope="15 000 000", eligible_kinds=["commune", "departement"],
        collect_ends_at="15/03/2027 18:00", change_reason="Report demandé par le comité."))
    make_user("karim@example.org", name="Karim Benali")
    committee = f"/admin/consultations/{consultation.id}/comite"
    client.post_form(committee, {"email": "karim@example.org", "affiliation": "DINUM", "is_chair": "y"})
    client.post_form(f"/admin/comite/{consultation.committee_seats[0].id}/retirer")
    return consultation


def test_consultation_and_committee_actions_read_as_sentences_with_their_details(client, admin):
    consultation = consultation_actions(client)
    page = text_of(client.get(JOURNAL))
    link = f'« <a href="/admin/consultations/{consultation.id}/modifier">Besoins numériques 2027</a> »'
    assert f"Camille Roux a créé la consultation {link}" in page
    assert f"Camille Roux a modifié la consultation {link}" in page
    assert re.search(r"<li>Enveloppe budgétaire : 15\s000\s000 €</li>", page)
    assert "<li>Soutiens par organisation : 12</li>" in page
    assert "<li>Organisations admises à soutenir : Commune, Département</li>" in page
    # Typed in Paris time, stored in UTC, shown in Paris time again.
    assert re.search(r"<li>Dépôt des contributions : du 1(er)? janvier 2027 à 09h00 au 1(er)? mars 2027 à 18h00 "
                     r"→ du 1(er)? janvier 2027 à 09h00 au 15 mars 2027 à 18h00</li>", page)
    assert "<li>Motif : Report demandé par le comité.</li>" in page
    assert f"Camille Roux a nommé Karim Benali au comité de la consultation {link}" in page
    assert "<li>Affiliation : DINUM</li><li>Préside le comité</li>" in page
    assert f"Camille Roux a retiré Karim Benali du comité de la consultation {link}" in page
    assert "consultation.update" not in page and "consultations:" not in page and "{" not in page


def test_a_change_to_a_phase_already_started_says_so(client, admin):
    consultation = make_consultation(PhaseKind.COLLECT)
    client.post_form(f"/admin/consultations/{consultation.id}/modifier", consultation_form())
    page = text_of(client.get(JOURNAL))
    assert re.search(r"<li>Dépôt des contributions : du [^<]* → du 1(er)? janvier 2027 à 09h00 "
                     r"au 1(er)? mars 2027 à 18h00 \(phase déjà commencée\)</li>", page)
    assert "<li>Soutiens : du " in page and "2027 à 00h00 (phase" not in page  # not started yet


def test_organization_membership_and_moderation_actions_read_as_sentences(client, admin):
    client.post_form("/admin/organisations/nouvelle", {"kind": "syndicat", "name": "Syndicat numérique du Cantal",
                                                      "siren": "130025265", "departement_code": "15"})
    syndicate = db.session.scalars(sa.select(Organization).filter_by(siren="130025265")).one()
    saint_flour = make_organization("Saint-Flour")
    jeanne = make_member(make_user(name="Jeanne Martin"), saint_flour, status=MembershipStatus.PENDING)
    paul = make_member(make_user(name="Paul Durand"), saint_flour, status=MembershipStatus.PENDING)
    client.post_form(f"/adhesions/{jeanne.id}/decision", {"decision": "accept"})
    client.post_form(f"/adhesions/{paul.id}/decision", {"decision": "refuse"})
    proposal = make_proposal(make_consultation(), saint_flour, author=jeanne.user, title="Cantine en ligne")
    comment = make_comment(proposal, jeanne)
    client.post_form(f"/admin/moderation/proposal/{proposal.id}/hide")
    client.post_form(f"/admin/moderation/proposal/{proposal.id}/restore")
    client.post_form(f"/admin/moderation/comment/{comment.id}/hide")
    client.post_form(f"/admin/comptes/{paul.user_id}/suspendre")
    page = text_of(client.get(JOURNAL))
    assert (f'Camille Roux a ajouté l\'organisation « <a href="/collectivites/{syndicate.id}">'
            "Syndicat numérique du Cantal</a> »") in page
    assert "<li>Type : Syndicat mixte</li><li>SIREN : 130025265</li>" in page
    saint_flour_link = f'« <a href="/collectivites/{saint_flour.id}">Saint-Flour</a> »'
    assert f"Camille Roux a accepté la demande d'adhésion de Jeanne Martin à {saint_flour_link}" in page
    assert f"Camille Roux a refusé la demande d'adhésion de Paul Durand à {saint_flour_link}" in page
    assert "<li>Rôle : Agent</li>" in page
    proposal_link = f'« <a href="/propositions/{proposal.id}">Cantine en ligne</a> »'
    assert f"Camille Roux a masqué la proposition {proposal_link}" in page
    assert f"Camille Roux a rétabli la proposition {proposal_link}" in page
    assert ("Camille Roux a masqué un commentaire sur la proposition "
            f'« <a href="/propositions/{proposal.id}#commentaire-{comment.id}">Cantine en ligne</a> »') in page
    assert "Camille Roux a suspendu le compte de Paul Durand" in page
    assert "moderation." not in page and "proposals:" not in page


def test_every_consultation_setting_has_a_french_label_for_the_log():
    assert set(ConsultationInput.SETTINGS) <= set(SETTING_LABELS)


def test_an_empty_log_says_so(client, admin):
    page = text_of(client.get(JOURNAL))
    assert "Le journal est vide : aucune action du comité ou de l'administration n'y est encore inscrite." in page
    assert "<table" not in page


def test_an_unknown_action_or_unreadable_data_still_shows_by_its_code(client, admin):
    proposal = make_proposal(title="Cantine en ligne")
    audit.record("committee.merge", actor=admin, subject=proposal, data={"into": 42, "reason": "Doublon."})
    audit.record("consultation.update", actor=None, subject="consultations:999999", data={"settings": "illisible"})
    audit.record("moderation.hide", actor=admin, subject="proposals:999999")
    db.session.commit()
    response = client.get(JOURNAL)
    assert response.status_code == 200
    page = text_of(response)
    assert (f'Camille Roux : committee.merge, la proposition « <a href="/propositions/{proposal.id}">'
            "Cantine en ligne</a> »") in page
    assert "<li>into : 42</li><li>Motif : Doublon.</li>" in page
    assert "La plateforme : consultation.update, consultations:999999" in page
    assert "<li>{\"settings\": \"illisible\"}</li>" in page
    assert "Camille Roux a masqué la proposition « n° 999999 »" in page  # removed since


def test_the_page_loads_its_subjects_together_whatever_their_number(client, admin):
    consultation = make_consultation()

    def journal_with(number: int) -> tuple[str, int]:
        for index in range(number):
            proposal = make_proposal(consultation, title=f"Proposition {number}-{index}")
            moderation.hide(proposal, by=admin)
        db.session.commit()
        with counted_statements() as statements:
            page = text_of(client.get(JOURNAL))
        return page, len(statements)

    few_page, few = journal_with(2)
    many_page, many = journal_with(10)
    assert "Camille Roux a masqué la proposition « <a" in few_page and "Proposition 10-9</a> »" in many_page
    assert many == few


def test_committee_actions_on_issues_read_as_sentences(client, admin):
    consultation = make_consultation(PhaseKind.DELIBERATION, slug="besoins-2027")
    space = "/consultations/besoins-2027/comite"
    proposal = make_proposal(consultation, title="Cantine en ligne")
    client.post_form(f"{space}/enjeux/nouveau", {"title": "Cantines", "description": "Les repas des écoles."})
    client.post_form(f"{space}/enjeux/nouveau", {"title": "Mobilités"})
    canteens, mobility = db.session.scalars(sa.select(Issue).order_by(Issue.id)).all()
    client.post_form(f"{space}/enjeux/{canteens.id}/modifier", {"title": "Restauration scolaire",
                                                                "description": "Les repas des écoles."})
    client.post_form(f"{space}/enjeux/{mobility.id}/monter")
    client.post_form(f"{space}/propositions", {"proposal_ids": [str(proposal.id)], "issue_id": str(canteens.id),
                                               "action": "assign"})
    client.post_form(f"{space}/propositions", {"proposal_ids": [str(proposal.id)], "issue_id": str(mobility.id),
                                               "action": "assign"})
    client.post_form(f"{space}/propositions", {"proposal_ids": [str(proposal.id)], "action": "remove"})
    client.post_form(f"{space}/enjeux/{canteens.id}/supprimer")
    page = text_of(client.get(JOURNAL))
    mobility_link = f'« <a href="{space}/enjeux/{mobility.id}">Mobilités</a> »'
    proposal_link = f'« <a href="/propositions/{proposal.id}">Cantine en ligne</a> »'
    assert f"Camille Roux a créé le grand enjeu « n° {canteens.id} »" in page  # deleted since
    assert "<li>Titre : Cantines</li><li>Description : Les repas des écoles.</li>" in page
    assert f"Camille Roux a créé le grand enjeu {mobility_link}" in page
    assert f"Camille Roux a modifié le grand enjeu « n° {canteens.id} »" in page
    assert "<li>Titre : « Cantines » → « Restauration scolaire »</li>" in page
    assert f"Camille Roux a déplacé le grand enjeu {mobility_link} dans l'ordre des grands enjeux" in page
    assert "<li>Rang : 2 → 1</li>" in page
    assert f"Camille Roux a rangé la proposition {proposal_link} dans un grand enjeu" in page
    assert "<li>Grand enjeu : Mobilités</li><li>Grand enjeu précédent : Restauration scolaire</li>" in page
    assert f"Camille Roux a retiré la proposition {proposal_link} de son grand enjeu" in page
    assert f"Camille Roux a supprimé le grand enjeu « n° {canteens.id} »" in page
    assert "<li>Titre : Restauration scolaire</li><li>Propositions laissées sans grand enjeu : 0</li>" in page
    assert "issue." not in page and "issues:" not in page
