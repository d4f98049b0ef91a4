"""Home page, consultation page and the admin's consultation form through HTTP."""

import sqlalchemy as sa

from app.consultations.models import Consultation, PhaseKind
from app.core import clock
from app.extensions import db
from tests.factories import make_consultation, make_member, make_user, seat
from tests.helpers import text_of

PHASE_FIELDS = {
    "collect": ("01/01/2027 09:00", "01/03/2027 18:00"),
    "support": ("2027-04-01T00:00", "2027-05-01T00:00"),
    "deliberation": ("2027-05-02T00:00", "2027-07-01T00:00"),
    "selection": ("2027-07-01T00:00", "2027-07-15T00:00"),
    "results": ("2027-07-15T00:00", "2028-07-15T00:00"),
}


def consultation_form(**changes) -> dict:
    data = {"title": "Besoins numériques 2027", "slug": "besoins-2027", "description": "Une consultation.",
            "budget_envelope": "17200000", "laureate_target": "42", "vote_limit": "10",
            "threshold_per_proposal": "0", "minimum_votes_per_user": "3", "eligible_kinds": ["commune", "epci"],
            "themes": "Démarches en ligne\nInclusion numérique\n"}
    for kind, (start, end) in PHASE_FIELDS.items():
        data[f"{kind}_starts_at"], data[f"{kind}_ends_at"] = start, end
    data.update(changes)
    return data


def test_home_page_shows_the_current_phase_and_what_an_elected_official_can_do(client):
    consultation = make_consultation(PhaseKind.SUPPORT, vote_limit=5)
    visitor_page = text_of(client.get("/"))
    assert consultation.title in visitor_page and "Phase en cours : Soutiens" in visitor_page
    assert "Créez un compte" in visitor_page
    member = make_member(role="elected")
    page = text_of(client.sign_in_as(member.user).get("/"))
    assert f"Soutenir les propositions prioritaires au nom de : {member.organization.name}" in page


def test_home_page_tells_agents_and_newcomers_what_to_do(client):
    make_consultation(PhaseKind.COLLECT)
    agent = make_member(role="agent")
    assert "Déposer des besoins et des services" in text_of(client.sign_in_as(agent.user).get("/"))
    assert "Rejoignez votre collectivité" in text_of(client.sign_in_as(make_user()).get("/"))


def test_home_page_names_the_committee_seat(client):
    consultation = make_consultation(PhaseKind.DELIBERATION)
    chair = seat(consultation, is_chair=True, affiliation="Intercommunalités de France").user
    page = text_of(client.sign_in_as(chair).get("/"))
    assert "Vous siégez au comité de pilotage (Intercommunalités de France), à la présidence" in page


def test_home_page_without_consultation(client):
    assert "Aucune consultation n'est ouverte" in text_of(client.get("/"))


def test_consultation_page_shows_calendar_in_paris_time_and_committee(client):
    consultation = make_consultation(PhaseKind.SUPPORT, budget_envelope_cents=17_200_000_00)
    seat(consultation, make_user(name="Hélène Garnier"), is_chair=True)
    page = text_of(client.get(f"/consultations/{consultation.slug}"))
    assert "Hélène Garnier" in page and "présidence" in page
    assert "17\u202f200\u202f000 €" in page or "17 200 000 €" in page
    support = consultation.phase(PhaseKind.SUPPORT)
    assert f"{clock.to_paris(support.starts_at):%H}h00" in page
    assert client.get("/consultations/inconnue").status_code == 404


def test_admin_creates_a_consultation_through_the_form(client):
    client.sign_in_as(make_user(is_admin=True))
    response = client.post_form("/admin/consultations/nouvelle", consultation_form(), follow_redirects=True)
    assert "Consultation enregistrée" in text_of(response)
    consultation = db.session.scalar(sa.select(Consultation).filter_by(slug="besoins-2027"))
    assert consultation.budget_envelope_cents == 17_200_000_00 and consultation.eligible_kinds == ["commune", "epci"]
    collect = consultation.phase(PhaseKind.COLLECT)
    assert collect.starts_at.isoformat() == "2027-01-01T08:00:00+00:00"  # 09:00 in Paris, winter
    assert consultation.phase(PhaseKind.SUPPORT).ends_at.isoformat() == "2027-04-30T22:00:00+00:00"  # summer
    form_page = text_of(client.get(f"/admin/consultations/{consultation.id}/modifier"))
    assert 'value="2027-01-01T09:00"' in form_page  # shown back in Paris time


def test_bad_consultation_input_gets_french_messages_and_saves_nothing(client):
    client.sign_in_as(make_user(is_admin=True))
    overlapping = consultation_form(support_starts_at="2027-02-15T00:00")
    page = text_of(client.post_form("/admin/consultations/nouvelle", overlapping))
    assert "les phases ne peuvent pas se chevaucher" in page
    wrong_format = consultation_form(collect_starts_at="le premier janvier")
    page = text_of(client.post_form("/admin/consultations/nouvelle", wrong_format))
    assert "Date et heure invalides" in page and "Le formulaire contient 1 erreur" in page
    negative = consultation_form(vote_limit="-2", budget_envelope="beaucoup")
    page = text_of(client.post_form("/admin/consultations/nouvelle", negative))
    assert "Saisissez un nombre entier positif ou nul" in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Consultation)) == 0


def test_admin_seats_a_committee_member_by_email(client):
    consultation = make_consultation()
    member = make_user("membre@example.org", name="Karim Benali")
    client.sign_in_as(make_user(is_admin=True))
    url = f"/admin/consultations/{consultation.id}/comite"
    unknown = text_of(client.post_form(url, {"email": "inconnu@example.org", "affiliation": "DINUM"}))
    assert "Aucun compte n'utilise cette adresse" in unknown
    done = text_of(client.post_form(url, {"email": "MEMBRE@example.org", "affiliation": "DINUM", "is_chair": "y"},
                                    follow_redirects=True))
    assert "Karim Benali siège désormais au comité" in done
    assert consultation.committee_seats[0].user == member and consultation.committee_seats[0].is_chair
    removed = client.post_form(f"/admin/comite/{consultation.committee_seats[0].id}/retirer", follow_redirects=True)
    assert "ne siège plus au comité" in text_of(removed)
    assert consultation.committee_seats == []
