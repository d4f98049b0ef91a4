"""Who sits on a consultation's committee, and what they may do with its major issues and in evaluation
(predicates without side effects, also used by templates; conflicts of interest are read in one query).

Each `why_not_*` returns the reason in French, or None when allowed.
"""

from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext as _

from app.committee.models import CommitteeSeat, ConflictDeclaration, Issue
from app.consultations.models import Consultation, PhaseKind
from app.consultations.phases import allows, has_ended
from app.extensions import db
from app.organizations.models import Membership, MembershipStatus
from app.proposals.models import AnswerState, Proposal, ProposalCosponsor, ProposalState


def committee_seat(consultation: Consultation, user) -> CommitteeSeat | None:
    if not user.is_authenticated:
        return None
    return next((seat for seat in consultation.committee_seats if seat.user_id == user.id), None)


def is_committee_member(user, consultation: Consultation) -> bool:
    return committee_seat(consultation, user) is not None


def is_committee_chair(user, consultation: Consultation) -> bool:
    seat = committee_seat(consultation, user)
    return seat is not None and seat.is_chair


def can_see_committee_space(user, consultation: Consultation) -> bool:
    return user.is_authenticated and (user.is_admin or is_committee_member(user, consultation))


def why_not_organize_issues(user, consultation: Consultation, now: datetime | None = None) -> str | None:
    """Committee members (the chair among them) and admins create, change, order and fill the major issues,
    while the stage allows it."""
    if not can_see_committee_space(user, consultation):
        return _("Seuls les membres du comité et l'équipe d'administration organisent les grands enjeux.")
    if not allows(consultation, "organize_issues", now):
        return _("Les grands enjeux s'organisent pendant la délibération du comité et la sélection des lauréats.")
    return None


def why_not_link(user, consultation: Consultation, now: datetime | None = None) -> str | None:
    """Committee members and admins confirm which services answer which needs, or take a link back, while
    the stage allows it (deliberation and selection)."""
    if not can_see_committee_space(user, consultation):
        return _("Seuls les membres du comité et l'équipe d'administration confirment les liens entre besoins "
                 "et services.")
    if not allows(consultation, "link_needs", now):
        return _("Les liens entre besoins et services se confirment pendant la délibération du comité et la "
                 "sélection des lauréats.")
    return None


def why_not_cluster(user, consultation: Consultation, now: datetime | None = None) -> str | None:
    """Committee members and admins ask for suggested issues and rework them while the committee deliberates
    (accepting one also needs why_not_organize_issues: it creates an issue)."""
    if not can_see_committee_space(user, consultation):
        return _("Seuls les membres du comité et l'équipe d'administration travaillent sur les enjeux proposés.")
    if not allows(consultation, "cluster", now):
        return _("Les enjeux se proposent et se revoient pendant la délibération du comité.")
    return None


def why_not_see_decision_support(user, consultation: Consultation, now: datetime | None = None) -> str | None:
    """Committee members and admins read the rankings and the budget rules' selections once the support
    window has ended (deliberation, selection and after): before, the supports they count still move."""
    if not can_see_committee_space(user, consultation):
        return _("Seuls les membres du comité et l'équipe d'administration consultent l'aide à la décision.")
    if not has_ended(consultation, PhaseKind.SUPPORT, now):
        return _("Les classements et les règles budgétaires s'affichent une fois la période de soutien close.")
    return None


def why_not_merge(user, consultation: Consultation, now: datetime | None = None) -> str | None:
    """Committee members (the chair among them) and admins merge proposals and undo merges while the stage
    allows it: during deliberation, once supports can no longer move (never in the support window)."""
    if not can_see_committee_space(user, consultation):
        return _("Seuls les membres du comité et l'équipe d'administration fusionnent des propositions.")
    if not allows(consultation, "merge", now):
        return _("Les propositions se fusionnent pendant la délibération du comité, une fois les soutiens clos.")
    return None


