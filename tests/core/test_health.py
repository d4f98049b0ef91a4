"""The health endpoint: 200 with the waiting mails and jobs when the database answers at the migrations' head;
503 when the schema is behind the code or the database does not answer."""

import sqlalchemy as sa

from app import create_app
from app.core import jobs, mail
from app.core.health import migration_heads
from app.extensions import db


def test_a_healthy_process_says_so_with_what_waits(client):
    db.session.add_all([mail.OutboxMessage(recipient="a@example.org", subject="Un", body="…"),
                        mail.OutboxMessage(recipient="b@example.org", subject="Deux", body="…",
                                           attempts=mail.MAX_ATTEMPTS)])
    jobs.queue_jobs("opendata.sizes", [{"consultation_id": 1}, {"consultation_id": 2}])
    db.session.commit()
    response = client.get("/health")
    assert response.status_code == 200 and "Set-Cookie" not in response.headers, response.get_json()
    body = response.get_json()
    assert body["database"] == "ok"
    assert body["migrations"]["at_head"] is True and body["migrations"]["current"] == sorted(migration_heads())
    assert body["mails"] == {"waiting": 1, "given_up": 1}
    assert body["jobs"] == {"waiting": 2, "given_up": 0}


def test_a_schema_behind_the_code_answers_503(client):
    db.session.execute(sa.text("UPDATE alembic_version SET version_num = 'e8c4a2f6b1d3'"))
    db.session.commit()
    response = client.get("/health")
    assert response.status_code == 503
    assert response.get_json()["migrations"] == {"current": ["e8c4a2f6b1d3"], "head": sorted(migration_heads()),
                                                 "at_head": False}


def test_a_database_that_does_not_answer_answers_503(tmp_path, monkeypatch):
    # The app's own session, as in production (the suite's shares one transaction on the test database).
    monkeypatch.setattr(db, "session", db._make_scoped_session({}))
    app = create_app("test", SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}")  # a folder
    response = app.test_client().get("/health")
    assert response.status_code == 503
    assert response.get_json()["database"] == "unavailable"


def test_an_empty_database_is_not_at_head_and_its_tables_are_not_read(tmp_path, monkeypatch):
    monkeypatch.setattr(db, "session", db._make_scoped_session({}))
    app = create_app("test", SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'empty.sqlite'}")
    response = app.test_client().get("/health")
    assert response.status_code == 503
    assert response.get_json() == {"database": "ok", "migrations": {"current": [], "head": sorted(migration_heads()),
                                                                    "at_head": False}}
