"""Who may act for an organization (pure predicates, also used by templates)."""

import sqlalchemy as sa

from app.organizations.models import Membership, MembershipRole, MembershipStatus, Organization


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
