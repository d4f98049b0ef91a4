"""Proposals (needs and services), their versions, co-sponsors, links, comments and reports."""

from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core import clock
from app.core.db import UTCDateTime
from app.core.enums import LabelledEnum
from app.extensions import db


class ProposalKind(LabelledEnum):
    NEED = "need"
    SERVICE = "service"

    @classmethod
    def labels(cls):
        return {cls.NEED: _l("Besoin"), cls.SERVICE: _l("Service numérique")}


class ProposalState(LabelledEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    WITHDRAWN = "withdrawn"

    @classmethod
    def labels(cls):
        return {cls.DRAFT: _l("Brouillon"), cls.PUBLISHED: _l("Publiée"), cls.WITHDRAWN: _l("Retirée")}


class AnswerState(LabelledEnum):
    NOT_ANSWERED = "not_answered"
    EVALUATING = "evaluating"
    LAUREATE = "laureate"
    NOT_RETAINED = "not_retained"

    @classmethod
    def labels(cls):
        return {cls.NOT_ANSWERED: _l("Sans réponse"), cls.EVALUATING: _l("En cours d'évaluation"),
                cls.LAUREATE: _l("Lauréate"), cls.NOT_RETAINED: _l("Non retenue")}


class Maturity(LabelledEnum):
    IDEA = "idea"
    PROTOTYPE = "prototype"
    PRODUCTION = "production"

    @classmethod
    def labels(cls):
        return {cls.IDEA: _l("Idée"), cls.PROTOTYPE: _l("Prototype"), cls.PRODUCTION: _l("En production")}


class Carrier(LabelledEnum):
    PUBLIC = "public"
    PRIVATE = "private"
    ASSOCIATION = "association"

    @classmethod
    def labels(cls):
        return {cls.PUBLIC: _l("Structure publique"), cls.PRIVATE: _l("Entreprise"),
                cls.ASSOCIATION: _l("Association")}


class TerritoryTag(LabelledEnum):
    RURAL = "rural"
    MOUNTAIN = "montagne"
    URBAN_POLICY = "politique_de_la_ville"
    OVERSEAS = "outre_mer"

    @classmethod
    def labels(cls):
        return {cls.RURAL: _l("Rural"), cls.MOUNTAIN: _l("Montagne"),
                cls.URBAN_POLICY: _l("Politique de la ville"), cls.OVERSEAS: _l("Outre-mer")}


class ReportReason(LabelledEnum):
    SPAM = "spam"
    OFFENSIVE = "offensive"
    OFF_TOPIC = "off_topic"

    @classmethod
    def labels(cls):
        return {cls.SPAM: _l("Publicité ou spam"), cls.OFFENSIVE: _l("Propos injurieux ou offensants"),
                cls.OFF_TOPIC: _l("Hors sujet")}


proposal_themes = sa.Table(
    "proposal_themes", db.metadata,
    sa.Column("proposal_id", sa.ForeignKey("proposals.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("theme_id", sa.ForeignKey("themes.id"), primary_key=True, index=True),
)


class Proposal(db.Model):
    __tablename__ = "proposals"
    __table_args__ = (
        # Lets PostgreSQL list a consultation's visible proposals in any order from the index alone
        # (SQLite's indexes hold the row id anyway). Holding the counters makes their updates
        # non-HOT: measured +0.05 ms per update, against 36 ms less for every page sorted by them.
        sa.Index("ix_proposals_listing", "consultation_id", "state", "hidden_at",
                 postgresql_include=["id", "kind", "published_at", "support_count", "comment_count",
                                     "merged_into_id", "issue_id"]),
        # The laureates, and the proposals of each answer (the results, the committee's decisions), without
        # reading the heap of every proposal of the consultation.
        sa.Index("ix_proposals_answer", "consultation_id", "answer_state"),
        # A merged proposal's originals, found from it. Partial, like the next one, so that the planner never
        # takes it for a listing (which asks for merged_into_id IS NULL: nearly every row).
        sa.Index("ix_proposals_merged_into_id", "merged_into_id", sqlite_where=sa.text("merged_into_id IS NOT NULL"),
                 postgresql_where=sa.text("merged_into_id IS NOT NULL")),
        # A Decidim proposal comes into a consultation once: importing its file again updates it. Partial,
        # so that the planner never takes it for a consultation's listing (ix_proposals_listing covers that).
        sa.Index("uq_proposals_consultation_id_decidim_id", "consultation_id", "decidim_id", unique=True,
                 sqlite_where=sa.text("decidim_id IS NOT NULL"), postgresql_where=sa.text("decidim_id IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(sa.ForeignKey("consultations.id"))
    kind: Mapped[str] = mapped_column(sa.String(10))
    organization_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id"), index=True)
    author_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    title: Mapped[str] = mapped_column(sa.String(150))
    summary: Mapped[str] = mapped_column(sa.String(500))
    body: Mapped[str] = mapped_column(sa.Text)
    body_html: Mapped[str] = mapped_column(sa.Text)  # rendered and sanitized once per edit
    state: Mapped[str] = mapped_column(sa.String(10), default=ProposalState.DRAFT)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawal_reason: Mapped[str | None] = mapped_column(sa.Text)
    # Need
    problem: Mapped[str | None] = mapped_column(sa.Text)
    affected: Mapped[str | None] = mapped_column(sa.Text)
    workaround: Mapped[str | None] = mapped_column(sa.Text)
    # Service
    maturity: Mapped[str | None] = mapped_column(sa.String(12))
    licence: Mapped[str | None] = mapped_column(sa.String(80))
    repository_url: Mapped[str | None] = mapped_column(sa.String(300))
    carrier: Mapped[str | None] = mapped_column(sa.String(12))
    deployments: Mapped[int | None]
    requested_budget_cents: Mapped[int | None] = mapped_column(sa.BigInteger)
    # The committee's answer
    # Merging (app/committee/merging.py): an original points to the proposal it was merged into and leaves
    # the lists; the proposal made by merging keeps who merged and when.
    merged_into_id: Mapped[int | None] = mapped_column(sa.ForeignKey("proposals.id"))
    merged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    merged_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    issue_id: Mapped[int | None] = mapped_column(sa.ForeignKey("issues.id"), index=True)  # one major issue at most
    answer_state: Mapped[str] = mapped_column(sa.String(14), default=AnswerState.NOT_ANSWERED)
    answer_text: Mapped[str | None] = mapped_column(sa.Text)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    granted_amount_cents: Mapped[int | None] = mapped_column(sa.BigInteger)
    # The decision behind the answer (app/committee/decisions.py): why, by whom, when; a draft until published.
    decision_reason: Mapped[str | None] = mapped_column(sa.Text)
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Counters, written in the same transaction as what they count
    support_count: Mapped[int] = mapped_column(default=0)
    comment_count: Mapped[int] = mapped_column(default=0)
    # Moderation
    report_count: Mapped[int] = mapped_column(default=0)
    hidden_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Brought in from Decidim: its id and address there, and the votes it had there, which are a
    # record of the past, never supports of organizations (support_count counts only ours).
    decidim_id: Mapped[int | None] = mapped_column(sa.BigInteger)
    decidim_url: Mapped[str | None] = mapped_column(sa.String(500))
    imported_vote_count: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    consultation = relationship("Consultation")
    organization = relationship("Organization")
    author = relationship("User", foreign_keys=[author_id])
    themes = relationship("Theme", secondary=proposal_themes, order_by="Theme.position")
    territory_tags = relationship("ProposalTerritoryTag", cascade="all, delete-orphan",
                                  order_by="ProposalTerritoryTag.tag")
    cosponsors = relationship("ProposalCosponsor", back_populates="proposal", cascade="all, delete-orphan",
                              order_by="ProposalCosponsor.id")
    versions = relationship("ProposalVersion", back_populates="proposal", cascade="all, delete-orphan",
                            order_by="ProposalVersion.number")
    merged_into = relationship("Proposal", remote_side=[id])
    merged_by = relationship("User", foreign_keys=[merged_by_id])
    decided_by = relationship("User", foreign_keys=[decided_by_id])

    @property
    def kind_label(self) -> str:
        return ProposalKind(self.kind).label

    @property
    def answer_label(self) -> str:
        return AnswerState(self.answer_state).label

    @property
    def state_label(self) -> str:
        return ProposalState(self.state).label

    @property
    def is_need(self) -> bool:
        return self.kind == ProposalKind.NEED

    @property
    def is_published(self) -> bool:
        return self.state == ProposalState.PUBLISHED

    @property
    def is_hidden(self) -> bool:
        return self.hidden_at is not None

    @property
    def tags(self) -> list[str]:
        return [row.tag for row in self.territory_tags]

    def __repr__(self) -> str:
        return f"<Proposal {self.id} {self.kind} {self.title[:30]!r}>"


class ProposalTerritoryTag(db.Model):
    __tablename__ = "proposal_territory_tags"

    proposal_id: Mapped[int] = mapped_column(sa.ForeignKey("proposals.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(sa.String(30), primary_key=True, index=True)

    @property
    def label(self) -> str:
        return TerritoryTag(self.tag).label


class ProposalVersion(db.Model):
    """A snapshot of the proposal's content after each save: who changed what, when."""

    __tablename__ = "proposal_versions"
    __table_args__ = (sa.UniqueConstraint("proposal_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(sa.ForeignKey("proposals.id", ondelete="CASCADE"))
    number: Mapped[int]
    author_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    # The whole content, read only to compare with the next save: the page lists versions without it.
    snapshot: Mapped[dict] = mapped_column(sa.JSON, deferred=True)
    changed_fields: Mapped[list[str]] = mapped_column(sa.JSON, default=list)

    proposal = relationship("Proposal", back_populates="versions")
    author = relationship("User", lazy="joined")  # shown with every version


class ProposalVector(db.Model):
    """The text-similarity vector of a proposal's latest version, computed once per version by a job
    (app/proposals/vectors.py), with the proposal's nearest neighbours."""

    __tablename__ = "proposal_vectors"

    proposal_id: Mapped[int] = mapped_column(sa.ForeignKey("proposals.id", ondelete="CASCADE"), primary_key=True)
    version_number: Mapped[int]
    engine: Mapped[str] = mapped_column(sa.String(40))
    vector: Mapped[bytes] = mapped_column(sa.LargeBinary)
    # The score another proposal must reach to enter this one's neighbours: the last neighbour's, or
    # similarity.MIN_SCORE while there are fewer than vectors.NEIGHBOURS. Read with the vectors, it tells
    # a job whose lists a new version enters without reading every list.
    neighbour_floor: Mapped[float]


class ProposalNeighbour(db.Model):
    """One of the proposals of the consultation closest in meaning to a proposal's latest version,
    whatever their state: readers keep those they may show (published, not hidden)."""

    __tablename__ = "proposal_neighbours"

    proposal_id: Mapped[int] = mapped_column(sa.ForeignKey("proposals.id", ondelete="CASCADE"), primary_key=True)
    neighbour_id: Mapped[int] = mapped_column(sa.ForeignKey("proposals.id", ondelete="CASCADE"), primary_key=True,
                                              index=True)
    score: Mapped[float]


class ProposalCosponsor(db.Model):
    __tablename__ = "proposal_cosponsors"
    __table_args__ = (sa.UniqueConstraint("proposal_id", "organization_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(sa.ForeignKey("proposals.id", ondelete="CASCADE"))
    organization_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id"))
    added_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    proposal = relationship("Proposal", back_populates="cosponsors")
    organization = relationship("Organization", lazy="joined")  # shown with every co-sponsor


class NeedServiceLink(db.Model):
    """A service answering a need: declared by the service's organization, confirmed by the committee
    (app/committee/links.py), or linked by the committee itself, confirmed from the start."""

    __tablename__ = "need_service_links"
    __table_args__ = (sa.UniqueConstraint("need_id", "service_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    need_id: Mapped[int] = mapped_column(sa.ForeignKey("proposals.id", ondelete="CASCADE"), index=True)
    service_id: Mapped[int] = mapped_column(sa.ForeignKey("proposals.id", ondelete="CASCADE"), index=True)
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    confirmed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # False for a link the committee made from a suggestion: taking its confirmation back removes it,
    # where a declared link goes back to declared.
    is_declared: Mapped[bool] = mapped_column(default=True, server_default=sa.true())

    need = relationship("Proposal", foreign_keys=[need_id])
    service = relationship("Proposal", foreign_keys=[service_id])
    confirmed_by = relationship("User", foreign_keys=[confirmed_by_id])

    @property
    def is_confirmed(self) -> bool:
        return self.confirmed_at is not None


class Comment(db.Model):
    __tablename__ = "comments"
    __table_args__ = (sa.Index("ix_comments_proposal", "proposal_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(sa.ForeignKey("proposals.id", ondelete="CASCADE"))
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("comments.id", ondelete="CASCADE"))
    author_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    organization_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id"))
    body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    report_count: Mapped[int] = mapped_column(default=0)
    hidden_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    proposal = relationship("Proposal")
    author = relationship("User")
    organization = relationship("Organization")
    parent = relationship("Comment", remote_side=[id])

    @property
    def is_hidden(self) -> bool:
        return self.hidden_at is not None


class Report(db.Model):
    """A member's report of a proposal or a comment; one per reporter and subject."""

    __tablename__ = "reports"
    __table_args__ = (sa.UniqueConstraint("reporter_id", "subject_type", "subject_id"),
                      sa.Index("ix_reports_subject", "subject_type", "subject_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_type: Mapped[str] = mapped_column(sa.String(10))  # "proposal" | "comment"
    subject_id: Mapped[int]
    reporter_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(sa.String(12))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    reporter = relationship("User")

    @property
    def reason_label(self) -> str:
        return ReportReason(self.reason).label
