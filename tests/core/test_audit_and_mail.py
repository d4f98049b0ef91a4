"""The audit log's hash chain (the mail outbox worker's tests are in test_mail_outbox.py)."""

import sqlalchemy as sa

from app.core import audit
from app.core.audit import AuditEntry
from app.extensions import db
from tests.factories import make_user


def test_every_entry_chains_to_the_previous_one_and_tampering_is_detected():
    admin = make_user(is_admin=True)
    first = audit.record("test.first", actor=admin, subject="thing:1", data={"value": 1})
    second = audit.record("test.second", actor=admin, subject="thing:2")
    assert second.prev_hash == first.hash and first.prev_hash == audit.GENESIS
    assert audit.verify_chain() is None
    db.session.execute(sa.update(AuditEntry).where(AuditEntry.id == first.id).values(data={"value": 2}))
    db.session.expire_all()
    assert audit.verify_chain() == first.id


def test_removing_an_entry_breaks_the_chain():
    admin = make_user(is_admin=True)
    entries = [audit.record("test.step", actor=admin, subject=f"thing:{n}") for n in range(3)]
    db.session.execute(sa.delete(AuditEntry).where(AuditEntry.id == entries[1].id))
    db.session.expire_all()
    assert audit.verify_chain() == entries[2].id


def test_the_verify_command_checks_the_whole_chain_and_names_the_first_broken_entry(app):
    admin = make_user(is_admin=True)
    entries = [audit.record("test.step", actor=admin, subject=f"thing:{n}") for n in range(3)]
    db.session.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0 and result.output == "Chaîne d'empreintes intacte : 3 entrées vérifiées.\n"
    db.session.execute(sa.update(AuditEntry).where(AuditEntry.id == entries[1].id).values(subject="thing:9"))
    db.session.execute(sa.delete(AuditEntry).where(AuditEntry.id == entries[2].id))
    db.session.expire_all()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert result.output == (f"Chaîne d'empreintes rompue à l'entrée n° {entries[1].id} (test.step, "
                             f"{entries[1].at.isoformat()}) : cette entrée ou celle qui la précédait a été modifiée ou "
                             "supprimée.\n")
