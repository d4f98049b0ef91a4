"""The JSON API's endpoints: what they show, how they filter and paginate, what they never show."""

import hashlib
from urllib.parse import urlsplit

import pytest

from app.consultations.models import PhaseKind
from app.core import audit, clock
from tests.api.conftest import SECRET
from tests.factories import (make_consultation, make_counted_support, make_issue, make_organization, make_proposal,
                             make_user, seat)


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


# The endpoints that read what the pages show; `api` checks each answer against the OpenAPI document.
def titles(body: dict) -> list[str]:
    return [item["title"] for item in body["items"]]


def test_consultations_are_listed_in_the_page_envelope(api):
    consultations = [make_consultation() for _number in range(3)]
    body = api.json("/api/v1/consultations?per_page=2")
    assert (body["total"], body["pages"], body["page"], body["per_page"]) == (3, 2, 1, 2)
    second = api.json("/api/v1/consultations?per_page=2&page=2")
    assert [item["slug"] for item in body["items"] + second["items"]] == [c.slug for c in reversed(consultations)]


def test_a_consultation_gives_its_themes_phases_and_support_rules(api):
    consultation = make_consultation(vote_limit=3, votes_hidden=True)
    body = api.json(f"/api/v1/consultations/{consultation.slug}")
    assert [theme["name"] for theme in body["themes"]] == ["Démarches en ligne", "Inclusion numérique"]
    assert {phase["kind"] for phase in body["phases"]} == {"collect", "support", "deliberation", "selection",
                                                           "results"}
    assert body["support_settings"]["vote_limit"] == 3 and body["support_settings"]["votes_hidden"] is True


def test_proposals_list_only_what_the_index_lists_and_filter_like_it(api, published):
    body = api.json(f"{published.base}/proposals?sort=most_supported")
    assert titles(body) == ["Cantine en ligne", "Transport scolaire", "Logiciel de cantine"]
    assert body["items"][0]["support_count"] == 2 and body["items"][0]["answer_state"] == "laureate"
    assert titles(api.json(f"{published.base}/proposals?kind=service")) == ["Logiciel de cantine"]
    assert titles(api.json(f"{published.base}/proposals?departement=63")) == ["Logiciel de cantine"]
    assert titles(api.json(f"{published.base}/proposals?answer_state=evaluating")) == ["Transport scolaire"]
    assert titles(api.json(f"{published.base}/proposals?q=transports")) == ["Transport scolaire"]


def test_a_proposal_shows_as_its_page_does_drafts_and_hidden_ones_are_unknown(api, published):
    assert api.json(f"/api/v1/proposals/{published.merged.id}")["merged_into_id"] == published.laureate.id
    for unseen in (published.draft, published.hidden):
        body = api.json(f"/api/v1/proposals/{unseen.id}", status=404)
        assert body["error"]["status"] == 404 and body["error"]["message"]


def test_a_signed_in_author_does_not_read_their_draft_through_the_api(client, api, published):
    client.sign_in_as(published.draft.author)
    api.json(f"/api/v1/proposals/{published.draft.id}", status=404)


def test_counts_are_null_and_not_sortable_while_the_consultation_hides_them(api):
    consultation = make_consultation(votes_hidden=True)
    proposal = make_proposal(consultation)
    make_counted_support(proposal, make_organization())
    base = f"/api/v1/consultations/{consultation.slug}/proposals"
    assert api.json(base)["items"][0]["support_count"] is None
    assert api.json(f"/api/v1/proposals/{proposal.id}")["support_count"] is None
    assert "sort" in api.json(f"{base}?sort=most_supported", status=400)["error"]["fields"]
    consultation.votes_hidden = False
    assert api.json(base)["items"][0]["support_count"] == 1


def test_answers_stay_out_of_proposals_until_the_chair_publishes_them(api, published):
    published.consultation.results_published_at = None
    body = api.json(f"{published.base}/proposals")
    assert {item["answer_state"] for item in body["items"]} == {"not_answered"}
    assert {item["answer_text"] for item in body["items"]} == {None}
    assert all(item["granted_amount_cents"] is None for item in body["items"])
    assert titles(api.json(f"{published.base}/proposals?answer_state=laureate")) != ["Cantine en ligne"]


