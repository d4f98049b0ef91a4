"""ANSM diagnostic requests: who may ask, one open request at a time, triage by the admins, through HTTP too."""

import re

import pytest
import sqlalchemy as sa

from app.accounts import personal_data
from app.core.audit import AuditEntry
from app.core.errors import RuleViolation
from app.core.mail import OutboxMessage
from app.extensions import db
from app.organizations import diagnostics
from app.organizations.diagnostics import DiagnosticInput
from app.organizations.models import DiagnosticRequest, DiagnosticStatus, MembershipStatus
from app.organizations.permissions import why_not_request_diagnostic
from tests.factories import (make_consultation, make_diagnostic_request, make_member, make_organization,
                             make_proposal, make_user)
from tests.helpers import text_of

RULE = ("Ce diagnostic est réservé aux communes de moins de 3\u202f500 habitants et aux EPCI de moins de "
        "15\u202f000 habitants")
INPUT = DiagnosticInput(needs="Dématérialiser les démarches d'état civil.", contact_name="Léa Fabre",
                        contact_email="Secretariat@Murat.fr", contact_phone="04 71 20 00 00")


def member_of(organization=None, role: str = "agent", **organization_fields):
    return make_member(organization=organization or make_organization(**organization_fields), role=role).user


def ask(user, organization, data: DiagnosticInput = INPUT) -> DiagnosticRequest:
    diagnostic = diagnostics.request_diagnostic(organization, data, by=user)
    db.session.commit()
    return diagnostic


# --- Who may ask ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind, population", [("commune", 3_499), ("epci", 14_999), ("commune", 0)])
def test_a_member_of_a_small_commune_or_epci_may_ask(kind, population):
    organization = make_organization(kind=kind, population=population)
    user = member_of(organization)
    assert why_not_request_diagnostic(user, organization) is None
    diagnostic = ask(user, organization)
    assert (diagnostic.status, diagnostic.contact_email, diagnostic.requested_by) == ("new", "secretariat@murat.fr",
                                                                                       user)


@pytest.mark.parametrize("kind, population, reason", [
    ("commune", 3_500, "cette commune compte 3\u202f500 habitants."),
    ("commune", 42_000, "cette commune compte 42\u202f000 habitants."),
    ("epci", 15_000, "cette intercommunalité compte 15\u202f000 habitants."),
    ("departement", 150_000, "une organisation de type « Département » n'y a pas accès."),
    ("syndicat", None, "une organisation de type « Syndicat mixte » n'y a pas accès."),
    ("commune", None, "la population de cette organisation n'est pas connue"),
])
def test_an_ineligible_organization_is_told_why(kind, population, reason):
    organization = make_organization(kind=kind, population=population)
    user = member_of(organization)
    expected = why_not_request_diagnostic(user, organization)
    assert expected.startswith(f"{RULE} : ") and reason in expected
    with pytest.raises(RuleViolation, match=re.escape(expected)):
        diagnostics.request_diagnostic(organization, INPUT, by=user)


def test_only_verified_members_of_that_organization_may_ask():
    commune = make_organization()
    pending = make_member(organization=commune, status=MembershipStatus.PENDING).user
    other = member_of()
    for user in (pending, other, make_user(is_admin=True)):
        assert "Seuls les membres vérifiés de cette organisation" in why_not_request_diagnostic(user, commune)
        with pytest.raises(RuleViolation, match="Seuls les membres vérifiés"):
            diagnostics.request_diagnostic(commune, INPUT, by=user)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(DiagnosticRequest)) == 0


def test_an_unverified_organization_cannot_ask():
    commune = make_organization(is_verified=False)
    assert "Seuls les membres vérifiés" in why_not_request_diagnostic(member_of(commune), commune)


