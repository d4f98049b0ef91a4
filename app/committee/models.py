"""Seats on a consultation's steering committee, and the major issues (grands enjeux) it shapes."""

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

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


class Criterion(db.Model):
    """What the committee scores a proposal on, weighed in its weighted mean; editable until the first score."""

    __tablename__ = "evaluation_criteria"
    __table_args__ = (sa.UniqueConstraint("consultation_id", "name"),
                      sa.CheckConstraint("weight > 0", name="weight_positive"))

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(sa.ForeignKey("consultations.id"))
    name: Mapped[str] = mapped_column(sa.String(80))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    weight: Mapped[int] = mapped_column(sa.SmallInteger, default=1)
    position: Mapped[int] = mapped_column(default=0)

    consultation = relationship("Consultation")


class Score(db.Model):
    """One member's score of one proposal on one criterion: one row per proposal × criterion × member."""

    __tablename__ = "evaluation_scores"
    __table_args__ = (sa.UniqueConstraint("proposal_id", "criterion_id", "member_id"),
                      sa.CheckConstraint("value BETWEEN 0 AND 5", name="value_between_0_and_5"))

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(sa.ForeignKey("proposals.id"))  # first in the unique index
    criterion_id: Mapped[int] = mapped_column(sa.ForeignKey("evaluation_criteria.id"), index=True)
    member_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    value: Mapped[int] = mapped_column(sa.SmallInteger)
    comment: Mapped[str] = mapped_column(sa.Text, default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    criterion = relationship("Criterion")
    member = relationship("User")


class EvaluationAssignment(db.Model):
    """A proposal given to a member to evaluate: the grid then waits for them only."""

    __tablename__ = "evaluation_assignments"
    __table_args__ = (sa.UniqueConstraint("proposal_id", "evaluator_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(sa.ForeignKey("proposals.id"))  # first in the unique index
    evaluator_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    assigned_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    evaluator = relationship("User", foreign_keys=[evaluator_id])


class ConflictDeclaration(db.Model):
    """A member's declared conflict of interest with a proposal: they neither score it nor are given it.
    Goes with the seat (a member leaving the committee takes their declarations along)."""

    __tablename__ = "conflict_declarations"
    __table_args__ = (sa.UniqueConstraint("seat_id", "proposal_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    seat_id: Mapped[int] = mapped_column(sa.ForeignKey("committee_seats.id"))
    proposal_id: Mapped[int] = mapped_column(sa.ForeignKey("proposals.id"), index=True)
    reason: Mapped[str] = mapped_column(sa.Text)
    declared_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    seat = relationship("CommitteeSeat", backref=backref("conflicts", cascade="all, delete-orphan",
                                                         order_by="ConflictDeclaration.id"))
    proposal = relationship("Proposal")


class CommitteeNote(db.Model):
    """A private note between committee members on a proposal, or a reply to one: never shown outside
    the committee's space."""

    __tablename__ = "committee_notes"
    __table_args__ = (sa.Index("ix_committee_notes_proposal", "proposal_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(sa.ForeignKey("proposals.id"))
    author_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("committee_notes.id"))
    body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    author = relationship("User")


class ClusterSuggestion(db.Model):
    """The major issues the machine suggests to a consultation's committee: one current draft per consultation,
    replaced when a member asks again (app/committee/suggestions.py).

    `content` stays None until the job has computed it from the stored vectors; members then rename, reshape
    and accept its clusters, which changes this row only until a cluster is accepted. `version` grows with
    every change: a form carries the version it was drawn from, so that a colleague's change made meanwhile
    is never overwritten unseen."""

    __tablename__ = "cluster_suggestions"

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(sa.ForeignKey("consultations.id"), unique=True)
    requested_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    n_clusters: Mapped[int | None]  # None: the number the engine suggests
    duplicate_threshold: Mapped[float]
    computed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    content: Mapped[dict | None] = mapped_column(sa.JSON)
    version: Mapped[int] = mapped_column(default=1)

    consultation = relationship("Consultation")
    requested_by = relationship("User")


class AnswerTemplate(db.Model):
    """A consultation's model of answer for one answer state, with placeholders (app/committee/decisions.py):
    applied in bulk to proposals in that state, each answer then edited one by one."""

    __tablename__ = "answer_templates"
    __table_args__ = (sa.UniqueConstraint("consultation_id", "state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(sa.ForeignKey("consultations.id"))
    state: Mapped[str] = mapped_column(sa.String(14))
    body: Mapped[str] = mapped_column(sa.Text)
    updated_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    consultation = relationship("Consultation")