def test_issues_in_the_committee_order_with_their_listed_proposals(api, published):
    body = api.json(f"{published.base}/issues")
    assert titles(body) == ["Restauration scolaire", "Mobilité"]
    assert [item["proposal_count"] for item in body["items"]] == [2, 1]
    issue = api.json(f"{published.base}/issues/{published.canteens.id}")
    assert [proposal["title"] for proposal in issue["proposals"]] == ["Cantine en ligne", "Logiciel de cantine"]
    assert "cantine" in issue["key_terms"]
    assert issue["supporting_organization_count"] == 2
    assert {organization["name"] for organization in issue["supporting_organizations"]} == {"CC des Monts", "Paris"}


def test_an_issue_names_no_supporter_where_the_consultation_names_none(api, published):
    published.consultation.supporters_hidden = True
    issue = api.json(f"{published.base}/issues/{published.canteens.id}")
    assert issue["supporting_organizations"] is None and issue["supporting_organization_count"] == 2


def test_issues_are_unknown_before_they_are_public_even_to_the_committee(client, api):
    consultation = make_consultation(PhaseKind.DELIBERATION)
    issue = make_issue(consultation, "Pas encore public")
    client.sign_in_as(seat(consultation).user)
    for url in (f"/api/v1/consultations/{consultation.slug}/issues",
                f"/api/v1/consultations/{consultation.slug}/issues/{issue.id}"):
        assert "pas encore publics" in api.json(url, status=404)["error"]["message"]


def test_an_issue_of_another_consultation_is_unknown(api, published):
    other = make_issue(make_consultation(PhaseKind.RESULTS, results_published_at=clock.now()))
    api.json(f"{published.base}/issues/{other.id}", status=404)
    api.json(f"{published.base}/issues/999999", status=404)


def test_answers_rank_every_listed_proposal_by_supports_and_filter_like_the_results(api, published):
    body = api.json(f"{published.base}/answers")
    assert [(item["rank"], item["proposal"]["title"]) for item in body["items"]] == [
        (1, "Cantine en ligne"), (2, "Transport scolaire"), (3, "Logiciel de cantine")]
    assert body["items"][0]["answer_text"] == "Retenue pour son utilité."
    retained = api.json(f"{published.base}/answers?reponse=laureate")
    assert [item["proposal"]["title"] for item in retained["items"]] == ["Cantine en ligne"]
    services = api.json(f"{published.base}/answers?kind=service")
    assert [(item["rank"], item["answer_state"]) for item in services["items"]] == [(3, "not_retained")]
    assert "reponse" in api.json(f"{published.base}/answers?reponse=peut-etre", status=400)["error"]["fields"]


def test_laureates_with_their_grants(api, published):
    body = api.json(f"{published.base}/laureates")
    assert body["total"] == 1
    assert body["items"][0] == {**body["items"][0], "granted_amount_cents": 1_000_000,
                                "issue_id": published.canteens.id}
    assert body["items"][0]["proposal"]["organization"]["name"] == "Aurillac"


def test_answers_and_laureates_are_unknown_until_published(api, published):
    published.consultation.results_published_at = None
    for what in ("answers", "laureates"):
        assert "pas encore publiées" in api.json(f"{published.base}/{what}", status=404)["error"]["message"]


def test_the_tally_gives_the_digest_of_the_file_it_links_to(client, api, published):
    body = api.json(f"{published.base}/tally")
    assert body["support_count"] == 3 and body["columns"][0] == "id_proposition"
    csv_file = client.get(urlsplit(body["file_url"]).path)
    assert hashlib.sha256(csv_file.data).hexdigest() == body["digest"]


def test_the_tally_is_unknown_before_the_support_window_ends(api):
    consultation = make_consultation(PhaseKind.SUPPORT)
    body = api.json(f"/api/v1/consultations/{consultation.slug}/tally", status=404)
    assert "fin de la période de soutiens" in body["error"]["message"]


def names(body: dict) -> dict[str, tuple]:
    return {item["name"]: (item["proposal_count"], item["is_supporter"]) for item in body["items"]}


