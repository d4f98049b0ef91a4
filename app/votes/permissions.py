"""Who may support a proposal on behalf of which organization, and when (pure predicates).

Each `why_not_*` returns the reason in French, or None when allowed.
"""

from datetime import datetime

from flask_babel import gettext as _

from app.committee.permissions import is_committee_member
from app.consultations.models import Consultation, PhaseKind
from app.consultations.phases import allows, has_ended
from app.core import clock
from app.core.web import paris_datetime
from app.organizations.models import MembershipRole, Organization, OrganizationKind
from app.organizations.permissions import organizations_with_verified_elected, verified_membership
from app.proposals.models import Proposal, ProposalState
from app.votes.mandates import why_not_in_force
from app.votes.models import Mandate


def why_not_window(consultation: Consultation, now: datetime) -> str | None:
    """Supports are open while the consultation's stage allows them."""
    if allows(consultation, "support", now):
        return None
    window = consultation.phase(PhaseKind.SUPPORT)
    if window is None:
        return _("Cette consultation n'a pas de période de soutiens.")
    if has_ended(consultation, PhaseKind.SUPPORT, now):
        return _("Les soutiens sont clos depuis le %(date)s.", date=paris_datetime(window.ends_at))
    return _("Les soutiens ouvriront le %(date)s.", date=paris_datetime(window.starts_at))


def why_not_act_for(user, organization, consultation: Consultation, mandate: Mandate | None = None,
                    now: datetime | None = None) -> str | None:
    """Only a verified elected official of a verified organization of an eligible kind, or their aidant under a
    mandate in force for that organization."""
    if not user.is_authenticated:
        return _("Connectez-vous pour soutenir au nom de votre collectivité.")
    if mandate is not None:
        if organization is None or mandate.aidant_id != user.id or mandate.organization_id != organization.id:
            return _("Ce mandat ne vous permet pas de soutenir au nom de cette organisation.")
        reason = why_not_in_force(mandate, now)
        if reason:
            return reason
    else:
        membership = verified_membership(user, organization.id) if organization else None
        if membership is None:
            return _("Seuls les élus vérifiés d'une organisation vérifiée soutiennent des propositions.")
        if membership.role != MembershipRole.ELECTED:
            return _("Seuls les élus soutiennent au nom de leur collectivité ; les agents peuvent commenter.")
    if organization.kind not in consultation.eligible_kinds:
        return _("Les organisations de type « %(kind)s » ne sont pas admises à soutenir dans cette consultation.",
                 kind=OrganizationKind(organization.kind).label)
    return None


def eligible_organizations(consultation: Consultation):
    """Subquery of the organizations that may support in `consultation`, as `why_not_act_for` admits them: of an
    eligible kind, verified, with a verified elected official to act for them."""
    return organizations_with_verified_elected().where(Organization.kind.in_(consultation.eligible_kinds))


def why_not_supportable(proposal: Proposal) -> str | None:
    if proposal.state != ProposalState.PUBLISHED or proposal.is_hidden or proposal.merged_into_id:
        return _("Cette proposition ne peut pas être soutenue : elle est retirée, masquée ou fusionnée.")
    return None


def why_not_own(organization, proposal: Proposal) -> str | None:
    """An organization supports others' proposals, not those it submitted or co-sponsors, unless the
    consultation allows it (can_support_own_proposals)."""
    if proposal.consultation.can_support_own_proposals:
        return None
    if proposal.organization_id == organization.id or any(
            cosponsor.organization_id == organization.id for cosponsor in proposal.cosponsors):
        return _("Votre collectivité porte cette proposition : elle ne peut pas la soutenir elle-même.")
    return None


def why_not_support(user, organization, proposal: Proposal, now: datetime | None = None,
                    mandate: Mandate | None = None) -> str | None:
    """Everything but the quota and uniqueness, which the service takes atomically."""
    now = now or clock.now()
    consultation = proposal.consultation
    return (why_not_act_for(user, organization, consultation, mandate, now) or why_not_supportable(proposal)
            or why_not_own(organization, proposal) or why_not_window(consultation, now))


def why_not_withdraw(user, organization, proposal: Proposal, now: datetime | None = None,
                     mandate: Mandate | None = None) -> str | None:
    now = now or clock.now()
    consultation = proposal.consultation
    return why_not_act_for(user, organization, consultation, mandate, now) or why_not_window(consultation, now)


def counts_hidden(consultation: Consultation, viewer, now: datetime | None = None) -> bool:
    """With votes_hidden, counts stay invisible to all but the committee until the window ends."""
    if not consultation.votes_hidden or has_ended(consultation, PhaseKind.SUPPORT, now):
        return False
    return not is_committee_member(viewer, consultation)


def can_see_dashboard(user, organization) -> bool:
    return user.is_authenticated and (user.is_admin or verified_membership(user, organization.id) is not None)
