"""ProConnect, the State's OpenID Connect federation for public servants: the protocol side of signing in.

Discovery (kept an hour per process), then the authorization code flow with PKCE (S256); the state, the nonce and
the code verifier wait in the (signed) session cookie during the round trip. The ID token's signature is checked
against the provider's published keys, and its issuer, audience (and authorized party), expiry and nonce against
ours; the userinfo answer (a signed JWT at ProConnect, plain JSON elsewhere) gives the address and the names.
Which account the person opens is decided by `services.sign_in_with_proconnect`, not here. Signing out of Agora
ends the ProConnect session too, through the provider's end_session_endpoint, with the ID token kept in the
session as the hint.
"""

import hmac
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from authlib.common.security import generate_token
from authlib.common.urls import add_params_to_uri
from authlib.integrations.base_client import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from flask import current_app, session
from flask_babel import gettext as _
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jws import extract_compact
from joserfc.jwt import JWTClaimsRegistry

from app.core import clock
from app.core.errors import RuleViolation

PROVIDER = "proconnect"
# ProConnect's claims for a public servant: their work address, names, and the SIRET of their administration.
SCOPES = "openid email given_name usual_name siret"
SESSION_KEY = "proconnect"
SIGN_OUT_KEY = "proconnect_id_token"  # the hint ProConnect's end_session_endpoint asks for
ALGORITHMS = ["RS256", "ES256"]
HTTP_TIMEOUT = 10  # seconds per call to the provider
CLOCK_LEEWAY = 60  # seconds of difference tolerated between our clock and the provider's
# The discovery document and the keys are kept this long in each process, rather than fetched at every sign-in;
# keys are fetched again at once for a token signed by a key not among them.
KEPT_SECONDS = 3600
_kept: dict[str, tuple[float, object]] = {}


@dataclass(frozen=True)
class Identity:
    """What the provider vouches for, once every check passed."""

    subject: str
    email: str
    given_name: str
    usual_name: str
    siret: str
    id_token: str = ""  # as received, to end the ProConnect session when the person signs out


def is_enabled() -> bool:
    """Configured (PROCONNECT_DISCOVERY_URL and PROCONNECT_CLIENT_ID): otherwise no button and no route."""
    config = current_app.config
    return bool(config.get("PROCONNECT_DISCOVERY_URL") and config.get("PROCONNECT_CLIENT_ID"))


def _failure() -> RuleViolation:
    return RuleViolation(_("La connexion avec ProConnect a échoué. Réessayez dans un instant, ou connectez-vous "
                           "avec votre adresse électronique et votre mot de passe."))


def _refused(reason: str, *details) -> RuleViolation:
    """An answer that does not pass our checks: said plainly to the person, the details kept in the log."""
    current_app.logger.warning("ProConnect: %s %s", reason, " ".join(map(str, details)))
    return RuleViolation(_("ProConnect a renvoyé une réponse que nous ne pouvons pas accepter : la connexion est "
                           "refusée. Recommencez, ou connectez-vous avec votre adresse électronique et votre mot "
                           "de passe."))


def _get(url: str, **kwargs) -> requests.Response:
    try:
        response = requests.get(url, timeout=HTTP_TIMEOUT, **kwargs)
        response.raise_for_status()
    except requests.RequestException as error:
        current_app.logger.warning("ProConnect: %s unreachable: %s", url, error)
        raise _failure() from None
    return response


def _kept_or_fetched(url: str, fetch, *, again: bool = False):
    """What `fetch(url)` gave less than KEPT_SECONDS ago in this process, else (or `again`) what it gives now."""
    kept = _kept.get(url)
    if kept and not again and time.monotonic() - kept[0] < KEPT_SECONDS:
        return kept[1]
    value = fetch(url)
    _kept[url] = (time.monotonic(), value)
    return value


def forget_provider() -> None:
    """As after a restart: the next sign-in fetches the discovery document and the keys again."""
    _kept.clear()


