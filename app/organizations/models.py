"""Organizations, seeded from the official directory, and memberships of users in them."""

from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core import clock
from app.core.db import UTCDateTime
from app.core.enums import LabelledEnum
from app.extensions import db

# ANSM: free tailored support for small communes and groupings.
ANSM_COMMUNE_MAX_POPULATION = 3_500
ANSM_EPCI_MAX_POPULATION = 15_000


class OrganizationKind(LabelledEnum):
    COMMUNE = "commune"
    EPCI = "epci"
    DEPARTEMENT = "departement"
    REGION = "region"
    SYNDICAT = "syndicat"
    ASSOCIATION = "association"
    COMPANY = "entreprise"
    STATE = "etat"

    @classmethod
    def labels(cls):
        return {cls.COMMUNE: _l("Commune"), cls.EPCI: _l("Intercommunalité (EPCI)"),
                cls.DEPARTEMENT: _l("Département"), cls.REGION: _l("Région"), cls.SYNDICAT: _l("Syndicat mixte"),
                cls.ASSOCIATION: _l("Association"), cls.COMPANY: _l("Entreprise"),
                cls.STATE: _l("Service de l'État")}

    @classmethod
    def directory_kinds(cls) -> tuple["OrganizationKind", ...]:
        """Kinds loaded from the official directory; the others are added by admins."""
        return cls.COMMUNE, cls.EPCI, cls.DEPARTEMENT, cls.REGION


class Organization(db.Model):
    __tablename__ = "organizations"
    __table_args__ = (sa.UniqueConstraint("kind", "insee_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(20))
    name: Mapped[str] = mapped_column(sa.String(200))
    # Lower-case, accent-free name for searching the same way on SQLite and PostgreSQL.
    search_name: Mapped[str] = mapped_column(sa.String(200), index=True)
    siren: Mapped[str | None] = mapped_column(sa.String(9), unique=True)
    insee_code: Mapped[str | None] = mapped_column(sa.String(9))
    population: Mapped[int | None]
    departement_code: Mapped[str | None] = mapped_column(sa.String(3), index=True)
    region_code: Mapped[str | None] = mapped_column(sa.String(3))
    epci_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organizations.id"))
    is_verified: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    epci = relationship("Organization", remote_side=[id])

    @property
    def name_elides(self) -> bool:
        """Whether French elides « de » before the name: « d'Aurillac », « de Saint-Flour »."""
        return self.name[:1].lower() in "aâàeéèêiîïoôuûy"

    @property
    def kind_label(self) -> str:
        return OrganizationKind(self.kind).label

    @hybrid_property
    def is_ansm_eligible(self) -> bool:
        if self.population is None:
            return False
        return (self.kind == OrganizationKind.COMMUNE and self.population < ANSM_COMMUNE_MAX_POPULATION) or (
            self.kind == OrganizationKind.EPCI and self.population < ANSM_EPCI_MAX_POPULATION
        )

    @is_ansm_eligible.inplace.expression
    @classmethod
    def _is_ansm_eligible_expression(cls):
        return sa.or_(
            sa.and_(cls.kind == OrganizationKind.COMMUNE, cls.population < ANSM_COMMUNE_MAX_POPULATION),
            sa.and_(cls.kind == OrganizationKind.EPCI, cls.population < ANSM_EPCI_MAX_POPULATION),
        )

    def __repr__(self) -> str:
        return f"<Organization {self.id} {self.kind} {self.name}>"


class OrganizationPostalCode(db.Model):
    """A commune's postal code: a commune may have several, and several communes may share one."""

    __tablename__ = "organization_postal_codes"

    organization_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id"), primary_key=True)
    postal_code: Mapped[str] = mapped_column(sa.String(5), primary_key=True, index=True)


class MembershipRole(LabelledEnum):
    AGENT = "agent"
    ELECTED = "elected"

    @classmethod
    def labels(cls):
        return {cls.AGENT: _l("Agent"), cls.ELECTED: _l("Élu ou élue")}


class MembershipStatus(LabelledEnum):
    PENDING = "pending"
    VERIFIED = "verified"
    REFUSED = "refused"

    @classmethod
    def labels(cls):
        return {cls.PENDING: _l("En attente"), cls.VERIFIED: _l("Vérifiée"), cls.REFUSED: _l("Refusée")}


class Membership(db.Model):
    __tablename__ = "memberships"
    __table_args__ = (sa.UniqueConstraint("user_id", "organization_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    organization_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id"), index=True)
    role: Mapped[str] = mapped_column(sa.String(10))
    status: Mapped[str] = mapped_column(sa.String(10), default=MembershipStatus.PENDING)
    verified_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    user = relationship("User", back_populates="memberships", foreign_keys=[user_id])
    organization = relationship("Organization")
    verified_by = relationship("User", foreign_keys=[verified_by_id])

    @property
    def is_verified(self) -> bool:
        return self.status == MembershipStatus.VERIFIED

    @property
    def counts(self) -> bool:
        """A membership counts once both it and its organization are verified."""
        return self.is_verified and self.organization.is_verified

    @property
    def role_label(self) -> str:
        return MembershipRole(self.role).label

    @property
    def status_label(self) -> str:
        return MembershipStatus(self.status).label


class DiagnosticStatus(LabelledEnum):
    """Where an ANSM diagnostic request stands, as the admins triage it."""

    NEW = "new"
    CONTACTED = "contacted"
    DIAGNOSTIC_DONE = "diagnostic_done"
    CLOSED = "closed"

    @classmethod
    def labels(cls):
        return {cls.NEW: _l("Nouvelle"), cls.CONTACTED: _l("Collectivité contactée"),
                cls.DIAGNOSTIC_DONE: _l("Diagnostic réalisé"), cls.CLOSED: _l("Close")}


class DiagnosticRequest(db.Model):
    """An eligible organization asks for the free tailored diagnostic (ANSM): what it needs, whom to contact."""

    __tablename__ = "diagnostic_requests"
    __table_args__ = (
        # One open request per organization at a time, held by the database whoever presses at once.
        sa.Index("uq_diagnostic_requests_open_organization_id", "organization_id", unique=True,
                 sqlite_where=sa.text("status <> 'closed'"), postgresql_where=sa.text("status <> 'closed'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id"), index=True)
    requested_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    needs: Mapped[str] = mapped_column(sa.Text)
    contact_name: Mapped[str] = mapped_column(sa.String(120))
    contact_email: Mapped[str] = mapped_column(sa.String(254))
    contact_phone: Mapped[str] = mapped_column(sa.String(30))
    status: Mapped[str] = mapped_column(sa.String(20), default=DiagnosticStatus.NEW)
    admin_note: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    organization = relationship("Organization")
    requested_by = relationship("User")

    @property
    def status_label(self) -> str:
        return DiagnosticStatus(self.status).label

    @property
    def is_open(self) -> bool:
        return self.status != DiagnosticStatus.CLOSED
