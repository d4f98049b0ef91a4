"""Mail outbox: messages are rows written in the caller's transaction and sent by a worker.

Nothing is lost when the mail server is down: a failed message stays in the outbox with its
error and waits before its next attempt, longer after each failure, so that a server down for an
hour or a day costs a few attempts, not all of them.
"""

import smtplib
import sys
from datetime import datetime, timedelta
from email import policy
from email.message import EmailMessage
from typing import Protocol

import click
import sqlalchemy as sa
from flask import current_app, render_template
from flask.cli import AppGroup
from flask_babel import force_locale
from sqlalchemy.orm import Mapped, mapped_column

from app.core import clock
from app.core.db import UTCDateTime
from app.core.jobs import keep_running, process_claimed, retry_delay, worker_options
from app.extensions import db

# Waits of 30 s, 1 min, 2 min… 32 min, then of an hour each: the 55th and last attempt comes about
# 48 hours after the first: a mail server down for up to two days delays messages, loses none.
LONGEST_RETRY_AFTER = timedelta(hours=1)
MAX_ATTEMPTS = 55


class OutboxMessage(db.Model):
    __tablename__ = "outbox"
    __table_args__ = (
        # The worker walks the unsent messages (few among many sent) in the order it claims them, looking for
        # those due: only those are indexed. PostgreSQL leaves an index on retry_after unused for that walk.
        sa.Index("ix_outbox_pending", "id", postgresql_where=sa.text("sent_at IS NULL"),
                 sqlite_where=sa.text("sent_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient: Mapped[str] = mapped_column(sa.String(254))
    subject: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    retry_after: Mapped[datetime | None] = mapped_column(UTCDateTime)  # None: as soon as possible
    # The address that stops this kind of mail with one POST (RFC 8058), for the mail client's own button.
    list_unsubscribe: Mapped[str | None] = mapped_column(sa.String(500))


class Recipient(Protocol):
    """Whom a mail goes to: an address and the language to write in (a User, most often)."""

    email: str
    locale: str


def queue_mail(recipient: Recipient, subject, template: str, **context) -> OutboxMessage:
    """Queue a message to `recipient`, in their language, not the language of whoever made
    it be sent: `subject` is a lazy string (`_l`), the body is rendered from templates/mail/<template>.txt."""
    with force_locale(recipient.locale):
        body = render_template(f"mail/{template}.txt", public_url=current_app.config["PUBLIC_URL"], **context)
        message = OutboxMessage(recipient=recipient.email, subject=str(subject), body=body,
                                list_unsubscribe=_one_click_address(context.get("unsubscribe", [])))
    db.session.add(message)
    return message


def _one_click_address(unsubscribe: list) -> str | None:
    """A mail about one kind of news (the footer's links, app.notifications.services.mail_footer) is stopped by
    its client's button too; a digest of several kinds keeps its links, one per kind, in the body only."""
    return unsubscribe[0][1] if len(unsubscribe) == 1 else None


def _deliver(message: OutboxMessage) -> None:
    config = current_app.config
    if config["MAIL_BACKEND"] == "console":
        print(f"--- Courriel pour {message.recipient} : {message.subject}\n{message.body}\n---",
              file=sys.stdout, flush=True)
        return
    # Header lines up to RFC 5322's 998 characters: folded at 78, a long address without spaces (List-Unsubscribe)
    # would be written as encoded words, which mail clients do not read as an address.
    email = EmailMessage(policy=policy.SMTP.clone(max_line_length=998))
    email["From"] = config["MAIL_SENDER"]
    email["To"] = message.recipient
    email["Subject"] = message.subject
    if message.list_unsubscribe:
        email["List-Unsubscribe"] = f"<{message.list_unsubscribe}>"
        email["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    email.set_content(message.body)
    with smtplib.SMTP(config["MAIL_HOST"], config["MAIL_PORT"], timeout=30) as smtp:
        if config["MAIL_USE_TLS"]:
            smtp.starttls()
        if config["MAIL_USERNAME"]:
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
        smtp.send_message(email)


def send_pending(batch_size: int = 50, *, now: datetime | None = None) -> int:
    """Send the queued messages that are due, one transaction per batch; return how many were sent.

    A message that fails waits retry_delay() before it is due again, and is given up (kept, with
    its error) after MAX_ATTEMPTS attempts.
    """
    now = now or clock.now()
    due = sa.select(OutboxMessage).where(
        OutboxMessage.sent_at.is_(None), OutboxMessage.attempts < MAX_ATTEMPTS,
        sa.or_(OutboxMessage.retry_after.is_(None), OutboxMessage.retry_after <= now))
    return process_claimed(due, lambda messages: _send_batch(messages, now), batch_size)


def _send_batch(messages: list[OutboxMessage], now: datetime) -> int:
    sent = 0
    for message in messages:
        message.attempts += 1
        try:
            _deliver(message)
        except (OSError, smtplib.SMTPException) as error:
            message.last_error = str(error)[:2000]
            message.retry_after = now + retry_delay(message.attempts, at_most=LONGEST_RETRY_AFTER)
        else:
            message.sent_at = now
            sent += 1
    return sent


mail_cli = AppGroup("mail", help="Envoi des courriels en attente.")


@mail_cli.command("send")
@worker_options
def send_command(loop: bool, interval: float) -> None:
    """Envoie les courriels de la file d'attente."""
    count = keep_running(send_pending, loop=loop, interval=interval)
    click.echo(f"{count} courriel(s) envoyé(s).")
