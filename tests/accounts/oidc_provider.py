"""A small OpenID Connect provider standing in for ProConnect in tests, served over HTTP in a thread.

Discovery, JWKS (an RSA key generated at start), /authorize (approves at once: back with a code for the person in
`person`), /token (checks the client's credentials and the PKCE verifier against the challenge; answers an ID
token echoing the nonce), /userinfo (a signed JWT, as ProConnect answers). `tamper` makes the next ID tokens lie
one way or another: signed with another key, a wrong nonce, expired, for another audience, for several audiences
without saying which party it authorizes, or from another issuer. `id_tokens` keeps those it issued;
`rotate_key` signs with a new key from then on; `fetched` counts the requests for discovery and keys.
"""

import base64
import hashlib
import json
import secrets
import threading
import time
from collections import Counter
from urllib.parse import urlencode

from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

CLIENT_ID = "agora-test"
CLIENT_SECRET = "secret-de-test"


def signing_key(kid: str) -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig", "alg": "RS256"})


class Provider:
    def __init__(self):
        self.first_key = self.key = signing_key("cle-1")
        self.fetched: Counter = Counter()  # discovery and JWKS requests, by path
        self.person = {"sub": "agent-1", "email": "agent@interieur.gouv.fr", "given_name": "Camille",
                       "usual_name": "Martin", "siret": "11000201100044"}
        self.tamper: str | None = None
        self.userinfo_as_json = False
        self.pkce = True  # announced in discovery, then required
        self.codes: dict[str, dict] = {}
        self.token_requests: list[dict] = []
        self.id_tokens: list[str] = []
        self._server = make_server("127.0.0.1", 0, self.wsgi, threaded=True)
        self.issuer = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> "Provider":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join()
        self._server.server_close()

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    def rotate_key(self) -> None:
        """Sign with a new key from now on, published in place of the old one."""
        self.key = signing_key(f"cle-{secrets.token_hex(4)}")

    def rotate_keys_back(self) -> None:
        self.key, self.fetched = self.first_key, Counter()

    def wsgi(self, environ, start_response):
        request = Request(environ)
        if request.path in ("/.well-known/openid-configuration", "/jwks"):
            self.fetched[request.path] += 1
        handler = {"/.well-known/openid-configuration": self.discovery, "/jwks": self.jwks,
                   "/authorize": self.authorize, "/token": self.token, "/userinfo": self.userinfo}.get(request.path)
        response = handler(request) if handler else Response("not found", status=404)
        return response(environ, start_response)

    @staticmethod
    def _json(data, status=200) -> Response:
        return Response(json.dumps(data), status=status, content_type="application/json")

    def discovery(self, request) -> Response:
        return self._json({"issuer": self.issuer, "authorization_endpoint": f"{self.issuer}/authorize",
                           "token_endpoint": f"{self.issuer}/token", "userinfo_endpoint": f"{self.issuer}/userinfo",
                           "jwks_uri": f"{self.issuer}/jwks", "end_session_endpoint": f"{self.issuer}/logout",
                           "id_token_signing_alg_values_supported": ["RS256"],
                           **({"code_challenge_methods_supported": ["S256"]} if self.pkce else {})})

    def jwks(self, request) -> Response:
        return self._json(KeySet([self.key]).as_dict(private=False))

    def authorize(self, request) -> Response:
        args = request.args
        assert args["response_type"] == "code" and args["client_id"] == CLIENT_ID
        assert set(args["scope"].split()) >= {"openid", "email", "given_name", "usual_name", "siret"}
        assert len(args["state"]) >= 32 and len(args["nonce"]) >= 32  # as ProConnect requires
        assert args.get("code_challenge_method") == ("S256" if self.pkce else None)
        code = secrets.token_urlsafe(16)
        self.codes[code] = {"challenge": args.get("code_challenge"), "nonce": args["nonce"],
                            "redirect_uri": args["redirect_uri"], "person": dict(self.person)}
        return Response(status=302, headers={
            "Location": f"{args['redirect_uri']}?{urlencode({'code': code, 'state': args['state']})}"})

    def token(self, request) -> Response:
        form = request.form
        self.token_requests.append(dict(form))
        if (form.get("client_id"), form.get("client_secret")) != (CLIENT_ID, CLIENT_SECRET):
            return self._json({"error": "invalid_client"}, 401)
        grant = self.codes.pop(form.get("code", ""), None)
        if grant is None or form.get("redirect_uri") != grant["redirect_uri"]:
            return self._json({"error": "invalid_grant"}, 400)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(form.get("code_verifier", "").encode()).digest())
        if grant["challenge"] is not None and challenge.rstrip(b"=").decode() != grant["challenge"]:
            return self._json({"error": "invalid_grant", "error_description": "PKCE"}, 400)
        access_token = secrets.token_urlsafe(16)
        self.codes[f"access:{access_token}"] = grant
        return self._json({"access_token": access_token, "token_type": "Bearer", "expires_in": 60,
                           "id_token": self.id_token(grant)})

    def id_token(self, grant: dict) -> str:
        now = int(time.time())
        claims = {"iss": self.issuer, "aud": CLIENT_ID, "sub": grant["person"]["sub"], "iat": now,
                  "exp": now + 60, "nonce": grant["nonce"], "acr": "eidas1"}
        key = self.key
        if self.tamper == "forged":
            key = RSAKey.generate_key(2048, parameters={"kid": self.key.kid})
        elif self.tamper == "nonce":
            claims["nonce"] = "une-autre-valeur"
        elif self.tamper == "expired":
            claims.update(iat=now - 3600, exp=now - 1800)
        elif self.tamper == "audience":
            claims["aud"] = "un-autre-client"
        elif self.tamper == "issuer":
            claims["iss"] = "https://faux-fournisseur.example"
        elif self.tamper in ("audiences", "audiences-authorizing-us"):
            claims["aud"] = [CLIENT_ID, "un-autre-client"]
            if self.tamper == "audiences-authorizing-us":
                claims["azp"] = CLIENT_ID
        self.id_tokens.append(jwt.encode({"alg": "RS256", "kid": self.key.kid}, claims, key))
        return self.id_tokens[-1]

    def userinfo(self, request) -> Response:
        grant = self.codes.get(f"access:{request.headers.get('Authorization', '').removeprefix('Bearer ')}")
        if grant is None:
            return self._json({"error": "invalid_token"}, 401)
        claims = {**grant["person"], "iss": self.issuer, "aud": CLIENT_ID}
        if self.userinfo_as_json:
            return self._json(claims)
        return Response(jwt.encode({"alg": "RS256", "kid": self.key.kid}, claims, self.key),
                        content_type="application/jwt")
