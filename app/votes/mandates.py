"""Aidants: an elected official mandates an agent of the same organization to cast supports for them.

The rules live here once: who grants, to whom, for when (`why_not_grant`), who revokes (`why_not_revoke`),
and when a mandate is in force (`why_not_in_force`): between its dates, not revoked, and while both people
keep their verified memberships and roles, so that a mandate never outlives the official's membership.
"""

from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext as _, lazy_gettext as _l
from sqlalchemy.orm import joinedload

from app.accounts.models import User
from app.core import audit, clock
from app.core.errors import refuse_if
from app.core.mail import queue_mail
from app.core.web import paris_datetime, public_url
from app.extensions import db
from app.organizations.models import Membership, MembershipRole, MembershipStatus, Organization
from app.organizations.permissions import verified_membership
from app.votes.models import Mandate


def _has_role(user, organization_id: int, role: str) -> bool:
    membership = verified_membership(user, organization_id)
    return membership is not None and membership.role == role


def why_not_in_force(mandate: Mandate, now: datetime | None = None) -> str | None:
    """In force from starts_at to ends_at (excluded), unless revoked, while the official is still a verified elected
    official and the aidant a verified agent of the (verified) organization."""
    now = now or clock.now()
    if mandate.revoked_at is not None:
        return _("Ce mandat a été révoqué le %(date)s.", date=paris_datetime(mandate.revoked_at))
    if now < mandate.starts_at:
        return _("Ce mandat commence le %(date)s.", date=paris_datetime(mandate.starts_at))
    if now >= mandate.ends_at:
        return _("Ce mandat a pris fin le %(date)s.", date=paris_datetime(mandate.ends_at))
    if not _has_role(mandate.official, mandate.organization_id, MembershipRole.ELECTED):
        return _("Ce mandat a pris fin : %(name)s n'est plus élu·e vérifié·e de l'organisation.",
                 name=mandate.official.name)
    if not _has_role(mandate.aidant, mandate.organization_id, MembershipRole.AGENT):
        return _("Ce mandat a pris fin : %(name)s n'est plus agent·e vérifié·e de l'organisation.",
                 name=mandate.aidant.name)
    return None


def is_in_force(mandate: Mandate, now: datetime | None = None) -> bool:
    return why_not_in_force(mandate, now) is None


def status_label(mandate: Mandate, now: datetime | None = None) -> str:
    """In words, for the lists: in force, to come, revoked, or ended."""
    now = now or clock.now()
    if mandate.revoked_at is not None:
        return _("Révoqué")
    if now < mandate.starts_at and why_not_in_force(mandate, mandate.starts_at) is None:
        return _("À venir")
    return _("En vigueur") if is_in_force(mandate, now) else _("Terminé")


def held_in_force(user, organization_id: int | None = None, now: datetime | None = None) -> list[Mandate]:
    """The mandates in force that `user` holds as aidant (for one organization if given), oldest first."""
    if not any(membership.counts and membership.role == MembershipRole.AGENT
               for membership in getattr(user, "memberships", [])):
        return []  # only a verified agent holds a mandate in force: no query for anyone else
    now = now or clock.now()
    query = (sa.select(Mandate).where(Mandate.aidant_id == user.id, Mandate.revoked_at.is_(None),
                                      Mandate.starts_at <= now, Mandate.ends_at > now)
             .options(joinedload(Mandate.organization), joinedload(Mandate.official))
             .order_by(Mandate.starts_at, Mandate.id))
    if organization_id is not None:
        query = query.where(Mandate.organization_id == organization_id)
    return [mandate for mandate in db.session.scalars(query) if is_in_force(mandate, now)]


def why_not_grant(official, aidant, organization: Organization | None, starts_at: datetime | None,
                  ends_at: datetime | None, now: datetime | None = None) -> str | None:
    """Only a verified elected official of a verified organization grants, to a verified agent of the same
    organization, for a period that ends after it starts and has not ended; not twice for overlapping periods to
    the same person. An aidant acting under a mandate cannot pass it on."""
    now = now or clock.now()
    if organization is None or not _has_role(official, organization.id, MembershipRole.ELECTED):
        if official.is_authenticated and held_in_force(official, organization.id if organization else None, now):
            return _("Un aidant ne peut pas confier de mandat : seul l'élu·e qui l'a mandaté le peut.")
        return _("Seuls les élus vérifiés d'une organisation vérifiée confient un mandat d'aidant.")
    if aidant is None or aidant.id == official.id or not _has_role(aidant, organization.id, MembershipRole.AGENT):
        return _("L'aidant doit être un agent vérifié de %(name)s.", name=organization.name)
    if starts_at is None or ends_at is None or ends_at <= starts_at:
        return _("La fin du mandat doit suivre son début.")
    if ends_at <= now:
        return _("Ce mandat serait déjà terminé : choisissez une date de fin à venir.")
    overlapping = db.session.scalar(sa.select(Mandate.id).where(
        Mandate.organization_id == organization.id, Mandate.official_id == official.id,
        Mandate.aidant_id == aidant.id, Mandate.revoked_at.is_(None),
        Mandate.starts_at < ends_at, Mandate.ends_at > starts_at).limit(1))
    if overlapping is not None:
        return _("%(name)s a déjà un mandat de votre part sur une partie de cette période.", name=aidant.name)
    return None