def test_one_open_request_at_a_time_then_a_new_one_once_closed():
    commune = make_organization()
    agent, elected = member_of(commune), member_of(commune, role="elected")
    first = ask(agent, commune)
    for status in ("new", "contacted", "diagnostic_done"):
        first.status = status
        db.session.commit()
        reason = why_not_request_diagnostic(elected, commune)
        assert reason.startswith("Votre organisation a déjà une demande de diagnostic en cours")
        with pytest.raises(RuleViolation, match="déjà une demande de diagnostic en cours"):
            diagnostics.request_diagnostic(commune, INPUT, by=elected)
        db.session.rollback()
    diagnostics.change_diagnostic_status(first, "closed", by=make_user(is_admin=True))
    db.session.commit()
    assert why_not_request_diagnostic(elected, commune) is None
    second = ask(elected, commune)
    assert diagnostics.latest_request(commune) == second


def test_the_database_holds_one_open_request_per_organization_when_the_check_is_passed():
    """Two members pressing at once both pass the check: the unique index refuses the second."""
    commune = make_organization()
    make_diagnostic_request(commune)
    with pytest.raises(sa.exc.IntegrityError):
        make_diagnostic_request(commune)
    db.session.rollback()


@pytest.mark.parametrize("field, value, message", [
    ("needs", "   ", "Décrivez vos besoins"),
    ("needs", "x" * 4001, "au plus 4000 caractères"),
    ("contact_email", "", "Indiquez l'adresse électronique"),
    ("contact_email", "mairie.fr", "Saisissez une adresse électronique valide"),
    ("contact_phone", "appelez-moi", "Saisissez un numéro de téléphone"),
    ("contact_name", "L" * 121, "Le nom compte au plus 120 caractères"),
])
def test_bad_input_is_refused_next_to_its_field(field, value, message):
    commune = make_organization()
    data = DiagnosticInput(**{**INPUT.__dict__, field: value})
    with pytest.raises(RuleViolation, match=message) as refusal:
        diagnostics.request_diagnostic(commune, data, by=member_of(commune))
    assert refusal.value.field == field


# --- Triage ---------------------------------------------------------------------------------------------

def test_a_status_change_is_audited_and_mailed_to_the_requester_in_their_language():
    commune = make_organization("Murat")
    requester = make_member(make_user(locale="en"), commune).user
    diagnostic = ask(requester, commune)
    admin = make_user(is_admin=True, name="Camille Roux")
    diagnostics.change_diagnostic_status(diagnostic, "contacted", "Appelée le 3.", by=admin)
    db.session.commit()
    entry = db.session.scalars(sa.select(AuditEntry).filter_by(action="diagnostic.status")).one()
    assert (entry.actor, entry.subject) == (admin, f"diagnostic_requests:{diagnostic.id}")
    assert entry.data == {"from": "new", "to": "contacted", "note": "Appelée le 3."}
    assert [e.action for e in diagnostics.status_history(diagnostic)] == ["diagnostic.request", "diagnostic.status"]
    mail = db.session.scalars(sa.select(OutboxMessage).filter_by(recipient=requester.email)).one()
    assert f"/collectivites/{commune.id}" in mail.body and "Appelée" not in mail.body  # the note stays inside


def test_only_admins_triage_and_a_change_must_change_something():
    diagnostic = make_diagnostic_request()
    with pytest.raises(RuleViolation, match="Seule l'équipe d'administration"):
        diagnostics.change_diagnostic_status(diagnostic, "closed", by=make_user())
    admin = make_user(is_admin=True)
    with pytest.raises(RuleViolation, match="Choisissez un statut"):
        diagnostics.change_diagnostic_status(diagnostic, "perdu", by=admin)
    with pytest.raises(RuleViolation, match="Rien n'a changé"):
        diagnostics.change_diagnostic_status(diagnostic, "new", by=admin)
    assert diagnostic.status == "new"


def test_a_closed_request_cannot_reopen_while_another_is_open():
    commune = make_organization()
    closed = make_diagnostic_request(commune, status="closed")
    make_diagnostic_request(commune)
    with pytest.raises(RuleViolation, match="ne peut pas être rouverte"):
        diagnostics.change_diagnostic_status(closed, "contacted", by=make_user(is_admin=True))
    db.session.rollback()
    assert db.session.get(DiagnosticRequest, closed.id).status == "closed"


