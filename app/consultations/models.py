"""A consultation, its dated phases, its themes and its committee."""

from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core import clock
from app.core.db import UTCDateTime
from app.core.enums import LabelledEnum
from app.extensions import db


class PhaseKind(LabelledEnum):
    """The phases, in the order a consultation goes through them."""

    COLLECT = "collect"
    SUPPORT = "support"
    DELIBERATION = "deliberation"
    SELECTION = "selection"
    RESULTS = "results"

    @classmethod
    def labels(cls):
        return {cls.COLLECT: _l("Dépôt des contributions"), cls.SUPPORT: _l("Soutiens"),
                cls.DELIBERATION: _l("Délibération du comité"), cls.SELECTION: _l("Sélection des lauréats"),
                cls.RESULTS: _l("Résultats")}


class Consultation(db.Model):
    __tablename__ = "consultations"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(80), unique=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    budget_envelope_cents: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    laureate_target: Mapped[int] = mapped_column(default=0)
    # Support settings, named as in Decidim where Decidim has them.
    vote_limit: Mapped[int] = mapped_column(default=0)  # 0: unlimited
    threshold_per_proposal: Mapped[int] = mapped_column(default=0)  # 0: none
    minimum_votes_per_user: Mapped[int] = mapped_column(default=0)
    can_accumulate_supports_beyond_threshold: Mapped[bool] = mapped_column(default=False)
    # Agora's own setting, named in Decidim's style: off, an organization supports others' proposals
    # only, not those it submitted or co-sponsors.
    can_support_own_proposals: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    votes_hidden: Mapped[bool] = mapped_column(default=False)
    # When set, receipts and open data name no supporting organization, only a pseudonym.
    supporters_hidden: Mapped[bool] = mapped_column(default=False)
    eligible_kinds: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    # Set when the chair publishes the committee's answers, all at once: nothing of them is public before.
    results_published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # SHA-256 of what was published then (app/committee/decisions.py, `published_digest`).
    results_digest: Mapped[str | None] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    phases = relationship("Phase", back_populates="consultation", cascade="all, delete-orphan",
                          order_by="Phase.starts_at")
    themes = relationship("Theme", back_populates="consultation", cascade="all, delete-orphan",
                          order_by="Theme.position")
    committee_seats = relationship("CommitteeSeat", back_populates="consultation",
                                   cascade="all, delete-orphan", order_by="CommitteeSeat.id")

    def phase(self, kind: PhaseKind) -> "Phase | None":
        return next((phase for phase in self.phases if phase.kind == kind), None)

    def __repr__(self) -> str:
        return f"<Consultation {self.slug}>"


class Phase(db.Model):
    """A dated step of a consultation: [starts_at, ends_at), in UTC."""

    __tablename__ = "phases"
    __table_args__ = (
        sa.UniqueConstraint("consultation_id", "kind"),
        sa.CheckConstraint("starts_at < ends_at", name="starts_before_ends"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(sa.ForeignKey("consultations.id"))
    kind: Mapped[str] = mapped_column(sa.String(20))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)

    consultation = relationship("Consultation", back_populates="phases")

    @property
    def label(self) -> str:
        return PhaseKind(self.kind).label

    def contains(self, moment: datetime) -> bool:
        return self.starts_at <= moment < self.ends_at


class Theme(db.Model):
    __tablename__ = "themes"
    __table_args__ = (sa.UniqueConstraint("consultation_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(sa.ForeignKey("consultations.id"))
    name: Mapped[str] = mapped_column(sa.String(120))
    position: Mapped[int] = mapped_column(default=0)

    consultation = relationship("Consultation", back_populates="themes")
