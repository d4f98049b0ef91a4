"""Headers that every response carries: what the browser may load, frame, sniff, send and cache."""

from flask import Flask, Response, current_app, request, session

# The templates hold no inline script or style: everything comes from this site's own files (DSFR
# draws its icons from data: URIs in its stylesheet).
CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "font-src 'self'",
    "connect-src 'self'", "form-action 'self'", "frame-ancestors 'none'", "base-uri 'none'", "object-src 'none'",
))
PERMISSIONS_POLICY = ", ".join(f"{feature}=()" for feature in (
    "camera", "microphone", "geolocation", "payment", "usb", "browsing-topics"))
HSTS = "max-age=63072000; includeSubDomains"
# Files that are the same for everyone, whoever asks for them.
SHARED_FILES = {"static", "dsfr"}


def init_app(app: Flask) -> None:
    app.after_request(add_security_headers)


def add_security_headers(response: Response) -> Response:
    headers = response.headers
    headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
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