def test_the_needs_beside_a_request_are_the_organizations_listed_needs():
    commune = make_organization()
    consultation = make_consultation()
    shown = make_proposal(consultation, commune, title="Cantine en ligne")
    make_proposal(consultation, commune, kind="service")
    make_proposal(consultation, commune, state="draft")
    make_proposal(consultation, make_organization())
    assert diagnostics.published_needs_of(commune) == [shown]


# --- Through HTTP ---------------------------------------------------------------------------------------

def test_a_member_asks_from_the_organization_page_and_sees_the_status(client):
    commune = make_organization("Murat", population=2_000)
    user = make_member(make_user(name="Léa Fabre"), commune).user
    client.sign_in_as(user)
    page = text_of(client.get(f"/collectivites/{commune.id}"))
    assert "Diagnostic sur mesure (ANSM)" in page and f'href="/collectivites/{commune.id}/diagnostic"' in page
    form = text_of(client.get(f"/collectivites/{commune.id}/diagnostic"))
    assert 'value="Léa Fabre"' in form and f'value="{user.email}"' in form  # who asks, as a start
    sent = client.post_form(f"/collectivites/{commune.id}/diagnostic",
                            {"needs": "Un site et des démarches en ligne.", "contact_name": "Léa Fabre",
                             "contact_email": "lea@murat.fr", "contact_phone": ""}, follow_redirects=True)
    page = text_of(sent)
    assert "Votre demande de diagnostic est envoyée" in page
    assert "par Léa Fabre : nouvelle." in page
    assert "déjà une demande de diagnostic en cours (statut : nouvelle)" in page
    assert f'href="/collectivites/{commune.id}/diagnostic"' not in page
    diagnostic = db.session.scalars(sa.select(DiagnosticRequest)).one()
    assert (diagnostic.needs, diagnostic.contact_email) == ("Un site et des démarches en ligne.", "lea@murat.fr")
    again = client.get(f"/collectivites/{commune.id}/diagnostic", follow_redirects=True)
    assert "déjà une demande de diagnostic en cours" in text_of(again)


def test_form_errors_are_in_french_and_keep_what_was_typed(client):
    commune = make_organization()
    client.sign_in_as(member_of(commune))
    response = client.post_form(f"/collectivites/{commune.id}/diagnostic",
                                {"needs": "Un annuaire des associations.", "contact_name": "Paul Durand",
                                 "contact_email": "paul-at-mairie", "contact_phone": "04 71 00 00 00"})
    page = text_of(response)
    assert response.status_code == 200
    assert "Le formulaire contient 1 erreur" in page and "Saisissez une adresse électronique valide" in page
    assert "Un annuaire des associations.</textarea>" in page and 'value="paul-at-mairie"' in page
    assert 'value="04 71 00 00 00"' in page
    empty = text_of(client.post_form(f"/collectivites/{commune.id}/diagnostic",
                                     {"needs": "", "contact_email": "paul@mairie.fr"}))
    assert "Décrivez vos besoins" in empty and 'value="paul@mairie.fr"' in empty
    assert db.session.scalar(sa.select(sa.func.count()).select_from(DiagnosticRequest)) == 0


def test_an_ineligible_organizations_members_are_told_why_and_visitors_see_no_section(client):
    town = make_organization("Aurillac", population=25_000)
    assert "Diagnostic sur mesure" not in text_of(client.get(f"/collectivites/{town.id}"))
    client.sign_in_as(member_of(town))
    page = text_of(client.get(f"/collectivites/{town.id}"))
    assert f"{RULE} : cette commune compte 25\u202f000 habitants." in page
    refused = client.post_form(f"/collectivites/{town.id}/diagnostic",
                               {"needs": "Tout.", "contact_email": "a@aurillac.fr"}, follow_redirects=True)
    assert "cette commune compte 25\u202f000 habitants" in text_of(refused)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(DiagnosticRequest)) == 0


