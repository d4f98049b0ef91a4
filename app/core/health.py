"""What a load balancer and an operator ask of a web process: does the database answer, is its schema at the
migrations' head, how many mails and jobs wait (and how many were given up after their last attempt).
200 when the process can serve, 503 when it cannot; JSON, no session, no personal data."""

import sqlalchemy as sa
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Blueprint, jsonify
from sqlalchemy.exc import DBAPIError

from app.core import jobs, mail
from app.core.db import database_unreachable
from app.extensions import db
from config import ROOT

bp = Blueprint("health", __name__)


def migration_heads() -> set[str]:
    """The head revisions of the migrations shipped with the code."""
    return set(ScriptDirectory.from_config(AlembicConfig(str(ROOT / "alembic.ini"))).get_heads())


def _waiting(model, max_attempts: int, unsent: sa.ColumnElement) -> dict[str, int]:
    waiting, given_up = db.session.execute(sa.select(
        sa.func.count().filter(model.attempts < max_attempts),
        sa.func.count().filter(model.attempts >= max_attempts)).where(unsent)).one()
    return {"waiting": waiting, "given_up": given_up}


@bp.get("/health")
def health():
    heads = sorted(migration_heads())
    try:
        current = sorted(MigrationContext.configure(db.session.connection()).get_current_heads())
        migrations = {"current": current, "head": heads, "at_head": current == heads}
        if not migrations["at_head"]:  # the tables may not be those the code knows
            return jsonify({"database": "ok", "migrations": migrations}), 503
        report = {"database": "ok", "migrations": migrations,
                  "mails": _waiting(mail.OutboxMessage, mail.MAX_ATTEMPTS, mail.OutboxMessage.sent_at.is_(None)),
                  "jobs": _waiting(jobs.Job, jobs.MAX_ATTEMPTS, jobs.Job.done_at.is_(None))}
    except DBAPIError as error:
        if not database_unreachable(error):  # the same test as the pages' 503 (web.handle_database_error)
            raise
        db.session.rollback()
        return jsonify({"database": "unavailable", "error": type(error).__name__, "migrations": {"head": heads}}), 503
    return jsonify(report)