def answers_are_public(consultation: Consultation) -> bool:
    """The committee's answers, laureates and amounts are public once the chair has published them, not before."""
    return consultation.results_published_at is not None


class PublicAnswer:
    """The committee's answer to a proposal as pages, lists, the API and mails show it: none at all until the
    chair has published the answers (the committee's drafts stay its own). Columns are read only when asked,
    so that a card reading the state loads no text."""

    def __init__(self, proposal: Proposal):
        self.proposal = proposal
        self.is_published = answers_are_public(proposal.consultation)

    @property
    def state(self) -> str:
        return self.proposal.answer_state if self.is_published else AnswerState.NOT_ANSWERED

    @property
    def text(self) -> str | None:
        return self.proposal.answer_text if self.is_published else None

    @property
    def granted_amount_cents(self) -> int | None:
        return self.proposal.granted_amount_cents if self.is_published else None

    @property
    def label(self) -> str:
        return AnswerState(self.state).label

    @property
    def is_given(self) -> bool:
        return self.state != AnswerState.NOT_ANSWERED


def public_answer(proposal: Proposal) -> PublicAnswer:
    return PublicAnswer(proposal)


def why_not_decide(user, consultation: Consultation, now: datetime | None = None) -> str | None:
    """Committee members (the chair among them) and admins decide laureates and write answers while the
    selection allows it, until the answers are published."""
    if not can_see_committee_space(user, consultation):
        return _("Seuls les membres du comité et l'équipe d'administration décident des lauréats et des réponses.")
    if answers_are_public(consultation):
        return _("Les réponses sont publiées : les décisions et les réponses ne changent plus.")
    if not (allows(consultation, "select", now) and allows(consultation, "answer", now)):
        return _("Les lauréats se désignent et les réponses s'écrivent pendant la sélection des lauréats.")
    return None


def why_not_publish_results(user, consultation: Consultation, now: datetime | None = None) -> str | None:
    """The chair of the committee alone publishes the answers, once, during the selection."""
    if not is_committee_chair(user, consultation):
        return _("Seul le président ou la présidente du comité publie les réponses.")
    if answers_are_public(consultation):
        return _("Les réponses sont déjà publiées.")
    if not allows(consultation, "publish_results", now):
        return _("Les réponses se publient pendant la sélection des lauréats.")
    return None


def issues_are_public(consultation: Consultation, now: datetime | None = None) -> bool:
    """The major issues are public from the results stage on, and as soon as the chair publishes the answers
    (which may come before that stage starts)."""
    return answers_are_public(consultation) or allows(consultation, "see_results", now)


def can_see_issue(user, issue: Issue, now: datetime | None = None) -> bool:
    """An issue's page is the committee's own until the results are public (issues_are_public)."""
    consultation = issue.consultation
    return can_see_committee_space(user, consultation) or issues_are_public(consultation, now)


# Evaluation. A member's conflict of interest with a proposal: one of its organizations (carrier or
# co-sponsor) counts them as verified member, or they declared one from their seat.
ORGANIZATION_CONFLICT, DECLARED_CONFLICT = "organization", "declared"


def conflicts(proposal_ids: Iterable[int], user_ids: Iterable[int]) -> dict[tuple[int, int], str]:
    """The conflicted (user id, proposal id) pairs among these, with their kind: one query per kind, so that
    the grid, assignments and scores read the same rule."""
    proposal_ids, user_ids = list(set(proposal_ids)), list(set(user_ids))
    if not proposal_ids or not user_ids:
        return {}
    carriers = sa.union(
        sa.select(Proposal.id.label("proposal_id"), Proposal.organization_id.label("organization_id"))
        .where(Proposal.id.in_(proposal_ids)),
        sa.select(ProposalCosponsor.proposal_id, ProposalCosponsor.organization_id)
        .where(ProposalCosponsor.proposal_id.in_(proposal_ids))).subquery()
    found = {(user_id, proposal_id): DECLARED_CONFLICT for user_id, proposal_id in db.session.execute(
        sa.select(CommitteeSeat.user_id, ConflictDeclaration.proposal_id).join(ConflictDeclaration.seat)
        .where(ConflictDeclaration.proposal_id.in_(proposal_ids), CommitteeSeat.user_id.in_(user_ids)))}
    found.update({(user_id, proposal_id): ORGANIZATION_CONFLICT for user_id, proposal_id in db.session.execute(
        sa.select(Membership.user_id, carriers.c.proposal_id).distinct()
        .join(carriers, carriers.c.organization_id == Membership.organization_id)
        .where(Membership.user_id.in_(user_ids), Membership.status == MembershipStatus.VERIFIED))})
    return found


