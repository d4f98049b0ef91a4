"""Flask's signed-cookie session, made cheaper to read and write on every signed-in request.

Our sessions hold only what JSON holds as is (the user's id, the CSRF token, the language, the
listing's seed, flashed messages, which come back as [category, message] lists): plain compact JSON
serializes them without Flask's tagged JSON, which inspects every value for types we never store.
And one signing serializer per set of keys, not one built for each request. Measured on the support
routes: about 270 fewer Python calls per request (bench/README.md).
"""

import functools
import json

from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer


def _as_text(value) -> str:
    """Lazily translated messages (form errors flashed as they are) are stored as their text."""
    if hasattr(value, "__html__"):
        return str(value)
    raise TypeError(f"A session cannot hold a {type(value).__name__}.")


class CompactJSON:
    @staticmethod
    def dumps(value) -> str:
        return json.dumps(value, separators=(",", ":"), default=_as_text)

    loads = staticmethod(json.loads)


class JSONCookieSessionInterface(SecureCookieSessionInterface):
    serializer = CompactJSON

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        if not app.secret_key:
            return None
        # itsdangerous signs with the last key and accepts any of them (rotation via SECRET_KEY_FALLBACKS).
        return _signing_serializer((*(app.config["SECRET_KEY_FALLBACKS"] or ()), app.secret_key))


@functools.cache
def _signing_serializer(keys: tuple) -> URLSafeTimedSerializer:
    interface = JSONCookieSessionInterface
    return URLSafeTimedSerializer(list(keys), salt=interface.salt, serializer=interface.serializer, signer_kwargs={
        "key_derivation": interface.key_derivation, "digest_method": interface.digest_method})
