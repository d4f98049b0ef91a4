"""The directory endpoint of the JSON API."""

import pytest

from tests.factories import make_consultation, make_organization, make_proposal


def test_organizations_endpoint_searches_and_paginates_with_total(client):
    for number in range(3):
        make_organization(f"Saint-Martin-{number}", population=100 + number)
    make_organization("CC des Monts", kind="epci", population=9000, departement_code="63")
    body = client.get("/api/v1/organizations?q=saint-martin&per_page=2").get_json()
    assert body["total"] == 3 and body["pages"] == 2 and len(body["items"]) == 2
    assert body["items"][0]["name"] == "Saint-Martin-2"
    assert set(body["items"][0]) >= {"id", "kind", "name", "siren", "insee_code", "population", "departement",
                                     "is_ansm_eligible"}
    epci = client.get("/api/v1/organizations?kind=epci&departement=63").get_json()
    assert [item["name"] for item in epci["items"]] == ["CC des Monts"]
    assert epci["items"][0]["is_ansm_eligible"] is True


@pytest.mark.parametrize("query, field", [
    ("page=abc", "page"),
    ("page=0", "page"),
    ("page=-3", "page"),
    ("kind=planete", "kind"),
    ("departement=999", "departement"),
    ("per_page=1000", "per_page"),
    ("q=" + "x" * 300, "q"),
    ("tri=nom", "tri"),
])
def test_malformed_parameters_get_a_400_json_error(client, query, field):
    response = client.get(f"/api/v1/organizations?{query}")
    assert response.status_code == 400
    body = response.get_json()
    assert body["error"]["status"] == 400 and field in body["error"]["fields"]


def test_unknown_api_route_answers_json(client):
    response = client.get("/api/v1/nulle-part")
    assert response.status_code == 404 and response.get_json()["error"]["status"] == 404


@pytest.mark.parametrize("query, field", [
    ("per_page=²", "per_page"), ("seed=²", "seed"), ("seed=" + "9" * 5000, "seed"),
    ("page=99999999999999999999", "page"), ("per_page=٣", "per_page"),
])
def test_numbers_that_are_not_plain_digits_or_too_large_get_a_400_naming_the_parameter(client, query, field):
    consultation = make_consultation()
    response = client.get(f"/api/v1/consultations/{consultation.slug}/proposals?{query}")
    assert response.status_code == 400 and field in response.get_json()["error"]["fields"]


def test_absolute_urls_come_from_the_public_address_not_the_host_header(client, app):
    consultation = make_consultation()
    proposal = make_proposal(consultation)
    headers = {"Host": "evil.example"}
    base = app.config["PUBLIC_URL"]
    listed = client.get(f"/api/v1/consultations/{consultation.slug}/proposals", headers=headers).get_json()
    assert listed["items"][0]["url"] == f"{base}/propositions/{proposal.id}"
    one = client.get(f"/api/v1/proposals/{proposal.id}", headers=headers).get_json()
    assert one["url"] == f"{base}/propositions/{proposal.id}"
    consultations = client.get("/api/v1/consultations", headers=headers).get_json()
    assert consultations["items"][0]["url"] == f"{base}/consultations/{consultation.slug}"
    assert "evil.example" not in client.get(f"/api/v1/consultations/{consultation.slug}", headers=headers).text
