"""Who may do what with a proposal (pure predicates, also used by templates).

Each `can_*` has a `why_not_*` twin returning the reason in French, or None when allowed, so that
a refusal always says why.
"""

from datetime import datetime

from flask_babel import gettext as _

from app.consultations.models import Consultation
from app.consultations.phases import allows
from app.core import clock
from app.organizations.permissions import verified_membership
from app.proposals.models import Comment, Proposal, ProposalKind, ProposalState


def acting_organizations(user) -> list:
    """The verified organizations a user may act for."""
    if not user.is_authenticated:
        return []
    return [membership.organization for membership in user.memberships if membership.counts]


def is_member_of(user, organization_id: int) -> bool:
    return verified_membership(user, organization_id) is not None


def why_not_submit(user, organization, consultation: Consultation, now: datetime | None = None) -> str | None:
    now = now or clock.now()
    if not user.is_authenticated:
        return _("Connectez-vous pour déposer une proposition.")
    if organization is None or not is_member_of(user, organization.id):
        return _("Seuls les membres vérifiés d'une organisation vérifiée déposent des propositions en son nom.")
    if not allows(consultation, "draft", now):
        return _("Le dépôt des contributions est terminé.")
    return None


def why_not_edit(user, proposal: Proposal, now: datetime | None = None) -> str | None:
    now = now or clock.now()
    if not is_member_of(user, proposal.organization_id):
        return _("Seuls les membres de l'organisation qui l'a déposée modifient une proposition.")
    if proposal.state == ProposalState.WITHDRAWN:
        return _("Cette proposition a été retirée.")
    if not allows(proposal.consultation, "edit", now):
        return _("Les propositions ne sont plus modifiables après la phase de dépôt.")
    return None


def why_not_publish(user, proposal: Proposal, now: datetime | None = None) -> str | None:
    now = now or clock.now()
    if proposal.state != ProposalState.DRAFT:
        return _("Seul un brouillon peut être publié.")
    if not is_member_of(user, proposal.organization_id):
        return _("Seuls les membres de l'organisation qui l'a déposée publient une proposition.")
    if not allows(proposal.consultation, "publish", now):
        return _("La publication n'est possible que pendant la phase de dépôt des contributions.")
    return None


def why_not_withdraw(user, proposal: Proposal, now: datetime | None = None) -> str | None:
    now = now or clock.now()
    if not is_member_of(user, proposal.organization_id):
        return _("Seuls les membres de l'organisation qui l'a déposée retirent une proposition.")
    if proposal.state != ProposalState.PUBLISHED:
        return _("Seule une proposition publiée peut être retirée.")
    if not allows(proposal.consultation, "withdraw", now):
        return _("Les résultats sont publiés : la proposition ne peut plus être retirée.")
    return None


def why_not_cosponsor(user, organization, proposal: Proposal, now: datetime | None = None) -> str | None:
    now = now or clock.now()
    if organization is None or not is_member_of(user, organization.id):
        return _("Seuls les membres vérifiés d'une organisation la font coporter une proposition.")
    if organization.id == proposal.organization_id:
        return _("Votre organisation a déposé cette proposition.")
    if not proposal.is_published or proposal.is_hidden:
        return _("Seule une proposition publiée peut être coportée.")
    if any(cosponsor.organization_id == organization.id for cosponsor in proposal.cosponsors):
        return _("Votre organisation coporte déjà cette proposition.")
    if not allows(proposal.consultation, "cosponsor", now):
        return _("Le coportage n'est possible que pendant la phase de dépôt des contributions.")
    return None


def why_not_link(user, service: Proposal, need: Proposal) -> str | None:
    if not is_member_of(user, service.organization_id):
        return _("Seuls les membres de l'organisation qui porte le service le relient à des besoins.")
    return why_not_pair(need, service)


def why_not_pair(need: Proposal, service: Proposal) -> str | None:
    """A link joins a need to a service of the same consultation, both listed (published, visible, not merged
    into another), whoever links them: the service's organization, or the committee confirming."""
    if need.kind != ProposalKind.NEED or service.kind != ProposalKind.SERVICE:
        return _("Un lien relie un besoin à un service.")
    if need.consultation_id != service.consultation_id:
        return _("Le besoin et le service doivent appartenir à la même consultation.")
    if not all(proposal.is_published and not proposal.is_hidden and proposal.merged_into_id is None
               for proposal in (need, service)):
        return _("Seules des propositions publiées, visibles et non fusionnées se relient.")
    return None


def why_not_comment(user, proposal: Proposal, now: datetime | None = None) -> str | None:
    now = now or clock.now()
    if not user.is_authenticated:
        return _("Connectez-vous pour commenter.")
    if not acting_organizations(user):
        return _("Seuls les membres vérifiés d'une organisation vérifiée peuvent commenter.")
    if not proposal.is_published or proposal.is_hidden:
        return _("Cette proposition n'est pas ouverte aux commentaires.")
    if not allows(proposal.consultation, "comment", now):
        return _("Les commentaires sont fermés pendant cette phase.")
    return None


def why_not_report(user) -> str | None:
    if not acting_organizations(user):
        return _("Seuls les membres vérifiés d'une organisation vérifiée peuvent signaler un contenu.")
    return None


def can_see(user, proposal: Proposal) -> bool:
    """Drafts for their organization's members; hidden proposals for admins and those members."""
    if proposal.state == ProposalState.DRAFT or proposal.is_hidden:
        return user.is_authenticated and (user.is_admin or is_member_of(user, proposal.organization_id))
    return True


def can_edit_comment(user, comment: Comment) -> bool:
    return user.is_authenticated and comment.author_id == user.id and not comment.is_hidden


def can_moderate(user) -> bool:
    return user.is_authenticated and user.is_admin