def _metadata() -> dict:
    """The provider's discovery document; PROCONNECT_DISCOVERY_URL may also be the issuer itself."""
    url = current_app.config["PROCONNECT_DISCOVERY_URL"]
    if "/.well-known/" not in url:
        url = url.rstrip("/") + "/.well-known/openid-configuration"
    return _kept_or_fetched(url, _fetch_metadata)


def _fetch_metadata(url: str) -> dict:
    try:
        metadata = _get(url).json()
    except ValueError:
        metadata = None
    required = ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")
    if not isinstance(metadata, dict) or not all(isinstance(metadata.get(name), str) for name in required):
        raise _refused("malformed discovery document at", url)
    issuer = metadata["issuer"]
    if url.split("/.well-known/")[0].rstrip("/") != str(issuer).rstrip("/"):  # OpenID Connect Discovery § 4.3
        raise _refused("issuer differs from the discovery URL:", issuer)
    return metadata


def _client(redirect_uri: str) -> OAuth2Session:
    config = current_app.config
    return OAuth2Session(config["PROCONNECT_CLIENT_ID"], config.get("PROCONNECT_CLIENT_SECRET"), scope=SCOPES,
                         redirect_uri=redirect_uri, code_challenge_method="S256",
                         token_endpoint_auth_method="client_secret_post")


def authorization_url(redirect_uri: str, next_url: str | None = None) -> str:
    """Where to send the person to sign in; what the return must match waits in the session."""
    metadata = _metadata()
    # ProConnect wants at least 32 characters in both; it refuses parameters it does not know, so the PKCE
    # challenge is only sent to a provider that announces it (RFC 8414), as the test provider does.
    state, nonce = generate_token(48), generate_token(48)
    verifier = generate_token(64) if "S256" in metadata.get("code_challenge_methods_supported", ()) else None
    url, _state = _client(redirect_uri).create_authorization_url(
        metadata["authorization_endpoint"], state=state, nonce=nonce, **_pkce(verifier))
    session[SESSION_KEY] = {"state": state, "nonce": nonce, "verifier": verifier, "next": next_url}
    return url


def _pkce(verifier: str | None) -> dict:
    return {"code_verifier": verifier} if verifier else {}


def pending_next_url() -> str | None:
    return (session.get(SESSION_KEY) or {}).get("next")


def identity_from_callback(args, redirect_uri: str) -> Identity:
    """Check the provider's return (`args`: the callback's query) and exchange its code: the person's identity,
    or a refusal. The pending round trip is used once, whatever the outcome."""
    pending = session.pop(SESSION_KEY, None)
    state = args.get("state", "")
    if not pending or not state or not hmac.compare_digest(state, pending["state"]):
        raise RuleViolation(_("Cette demande de connexion avec ProConnect n'est plus valable. Recommencez."))
    if args.get("error") or not args.get("code"):
        current_app.logger.info("ProConnect: error %s", args.get("error"))
        raise RuleViolation(_("ProConnect n'a pas confirmé votre identité : vous n'êtes pas connecté."))
    metadata = _metadata()
    client = _client(redirect_uri)
    try:
        token = client.fetch_token(metadata["token_endpoint"], code=args["code"], grant_type="authorization_code",
                                   timeout=HTTP_TIMEOUT, **_pkce(pending["verifier"]))
    except OAuthError as error:
        raise _refused("token request refused:", error.error, error.description) from None
    except (requests.RequestException, ValueError) as error:
        current_app.logger.warning("ProConnect: token endpoint failed: %s", error)
        raise _failure() from None
    keys = _keys(metadata["jwks_uri"], token.get("id_token"))
    claims = _verified_claims(token.get("id_token"), keys, metadata["issuer"], nonce=pending["nonce"])
    info = _userinfo(metadata, keys, token) if metadata.get("userinfo_endpoint") else {}
    if info and info.get("sub") != claims["sub"]:
        raise _refused("userinfo is about another subject")
    info = {**claims, **info}
    return Identity(subject=str(claims["sub"]), email=str(info.get("email") or ""),
                    given_name=str(info.get("given_name") or ""), usual_name=str(info.get("usual_name") or ""),
                    siret=str(info.get("siret") or ""), id_token=token["id_token"])


