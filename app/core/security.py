"""Headers that every response carries: what the browser may load, frame, sniff, send and cache."""

import functools
from collections.abc import Callable

from flask import Flask, Response, current_app, request, session

PERMISSIONS_POLICY = ", ".join(f"{feature}=()" for feature in (
    "camera", "microphone", "geolocation", "payment", "usb", "browsing-topics"))
HSTS = "max-age=63072000; includeSubDomains"
# Files that are the same for everyone, whoever asks for them.
SHARED_FILES = {"static", "dsfr"}
FORM_ACTION_SOURCES = "form_action_sources"  # the app's extensions: who names other origins forms may lead to


@functools.cache
def content_security_policy(form_origins: tuple[str, ...]) -> str:
    """The templates hold no inline script or style: everything comes from this site's own files (DSFR draws its
    icons from data: URIs in its stylesheet). Forms post here, and lead only to `form_origins` besides (browsers
    check form-action on the redirects that follow a form)."""
    return "; ".join((
        "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "font-src 'self'",
        "connect-src 'self'", " ".join(("form-action 'self'", *form_origins)), "frame-ancestors 'none'",
        "base-uri 'none'", "object-src 'none'"))


def allow_form_action(app: Flask, origin: Callable[[], str | None]) -> None:
    """Let forms lead to the origin `origin()` gives when asked (None: none), e.g. an identity provider's."""
    app.extensions.setdefault(FORM_ACTION_SOURCES, []).append(origin)


def init_app(app: Flask) -> None:
    app.after_request(add_security_headers)


def add_security_headers(response: Response) -> Response:
    headers = response.headers
    origins = (origin() for origin in current_app.extensions.get(FORM_ACTION_SOURCES, ()))
    headers["Content-Security-Policy"] = content_security_policy(tuple(filter(None, origins)))
    headers["X-Frame-Options"] = "DENY"
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "same-origin"
    headers["Permissions-Policy"] = PERMISSIONS_POLICY
    # Signed-in pages show a person's own data: no browser or proxy keeps a copy.
    if request.endpoint not in SHARED_FILES and session.get("_user_id"):
        headers["Cache-Control"] = "no-store"
    if current_app.config["HSTS"]:  # production: the site is only ever reached over HTTPS
        headers["Strict-Transport-Security"] = HSTS
    return response
