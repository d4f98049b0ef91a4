"""The database away (PostgreSQL restarting, stopped, a connection cut): pages answer a French 503 with
Retry-After, the API its JSON error, the request leaves nothing half-written, and the process serves again by
itself once the database is back, without a restart."""

import logging
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError, ProgrammingError

from app import create_app
from app.consultations.models import PhaseKind
from app.core.audit import AuditEntry
from app.core.db import database_unreachable
from app.extensions import db
from app.votes.models import Support, SupportEvent, SupportQuota
from tests.conftest import Client
from tests.factories import make_consultation, make_member, make_organization, make_proposal
from tests.helpers import text_of

REFUSED = "postgresql+psycopg://postgres@127.0.0.1:1/nothing"  # nothing listens on port 1: connection refused
TITLE = "Service momentanément indisponible"
MESSAGE = ("Le site ne parvient pas à joindre sa base de données pendant quelques instants. "
           "Rien n'a été enregistré pour cette demande : réessayez dans quelques secondes.")


def warnings_and_worse(caplog) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.levelno >= logging.WARNING]


# --- A database that does not answer at all -------------------------------------------------------------

@pytest.fixture(params=["refused", "unopenable"])
def unreachable_client(request, tmp_path, monkeypatch):
    """A client of a web process whose database cannot be reached: PostgreSQL refusing connections, or an
    SQLite file that cannot be opened (its path is a folder)."""
    # The app's own session, as in production (the suite's shares one transaction on the test database).
    monkeypatch.setattr(db, "session", db._make_scoped_session({}))
    url = REFUSED if request.param == "refused" else f"sqlite:///{tmp_path}"
    app = create_app("test", SQLALCHEMY_DATABASE_URI=url)
    app.test_client_class = Client
    return app.test_client()


@pytest.mark.parametrize("path", ["/", "/consultations/relance-2027", "/consultations/relance-2027/propositions",
                                  "/propositions/1"])
def test_pages_that_read_the_database_answer_a_french_503(unreachable_client, path, caplog):
    response = unreachable_client.get(path)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "10"
    page = text_of(response)
    assert f"<title>{TITLE} — Agora</title>" in page and MESSAGE in page and "Erreur 503" in page
    # Logged once, one line: a restart fails every request for a few seconds.
    [record] = warnings_and_worse(caplog)
    assert record.levelno == logging.WARNING and record.exc_info is None
    assert f"503 for GET {path}: OperationalError" in record.getMessage()


def test_the_api_answers_its_json_error(unreachable_client):
    response = unreachable_client.get("/api/v1/consultations")
    assert response.status_code == 503 and response.headers["Retry-After"] == "10"
    assert response.get_json() == {"error": {"status": 503, "message": MESSAGE}}


def test_a_form_sent_meanwhile_gets_the_page_and_the_next_request_is_served(unreachable_client):
    """Sign-in reads the database: the person is told that nothing happened; pages that do not read it are
    still served by the same process."""
    response = unreachable_client.post_form("/compte/connexion", {"email": "a@example.org", "password": "x"})
    assert response.status_code == 503 and MESSAGE in text_of(response)
    assert unreachable_client.get("/compte/connexion").status_code == 200


def test_a_signed_in_person_gets_the_page_and_stays_signed_in(unreachable_client):
    """Who is signed in is read from the database: the page is shown as to a visitor, and the session cookie,
    left alone, opens the account again once the database is back."""
    with unreachable_client.session_transaction() as session:
        session["_user_id"] = "a-session-token"
    response = unreachable_client.get("/")
    assert response.status_code == 503 and MESSAGE in text_of(response)
    assert "Se connecter" in text_of(response)
    assert "Set-Cookie" not in response.headers


def test_the_health_endpoint_says_the_same(unreachable_client):
    response = unreachable_client.get("/health")
    assert response.status_code == 503 and response.get_json()["database"] == "unavailable"


