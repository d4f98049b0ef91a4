"""Who may support a proposal on behalf of which organization, and when (pure predicates).

Each `why_not_*` returns the reason in French, or None when allowed.
"""

from datetime import datetime

from flask_babel import format_datetime, gettext as _

from app.consultations.models import Consultation, PhaseKind
from app.consultations.permissions import is_committee_member
from app.core import clock
from app.organizations.models import MembershipRole, OrganizationKind
from app.organizations.permissions import verified_membership
from app.proposals.models import Proposal, ProposalState


def support_window(consultation: Consultation):
    return consultation.phase(PhaseKind.SUPPORT)


def _paris(moment: datetime) -> str:
    # Translators: a Babel (CLDR) date pattern; words that are not pattern letters go between single quotes.
    return format_datetime(clock.to_paris(moment), _("d MMMM y 'à' HH'h'mm"))


def why_not_window(consultation: Consultation, now: datetime) -> str | None:
    """Supports are open inside [start, end), by the server clock."""
    window = support_window(consultation)
    if window is None:
        return _("Cette consultation n'a pas de période de soutiens.")
    if now < window.starts_at:
        return _("Les soutiens ouvriront le %(date)s.", date=_paris(window.starts_at))
    if now >= window.ends_at:
        return _("Les soutiens sont clos depuis le %(date)s.", date=_paris(window.ends_at))
    return None


def why_not_act_for(user, organization, consultation: Consultation) -> str | None:
    """Only a verified elected official of a verified organization of an eligible kind."""
    if not user.is_authenticated:
        return _("Connectez-vous pour soutenir au nom de votre collectivité.")
    membership = verified_membership(user, organization.id) if organization else None
    if membership is None:
        return _("Seuls les élus vérifiés d'une organisation vérifiée soutiennent des propositions.")
    if membership.role != MembershipRole.ELECTED:
        return _("Seuls les élus soutiennent au nom de leur collectivité ; les agents peuvent commenter.")
    if organization.kind not in consultation.eligible_kinds:
        return _("Les organisations de type « %(kind)s » ne sont pas admises à soutenir dans cette consultation.",
                 kind=OrganizationKind(organization.kind).label)
    return None


def why_not_supportable(proposal: Proposal) -> str | None:
    if proposal.state != ProposalState.PUBLISHED or proposal.is_hidden or proposal.merged_into_id:
        return _("Cette proposition ne peut pas être soutenue : elle est retirée, masquée ou fusionnée.")
    return None


def why_not_support(user, organization, proposal: Proposal, now: datetime | None = None) -> str | None:
    """Everything but the quota and uniqueness, which the service takes atomically."""
    now = now or clock.now()
    consultation = proposal.consultation
    return (why_not_act_for(user, organization, consultation) or why_not_supportable(proposal)
            or why_not_window(consultation, now))


def why_not_withdraw(user, organization, proposal: Proposal, now: datetime | None = None) -> str | None:
    now = now or clock.now()
    consultation = proposal.consultation
    return why_not_act_for(user, organization, consultation) or why_not_window(consultation, now)


def counts_hidden(consultation: Consultation, viewer, now: datetime | None = None) -> bool:
    """With votes_hidden, counts stay invisible to all but the committee until the window ends."""
    if not consultation.votes_hidden:
        return False
    window = support_window(consultation)
    if window is not None and (now or clock.now()) >= window.ends_at:
        return False
    return not is_committee_member(viewer, consultation)


def can_see_dashboard(user, organization) -> bool:
    return user.is_authenticated and (user.is_admin or verified_membership(user, organization.id) is not None)
