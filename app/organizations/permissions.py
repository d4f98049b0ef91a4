"""Who may act for an organization (pure predicates, also used by templates)."""

import sqlalchemy as sa
from flask_babel import format_decimal, gettext as _

from app.extensions import db
from app.organizations.models import (ANSM_COMMUNE_MAX_POPULATION, ANSM_EPCI_MAX_POPULATION, DiagnosticRequest,
                                      DiagnosticStatus, Membership, MembershipRole, MembershipStatus, Organization,
                                      OrganizationKind)


def verified_membership(user, organization_id: int) -> Membership | None:
    """The user's membership in that organization if it counts (both verified)."""
    if not user.is_authenticated:
        return None
    return next((membership for membership in user.memberships
                 if membership.organization_id == organization_id and membership.counts), None)


def _verifying_memberships(column):
    """Select `column` of the memberships that let their holder verify others: a verified elected
    official of a verified organization."""
    return (sa.select(column)
            .join(Organization, Organization.id == Membership.organization_id)
            .where(Membership.role == MembershipRole.ELECTED, Membership.status == MembershipStatus.VERIFIED,
                   Organization.is_verified))


def organizations_with_verified_elected():
    """Subquery of the organizations that a verified elected official can act for (and joined to them, so that
    callers may filter on Organization)."""
    return _verifying_memberships(Membership.organization_id)


def organizations_verified_by(user):
    """Subquery of organizations where `user` is a verified elected official of a verified organization."""
    return _verifying_memberships(Membership.organization_id).where(Membership.user_id == user.id)


def verifiers_of(organization_id: int):
    """Subquery of the users who verify requests to join that organization, admins aside."""
    return _verifying_memberships(Membership.user_id).where(Membership.organization_id == organization_id)


def can_verify_membership(user, membership: Membership) -> bool:
    """Admins, and verified elected officials of the same organization for others' requests."""
    if not user.is_authenticated:
        return False
    if user.is_admin:
        return True
    own = verified_membership(user, membership.organization_id)
    return own is not None and own.role == MembershipRole.ELECTED and membership.user_id != user.id


def why_not_ansm_eligible(organization: Organization) -> str | None:
    """Why `organization` may not ask for the ANSM diagnostic, or None when it may: the rule itself is
    Organization.is_ansm_eligible (also a query condition); this only puts it in words."""
    if organization.is_ansm_eligible:
        return None
    rule = _("Ce diagnostic est réservé aux communes de moins de %(commune)s habitants et aux EPCI de moins de "
             "%(epci)s habitants", commune=format_decimal(ANSM_COMMUNE_MAX_POPULATION),
             epci=format_decimal(ANSM_EPCI_MAX_POPULATION))
    if organization.kind not in (OrganizationKind.COMMUNE, OrganizationKind.EPCI):
        return _("%(rule)s : une organisation de type « %(kind)s » n'y a pas accès.", rule=rule,
                 kind=organization.kind_label)
    if organization.population is None:
        return _("%(rule)s : la population de cette organisation n'est pas connue, son éligibilité ne peut pas "
                 "être établie. Écrivez à l'équipe d'Agora pour la faire compléter.", rule=rule)
    if organization.kind == OrganizationKind.COMMUNE:
        return _("%(rule)s : cette commune compte %(population)s habitants.", rule=rule,
                 population=format_decimal(organization.population))
    return _("%(rule)s : cette intercommunalité compte %(population)s habitants.", rule=rule,
             population=format_decimal(organization.population))


def open_diagnostic_request(organization: Organization) -> DiagnosticRequest | None:
    """The organization's request not closed yet, if any (there is at most one)."""
    return db.session.scalar(sa.select(DiagnosticRequest).where(
        DiagnosticRequest.organization_id == organization.id, DiagnosticRequest.status != DiagnosticStatus.CLOSED))


def why_not_request_diagnostic(user, organization: Organization) -> str | None:
    """Who may ask for the ANSM diagnostic: a verified member (agent or elected official) of a verified, eligible
    organization that has no request still open. The French reason, or None when they may."""
    if reason := why_not_ansm_eligible(organization):
        return reason
    if not user.is_authenticated:
        return _("Connectez-vous pour demander le diagnostic au nom de votre organisation.")
    if verified_membership(user, organization.id) is None:
        return _("Seuls les membres vérifiés de cette organisation, agents ou élus, peuvent demander le diagnostic "
                 "en son nom.")
    if (current := open_diagnostic_request(organization)) is not None:
        return _("Votre organisation a déjà une demande de diagnostic en cours (statut : %(status)s) : une nouvelle "
                 "demande sera possible une fois celle-ci close.", status=current.status_label.lower())
    return None


def can_see_diagnostic_requests(user, organization: Organization) -> bool:
    """An organization's requests are seen by its verified members and by the admins."""
    return user.is_authenticated and (user.is_admin or verified_membership(user, organization.id) is not None)
