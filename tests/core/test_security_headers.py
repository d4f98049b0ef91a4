"""Every response says what the browser may load, frame, sniff and send; personal pages are never cached."""

import pytest

from app import create_app
from tests.factories import make_user
from tests.test_route_permissions import ROUTES, world  # noqa: F401  (world is a fixture)

CSP_DIRECTIVES = {"default-src 'self'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'",
                  "object-src 'none'", "base-uri 'none'", "form-action 'self'"}


def assert_protected(response) -> None:
    headers = response.headers
    policy = headers["Content-Security-Policy"]
    assert CSP_DIRECTIVES <= {directive.strip() for directive in policy.split(";")}
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert "camera=()" in headers["Permissions-Policy"] and "geolocation=()" in headers["Permissions-Policy"]


@pytest.mark.parametrize("role", ["visitor", "elected", "admin"])
@pytest.mark.parametrize("endpoint", sorted(ROUTES))
def test_every_route_answers_with_the_security_headers(client, world, endpoint, role):  # noqa: F811
    method, url, _expected = ROUTES[endpoint]
    if role != "visitor":
        client.sign_in_as(world.users[role])
    form = {"role": "agent", "decision": "accept", "organization_id": world.organization.id}
    response = client.get(url(world)) if method == "GET" else client.post_form(url(world), form)
    response.close()
    assert_protected(response)
    # Signing out leaves a page without anyone's data.
    personal = role != "visitor" and endpoint not in ("static", "dsfr", "accounts.sign_out")
    assert ("no-store" in response.headers.get("Cache-Control", "")) == personal
    assert "Strict-Transport-Security" not in response.headers  # development and tests: no HTTPS


@pytest.mark.parametrize("url", ["/nulle-part", "/propositions/99999999999999999999", "/api/v1/inconnu"])
def test_error_pages_carry_them_too(client, url):
    response = client.get(url)
    assert response.status_code == 404
    assert_protected(response)


def test_production_adds_hsts_and_secure_cookies(app, monkeypatch):
    production = create_app("production", SECRET_KEY="production-test", TESTING=True,
                            SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
                            SQLALCHEMY_ENGINE_OPTIONS=app.config["SQLALCHEMY_ENGINE_OPTIONS"])
    response = production.test_client().get("/compte/connexion")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    cookie = response.headers["Set-Cookie"]  # the sign-in form's CSRF token opens a session
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_a_signed_in_page_is_not_kept_by_browsers_or_proxies_but_a_visitor_page_may_be(client):
    assert "Cache-Control" not in client.get("/collectivites/").headers
    client.sign_in_as(make_user())
    assert client.get("/collectivites/").headers["Cache-Control"] == "no-store"
    stylesheet = client.get("/static/agora.css")
    stylesheet.close()
    assert "no-store" not in stylesheet.headers.get("Cache-Control", "")
