"""What each person chooses to receive, and which reminders were already sent to whom."""

from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column

from app.core import clock
from app.core.db import UTCDateTime
from app.core.enums import LabelledEnum
from app.extensions import db


class NotificationKind(LabelledEnum):
    WINDOW_OPENS = "window_opens"
    WINDOW_CLOSING = "window_closing"
    RESULTS = "results"
    FOLLOWED_PROPOSAL_ACTIVITY = "followed_proposal_activity"

    @classmethod
    def labels(cls):
        return {cls.WINDOW_OPENS: _l("Ouverture des soutiens"),
                cls.WINDOW_CLOSING: _l("Clôture prochaine des soutiens"),
                cls.RESULTS: _l("Publication des résultats"),
                cls.FOLLOWED_PROPOSAL_ACTIVITY: _l("Suivi des propositions de votre organisation "
                                                   "(commentaires, fusions, réponses)")}


class DeliveryMode(LabelledEnum):
    IMMEDIATE = "immediate"
    DAILY = "daily"
    NONE = "none"

    @classmethod
    def labels(cls):
        return {cls.IMMEDIATE: _l("Tout de suite"), cls.DAILY: _l("Un résumé quotidien"), cls.NONE: _l("Rien")}


class NotificationPreference(db.Model):
    """A person's choice for one kind of mail; without a row, they receive it immediately."""

    __tablename__ = "notification_preferences"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    mode: Mapped[str] = mapped_column(sa.String(20))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class SentReminder(db.Model):
    """One row per reminder handed to the outbox (or digest sent): the unique key makes the scheduler send each
    once, however many times or in however many processes it runs. `subject_id` is a consultation, a comment,
    a proposal (merged or answered: kinds followed_merge, followed_answer), or for a daily digest the Paris day's
    ordinal."""

    __tablename__ = "sent_reminders"
    __table_args__ = (sa.UniqueConstraint("kind", "subject_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(40))
    subject_id: Mapped[int] = mapped_column(sa.Integer)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # Set when the reminder went out (or was dropped, mode "none"); None while it waits for the daily digest.
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class NotifiedEvent(db.Model):
    """An event (a comment, a merge, a published answer) whose followers a scheduler run has listed: later runs
    skip it, so that a run costs what happened since the last one, not every event of the last days."""

    __tablename__ = "notified_events"

    kind: Mapped[str] = mapped_column(sa.String(40), primary_key=True)  # as SentReminder.kind
    subject_id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
