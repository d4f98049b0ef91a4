"""Schedulers running at the same moment, each in its own connection and transaction, on SQLite and
PostgreSQL alike: each reminder goes out once (the unique key of sent_reminders decides, not a prior read)."""

import threading
from datetime import timedelta

import sqlalchemy as sa

from app.consultations.models import PhaseKind
from app.core.mail import OutboxMessage
from app.extensions import db
from app.notifications import services
from app.notifications.models import DeliveryMode, NotificationKind
from tests.factories import make_consultation, make_member, make_organization


def test_four_simultaneous_schedulers_send_each_reminder_once(live_app):
    consultation = make_consultation(PhaseKind.SUPPORT)
    opened = consultation.phase(PhaseKind.SUPPORT).starts_at + timedelta(minutes=1)
    commune = make_organization("Saint-Flour")
    officials = [make_member(organization=commune, role="elected").user for _ in range(3)]
    services.set_preference(officials[0], NotificationKind.WINDOW_OPENS, DeliveryMode.DAILY)  # digest: 8:00 Paris
    db.session.commit()
    digest_at = opened + timedelta(hours=9)  # the window opens at a Paris midnight: 9:01 (or 8:01, 10:01 on a
    assert services.digest_day(digest_at) is not None  # day the clocks change), after the digest's hour
    emails = [official.email for official in officials]

    barrier = threading.Barrier(4)
    errors = []

    def scheduler():
        with live_app.app_context():
            try:
                barrier.wait()
                services.run(opened)
                db.session.commit()
                services.run(digest_at)
                db.session.commit()
            except Exception as error:  # noqa: BLE001 — reported below, with the thread's error
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=scheduler) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    sent = db.session.execute(sa.select(OutboxMessage.recipient, sa.func.count()).group_by(OutboxMessage.recipient))
    assert dict(sent.all()) == dict.fromkeys(emails, 1)
