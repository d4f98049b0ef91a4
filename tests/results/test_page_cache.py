"""The results pages kept a few seconds for visitors (app/core/page_cache.py): the same page for every visitor
meanwhile, a fresh one afterwards, and always a page of their own for anyone whose session holds something."""

import time

import pytest

from app.core import page_cache
from app.extensions import db
from tests.factories import make_user
from tests.helpers import text_of

RESULTS = "/consultations/relance-2027/resultats"


@pytest.fixture
def kept(app, monkeypatch):
    monkeypatch.setitem(app.config, "VISITOR_PAGE_SECONDS", 0.3)
    yield
    page_cache._pages.clear()


def rename_laureate(results, title: str) -> None:
    results.portal.title = title
    db.session.commit()


def test_visitors_read_the_kept_page_until_it_expires_then_the_database(client, results, kept):
    first = client.get(RESULTS)
    assert "Portail famille libre" in text_of(first) and "Set-Cookie" not in first.headers
    rename_laureate(results, "Portail des familles")
    again = client.get(RESULTS)
    assert again.get_data() == first.get_data()  # kept: the change is not seen yet
    assert again.headers["Content-Security-Policy"] == first.headers["Content-Security-Policy"]
    time.sleep(0.35)
    assert "Portail des familles" in text_of(client.get(RESULTS))


def test_each_address_is_kept_apart_and_only_pages_that_answer_200(client, results, kept):
    assert "Portail famille libre" in text_of(client.get(f"{RESULTS}/classement"))
    rename_laureate(results, "Portail des familles")
    assert "Portail des familles" in text_of(client.get(f"{RESULTS}/classement?kind=service"))
    assert client.get(f"{RESULTS}/services/999999").status_code == 404
    assert RESULTS + "/services/999999" not in " ".join(page_cache._pages)


def test_a_signed_in_person_always_gets_a_page_made_for_them(client, results, kept):
    client.get(RESULTS)
    rename_laureate(results, "Portail des familles")
    assert "Portail des familles" in text_of(client.sign_in_as(make_user()).get(RESULTS))
