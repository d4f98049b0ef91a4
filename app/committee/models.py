"""Seats on a consultation's steering committee, and the major issues (grands enjeux) it shapes."""

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core import clock
from app.core.db import UTCDateTime
from app.extensions import db


class CommitteeSeat(db.Model):
    __tablename__ = "committee_seats"
    __table_args__ = (
        sa.UniqueConstraint("consultation_id", "user_id"),
        # One chair per consultation.
        sa.Index("uq_committee_seats_chair", "consultation_id", unique=True,
                 sqlite_where=sa.text("is_chair"), postgresql_where=sa.text("is_chair")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(sa.ForeignKey("consultations.id"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    affiliation: Mapped[str] = mapped_column(sa.String(200))
    is_chair: Mapped[bool] = mapped_column(default=False)

    consultation = relationship("Consultation", back_populates="committee_seats")
    user = relationship("User")


class Issue(db.Model):
    """A major issue: a named group of published proposals (`Proposal.issue_id`, so one issue at most
    per proposal), in the order the committee gives them."""

    __tablename__ = "issues"
    __table_args__ = (sa.UniqueConstraint("consultation_id", "title"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(sa.ForeignKey("consultations.id"), index=True)
    title: Mapped[str] = mapped_column(sa.String(150))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    position: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))

    consultation = relationship("Consultation")
    created_by = relationship("User")

    def __repr__(self) -> str:
        return f"<Issue {self.id} {self.title[:30]!r}>"
