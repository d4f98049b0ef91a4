"""Settings, read from the environment so that web processes keep no state of their own."""

import os
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent
LANGUAGES = ("fr", "en")


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    return default if value is None else value.lower() in {"1", "true", "yes", "on"}


def _env_date(name: str) -> date | None:
    """A YYYY-MM-DD date: a malformed one stops the start rather than showing a wrong date."""
    value = os.environ.get(name)
    return date.fromisoformat(value) if value else None


class Config:
    SECRET_KEY = os.environ.get("SECRET_KEY", "dev-only-not-secret")
    SQLALCHEMY_DATABASE_URI = os.environ.get(
        "DATABASE_URL", f"sqlite:///{ROOT / 'instance' / 'agora.sqlite'}"
    )
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    # Rate limits live in Redis in production so that every web process shares them.
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    # Redis away, the site keeps serving: each process counts alone, in memory, with the same limits, until
    # Flask-Limiter finds Redis back (it pings after 1, 2, 4… 32 s, in turn); its own errors never fail a
    # request (logged). Short timeouts: a Redis that does not answer costs one request 0.3 s, not 5.
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    RATELIMIT_SWALLOW_ERRORS = True
    RATELIMIT_STORAGE_OPTIONS = {"socket_connect_timeout": 0.3, "socket_timeout": 0.3}
    RATELIMIT_HEADERS_ENABLED = True
    SIGN_IN_RATE_LIMIT = os.environ.get("SIGN_IN_RATE_LIMIT", "10 per minute;50 per hour")
    # Casting and withdrawing supports, per person: far above what pressing buttons reaches.
    SUPPORT_RATE_LIMIT = os.environ.get("SUPPORT_RATE_LIMIT", "30 per minute;300 per hour")
    BABEL_DEFAULT_LOCALE = "fr"
    BABEL_DEFAULT_TIMEZONE = "Europe/Paris"
    BABEL_TRANSLATION_DIRECTORIES = str(ROOT / "translations")
    # Mail: "console" prints messages (development); "smtp" sends through MAIL_HOST.
    MAIL_BACKEND = os.environ.get("MAIL_BACKEND", "console")
    MAIL_HOST = os.environ.get("MAIL_HOST", "localhost")
    MAIL_PORT = int(os.environ.get("MAIL_PORT", "25"))
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD")
    MAIL_USE_TLS = _env_bool("MAIL_USE_TLS", False)
    MAIL_SENDER = os.environ.get("MAIL_SENDER", "Agora <ne-pas-repondre@agora.localhost>")
    # The site's address, for absolute links (mails, API): never read from a request's Host header. In
    # development it follows the port the app is served on (`PORT=8000 make run`).
    PUBLIC_URL = os.environ.get("PUBLIC_URL") or f"http://127.0.0.1:{os.environ.get('PORT', '5000')}"
    # The header's identity: Marianne is reserved for State services.
    SITE_NAME = os.environ.get("SITE_NAME", "Agora")
    SITE_TAGLINE = os.environ.get("SITE_TAGLINE")  # unset: a default tagline, in the visitor's language
    OPERATOR_NAME = os.environ.get("OPERATOR_NAME", "Agora")
    OPERATOR_IS_STATE = _env_bool("OPERATOR_IS_STATE", False)
    # The footer's legal pages: our French defaults filled with these, or the operator's whole text in
    # Markdown from LEGAL_PAGES_DIR (mentions-legales.md, donnees-personnelles.md, accessibilite.md).
    OPERATOR_ADDRESS = os.environ.get("OPERATOR_ADDRESS", "")
    OPERATOR_CONTACT_EMAIL = os.environ.get("OPERATOR_CONTACT_EMAIL", "")
    PUBLICATION_DIRECTOR = os.environ.get("PUBLICATION_DIRECTOR", "")
    HOSTING_PROVIDER = os.environ.get("HOSTING_PROVIDER", "")  # name and address of the host
    ACCESSIBILITY_AUDIT_DATE = _env_date("ACCESSIBILITY_AUDIT_DATE")  # YYYY-MM-DD; unset: no audit yet
    # What that audit found: "non", "partielle" or "totale" (without an audit the site is "non conforme").
    ACCESSIBILITY_CONFORMITY = os.environ.get("ACCESSIBILITY_CONFORMITY", "non")
    LEGAL_PAGES_DIR = os.environ.get("LEGAL_PAGES_DIR")
    # Who answers requests about personal data (a data protection officer's name and address, a form's
    # URL…), shown on the personal-data page; unset: OPERATOR_CONTACT_EMAIL.
    PERSONAL_DATA_CONTACT = os.environ.get("PERSONAL_DATA_CONTACT", "")
    # Retention (`flask --app wsgi accounts purge`, stated on the personal-data page): days without a sign-in
    # after which an account is deleted, and days an unconfirmed sign-up waits for its confirmation.
    INACTIVE_ACCOUNT_RETENTION_DAYS = int(os.environ.get("INACTIVE_ACCOUNT_RETENTION_DAYS", str(3 * 365)))
    UNCONFIRMED_ACCOUNT_RETENTION_DAYS = int(os.environ.get("UNCONFIRMED_ACCOUNT_RETENTION_DAYS", "7"))
    NODE_MODULES = Path(os.environ.get("NODE_MODULES", ROOT / "node_modules"))
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", False)
    HSTS = _env_bool("HSTS", False)  # Strict-Transport-Security on every response
    # Seconds a sign-in lasts, whatever the activity (a working day): an idle limit would cost a
    # write on every signed-in request. Signing out or changing the password ends it sooner.
    SESSION_MAX_AGE = int(os.environ.get("SESSION_MAX_AGE", str(12 * 3600)))
    # Results, statistics, contributions: pages the same for every visitor, kept this long by nginx (page_cache.py).
    VISITOR_PAGE_SECONDS = int(os.environ.get("VISITOR_PAGE_SECONDS", "10"))
    # ProConnect (public servants' sign-in, OpenID Connect): the client registered with ProConnect, and its
    # discovery document's URL (or the issuer's); unset, no ProConnect button and its routes answer 404.
    PROCONNECT_CLIENT_ID = os.environ.get("PROCONNECT_CLIENT_ID")
    PROCONNECT_CLIENT_SECRET = os.environ.get("PROCONNECT_CLIENT_SECRET")
    PROCONNECT_DISCOVERY_URL = os.environ.get("PROCONNECT_DISCOVERY_URL")
    WTF_CSRF_TIME_LIMIT = None
    MAX_CONTENT_LENGTH = 8 * 1024 * 1024


class ProductionConfig(Config):
    SECRET_KEY = os.environ.get("SECRET_KEY")  # required: create_app refuses to start without it
    SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", True)
    HSTS = _env_bool("HSTS", True)


class TestConfig(Config):
    TESTING = True
    SECRET_KEY = "test"
    RATELIMIT_STORAGE_URI = "memory://"
    MAIL_BACKEND = "console"
    PUBLIC_URL = "http://localhost"


CONFIGS = {"development": Config, "production": ProductionConfig, "test": TestConfig}
