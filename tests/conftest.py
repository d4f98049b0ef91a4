"""Test set-up: one schema per session (built by the migrations), one rolled-back transaction per test.

SQLite by default; PostgreSQL when TEST_DATABASE_URL points to it. The apps read message catalogs
compiled from translations/*.po at the start of the session (see `compiled_translations`).
"""

import os
import re
import socket
import threading

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config as AlembicConfig
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask.testing import FlaskClient
from sqlalchemy.orm import scoped_session, sessionmaker
from werkzeug.serving import make_server

from app import create_app
from app.accounts.sessions import start_session
from app.extensions import db, limiter
from config import ROOT

CSRF_PATTERN = re.compile(r'name="csrf_token" value="([^"]+)"')


def schema_name(name: str) -> str:
    """A PostgreSQL schema of this test run's own, so that two runs never drop each other's."""
    return f"{name}_{os.getpid()}"


def database_url(tmp_path_factory, name: str) -> str:
    """The test database; on PostgreSQL, a schema named after `name` keeps databases apart."""
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{tmp_path_factory.mktemp(name) / 'agora.sqlite'}"


def engine_options(url: str, schema: str) -> dict:
    if url.startswith("postgresql"):
        return {"connect_args": {"options": f"-csearch_path={schema}"}}
    return {}


def reset_schema(url: str, schema: str, *, create: bool = True) -> None:
    if url.startswith("postgresql"):
        engine = sa.create_engine(url)
        with engine.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            if create:
                connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        engine.dispose()


def alembic_config(connection) -> AlembicConfig:
    config = AlembicConfig(str(ROOT / "alembic.ini"))
    config.attributes["connection"] = connection
    return config


def build_app(tmp_path_factory, name: str, **overrides):
    """An app on a fresh database of its own, migrated to head."""
    url, schema = database_url(tmp_path_factory, name), schema_name(name)
    reset_schema(url, schema)
    app = create_app("test", SQLALCHEMY_DATABASE_URI=url,
                     SQLALCHEMY_ENGINE_OPTIONS={**engine_options(url, schema), "pool_pre_ping": True}, **overrides)
    with app.app_context(), db.engine.begin() as connection:
        command.upgrade(alembic_config(connection), "head")
    return app


def dispose(app, name: str) -> None:
    with app.app_context():
        db.engine.dispose()
    reset_schema(app.config["SQLALCHEMY_DATABASE_URI"], schema_name(name), create=False)


@pytest.fixture(scope="session")
def compiled_translations(tmp_path_factory) -> str:
    """translations/<lang>/LC_MESSAGES/messages.po compiled into a folder of the session's own,
    as `make translations` does: the tests see the catalogs of the tree, never a stale or missing
    .mo file, whether they run through `make test` or plain `pytest`."""
    folder = tmp_path_factory.mktemp("translations")
    for po_path in sorted((ROOT / "translations").glob("*/LC_MESSAGES/messages.po")):
        with po_path.open("rb") as po_file:
            catalog = read_po(po_file)
        if catalog.fuzzy:  # pybabel compile skips these too; test_translations says why it fails
            continue
        mo_path = folder / po_path.relative_to(ROOT / "translations").with_suffix(".mo")
        mo_path.parent.mkdir(parents=True)
        with mo_path.open("wb") as mo_file:
            write_mo(mo_file, catalog)
    return str(folder)


@pytest.fixture(scope="session")
def app(tmp_path_factory, compiled_translations):
    app = build_app(tmp_path_factory, "agora_test", BABEL_TRANSLATION_DIRECTORIES=compiled_translations)
    yield app
    dispose(app, "agora_test")


class _KeptScopedSession(scoped_session):
    """The test's session, which request teardown must not close: views and test share it."""

    def remove(self):
        pass


@pytest.fixture(autouse=True)
def db_session(request, app):
    """Run each test in a transaction rolled back at the end; commits become savepoints."""
    if "live_app" in request.fixturenames:  # committed data, cleaned up by live_app itself
        yield None
        return
    with app.app_context():
        connection = db.engine.connect()
        transaction = connection.begin()
        session = _KeptScopedSession(sessionmaker(bind=connection, join_transaction_mode="create_savepoint"))
        original, db.session = db.session, session
        limiter.reset()
        try:
            yield session
        finally:
            session.close()
            db.session = original
            transaction.rollback()
            connection.close()


class Client(FlaskClient):
    """A test client that fills in the CSRF token of forms it posts."""

    _csrf_token: str | None = None

    def open(self, *args, **kwargs):
        # A fresh app context per request, as in production: `g` (and the signed-in user cached
        # there) must not leak from one request to the next through the test's own context.
        with self.application.app_context():
            return super().open(*args, **kwargs)

    def csrf_token(self) -> str:
        """The token of the sign-in form, or once signed in (that page then redirects) of the sign-out
        button: reading pages gives none."""
        if self._csrf_token is None:
            pages = (self.get(url).get_data(as_text=True) for url in ("/compte/connexion", "/"))
            self._csrf_token = next(found.group(1) for found in map(CSRF_PATTERN.search, pages) if found)
        return self._csrf_token

    def post_form(self, url: str, data: dict | None = None, **kwargs):
        return self.post(url, data={"csrf_token": self.csrf_token(), **(data or {})}, **kwargs)

    def sign_in_as(self, user) -> "Client":
        """Sign in as the sign-in form does: a session row, whose token the cookie carries."""
        token = start_session(user)
        db.session.commit()
        with self.session_transaction() as session:
            session["_user_id"] = token
            session["_fresh"] = True
        return self


@pytest.fixture(scope="session")
def _live_app(tmp_path_factory, compiled_translations):
    app = build_app(tmp_path_factory, "agora_live", BABEL_TRANSLATION_DIRECTORIES=compiled_translations)
    yield app
    dispose(app, "agora_live")


@pytest.fixture
def live_app(_live_app):
    """An app whose requests really commit, for tests with several connections (browser,
    concurrency); its tables are emptied after each test."""
    with _live_app.app_context():
        limiter.reset()
        yield _live_app
        db.session.remove()
        with db.engine.begin() as connection:
            for table in reversed(db.metadata.sorted_tables):
                connection.execute(table.delete())


@pytest.fixture
def live_server(live_app):
    """The live app served over HTTP on a free local port, in threads; yields its base URL."""
    server = make_server("127.0.0.1", 0, live_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join()


@pytest.fixture
def client(app):
    app.test_client_class = Client
    return app.test_client()


@pytest.fixture
def smtp_port(app, monkeypatch) -> int:
    """The app sends through SMTP to a free local port, where nothing listens: connection refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setitem(app.config, "MAIL_BACKEND", "smtp")
    monkeypatch.setitem(app.config, "MAIL_HOST", "127.0.0.1")
    monkeypatch.setitem(app.config, "MAIL_PORT", port)
    return port