def test_participating_organizations_carry_proposals_or_supported(api, published):
    body = api.json(f"{published.base}/organizations")
    # Paris's proposals are a draft, a hidden and a merged one: it takes part by its supports only.
    assert names(body) == {"Aurillac": (2, False), "CC des Monts": (1, True), "Paris": (0, True)}
    assert names(api.json(f"{published.base}/organizations?departement=63")) == {"CC des Monts": (1, True)}
    assert names(api.json(f"{published.base}/organizations?kind=epci&q=monts")) == {"CC des Monts": (1, True)}


def test_supporters_are_not_named_where_the_consultation_hides_them_or_before_the_tally(api, published):
    published.consultation.supporters_hidden = True
    assert names(api.json(f"{published.base}/organizations")) == {"Aurillac": (2, None), "CC des Monts": (1, None)}
    consultation = make_consultation(PhaseKind.SUPPORT)
    make_counted_support(make_proposal(consultation, published.cantal), published.paris)
    assert names(api.json(f"/api/v1/consultations/{consultation.slug}/organizations")) == {"Aurillac": (1, None)}


def test_the_audit_log_shows_the_chain_not_who_acted_nor_the_data(api, published):
    previous = audit.record("issue.create", actor=make_user(name="Membre Discret"), subject=published.transport)
    body = api.json("/api/v1/audit?per_page=2")
    latest, before = body["items"]
    assert latest["action"] == "issue.create" and latest["prev_hash"] == before["hash"] == published.entry.hash
    assert latest["subject"] == f"issues:{published.transport.id}" and previous.hash == latest["hash"]
    text = api.get("/api/v1/audit?per_page=100").text
    assert SECRET not in text and "Membre Discret" not in text


ENDPOINTS = ["/api/v1/organizations", "/api/v1/consultations", "{base}", "{base}/proposals", "{base}/issues",
             "{base}/issues/{issue}", "{base}/answers", "{base}/laureates", "{base}/tally", "{base}/organizations",
             "/api/v1/audit", "/api/v1/proposals/{proposal}"]


def urls(published) -> list[str]:
    return [url.format(base=published.base, issue=published.canteens.id, proposal=published.laureate.id)
            for url in ENDPOINTS]


def test_no_email_nor_unlisted_proposal_in_any_answer(api, published):
    for url in urls(published):
        text = api.get(url, query_string={"per_page": 100} if "{" not in url else None).text
        assert "@example.org" not in text
        for unseen in ("Brouillon de Paris", "Proposition masquée", SECRET):
            assert unseen not in text, url


def test_every_operation_that_reads_its_query_refuses_unknown_parameters(api, published, document):
    values = {"slug": published.consultation.slug, "issue_id": published.canteens.id,
              "proposal_id": published.laureate.id}
    checked = 0
    for path, methods in document["paths"].items():
        if "400" in methods["get"]["responses"]:
            body = api.json(path.format(**values) + "?tri=nom", status=400)
            assert body["error"]["fields"] == {"tri": ["Paramètre inconnu."]}, path
            checked += 1
    assert checked == len(document["paths"]) - 2  # all but the document and its page


@pytest.mark.parametrize("url", ["/api/v1/consultations/inconnue", "/api/v1/consultations/inconnue/proposals",
                                 "/api/v1/consultations/inconnue/issues", "/api/v1/consultations/inconnue/tally",
                                 "/api/v1/consultations/inconnue/organizations", "/api/v1/proposals/2147483647"])
def test_unknown_things_get_a_404_json_error(api, url):
    assert api.json(url, status=404)["error"]["status"] == 404


def test_statistics_endpoint_gives_the_figures_of_the_statistics_page(api, published):
    body = api.json(f"{published.base}/statistics")
    assert (body["needs"], body["services"], body["contributing_organizations"]) == (2, 1, 2)
    assert body["counts_hidden"] is False
    participation = body["participation"]
    assert participation["supports"] == 3 and participation["organizations"] == 2  # Monts and Paris
    assert {area["code"]: area["organizations"] for area in participation["by_departement"]} == {"63": 1, "75": 1}


def test_statistics_endpoint_hides_supports_while_the_consultation_hides_them(api):
    consultation = make_consultation(PhaseKind.SUPPORT, votes_hidden=True)
    make_counted_support(make_proposal(consultation), make_organization("Murat"))
    body = api.json(f"/api/v1/consultations/{consultation.slug}/statistics")
    assert body["counts_hidden"] is True and body["participation"] is None
    api.json("/api/v1/consultations/inconnue/statistics", status=404)