@pytest.mark.parametrize("error, unreachable", [
    (OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly")), True),
    (InterfaceError("SELECT 1", {}, Exception("connection already closed")), True),
    (ProgrammingError("SELECT 1", {}, Exception("connection lost"), connection_invalidated=True), True),
    (IntegrityError("INSERT", {}, Exception("duplicate key value")), False),  # the request's fault: a 500
    (ProgrammingError("SELECT", {}, Exception("relation does not exist")), False),
])
def test_which_errors_mean_the_database_is_away(error, unreachable):
    assert database_unreachable(error) is unreachable


def test_an_error_of_the_request_itself_stays_a_500():
    app = create_app("test", SQLALCHEMY_DATABASE_URI="sqlite://", PROPAGATE_EXCEPTIONS=False)  # as in production

    def insert_twice():
        raise IntegrityError("INSERT", {}, Exception("duplicate key value"))

    app.add_url_rule("/insert-twice", "insert_twice", insert_twice)
    response = app.test_client().get("/insert-twice")
    assert response.status_code == 500 and "Erreur inattendue" in text_of(response)


def test_a_mistake_in_the_sql_stays_a_bug_on_sqlite():
    """sqlite3 calls "no such table" an OperationalError too: a 500 with its traceback, not a 503."""
    engine = sa.create_engine("sqlite://")
    with engine.connect() as connection, pytest.raises(OperationalError) as raised:
        connection.execute(sa.text("SELECT * FROM nowhere"))
    engine.dispose()
    assert not database_unreachable(raised.value)


# --- PostgreSQL cutting the app's connections, as a restart does ----------------------------------------

@pytest.fixture
def live_client(live_app):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("TEST_DATABASE_URL ne désigne pas une base PostgreSQL")
    live_app.test_client_class = Client
    return live_app.test_client()


def terminate(pids) -> None:
    """End these server processes of the test database from another connection, as a restart does, and wait
    until they are gone (the backends of other databases are never touched)."""
    engine = sa.create_engine(db.engine.url, poolclass=sa.pool.NullPool)
    with engine.connect() as connection:
        connection.execute(sa.text("SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
                                   "WHERE datname = current_database() AND pid = ANY(:pids)"), {"pids": list(pids)})
    engine.dispose()


@contextmanager
def cut_at(event_name: str):
    """The server ends the app's connection the first time the engine reaches `event_name`
    ("before_cursor_execute": before a statement; "commit": before COMMIT), in the middle of a request."""
    cut: list[int] = []

    def terminate_once(connection, *_args):
        if not cut:
            cut.append(connection.connection.dbapi_connection.info.backend_pid)
            terminate(cut)

    sa.event.listen(db.engine, event_name, terminate_once)
    try:
        yield cut
    finally:
        sa.event.remove(db.engine, event_name, terminate_once)


@pytest.mark.postgresql
def test_connections_ended_between_requests_are_replaced(live_client):
    """pool_pre_ping tests a connection before lending it: a dead one is replaced, the visitor sees nothing."""
    backends: set[int] = set()

    def note(dbapi_connection, _record, _proxy):
        backends.add(dbapi_connection.info.backend_pid)

    sa.event.listen(db.engine, "checkout", note)
    try:
        assert live_client.get("/").status_code == 200
        terminate(backends)
        assert live_client.get("/").status_code == 200
    finally:
        sa.event.remove(db.engine, "checkout", note)


@pytest.mark.postgresql
def test_a_connection_ended_during_a_request_gives_a_503_then_pages_again(live_client, caplog):
    make_consultation(PhaseKind.SUPPORT)
    with cut_at("before_cursor_execute") as cut:
        response = live_client.get("/")
    assert cut and response.status_code == 503 and MESSAGE in text_of(response)
    [record] = warnings_and_worse(caplog)
    assert record.levelno == logging.WARNING and record.exc_info is None
    assert live_client.get("/").status_code == 200


@pytest.mark.postgresql
def test_a_connection_ended_once_the_page_is_made_still_lets_the_page_out(live_client, caplog):
    """PostgreSQL restarting after the view made its page, before the request's session is closed: that close
    fails, outside every error handler; the page already made goes out all the same."""
    make_consultation(PhaseKind.SUPPORT)
    with cut_at("rollback") as cut:
        response = live_client.get("/")
    assert cut and response.status_code == 200 and "Soutiens" in text_of(response)
    [record] = warnings_and_worse(caplog)
    assert record.levelno == logging.WARNING and record.exc_info is None
    assert live_client.get("/").status_code == 200


@pytest.mark.postgresql
def test_a_support_cut_before_its_commit_leaves_nothing_and_can_be_cast_again(live_client):
    consultation = make_consultation(PhaseKind.SUPPORT, vote_limit=3)
    proposal = make_proposal(consultation)
    member = make_member(organization=make_organization(), role="elected")
    live_client.sign_in_as(member.user).csrf_token()
    support = {"organization_id": member.organization_id, "next": f"/propositions/{proposal.id}"}

    with cut_at("commit") as cut:
        response = live_client.post_form(f"/propositions/{proposal.id}/soutenir", support)
    assert cut and response.status_code == 503 and MESSAGE in text_of(response)
    assert stored(Support) == stored(SupportEvent) == stored(SupportQuota.used) == 0
    assert db.session.scalar(sa.select(sa.func.count()).where(AuditEntry.action == "support.cast")) == 0

    response = live_client.post_form(f"/propositions/{proposal.id}/soutenir", support)
    assert response.status_code == 302
    assert stored(Support) == stored(SupportEvent) == stored(SupportQuota.used) == 1


def stored(what) -> int:
    """How many rows of a model, or the sum of a column, are in the database."""
    if isinstance(what, type):
        return db.session.scalar(sa.select(sa.func.count()).select_from(what))
    return db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(what), 0)))
