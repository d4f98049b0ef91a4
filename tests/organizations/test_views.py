"""Directory search page, organization page, joining and verifying through HTTP."""

import re
from pathlib import Path
from urllib.parse import urlsplit

import sqlalchemy as sa

from app.core.mail import OutboxMessage
from app.extensions import db
from app.organizations.directory import import_directory
from app.organizations.models import Membership, MembershipStatus
from tests.helpers import text_of
from tests.factories import make_member, make_organization, make_user

DIRECTORY = Path(__file__).parent / "directory"


def result_names(page: str) -> list[str]:
    """The organizations listed in the results table of the directory page, in order."""
    return re.findall(r'<td><a href="/collectivites/\d+">([^<]+)</a></td>', page)


def test_directory_search_page_finds_by_name_and_paginates(client):
    for number in range(25):
        make_organization(f"Saint-Martin-{number:02d}", population=1000 + number)
    make_organization("Aurillac", population=25000)
    page = text_of(client.get("/collectivites/?q=saint+martin"))
    assert "25 organisations trouvées" in page
    assert "Saint-Martin-24" in page and "Aurillac" not in page
    second = text_of(client.get("/collectivites/?q=saint+martin&page=2"))
    assert "Saint-Martin-00" in second


def test_directory_search_page_finds_communes_by_postal_code_or_insee_code(client):
    import_directory(DIRECTORY)
    page = text_of(client.get("/collectivites/?q=15100"))
    assert "Nom, code postal, code INSEE ou SIREN" in page
    assert "3 organisations trouvées" in page
    # two communes whose postal code it is, then the one whose INSEE code it is
    assert result_names(page) == ["Saint-Flour", "Anglards-de-Saint-Flour", "Laveissenet"]


def test_api_finds_organizations_written_with_st_for_saint(client):
    import_directory(DIRECTORY)
    response = client.get("/api/v1/organizations?q=st+flour")
    assert [item["name"] for item in response.get_json()["items"]] == [
        "CC Saint-Flour Communauté", "Saint-Flour", "Anglards-de-Saint-Flour"]


def test_directory_search_page_explains_bad_parameters(client):
    response = client.get("/collectivites/?departement=999&page=abc&kind=planete")
    page = text_of(response)
    assert response.status_code == 200
    assert "Code de département inconnu" in page
    assert "Le formulaire contient" in page


def test_join_then_elected_official_verifies_from_the_organization_page(client):
    commune = make_organization("Murat")
    elected = make_member(organization=commune, role="elected").user
    newcomer = make_user(name="Léa Fabre")
    client.sign_in_as(newcomer)
    response = client.post_form(f"/collectivites/{commune.id}/rejoindre", {"role": "agent"}, follow_redirects=True)
    assert "Votre demande est envoyée" in text_of(response)
    request = db.session.scalar(sa.select(Membership).filter_by(user_id=newcomer.id))
    assert request.status == MembershipStatus.PENDING

    client.sign_in_as(elected)
    page = text_of(client.get(f"/collectivites/{commune.id}"))
    assert "Demandes à traiter" in page and "Léa Fabre" in page
    decided = client.post_form(f"/adhesions/{request.id}/decision", {"decision": "accept"}, follow_redirects=True)
    assert "Demande de Léa Fabre acceptée" in text_of(decided)
    assert request.status == MembershipStatus.VERIFIED
    mail = db.session.scalars(sa.select(OutboxMessage).filter_by(recipient=newcomer.email)).one()
    assert "acceptée" in mail.body


def test_joining_mails_the_elected_officials_a_link_to_the_requests_they_decide(client):
    commune = make_organization("Murat")
    elected = make_member(organization=commune, role="elected").user
    client.sign_in_as(make_user(name="Léa Fabre"))
    client.post_form(f"/collectivites/{commune.id}/rejoindre", {"role": "agent"})
    mail = db.session.scalars(sa.select(OutboxMessage)).one()
    assert mail.recipient == elected.email
    assert "Léa Fabre" in mail.body and "« Murat » sur Agora, en tant que : Agent." in mail.body
    link = re.search(r"http://localhost/\S+", mail.body).group()
    page = text_of(client.sign_in_as(elected).get(urlsplit(link).path))
    assert "Demandes d'adhésion à traiter" in page and "Léa Fabre" in page