def test_visitors_see_that_a_small_commune_is_eligible_but_no_request(client):
    commune = make_organization("Murat")
    make_diagnostic_request(commune)
    page = text_of(client.get(f"/collectivites/{commune.id}"))
    assert "Éligible ANSM" in page and "peut demander un diagnostic numérique sur mesure" in page
    assert "Demande du" not in page and "/diagnostic\"" not in page


def test_the_admin_triages_a_request_beside_the_organizations_needs(client):
    commune = make_organization("Murat")
    requester = member_of(commune)
    diagnostic = make_diagnostic_request(commune, requester, needs="Un site internet accessible.")
    need = make_proposal(make_consultation(), commune, title="Cantine en ligne")
    client.sign_in_as(make_user(is_admin=True, name="Camille Roux"))
    listing = text_of(client.get("/admin/diagnostics?statut=new"))
    assert "Murat" in listing and "Un site internet accessible." in listing and requester.email in listing
    assert "Murat" not in text_of(client.get("/admin/diagnostics?statut=closed"))
    page = text_of(client.get(f"/admin/diagnostics/{diagnostic.id}"))
    assert f'<a href="/propositions/{need.id}">Cantine en ligne</a> — {need.consultation.title}' in page
    done = client.post_form(f"/admin/diagnostics/{diagnostic.id}", {"status": "contacted", "note": "Rappel jeudi."},
                            follow_redirects=True)
    page = text_of(done)
    assert "Demande de diagnostic mise à jour." in page
    assert "Camille Roux a traité la demande de diagnostic sur mesure de" in page
    assert "<li>Statut : Nouvelle → Collectivité contactée</li><li>Note : Rappel jeudi.</li>" in page
    assert (diagnostic.status, diagnostic.admin_note) == ("contacted", "Rappel jeudi.")
    assert db.session.scalars(sa.select(AuditEntry.action)).all() == ["diagnostic.status"]
    mail = db.session.scalars(sa.select(OutboxMessage).filter_by(recipient=requester.email)).one()
    assert "a changé de statut : Collectivité contactée" in mail.body


def test_once_the_requester_deleted_their_account_the_admin_sees_no_address_of_theirs(client):
    commune = make_organization("Murat")
    requester = member_of(commune)
    diagnostic = make_diagnostic_request(commune, requester)
    personal_data.delete_account(requester, cause=personal_data.ON_REQUEST)
    db.session.commit()
    client.sign_in_as(make_user(is_admin=True))
    for page in (text_of(client.get("/admin/diagnostics")), text_of(client.get(f"/admin/diagnostics/{diagnostic.id}"))):
        assert "Agent·e de Murat" in page and "mailto:" not in page
    assert "<dt>Adresse électronique</dt><dd>(non précisée)</dd>" in page


def test_an_unknown_status_filter_or_choice_is_refused_and_changes_nothing(client):
    diagnostic = make_diagnostic_request()
    client.sign_in_as(make_user(is_admin=True))
    assert client.get("/admin/diagnostics?statut=perdu").status_code == 400
    response = client.post_form(f"/admin/diagnostics/{diagnostic.id}", {"status": "perdu", "note": "Ma note"})
    page = text_of(response)
    assert response.status_code == 200 and "Le formulaire contient 1 erreur" in page and "Ma note</textarea>" in page
    unchanged = text_of(client.post_form(f"/admin/diagnostics/{diagnostic.id}", {"status": "new"}))
    assert "Rien n'a changé" in unchanged
    assert diagnostic.status == "new" and db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 0


def test_members_and_visitors_cannot_triage(client):
    commune = make_organization()
    member = member_of(commune)
    diagnostic = make_diagnostic_request(commune, member)
    anonymous = client.post_form(f"/admin/diagnostics/{diagnostic.id}", {"status": "closed"})
    assert anonymous.status_code == 302 and "/compte/connexion" in anonymous.location
    client.sign_in_as(member)
    assert client.post_form(f"/admin/diagnostics/{diagnostic.id}", {"status": "closed"}).status_code == 403
    assert client.get("/admin/diagnostics").status_code == 403
    assert diagnostic.status == DiagnosticStatus.NEW