def conflict_of(user, proposal: Proposal) -> str | None:
    """The kind of `user`'s conflict of interest with `proposal`, or None."""
    return conflicts([proposal.id], [user.id]).get((user.id, proposal.id))


def is_evaluable(proposal: Proposal, consultation: Consultation) -> bool:
    """The committee evaluates the consultation's published proposals, visible, not merged into another."""
    return (proposal.consultation_id == consultation.id and proposal.state == ProposalState.PUBLISHED
            and proposal.hidden_at is None and proposal.merged_into_id is None)


def why_not_evaluation_work(user, consultation: Consultation, now: datetime | None = None) -> str | None:
    """Committee members and admins assign proposals to evaluators and write notes while the stage allows
    evaluation (deliberation and selection)."""
    if not can_see_committee_space(user, consultation):
        return _("Seuls les membres du comité et l'équipe d'administration travaillent à l'évaluation.")
    if not allows(consultation, "evaluate", now):
        return _("L'évaluation se fait pendant la délibération du comité et la sélection des lauréats.")
    return None


def why_not_score(user, proposal: Proposal, now: datetime | None = None) -> str | None:
    """Committee members score (admins look at the grid but score only if seated), while the stage allows
    evaluation, the consultation's evaluable proposals, except those they have a conflict of interest with."""
    consultation = proposal.consultation
    if not is_committee_member(user, consultation):
        return _("Seuls les membres du comité notent les propositions.")
    if reason := why_not_evaluation_work(user, consultation, now):
        return reason
    if not is_evaluable(proposal, consultation):
        return _("Seules les propositions publiées de la consultation, non fusionnées dans une autre, se notent.")
    return conflict_sentence(conflict_of(user, proposal))


def conflict_sentence(kind: str | None) -> str | None:
    """Why the signed-in member may not score a proposal they have a conflict of interest with."""
    if kind == ORGANIZATION_CONFLICT:
        return _("Vous ne notez pas cette proposition : une organisation dont vous êtes membre la porte.")
    if kind == DECLARED_CONFLICT:
        return _("Vous ne notez pas cette proposition : vous avez déclaré un conflit d'intérêts avec elle.")
    return None


def why_not_declare_conflict(user, proposal: Proposal) -> str | None:
    """A member declares a conflict from their seat, whatever the stage, on an evaluable proposal."""
    if not is_committee_member(user, proposal.consultation):
        return _("Seuls les membres du comité déclarent un conflit d'intérêts.")
    if not is_evaluable(proposal, proposal.consultation):
        return _("Seules les propositions publiées de la consultation, non fusionnées dans une autre, s'évaluent.")
    return None


def why_not_edit_criteria(user, consultation: Consultation, evaluation_started: bool,
                          now: datetime | None = None) -> str | None:
    """Committee members and admins set the criteria before evaluation starts, that is until the first score
    (scores given against other weights would no longer compare), and never once the results are out."""
    if not can_see_committee_space(user, consultation):
        return _("Seuls les membres du comité et l'équipe d'administration définissent les critères.")
    if evaluation_started:
        return _("L'évaluation a commencé : les critères et leurs poids ne changent plus, pour que toutes les "
                 "notes se comparent.")
    if allows(consultation, "see_results", now):
        return _("Les résultats sont publiés : les critères ne changent plus.")
    return None