def test_joining_an_organization_without_elected_officials_mails_the_admins(client):
    commune = make_organization("Murat")
    admin = make_user(is_admin=True)
    client.sign_in_as(make_user())
    client.post_form(f"/collectivites/{commune.id}/rejoindre", {"role": "elected"})
    assert db.session.scalars(sa.select(OutboxMessage.recipient)).all() == [admin.email]


def test_join_without_role_or_twice_is_refused_with_a_message(client):
    commune = make_organization()
    user = make_user()
    client.sign_in_as(user)
    no_role = client.post_form(f"/collectivites/{commune.id}/rejoindre", {}, follow_redirects=True)
    assert "Choisissez votre rôle" in text_of(no_role)
    client.post_form(f"/collectivites/{commune.id}/rejoindre", {"role": "elected"})
    twice = client.post_form(f"/collectivites/{commune.id}/rejoindre", {"role": "elected"}, follow_redirects=True)
    assert "déjà demandé" in text_of(twice)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Membership)) == 1


def test_deciding_someone_elses_request_is_forbidden(client):
    commune = make_organization()
    request = make_member(organization=commune, status=MembershipStatus.PENDING)
    client.sign_in_as(make_member(role="agent", organization=commune).user)
    response = client.post_form(f"/adhesions/{request.id}/decision", {"decision": "accept"})
    assert response.status_code == 403
    assert request.status == MembershipStatus.PENDING


def test_unknown_decision_value_changes_nothing(client):
    request = make_member(status=MembershipStatus.PENDING)
    client.sign_in_as(make_user(is_admin=True))
    response = client.post_form(f"/adhesions/{request.id}/decision", {"decision": "peut-etre"},
                                follow_redirects=True)
    assert "Choisissez d'accepter ou de refuser" in text_of(response)
    assert request.status == MembershipStatus.PENDING


def test_members_are_listed_only_to_members(client):
    commune = make_organization()
    member = make_member(organization=commune, role="elected")
    assert member.user.name not in text_of(client.get(f"/collectivites/{commune.id}"))
    client.sign_in_as(member.user)
    assert "Membres vérifiés" in text_of(client.get(f"/collectivites/{commune.id}"))


def test_organization_page_shows_ansm_eligibility(client):
    small = make_organization("Petit-Village", population=300)
    page = text_of(client.get(f"/collectivites/{small.id}"))
    assert "Éligible ANSM" in page and "Accompagnement numérique sur mesure (ANSM) : gratuit" in page
    big = make_organization("Grande-Ville", population=30000)
    assert "ANSM" not in text_of(client.get(f"/collectivites/{big.id}"))


def test_the_decision_is_mailed_in_the_language_of_the_member_not_of_whoever_decides(client):
    commune = make_organization("Murat")
    french, english = make_user(), make_user(locale="en")
    requests = [make_member(user, commune, status=MembershipStatus.PENDING) for user in (french, english)]
    client.sign_in_as(make_user(is_admin=True))
    client.post("/langue", data={"language": "en"})
    for request in requests:
        decided = client.post_form(f"/adhesions/{request.id}/decision", {"decision": "accept"},
                                   follow_redirects=True)
        assert "accepted" in text_of(decided)
    to_french, to_english = (db.session.scalars(sa.select(OutboxMessage).filter_by(recipient=user.email)).one()
                             for user in (french, english))
    assert to_french.subject == "Votre demande d'adhésion a été traitée" and "a été acceptée" in to_french.body
    assert to_english.subject == "Your membership request has been processed"
    assert "has been accepted" in to_english.body and "acceptée" not in to_english.body