def why_not_revoke(user, mandate: Mandate, now: datetime | None = None) -> str | None:
    """The official who granted it (or an admin) revokes it at any moment until it ends."""
    now = now or clock.now()
    if not user.is_authenticated or (user.id != mandate.official_id and not user.is_admin):
        return _("Seul l'élu·e qui a confié ce mandat peut le révoquer.")
    if mandate.revoked_at is not None:
        return _("Ce mandat est déjà révoqué.")
    if now >= mandate.ends_at:
        return _("Ce mandat a déjà pris fin.")
    return None


def _audit_data(mandate: Mandate) -> dict:
    return {"organization_id": mandate.organization_id, "organization": mandate.organization.name,
            "official_id": mandate.official_id, "official": mandate.official.name,
            "aidant_id": mandate.aidant_id, "aidant": mandate.aidant.name}


def grant_mandate(official: User, aidant: User | None, organization: Organization | None, starts_at: datetime | None,
                  ends_at: datetime | None, *, now: datetime | None = None) -> Mandate:
    """Record the mandate `official` gives `aidant` to support for them, in `organization`, from starts_at to
    ends_at."""
    now = now or clock.now()
    refuse_if(why_not_grant(official, aidant, organization, starts_at, ends_at, now))
    mandate = Mandate(organization=organization, official=official, aidant=aidant, starts_at=starts_at,
                      ends_at=ends_at, created_at=now)
    db.session.add(mandate)
    db.session.flush()
    audit.record("mandate.grant", actor=official, subject=mandate,
                 data={**_audit_data(mandate), "starts_at": starts_at.isoformat(), "ends_at": ends_at.isoformat()})
    _tell_the_aidant(mandate, _l("Un mandat d'aidant vous est confié"), "mandate_granted")
    return mandate


def revoke_mandate(mandate: Mandate, *, by: User, now: datetime | None = None) -> None:
    """End the mandate now: the aidant's support buttons for the official go; supports already cast stay."""
    now = now or clock.now()
    refuse_if(why_not_revoke(by, mandate, now))
    mandate.revoked_at, mandate.revoked_by = now, by
    db.session.flush()
    audit.record("mandate.revoke", actor=by, subject=mandate, data=_audit_data(mandate))
    _tell_the_aidant(mandate, _l("Votre mandat d'aidant a pris fin"), "mandate_revoked")


def _tell_the_aidant(mandate: Mandate, subject, template: str) -> None:
    """The aidant learns, in their language, that they may (or may no longer) support in the official's name."""
    queue_mail(mandate.aidant, subject, template, mandate=mandate, url=public_url("votes.mandates_page"))


def granted_by(user) -> list[Mandate]:
    """The mandates `user` gave, most recent first."""
    return list(db.session.scalars(sa.select(Mandate).where(Mandate.official_id == user.id)
                                   .options(joinedload(Mandate.organization), joinedload(Mandate.aidant))
                                   .order_by(Mandate.starts_at.desc(), Mandate.id.desc())))


def held_by(user) -> list[Mandate]:
    """The mandates `user` holds or held as aidant, most recent first."""
    return list(db.session.scalars(sa.select(Mandate).where(Mandate.aidant_id == user.id)
                                   .options(joinedload(Mandate.organization), joinedload(Mandate.official))
                                   .order_by(Mandate.starts_at.desc(), Mandate.id.desc())))


def of_organization(organization: Organization) -> list[Mandate]:
    """Every mandate given in the organization, for its dashboard, most recent first."""
    return list(db.session.scalars(sa.select(Mandate).where(Mandate.organization_id == organization.id)
                                   .options(joinedload(Mandate.official), joinedload(Mandate.aidant),
                                            joinedload(Mandate.revoked_by))
                                   .order_by(Mandate.starts_at.desc(), Mandate.id.desc())))


def candidate_aidants(official) -> list:
    """The memberships `official` may choose an aidant among: verified agents of the verified organizations where
    they are a verified elected official."""
    organizations = [membership.organization for membership in getattr(official, "memberships", [])
                     if membership.counts and membership.role == MembershipRole.ELECTED]
    if not organizations:
        return []
    return list(db.session.scalars(
        sa.select(Membership).where(Membership.organization_id.in_([o.id for o in organizations]),
                                    Membership.role == MembershipRole.AGENT,
                                    Membership.status == MembershipStatus.VERIFIED,
                                    Membership.user_id != official.id)
        .options(joinedload(Membership.user), joinedload(Membership.organization))
        .order_by(Membership.organization_id, Membership.id)))
