"""The signed session cookie: plain JSON inside, messages that survive the redirect, key rotation."""

import hashlib
import json

import sqlalchemy as sa
from itsdangerous import URLSafeTimedSerializer

from app.accounts.models import UserSession
from app.accounts.sessions import start_session
from app.extensions import db
from tests.factories import PASSWORD, make_user
from tests.helpers import text_of


def cookie_serializer(*keys: str) -> URLSafeTimedSerializer:
    """What reads a Flask session cookie, built here independently of the app's code."""
    return URLSafeTimedSerializer(list(keys), salt="cookie-session", serializer=json,
                                  signer_kwargs={"key_derivation": "hmac", "digest_method": hashlib.sha1})


def test_the_cookie_holds_plain_json_and_the_message_shows_after_the_redirect(app, client):
    user = make_user("jeanne@example.org", "Jeanne Barret")
    response = client.post_form("/compte/connexion", {"email": "jeanne@example.org",
                                                      "password": PASSWORD})
    assert response.status_code == 302
    session = cookie_serializer(app.secret_key).loads(client.get_cookie("session").value)
    assert db.session.scalar(sa.select(UserSession.user_id).filter_by(
        token_hash=hashlib.sha256(session["_user_id"].encode()).hexdigest())) == user.id
    assert session["_flashes"] == [["success", "Bienvenue, Jeanne Barret."]]
    assert "Bienvenue, Jeanne Barret." in text_of(client.get(response.location))
    assert "_flashes" not in cookie_serializer(app.secret_key).loads(client.get_cookie("session").value)


def test_a_cookie_signed_with_a_retired_key_is_accepted_while_the_key_is_a_fallback(app, client, monkeypatch):
    old_cookie = cookie_serializer("ancienne clé").dumps({"_user_id": start_session(make_user()), "_fresh": True})
    monkeypatch.setitem(app.config, "SECRET_KEY", "nouvelle clé")
    monkeypatch.setitem(app.config, "SECRET_KEY_FALLBACKS", ["ancienne clé"])
    client.set_cookie("session", old_cookie)
    assert client.get("/compte/").status_code == 200
    monkeypatch.setitem(app.config, "SECRET_KEY_FALLBACKS", [])
    client.set_cookie("session", old_cookie)
    assert client.get("/compte/").location.startswith("/compte/connexion")
