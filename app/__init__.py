"""Agora: participatory consultations for French local authorities."""

import logging
import os
from pathlib import Path

from flask import Flask, has_request_context, session
from flask.logging import default_handler
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from app.accounts import sessions as account_sessions
from app.accounts.views import bp as accounts_bp
from app.admin.views import bp as admin_bp
from app.api.views import bp as api_bp
from app.committee import suggestions
from app.committee.cli import committee_cli
from app.committee.evaluation_views import bp as evaluation_bp
from app.committee.link_views import bp as links_bp
from app.committee.decision_views import bp as decisions_bp
from app.committee.merge_views import bp as merging_bp
from app.committee.selection_views import bp as selection_bp
from app.committee.suggestion_views import bp as suggestions_bp
from app.committee.views import bp as committee_bp
from app.consultations.views import bp as consultations_bp
from app.core import jobs, security, web
from app.core.health import bp as health_bp
from app.core.audit import audit_cli
from app.core.backup import backup_cli
from app.core.db import MAX_ID, configure_sqlite
from app.core.jobs import jobs_cli
from app.core.mail import mail_cli
from app.core.sessions import JSONCookieSessionInterface
from app.demo import demo_cli
from app.extensions import babel, csrf, db, limiter, login_manager
from app.legal.views import bp as legal_bp
from app.notifications.services import reminders_cli
from app.notifications.views import bp as notifications_bp
from app.opendata.decidim import decidim_cli
from app.opendata import sizes as opendata_sizes
from app.opendata.pabulib import pabulib_cli
from app.opendata.statistics_views import bp as statistics_bp
from app.opendata.views import bp as opendata_bp
from app.organizations.directory import directory_cli
from app.organizations.views import bp as organizations_bp
from app.proposals import vectors
from app.proposals.views import bp as proposals_bp
from app.results.views import bp as results_bp
from app.votes.views import bp as votes_bp
from config import CONFIGS, LANGUAGES


def create_app(config: str | object | None = None, **overrides) -> Flask:
    app = Flask(__name__, template_folder="../templates", static_folder="../static")
    app.session_interface = JSONCookieSessionInterface()
    config = config or os.environ.get("AGORA_ENV", "development")
    app.config.from_object(CONFIGS[config] if isinstance(config, str) else config)
    app.config.update(overrides)
    if not app.config.get("SECRET_KEY"):
        raise RuntimeError("SECRET_KEY must be set in the environment.")
    proxies = int(os.environ.get("PROXY_FIX_X_FOR", "0"))
    if proxies:  # behind a load balancer: trust its X-Forwarded-* headers for client addresses
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)

    _ensure_sqlite_folder(app.config["SQLALCHEMY_DATABASE_URI"])
    db.init_app(app)
    with app.app_context():
        configure_sqlite(db.engine)
    csrf.init_app(app)
    limiter.init_app(app)
    # Flask-Limiter says when Redis goes away and comes back on a logger of its own, silent unless given a handler.
    limiter_log = logging.getLogger("flask-limiter")
    limiter_log.setLevel(logging.INFO)
    limiter_log.addHandler(default_handler)
    babel.init_app(app, locale_selector=select_locale, timezone_selector=lambda: "Europe/Paris")
    login_manager.init_app(app)
    account_sessions.init_app(app)
    web.init_app(app)
    security.init_app(app)
    jobs.init_app(app, {vectors.KIND: vectors.compute_vectors, suggestions.KIND: suggestions.compute_suggestions,
                         opendata_sizes.KIND: opendata_sizes.count_sizes})
    app.url_map.converters["int"] = IdConverter  # before any route is added
    for blueprint in (accounts_bp, organizations_bp, consultations_bp, proposals_bp, votes_bp, admin_bp,
                      api_bp, legal_bp, committee_bp, suggestions_bp, evaluation_bp,
                      links_bp, merging_bp, selection_bp, decisions_bp, results_bp, statistics_bp,
                      opendata_bp, health_bp, notifications_bp):
        app.register_blueprint(blueprint)
    for group in (mail_cli, jobs_cli, directory_cli, demo_cli, audit_cli, decidim_cli, committee_cli,
                  pabulib_cli, reminders_cli):
        app.cli.add_command(group)
    app.cli.add_command(backup_cli)
    return app


class IdConverter(IntegerConverter):
    """Numbers in paths are ids, which fit the database's integer columns: larger ones match no route (404)
    instead of overflowing in the database."""

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(url_map, *args, **kwargs)


def _ensure_sqlite_folder(url: str) -> None:
    """A fresh clone has no instance/ folder yet: SQLite creates the file, not its folder."""
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)


def select_locale() -> str:
    """French unless the visitor chose another language with the switcher."""
    chosen = session.get("locale") if has_request_context() else None
    return chosen if chosen in LANGUAGES else "fr"

