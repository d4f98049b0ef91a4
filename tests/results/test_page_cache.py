"""Pages the same for every visitor say so to the proxy in front (app/core/page_cache.py): nginx keeps them a few
seconds for every visitor (tests/prod shows it does). Anyone whose session holds something, and any page that
is not a plain 200, is never kept."""

import pytest

from app.core.page_cache import PROXY_CACHE_HEADER
from tests.factories import make_proposal, make_user

PAGES = ["/", "/consultations/relance-2027", "/consultations/relance-2027/resultats",
         "/consultations/relance-2027/resultats/classement", "/consultations/relance-2027/statistiques",
         "/consultations/relance-2027/propositions"]


@pytest.mark.parametrize("url", PAGES)
def test_a_visitor_page_is_kept_by_the_proxy_for_the_configured_seconds(client, results, url):
    response = client.get(url)
    assert response.status_code == 200 and "Set-Cookie" not in response.headers
    assert response.headers[PROXY_CACHE_HEADER] == "10"


def test_a_proposal_page_is_kept_for_visitors(client, results):
    response = client.get(f"/propositions/{make_proposal(results.consultation).id}")
    assert response.status_code == 200 and response.headers[PROXY_CACHE_HEADER] == "10"


@pytest.mark.parametrize("url", PAGES)
def test_a_signed_in_person_gets_a_page_never_kept(client, results, url):
    response = client.sign_in_as(make_user()).get(url)
    assert response.status_code == 200 and PROXY_CACHE_HEADER not in response.headers


def test_a_page_with_a_message_waiting_or_an_error_is_never_kept(client, results):
    with client.session_transaction() as session:
        session["_flashes"] = [["success", "Enregistré."]]
    response = client.get(PAGES[2])
    assert "Enregistré." in response.get_data(as_text=True) and PROXY_CACHE_HEADER not in response.headers
    missing = client.get("/consultations/relance-2027/resultats/services/999999")
    assert missing.status_code == 404 and PROXY_CACHE_HEADER not in missing.headers


def test_zero_seconds_keeps_nothing(app, client, results, monkeypatch):
    monkeypatch.setitem(app.config, "VISITOR_PAGE_SECONDS", 0)
    assert PROXY_CACHE_HEADER not in client.get(PAGES[0]).headers
