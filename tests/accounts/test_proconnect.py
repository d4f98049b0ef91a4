"""Signing in with ProConnect, against a local OpenID Connect provider the tests start themselves: the accounts
it opens or creates (service level), and the whole round trip through HTTP, every refusal included."""

from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import sqlalchemy as sa

from app.accounts import personal_data, proconnect, services
from app.accounts.models import User, UserIdentity, UserSession
from app.accounts.proconnect import Identity
from app.core.audit import AuditEntry
from app.core.errors import RuleViolation
from app.extensions import db
from tests.accounts.oidc_provider import CLIENT_ID, CLIENT_SECRET, Provider
from tests.factories import make_user
from tests.helpers import text_of


@pytest.fixture(scope="module")
def _provider():
    provider = Provider().start()
    yield provider
    provider.stop()


@pytest.fixture
def provider(app, _provider, monkeypatch):
    """The provider, configured as the site's ProConnect for this test only, as it was at start."""
    monkeypatch.setitem(app.config, "PROCONNECT_CLIENT_ID", CLIENT_ID)
    monkeypatch.setitem(app.config, "PROCONNECT_CLIENT_SECRET", CLIENT_SECRET)
    monkeypatch.setitem(app.config, "PROCONNECT_DISCOVERY_URL", _provider.discovery_url)
    person = dict(_provider.person)
    proconnect.forget_provider()  # what the provider publishes changes from one test to the next
    yield _provider
    _provider.person, _provider.tamper, _provider.userinfo_as_json, _provider.pkce = person, None, False, True
    _provider.rotate_keys_back()


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def go_to_provider(client, start="/compte/proconnect") -> str:
    response = client.get(start)
    assert response.status_code == 302
    return response.location


