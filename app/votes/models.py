"""Supports cast by organizations, their quotas, the journal of casts and withdrawals, frozen tallies, and the
mandates under which an agent casts supports for an elected official."""

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core import clock
from app.core.db import UTCDateTime
from app.extensions import db


class Support(db.Model):
    """An organization's support for a proposal; withdrawing deletes it (the journal keeps the act)."""

    __tablename__ = "supports"
    __table_args__ = (sa.UniqueConstraint("proposal_id", "organization_id"),
                      sa.Index("ix_supports_organization", "organization_id", "consultation_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(sa.ForeignKey("consultations.id"))
    proposal_id: Mapped[int] = mapped_column(sa.ForeignKey("proposals.id"), index=True)
    organization_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id"))
    cast_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    cast_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    receipt_code: Mapped[str] = mapped_column(sa.String(16), unique=True)
    # Cast by an aidant for the official who granted this mandate (cast_by is the aidant).
    mandate_id: Mapped[int | None] = mapped_column(sa.ForeignKey("mandates.id"))

    proposal = relationship("Proposal")
    organization = relationship("Organization")
    cast_by = relationship("User")
    mandate = relationship("Mandate")


class SupportQuota(db.Model):
    """How many supports an organization has cast in a consultation, taken atomically."""

    __tablename__ = "support_quotas"

    consultation_id: Mapped[int] = mapped_column(sa.ForeignKey("consultations.id"), primary_key=True)
    organization_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id"), primary_key=True)
    used: Mapped[int] = mapped_column(default=0)


class SupportEvent(db.Model):
    """The journal of every cast and withdrawal: who, for which organization, when, from which page."""

    __tablename__ = "support_events"
    __table_args__ = (sa.Index("ix_support_events_consultation", "consultation_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(sa.ForeignKey("consultations.id"))
    proposal_id: Mapped[int] = mapped_column(sa.ForeignKey("proposals.id"))
    organization_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id"))
    actor_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(sa.String(10))  # "cast" | "withdraw"
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    source: Mapped[str | None] = mapped_column(sa.String(200))
    mandate_id: Mapped[int | None] = mapped_column(sa.ForeignKey("mandates.id"))  # the actor is its aidant

    proposal = relationship("Proposal")
    organization = relationship("Organization")
    actor = relationship("User")
    mandate = relationship("Mandate")


class Mandate(db.Model):
    """An elected official lets an agent of the same organization (the aidant) cast supports for them, from
    starts_at to ends_at, until revoked. Whether it is in force is computed (app/votes/mandates.py), never
    stored: it ends with either membership."""

    __tablename__ = "mandates"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id"), index=True)
    official_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    aidant_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    organization = relationship("Organization")
    official = relationship("User", foreign_keys=[official_id])
    aidant = relationship("User", foreign_keys=[aidant_id])
    revoked_by = relationship("User", foreign_keys=[revoked_by_id])


class Tally(db.Model):
    """The frozen tally of a consultation once its support window has closed."""

    __tablename__ = "tallies"

    consultation_id: Mapped[int] = mapped_column(sa.ForeignKey("consultations.id"), primary_key=True)
    frozen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    support_count: Mapped[int]
    digest: Mapped[str] = mapped_column(sa.String(64))
    # The published file itself, so that later changes (a pseudonym's key, a name) never make it disagree
    # with its digest. Deferred: megabytes at national scale, read only by the file's download.
    content: Mapped[str] = mapped_column(sa.Text, deferred=True)
