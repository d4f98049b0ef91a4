"""The mail outbox worker: a message that fails waits longer after each failure (30 s doubling, at most an
hour) and is given up after about two days; a mail server unreachable for a while loses nothing, and when it
is back every message leaves exactly once. The SMTP server of these tests is a real one (aiosmtpd)."""

from collections import Counter
from datetime import timedelta

import sqlalchemy as sa

from app.core import clock, mail
from app.core.mail import OutboxMessage
from app.extensions import db
from tests.factories import make_user
from tests.helpers import smtp_server

SECOND = timedelta(seconds=1)
HOUR = timedelta(hours=1)


def queue(app, email=None) -> OutboxMessage:
    with app.test_request_context():
        user = make_user(email)
        return mail.queue_mail(user, "Sujet", "confirm_email", user=user, confirm_url="http://x/y")


def outbox_size() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage))




def test_a_healthy_batch_leaves_at_once_and_never_twice(app, capsys):
    messages = [queue(app, f"elu{number}@example.org") for number in range(5)]
    db.session.commit()
    now = clock.now()
    assert mail.send_pending(batch_size=2, now=now) == 5
    assert [(message.sent_at, message.attempts, message.retry_after) for message in messages] == [(now, 1, None)] * 5
    assert capsys.readouterr().out.count("http://x/y") == 5
    assert mail.send_pending(now=now + HOUR) == 0


def test_a_message_not_yet_due_is_not_tried_while_a_new_one_is_at_once(app, smtp_port):
    start = clock.now()
    failed = queue(app)
    db.session.commit()
    assert mail.send_pending(now=start) == 0
    assert failed.attempts == 1 and failed.retry_after == start + 30 * SECOND
    newcomer = queue(app)
    db.session.commit()
    assert mail.send_pending(now=start + 29 * SECOND) == 0
    assert (failed.attempts, newcomer.attempts) == (1, 1)
    assert mail.send_pending(now=start + 30 * SECOND) == 0
    assert failed.attempts == 2 and failed.retry_after == start + 90 * SECOND


def test_each_failure_doubles_the_wait_up_to_an_hour_and_after_two_days_the_message_is_given_up_and_kept(
        app, smtp_port, client):
    message = queue(app)
    db.session.commit()
    moments, moment = [], clock.now()
    while message.attempts < mail.MAX_ATTEMPTS:
        assert mail.send_pending(now=moment) == 0
        moments.append(moment)
        assert message.attempts == len(moments) and message.retry_after > moment
        moment = message.retry_after
    waits = [later - earlier for earlier, later in zip(moments, moments[1:])]
    assert waits[:8] == [30 * SECOND, 60 * SECOND, 2 * 60 * SECOND, 4 * 60 * SECOND, 8 * 60 * SECOND,
                         16 * 60 * SECOND, 32 * 60 * SECOND, HOUR]
    assert set(waits[8:]) == {HOUR}
    assert 47 * HOUR < moments[-1] - moments[0] < 49 * HOUR

    assert mail.send_pending(now=moments[-1] + 7 * 24 * HOUR) == 0
    db.session.expire_all()
    given_up = db.session.get(OutboxMessage, message.id)
    assert (given_up.sent_at, given_up.attempts) == (None, mail.MAX_ATTEMPTS)
    assert "Connection refused" in given_up.last_error
    assert client.get("/health").get_json()["mails"] == {"waiting": 0, "given_up": 1}


def test_while_the_mail_server_is_unreachable_mails_wait_and_when_it_is_back_each_leaves_exactly_once(
        app, smtp_port):
    recipients = [f"elu{number}@example.org" for number in range(3)]
    messages = [queue(app, recipient) for recipient in recipients]
    db.session.commit()
    start = clock.now()
    # Runs every few seconds while the server is down: a message is tried only when its wait is over.
    for seconds, attempts in ((0, 1), (2, 1), (29, 1), (30, 2), (60, 2), (89, 2), (90, 3), (180, 3)):
        assert mail.send_pending(now=start + seconds * SECOND) == 0
        assert [message.attempts for message in messages] == [attempts] * 3
    assert outbox_size() == 3
    assert all(message.sent_at is None and "Connection refused" in message.last_error for message in messages)
    assert {message.retry_after for message in messages} == {start + 210 * SECOND}

    with smtp_server(smtp_port) as inbox:
        assert mail.send_pending(now=start + 209 * SECOND) == 0 and inbox.received == []
        assert mail.send_pending(now=start + 210 * SECOND) == 3
        assert mail.send_pending(now=start + 24 * HOUR) == 0
    assert inbox.count_per_recipient() == Counter(recipients)
    assert [email["Subject"] for _, email in inbox.received] == ["Sujet"] * 3
    assert all("http://x/y" in email.get_payload(decode=True).decode() for _, email in inbox.received)
    db.session.expire_all()
    sent = db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert [(message.recipient, message.sent_at, message.attempts) for message in sent] == [
        (recipient, start + 210 * SECOND, 4) for recipient in recipients]


def test_the_worker_command_sends_through_the_mail_server(app, smtp_port):
    message = queue(app, "elu@example.org")
    db.session.commit()
    runner = app.test_cli_runner()
    with smtp_server(smtp_port) as inbox:
        result = runner.invoke(args=["mail", "send"])
        assert result.exit_code == 0 and result.output == "1 courriel(s) envoyé(s).\n"
        assert runner.invoke(args=["mail", "send"]).output == "0 courriel(s) envoyé(s).\n"
    assert inbox.count_per_recipient() == {"elu@example.org": 1}
    db.session.expire_all()
    assert db.session.get(OutboxMessage, message.id).sent_at is not None