def come_back(client, authorize_url: str, **changes):
    """Follow the provider's redirect to our callback (its query changed by `changes`)."""
    answer = requests.get(authorize_url, allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text
    back = urlsplit(answer.headers["Location"])
    assert f"{back.scheme}://{back.netloc}" == "http://localhost"
    query = {name: values[0] for name, values in parse_qs(back.query).items()}
    query.update(changes)
    return client.get(back.path, query_string=query)


def sign_in_with_proconnect(client, **changes):
    return come_back(client, go_to_provider(client), **changes)


def assert_refused(client, response, message: str) -> None:
    """Back on the sign-in page with `message`, and no session: the account page asks to sign in."""
    assert response.status_code == 302 and response.location.endswith("/compte/connexion")
    assert message in text_of(client.get("/compte/connexion"))
    assert count(UserSession) == 0
    assert "/compte/connexion" in client.get("/compte/").location


# --- Services -------------------------------------------------------------------------------------------------

def identity(**changes) -> Identity:
    return Identity(**{"subject": "agent-1", "email": "Agent@Interieur.gouv.fr", "given_name": "Camille",
                       "usual_name": "Martin", "siret": "11000201100044", **changes})


def test_a_new_address_creates_a_confirmed_account_linked_to_the_subject(app):
    user = services.sign_in_with_proconnect(identity(), "en")
    assert (user.email, user.name, user.locale) == ("agent@interieur.gouv.fr", "Camille Martin", "en")
    assert user.is_confirmed and user.password_hash.startswith("$argon2id$")
    with pytest.raises(RuleViolation):  # nobody knows its password
        services.authenticate(user.email, "")
    link = db.session.scalar(sa.select(UserIdentity))
    assert (link.provider, link.subject, link.user_id) == ("proconnect", "agent-1", user.id)
    assert [entry.action for entry in db.session.scalars(sa.select(AuditEntry).order_by(AuditEntry.id))] == [
        "account.proconnect_create", "account.proconnect_link"]
    assert count(UserSession) == 1 and user.get_id()


def test_the_subject_opens_its_account_whatever_the_address_given_later(app):
    first = services.sign_in_with_proconnect(identity())
    again = services.sign_in_with_proconnect(identity(email="nouvelle@interieur.gouv.fr"))
    assert again == first and count(User) == 1 and count(UserIdentity) == 1


def test_a_confirmed_account_of_the_same_address_is_linked(app):
    user = make_user("agent@interieur.gouv.fr")
    assert services.sign_in_with_proconnect(identity()) == user
    assert db.session.scalar(sa.select(UserIdentity.user_id)) == user.id and count(User) == 1


def test_an_unconfirmed_account_of_the_same_address_is_never_merged(app):
    make_user("agent@interieur.gouv.fr", confirmed=False)
    with pytest.raises(RuleViolation, match="pas encore confirmée"):
        services.sign_in_with_proconnect(identity())
    assert count(UserIdentity) == 0 and count(UserSession) == 0 and count(User) == 1


def test_an_account_linked_to_another_subject_is_not_taken_by_a_second_one(app):
    services.sign_in_with_proconnect(identity())
    with pytest.raises(RuleViolation, match="déjà relié à une autre identité ProConnect"):
        services.sign_in_with_proconnect(identity(subject="agent-2"))


def test_suspended_and_deleted_accounts_are_refused(app):
    user = services.sign_in_with_proconnect(identity())
    user.blocked_at = user.created_at
    with pytest.raises(RuleViolation, match="suspendu"):
        services.sign_in_with_proconnect(identity())
    blocked = make_user("bloque@interieur.gouv.fr")
    blocked.blocked_at = blocked.created_at
    with pytest.raises(RuleViolation, match="suspendu"):
        services.sign_in_with_proconnect(identity(subject="agent-3", email="bloque@interieur.gouv.fr"))
    assert count(UserIdentity) == 1


def test_an_identity_without_address_is_refused(app):
    for unusable in ({"email": ""}, {"email": "pas-une-adresse"}, {"email": "a@" + "b" * 260},
                     {"subject": "x" * 256}):
        with pytest.raises(RuleViolation, match="adresse électronique"):
            services.sign_in_with_proconnect(identity(**unusable))
    assert count(User) == 0


# --- Through HTTP ---------------------------------------------------------------------------------------------

def test_not_configured_no_button_and_no_route(client):
    assert "ProConnect" not in text_of(client.get("/compte/connexion"))
    assert client.get("/compte/proconnect").status_code == 404
    assert client.get("/compte/proconnect/retour?code=x&state=y").status_code == 404


def test_sign_in_creates_the_account_then_opens_it_again(client, provider):
    page = text_of(client.get("/compte/connexion?next=/compte/contributions"))
    assert "S'identifier avec ProConnect" in page and "/compte/proconnect?next=/compte/contributions" in page
    authorize = urlsplit(go_to_provider(client, "/compte/proconnect?next=/compte/contributions"))
    query = parse_qs(authorize.query)
    assert authorize.geturl().startswith(provider.issuer + "/authorize")
    assert query["code_challenge_method"] == ["S256"] and query["nonce"] and query["state"]
    assert query["redirect_uri"] == ["http://localhost/compte/proconnect/retour"]
    assert query["scope"] == ["openid email given_name usual_name siret"]
    response = come_back(client, authorize.geturl())
    assert response.status_code == 302 and response.location.endswith("/compte/contributions")
    assert "Bienvenue, Camille Martin." in text_of(client.get("/compte/"))
    user = db.session.scalar(sa.select(User).filter_by(email="agent@interieur.gouv.fr"))
    assert user.is_confirmed and count(UserSession) == 1
    assert provider.token_requests[-1]["code_verifier"]

    client.post_form("/compte/deconnexion")
    assert count(UserSession) == 0
    provider.person["email"] = "autre@interieur.gouv.fr"
    response = sign_in_with_proconnect(client)
    assert response.status_code == 302 and response.location.endswith("/")
    assert count(User) == 1 and count(UserSession) == 1 and client.get("/compte/").status_code == 200


def test_userinfo_in_plain_json_is_read_too(client, provider):
    provider.userinfo_as_json = True
    sign_in_with_proconnect(client)
    assert db.session.scalar(sa.select(User.name)) == "Camille Martin"


def test_no_pkce_for_a_provider_that_does_not_announce_it(client, provider):
    provider.pkce = False
    query = parse_qs(urlsplit(go_to_provider(client)).query)
    assert "code_challenge" not in query and "code_challenge_method" not in query
    sign_in_with_proconnect(client)
    assert "code_verifier" not in provider.token_requests[-1] and count(UserSession) == 1


def test_an_existing_confirmed_account_is_opened(client, provider):
    user = make_user("agent@interieur.gouv.fr", "Camille M.")
    sign_in_with_proconnect(client)
    assert "Bienvenue, Camille M." in text_of(client.get("/compte/"))
    assert db.session.scalar(sa.select(UserIdentity.user_id)) == user.id and count(User) == 1


def test_an_existing_unconfirmed_account_is_refused_without_merging(client, provider):
    make_user("agent@interieur.gouv.fr", confirmed=False)
    assert_refused(client, sign_in_with_proconnect(client), "n'est pas encore confirmée")
    assert count(UserIdentity) == 0 and count(User) == 1


def test_a_suspended_account_is_refused(client, provider):
    user = make_user("agent@interieur.gouv.fr")
    user.blocked_at = user.created_at
    db.session.commit()
    assert_refused(client, sign_in_with_proconnect(client), "Ce compte est suspendu.")


REFUSED = "ProConnect a renvoyé une réponse que nous ne pouvons pas accepter"


@pytest.mark.parametrize("tamper", ["forged", "nonce", "expired", "audience", "audiences", "issuer"])
def test_an_id_token_that_does_not_pass_the_checks_is_refused(client, provider, tamper):
    provider.tamper = tamper
    assert_refused(client, sign_in_with_proconnect(client), REFUSED)
    assert count(User) == 0 and count(UserIdentity) == 0


def test_a_token_for_several_audiences_passes_when_it_names_us_its_authorized_party(client, provider):
    provider.tamper = "audiences-authorizing-us"
    assert sign_in_with_proconnect(client).location.endswith("/") and count(UserSession) == 1


def test_signing_out_ends_the_proconnect_session_too(client, provider):
    sign_in_with_proconnect(client)
    policy = client.get("/compte/").headers["Content-Security-Policy"]
    assert f"form-action 'self' {provider.issuer};" in policy
    response = client.post_form("/compte/deconnexion")
    leaving = urlsplit(response.location)
    query = {name: values[0] for name, values in parse_qs(leaving.query).items()}
    assert f"{leaving.scheme}://{leaving.netloc}{leaving.path}" == f"{provider.issuer}/logout"
    assert query["id_token_hint"] == provider.id_tokens[-1] and len(query["state"]) >= 32
    assert query["post_logout_redirect_uri"] == "http://localhost/"
    assert count(UserSession) == 0 and "/compte/connexion" in client.get("/compte/").location
    assert "Vous êtes déconnecté." in text_of(client.get("/"))


def test_a_password_account_or_a_provider_out_of_reach_signs_out_here_only(client, provider, app, monkeypatch):
    client.sign_in_as(make_user())
    assert client.post_form("/compte/deconnexion").location == "/"
    sign_in_with_proconnect(client)
    monkeypatch.setitem(app.config, "PROCONNECT_DISCOVERY_URL", "http://127.0.0.1:9/.well-known/openid-configuration")
    assert client.post_form("/compte/deconnexion").location == "/"
    assert count(UserSession) == 0


def test_discovery_and_keys_are_fetched_once_then_again_when_the_provider_rotates_its_key(client, provider):
    sign_in_with_proconnect(client)
    client.post_form("/compte/deconnexion")
    sign_in_with_proconnect(client)
    assert provider.fetched == {"/.well-known/openid-configuration": 1, "/jwks": 1}
    client.post_form("/compte/deconnexion")
    provider.rotate_key()
    assert sign_in_with_proconnect(client).location.endswith("/") and count(UserSession) == 1
    assert provider.fetched == {"/.well-known/openid-configuration": 1, "/jwks": 2}


def test_another_state_is_refused(client, provider):
    assert_refused(client, sign_in_with_proconnect(client, state="un-autre-etat"),
                   "Cette demande de connexion avec ProConnect n'est plus valable.")
    assert count(User) == 0


def test_a_return_without_a_pending_request_is_refused(client, provider):
    authorize = go_to_provider(client)
    come_back(client, authorize)  # signed in; the pending request is used up
    client.post_form("/compte/deconnexion")
    response = client.get("/compte/proconnect/retour", query_string={"code": "x", "state": "y"})
    assert_refused(client, response, "n'est plus valable")


def test_a_wrong_pkce_verifier_is_refused_by_the_provider(client, provider):
    authorize = go_to_provider(client)
    with client.session_transaction() as session:
        session["proconnect"] = {**session["proconnect"], "verifier": "x" * 64}
    assert_refused(client, come_back(client, authorize), REFUSED)
    assert provider.token_requests[-1]["code_verifier"] == "x" * 64


def test_the_provider_refusing_is_said(client, provider):
    go_to_provider(client)
    with client.session_transaction() as session:
        state = session["proconnect"]["state"]
    response = client.get("/compte/proconnect/retour", query_string={"error": "access_denied", "state": state})
    assert_refused(client, response, "ProConnect n'a pas confirmé votre identité")


def test_a_provider_out_of_reach_is_said(client, provider, monkeypatch, app):
    monkeypatch.setitem(app.config, "PROCONNECT_DISCOVERY_URL", "http://127.0.0.1:9/.well-known/openid-configuration")
    response = client.get("/compte/proconnect")
    assert response.status_code == 302 and response.location.endswith("/compte/connexion")
    assert "La connexion avec ProConnect a échoué." in text_of(client.get("/compte/connexion"))


@pytest.mark.parametrize("role", ["visitor", "user", "admin"])
def test_each_role_configured(client, provider, role):
    """The route walk (tests/test_route_permissions.py) sees these routes unconfigured: here, configured."""
    if role != "visitor":
        client.sign_in_as(make_user(is_admin=role == "admin"))
    start = client.get("/compte/proconnect")
    back = client.get("/compte/proconnect/retour", query_string={"code": "x", "state": "y"})
    if role == "visitor":
        assert start.location.startswith(provider.issuer + "/authorize")
        assert back.location.endswith("/compte/connexion")
    else:  # already signed in: sent home, nothing asked of the provider
        assert start.location == "/" and back.location == "/"
        assert count(UserSession) == 1


def test_the_identity_is_in_the_personal_data_and_goes_with_the_account(app):
    user = services.sign_in_with_proconnect(identity())
    [exported] = personal_data.personal_data_of(user)["proconnect_identities"]
    assert (exported["provider"], exported["subject"]) == ("proconnect", "agent-1") and exported["created_at"]
    personal_data.delete_account(user, cause=personal_data.ON_REQUEST)
    assert count(UserIdentity) == 0
    again = services.sign_in_with_proconnect(identity())  # the same person, a new account
    assert again.id != user.id and again.email == "agent@interieur.gouv.fr"


def test_the_audit_log_says_it_in_words(client, provider):
    sign_in_with_proconnect(client)
    client.post_form("/compte/deconnexion")
    client.sign_in_as(make_user(is_admin=True))
    page = text_of(client.get("/admin/journal"))
    assert "Camille Martin a ouvert le compte de Camille Martin avec ProConnect" in page
    assert "Camille Martin a relié le compte de Camille Martin à son identité ProConnect" in page
    assert "SIRET : 11000201100044" in page
