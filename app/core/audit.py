"""Append-only, hash-chained journal of committee and admin actions.

Each entry's hash covers its content and the previous entry's hash, so that removing or
editing an entry breaks every hash after it; `verify_chain` tells where.
"""

import hashlib
import json
from datetime import datetime

import click
import sqlalchemy as sa
from flask.cli import AppGroup
from flask_babel import gettext as _, ngettext
from sqlalchemy.orm import Mapped, mapped_column

from app.core import clock
from app.core.db import UTCDateTime
from app.extensions import db

GENESIS = "0" * 64


class AuditEntry(db.Model):
    __tablename__ = "audit_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(sa.String(80))
    subject: Mapped[str] = mapped_column(sa.String(120))
    data: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(sa.String(64))
    hash: Mapped[str] = mapped_column(sa.String(64), unique=True)

    actor = db.relationship("User")

    def content_hash(self) -> str:
        content = json.dumps(
            [self.prev_hash, self.at.isoformat(), self.actor_id, self.action, self.subject, self.data],
            ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str,
        )
        return hashlib.sha256(content.encode()).hexdigest()


def subject_of(obj) -> str:
    return f"{obj.__tablename__}:{obj.id}"


def record(action: str, *, actor, subject, data: dict | None = None) -> AuditEntry:
    """Append an entry after the last one; the caller's transaction commits it."""
    session = db.session
    if session.get_bind().dialect.name == "postgresql":
        # Serialise writers of the chain until commit, so two entries never share a predecessor.
        session.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext('audit_entries'))"))
    session.flush()
    last_hash = session.scalar(sa.select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1))
    entry = AuditEntry(
        at=clock.now().replace(microsecond=0),
        actor_id=actor.id if actor is not None else None,
        action=action,
        subject=subject if isinstance(subject, str) else subject_of(subject),
        data=data or {},
        prev_hash=last_hash or GENESIS,
    )
    entry.hash = entry.content_hash()
    session.add(entry)
    session.flush()
    return entry


def verify_chain() -> int | None:
    """Return the id of the first entry whose hash does not hold, or None if the chain is intact."""
    previous = GENESIS
    for entry in db.session.scalars(sa.select(AuditEntry).order_by(AuditEntry.id)):
        if entry.prev_hash != previous or entry.content_hash() != entry.hash:
            return entry.id
        previous = entry.hash
    return None


audit_cli = AppGroup("audit", help="Journal d'audit.")


@audit_cli.command("verify")
def verify_command() -> None:
    """Vérifie toute la chaîne d'empreintes ; code de sortie 1 si elle est rompue."""
    broken_at = verify_chain()
    if broken_at is None:
        count = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry))
        click.echo(ngettext("Chaîne d'empreintes intacte : %(num)d entrée vérifiée.",
                            "Chaîne d'empreintes intacte : %(num)d entrées vérifiées.", count))
        return
    entry = db.session.get(AuditEntry, broken_at)
    click.echo(_("Chaîne d'empreintes rompue à l'entrée n° %(id)d (%(action)s, %(at)s) : cette entrée ou celle "
                 "qui la précédait a été modifiée ou supprimée.", id=entry.id, action=entry.action,
                 at=entry.at.isoformat()), err=True)
    raise SystemExit(1)
