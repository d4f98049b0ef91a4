"""Organization rules: search, creation by admins, membership requests and their verification."""

import re
import unicodedata

import sqlalchemy as sa
from flask_babel import gettext as _, lazy_gettext as _l

from app.accounts.models import User
from app.core import audit, clock
from app.core.errors import RuleViolation
from app.core.mail import queue_mail
from app.core.web import public_url
from app.extensions import db
from app.organizations import permissions
from app.organizations.models import (
    Membership, MembershipRole, MembershipStatus, Organization, OrganizationKind, OrganizationPostalCode,
)

SEARCH_MAX_LENGTH = 100
NAME_MAX_LENGTH = 200  # the column's
# The directory spells Saint and Sainte out, people (and a few EPCI names) abbreviate them: names
# and queries both go through normalize_name, so either spelling finds the other.
ABBREVIATIONS = {"st": "saint", "ste": "sainte"}


def normalize_name(text: str) -> str:
    """Lower-case, accent-free, punctuation folded to spaces, St and Ste spelled out:
    'St-Étienne' -> 'saint etienne'."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    letters = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(ABBREVIATIONS.get(word, word) for word in re.sub(r"[^a-z0-9]+", " ", letters).split())


def is_valid_siren(siren: str) -> bool:
    """Nine digits whose Luhn checksum holds, as INSEE issues them."""
    if not re.fullmatch(r"\d{9}", siren):
        return False
    total = 0
    for position, digit in enumerate(int(char) for char in reversed(siren)):
        if position % 2:
            digit *= 2
            digit -= 9 if digit > 9 else 0
        total += digit
    return total % 10 == 0


def search_organizations(query: str = "", kind: str | None = None, departement: str | None = None):
    """A select of organizations matching a name, a postal or INSEE code or a SIREN; the largest first."""
    statement = sa.select(Organization)
    text = query.strip()
    if re.fullmatch(r"\d{9}", text):
        statement = statement.where(Organization.siren == text)
    elif re.fullmatch(r"\d{5}", text):  # both kinds of code are five digits: look for either
        statement = statement.where(sa.or_(Organization.insee_code == text, Organization.id.in_(
            sa.select(OrganizationPostalCode.organization_id).where(OrganizationPostalCode.postal_code == text))))
    elif re.fullmatch(r"2[abAB]\d{3}", text):  # Corsica's INSEE codes; its postal codes are digits
        statement = statement.where(Organization.insee_code == text.upper())
    elif text:
        words = normalize_name(text).split()
        statement = statement.where(*(Organization.search_name.contains(word, autoescape=True)
                                      for word in words))
    if kind:
        statement = statement.where(Organization.kind == kind)
    if departement:
        statement = statement.where(Organization.departement_code == departement)
    return statement.order_by(Organization.population.desc().nulls_last(), Organization.name,
                              Organization.id)


def create_organization(*, kind: str, name: str, siren: str, departement_code: str | None, by: User
                        ) -> Organization:
    """Add an organization that the official directory does not hold (syndicat, association…)."""
    if not by.is_admin:
        raise RuleViolation(_("Seule l'équipe d'administration peut ajouter une organisation."))
    if kind in OrganizationKind.directory_kinds():
        raise RuleViolation(_("Les collectivités viennent du répertoire officiel : "
                              "cherchez-la plutôt que de la créer."), field="kind")
    siren = re.sub(r"\s+", "", siren)
    if not is_valid_siren(siren):
        raise RuleViolation(_("Ce numéro SIREN n'est pas valide : il faut 9 chiffres "
                              "dont la clé de contrôle est juste."), field="siren")
    if db.session.scalar(sa.select(Organization.id).where(Organization.siren == siren)):
        raise RuleViolation(_("Une organisation porte déjà ce numéro SIREN."), field="siren")
    organization = Organization(kind=kind, name=name.strip(), search_name=normalize_name(name),
                                siren=siren, departement_code=departement_code or None,
                                is_verified=True)
    db.session.add(organization)
    db.session.flush()
    audit.record("organization.create", actor=by, subject=organization,
                 data={"kind": kind, "name": organization.name, "siren": siren})
    return organization


def organization_for_imports(name: str) -> Organization:
    """The organization that contributions brought in from elsewhere are filed under, their authors' own
    being unknown: the one of that name, else an association the platform adds (audited with no person
    as actor), without SIREN: it stands for where the contributions come from, not for a legal person."""
    name = " ".join(name.split())
    if not name or len(name) > NAME_MAX_LENGTH:
        raise RuleViolation(_("Le nom de l'organisation doit compter entre 1 et %(max)d caractères.",
                              max=NAME_MAX_LENGTH))
    found = db.session.scalars(sa.select(Organization).where(Organization.name == name).limit(2)).all()
    if len(found) > 1:
        raise RuleViolation(_("Plusieurs organisations s'appellent « %(name)s » : choisissez un nom qui n'en "
                              "désigne qu'une.", name=name))
    if found:
        return found[0]
    organization = Organization(kind=OrganizationKind.ASSOCIATION.value, name=name, search_name=normalize_name(name),
                                is_verified=True)
    db.session.add(organization)
    db.session.flush()
    audit.record("organization.create", actor=None, subject=organization,
                 data={"kind": organization.kind, "name": name, "siren": None})
    return organization


def request_membership(user: User, organization: Organization, role: str) -> Membership:
    """Ask to join `organization` as agent or elected official; a refused request may be renewed."""
    if role not in set(MembershipRole):
        raise RuleViolation(_("Choisissez un rôle : agent ou élu."), field="role")
    membership = db.session.scalar(sa.select(Membership).filter_by(user_id=user.id,
                                                                   organization_id=organization.id))
    if membership is not None and membership.status != MembershipStatus.REFUSED:
        raise RuleViolation(_("Vous avez déjà demandé à rejoindre cette organisation."))
    if membership is None:
        membership = Membership(user=user, organization=organization)
        db.session.add(membership)
    membership.role = role
    membership.status = MembershipStatus.PENDING
    membership.verified_by = None
    membership.verified_at = None
    db.session.flush()
    _announce_request(membership)
    return membership


def _announce_request(membership: Membership) -> None:
    """Mail a new request to those who can decide it: the organization's verified elected officials,
    or the admins when it has none, so that it never waits unseen."""
    deciders = db.session.scalars(_active_users_except(membership.user).where(
        User.id.in_(permissions.verifiers_of(membership.organization_id)))).all()
    if not deciders:
        deciders = db.session.scalars(_active_users_except(membership.user).where(User.is_admin)).all()
    for decider in deciders:
        queue_mail(decider, _l("Une demande d'adhésion attend votre décision"), "membership_requested",
                   decider=decider, membership=membership, decide_url=public_url("organizations.pending_requests"))


def _active_users_except(user: User):
    # Blocked users cannot sign in to decide.
    return sa.select(User).where(User.id != user.id, User.blocked_at.is_(None)).order_by(User.id)


def decide_membership(membership: Membership, *, accept: bool, by: User) -> Membership:
    """Verify or refuse a pending request; only an admin or a verified elected colleague may."""
    if not permissions.can_verify_membership(by, membership):
        raise RuleViolation(_("Vous ne pouvez pas traiter cette demande."))
    if membership.status != MembershipStatus.PENDING:
        raise RuleViolation(_("Cette demande a déjà été traitée."))
    membership.status = MembershipStatus.VERIFIED if accept else MembershipStatus.REFUSED
    membership.verified_by = by
    membership.verified_at = clock.now()
    audit.record("membership.verify" if accept else "membership.refuse", actor=by, subject=membership,
                 data={"user_id": membership.user_id, "organization_id": membership.organization_id,
                       "role": membership.role})
    queue_mail(membership.user, _l("Votre demande d'adhésion a été traitée"), "membership_decided",
               membership=membership)
    return membership


def pending_requests_for(user: User):
    """The pending requests `user` may decide: all of them for an admin, their organizations' otherwise."""
    statement = sa.select(Membership).where(Membership.status == MembershipStatus.PENDING)
    if not user.is_admin:
        statement = statement.where(
            Membership.organization_id.in_(permissions.organizations_verified_by(user)),
            Membership.user_id != user.id)
    return statement.order_by(Membership.created_at)


def count_pending_requests_for(user: User) -> int:
    """How many pending requests `user` may decide, by the same rule as pending_requests_for."""
    return db.session.scalar(pending_requests_for(user).order_by(None)
                             .with_only_columns(sa.func.count(), maintain_column_froms=True))
