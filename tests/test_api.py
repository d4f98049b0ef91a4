"""The directory endpoint of the JSON API."""

import pytest

from tests.factories import make_organization


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
