"""Settings, read from the environment so that web processes keep no state of their own."""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent
LANGUAGES = ("fr", "en")


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    return default if value is None else value.lower() in {"1", "true", "yes", "on"}


class Config:
    SECRET_KEY = os.environ.get("SECRET_KEY", "dev-only-not-secret")
    SQLALCHEMY_DATABASE_URI = os.environ.get(
        "DATABASE_URL", f"sqlite:///{ROOT / 'instance' / 'agora.sqlite'}"
    )
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    # Rate limits live in Redis in production so that every web process shares them.
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    RATELIMIT_HEADERS_ENABLED = True
    SIGN_IN_RATE_LIMIT = os.environ.get("SIGN_IN_RATE_LIMIT", "10 per minute;50 per hour")
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
    # Absolute base used in links sent by mail, since the worker has no request to read it from.
    PUBLIC_URL = os.environ.get("PUBLIC_URL", "http://127.0.0.1:5000")
    # The header's identity: Marianne is reserved for State services.
    SITE_NAME = os.environ.get("SITE_NAME", "Agora")
    SITE_TAGLINE = os.environ.get("SITE_TAGLINE")  # unset: a default tagline, in the visitor's language
    OPERATOR_NAME = os.environ.get("OPERATOR_NAME", "Agora")
    OPERATOR_IS_STATE = _env_bool("OPERATOR_IS_STATE", False)
    NODE_MODULES = Path(os.environ.get("NODE_MODULES", ROOT / "node_modules"))
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", False)
    WTF_CSRF_TIME_LIMIT = None
    MAX_CONTENT_LENGTH = 8 * 1024 * 1024


class ProductionConfig(Config):
    SECRET_KEY = os.environ.get("SECRET_KEY")  # required: create_app refuses to start without it
    SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", True)


class TestConfig(Config):
    TESTING = True
    SECRET_KEY = "test"
    RATELIMIT_STORAGE_URI = "memory://"
    MAIL_BACKEND = "console"
    PUBLIC_URL = "http://localhost"


CONFIGS = {"development": Config, "production": ProductionConfig, "test": TestConfig}
