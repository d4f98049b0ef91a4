"""The audit log's hash chain and the mail outbox worker."""

import smtplib

import sqlalchemy as sa

from app.core import audit, mail
from app.core.audit import AuditEntry
from app.core.mail import OutboxMessage
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


def queue(app, email=None):
    with app.test_request_context():
        user = make_user(email)
        return mail.queue_mail(user, "Sujet", "confirm_email", user=user, confirm_url="http://x/y")


def test_worker_prints_and_marks_messages_sent(app, capsys):
    message = queue(app)
    db.session.commit()
    assert mail.send_pending() == 1
    assert message.sent_at is not None and message.attempts == 1
    assert "http://x/y" in capsys.readouterr().out
    assert mail.send_pending() == 0  # never twice


def test_a_mail_server_down_loses_nothing(app, monkeypatch):
    message = queue(app)
    db.session.commit()
    monkeypatch.setitem(app.config, "MAIL_BACKEND", "smtp")
    monkeypatch.setitem(app.config, "MAIL_HOST", "127.0.0.1")
    monkeypatch.setitem(app.config, "MAIL_PORT", 9)  # nothing listens there: connection refused
    assert mail.send_pending() == 0
    assert message.sent_at is None and message.attempts == 1 and message.last_error
    assert mail.send_pending() == 0 and message.attempts == 2  # retried on the next run, once


def test_smtp_backend_sends_through_the_server(app, monkeypatch):
    sent = []

    class FakeSMTP:  # a stand-in for the mail server, not for our code
        def __init__(self, host, port, timeout):
            sent.append((host, port))

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def send_message(self, email):
            sent.append(email["To"])

    message = queue(app, "destinataire@example.org")
    db.session.commit()
    monkeypatch.setitem(app.config, "MAIL_BACKEND", "smtp")
    monkeypatch.setattr(smtplib, "SMTP", FakeSMTP)
    assert mail.send_pending() == 1
    assert sent == [("localhost", 25), "destinataire@example.org"]
    assert db.session.get(OutboxMessage, message.id).sent_at is not None


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