def _keys(jwks_uri: str, id_token) -> KeySet:
    """The provider's published keys: those kept, unless the token names a key that is not among them (the provider
    rotated its keys), when they are fetched again."""
    keys = _kept_or_fetched(jwks_uri, _fetch_keys)
    try:
        kid = extract_compact(id_token.encode()).headers().get("kid") if isinstance(id_token, str) else None
    except (JoseError, ValueError):
        kid = None  # a malformed token: _verified_claims refuses it
    if kid is not None and kid not in {key.kid for key in keys.keys}:
        keys = _kept_or_fetched(jwks_uri, _fetch_keys, again=True)
    return keys


def _fetch_keys(jwks_uri: str) -> KeySet:
    try:
        return KeySet.import_key_set(_get(jwks_uri).json())
    except (ValueError, TypeError, KeyError, JoseError):
        raise _refused("malformed JWKS at", jwks_uri) from None


def _verified_claims(id_token, keys: KeySet, issuer: str, *, nonce: str | None) -> dict:
    """The ID token's claims: signed by one of the provider's keys, issued by it, for us, not expired, and
    (`nonce` given) answering this round trip's nonce."""
    if not isinstance(id_token, str):
        raise _refused("no ID token")
    required = {"iss": {"essential": True, "value": issuer},
                "aud": {"essential": True, "value": current_app.config["PROCONNECT_CLIENT_ID"]},
                "sub": {"essential": True}, "exp": {"essential": True}}
    if nonce is not None:
        required["nonce"] = {"essential": True, "value": nonce}
    try:
        decoded = jwt.decode(id_token, keys, algorithms=ALGORITHMS)
        JWTClaimsRegistry(now=int(clock.now().timestamp()), leeway=CLOCK_LEEWAY, **required).validate(decoded.claims)
    except (JoseError, ValueError) as error:
        raise _refused("token rejected:", type(error).__name__, error) from None
    audience, client_id = decoded.claims["aud"], current_app.config["PROCONNECT_CLIENT_ID"]
    if isinstance(audience, list) and len(audience) > 1 and decoded.claims.get("azp") != client_id:
        raise _refused("token for several audiences, not authorized for us:", decoded.claims.get("azp"))  # OIDC 3.1.3.7
    return decoded.claims


def _userinfo(metadata: dict, keys: KeySet, token: dict) -> dict:
    response = _get(metadata["userinfo_endpoint"], headers={"Authorization": f"Bearer {token['access_token']}"})
    if response.headers.get("Content-Type", "").split(";")[0].strip() == "application/jwt":
        try:
            return jwt.decode(response.text.strip(), keys, algorithms=ALGORITHMS).claims
        except (JoseError, ValueError) as error:
            raise _refused("userinfo rejected:", type(error).__name__, error) from None
    try:
        info = response.json()
    except ValueError:
        raise _refused("malformed userinfo") from None
    if not isinstance(info, dict):
        raise _refused("malformed userinfo")
    return info


def remember_for_sign_out(identity: Identity) -> None:
    session[SIGN_OUT_KEY] = identity.id_token


def sign_out_url(post_logout_redirect_uri: str) -> str | None:
    """Where to end the ProConnect session too, for a person who signed in through it, before coming back to
    `post_logout_redirect_uri`; None otherwise, or when the provider cannot be reached (the session on Agora ends
    all the same)."""
    id_token = session.pop(SIGN_OUT_KEY, None)
    if not id_token or not is_enabled():
        return None
    try:
        endpoint = _metadata().get("end_session_endpoint")
    except RuleViolation:
        return None
    if not isinstance(endpoint, str):
        return None
    return add_params_to_uri(endpoint, {"id_token_hint": id_token, "state": generate_token(32),
                                        "post_logout_redirect_uri": post_logout_redirect_uri})


def origin() -> str | None:
    """The provider's scheme and host, where signing out sends the browser (the pages' form-action allows it)."""
    url = current_app.config.get("PROCONNECT_DISCOVERY_URL")
    if not is_enabled():
        return None
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
