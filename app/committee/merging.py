"""Non-destructive merge of proposals, and its undoing.

A merge writes a new published proposal that stands for its originals in every list and count: the
originals keep their texts, supports and counts, leave the lists (`search.is_listed`) and point to it
(`merged_into_id`). Their supports are neither moved nor copied: the merged proposal counts the distinct
organizations supporting any of them (`supporting_organization_ids`), so quotas and the frozen tally do
not change. Merging happens in deliberation only, once supports can no longer move. Undoing a merge
deletes the proposal it made and lets the originals back into the lists, as they were.

Services take the actor, re-check every rule, raise RuleViolation with a message for people, and flush
without committing: the caller commits once. Every merge and unmerge is written in the audit log.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext as _, lazy_gettext as _l

from app.accounts.models import User
from app.committee.models import Issue
from app.committee.permissions import why_not_merge
from app.consultations.models import Consultation
from app.core import audit, clock
from app.core.db import MAX_ID
from app.core.errors import RuleViolation, refuse_if
from app.core.mail import queue_mail
from app.core.web import public_url
from app.extensions import db
from app.notifications import services as notifications
from app.notifications.models import DeliveryMode, NotificationKind
from app.organizations.models import Organization
from app.proposals import services as proposal_services
from app.proposals.models import (AnswerState, Proposal, ProposalNeighbour, ProposalState, ProposalVector,
                                  Report)
from app.proposals.vectors import queue_vectors
from app.votes.models import Support, SupportQuota

# The rows pointing to a merged proposal that its merge wrote, and that undoing it deletes with it. Any
# other row pointing to it was added since, and undoing the merge would destroy it: refused.
MADE_BY_MERGE = {("proposal_versions", "proposal_id"), ("proposal_vectors", "proposal_id"),
                 ("proposal_neighbours", "proposal_id"), ("proposal_neighbours", "neighbour_id"),
                 ("proposal_themes", "proposal_id"), ("proposal_territory_tags", "proposal_id"),
                 ("proposals", "merged_into_id")}
ACQUIRED_LABELS = {
    "comments": _l("commentaires"), "supports": _l("soutiens"), "support_events": _l("actes de soutien"),
    "proposal_cosponsors": _l("coporteurs"), "need_service_links": _l("liens entre besoins et services"),
    "reports": _l("signalements"), "evaluation_scores": _l("notes d'évaluation"),
    "evaluation_assignments": _l("attributions à des évaluateurs"),
    "conflict_declarations": _l("déclarations de conflit d'intérêts"), "committee_notes": _l("notes du comité"),
}


@dataclass
class MergePlan:
    """What merging these originals would give: checked, nothing written."""

    consultation: Consultation
    originals: list[Proposal]  # in the order chosen: the first gives the prefilled title
    supporters: dict[int, list[Organization]]  # each original's supporting organizations, by name
    union: list[Organization]  # the distinct organizations supporting any of them, by name
    issue: Issue | None  # the originals' common issue, which the merged proposal joins

    @property
    def kind(self) -> str:
        return self.originals[0].kind

    @property
    def carriers(self) -> list[Organization]:
        """The originals' organizations, each once: the merged proposal is carried by one of them."""
        return list({proposal.organization_id: proposal.organization for proposal in self.originals}.values())


@dataclass
class MergeDraft:
    """The merged proposal's text as prefilled for the member to edit."""

    title: str
    summary: str
    body: str
    organization_id: int


def supporters_of(proposal_ids) -> sa.Select:
    """Select of the organization ids supporting these proposals (ids or a select of ids), directly or
    through the originals merged into them; an organization comes once per support."""
    return (sa.select(Support.organization_id).join(Proposal, Proposal.id == Support.proposal_id)
            .where(sa.or_(Proposal.id.in_(proposal_ids), Proposal.merged_into_id.in_(proposal_ids))))


def supporting_organization_ids(proposal: Proposal, *, counted_only: bool = False) -> set[int]:
    """The organizations supporting `proposal`: its own supports and, for a merged proposal, those of its
    originals, each organization once. `counted_only`: only those whose supports count publicly (they cast
    minimum_votes_per_user supports at least), as `support_count` and the tally count them."""
    statement = supporters_of([proposal.id])
    if counted_only:
        statement = statement.where(Support.organization_id.in_(
            sa.select(SupportQuota.organization_id).where(
                SupportQuota.consultation_id == proposal.consultation_id,
                SupportQuota.used >= proposal.consultation.minimum_votes_per_user)))
    return set(db.session.scalars(statement))


def merge_origins(proposal: Proposal) -> list[Proposal]:
    """The originals merged into `proposal`, by id (none for a proposal not made by a merge)."""
    if proposal.merged_at is None:
        return []
    return list(db.session.scalars(sa.select(Proposal).where(Proposal.merged_into_id == proposal.id)
                                   .order_by(Proposal.id)))


def merges_of(consultation: Consultation) -> list[tuple[Proposal, int]]:
    """The consultation's merged proposals, latest first, with how many originals each stands for."""
    merged = list(db.session.scalars(sa.select(Proposal).where(Proposal.consultation_id == consultation.id,
                                                               Proposal.merged_at.is_not(None))
                                     .order_by(Proposal.merged_at.desc(), Proposal.id.desc())))
    counts = dict(db.session.execute(sa.select(Proposal.merged_into_id, sa.func.count())
                                     .where(Proposal.merged_into_id.in_([proposal.id for proposal in merged]))
                                     .group_by(Proposal.merged_into_id)).all())
    return [(proposal, counts.get(proposal.id, 0)) for proposal in merged]


def plan_merge(consultation: Consultation, proposal_ids: Iterable[int], *, by: User,
               now: datetime | None = None) -> MergePlan:
    """Check that these proposals can be merged now by `by`, and say what merging them would give."""
    refuse_if(why_not_merge(by, consultation, now))
    return _plan(consultation, _originals(consultation, proposal_ids))


def merge_plan_of(merged: Proposal) -> MergePlan:
    """A merge made, described as its plan was: its originals, their supporters and the union."""
    return _plan(merged.consultation, merge_origins(merged))


def prefill(plan: MergePlan) -> MergeDraft:
    """The first original's title and summary; a body made of each original's title and text; the first
    original's organization as carrier."""
    first = plan.originals[0]
    body = "\n\n".join(f"## {proposal.title}\n\n{proposal.body.strip()}" for proposal in plan.originals)
    return MergeDraft(title=first.title, summary=first.summary, body=body, organization_id=first.organization_id)


def merge_proposals(consultation: Consultation, proposal_ids: Iterable[int], *, by: User,
                    organization_id: int | None = None, title: str | None = None, summary: str | None = None,
                    body: str | None = None, now: datetime | None = None) -> Proposal:
    """Merge published proposals of one kind into a new one carried by one of their organizations.

    The merged proposal is published now, written by `by`, with the themes and territories of all the
    originals, the need's or service's facts of the carrier's original, and their common issue. The
    originals stay as they are but for `merged_into_id`; their organizations' members are told by mail.
    What is not given (carrier, title, summary, body) is prefilled as the merge page prefills it.
    """
    now = now or clock.now()
    refuse_if(why_not_merge(by, consultation, now))
    plan = _plan(consultation, _originals(consultation, proposal_ids, lock=True))
    draft = prefill(plan)
    organization_id = draft.organization_id if organization_id is None else organization_id
    title, summary, body = (draft.title if title is None else title, draft.summary if summary is None else summary,
                            draft.body if body is None else body)
    carrier = next((organization for organization in plan.carriers if organization.id == organization_id), None)
    if carrier is None:
        raise RuleViolation(_("Choisissez l'organisation qui portera la proposition fusionnée parmi celles des "
                              "propositions d'origine."), field="organization_id")
    data = _merged_input(plan, carrier, title=title, summary=summary, body=body)
    merged = proposal_services.import_proposal(
        consultation, carrier, data, proposal_services.Provenance(published_at=now, created_at=now),
        author=by, now=now)
    merged.merged_at, merged.merged_by, merged.issue_id = now, by, plan.issue.id if plan.issue else None
    for original in plan.originals:
        original.merged_into_id = merged.id
    db.session.flush()
    merged.support_count = len(supporting_organization_ids(merged, counted_only=True))
    audit.record("proposal.merge", actor=by, subject=merged, data={
        "origins": [original.id for original in plan.originals],
        "origin_titles": [original.title for original in plan.originals],
        "title": merged.title, "organization_id": carrier.id, "organization": carrier.name})
    _tell(plan.originals, merged, "proposals_merged",
          _l("Des propositions que votre organisation suit ont été fusionnées"), DeliveryMode.IMMEDIATE)
    db.session.flush()
    return merged


def why_not_unmerge(merged: Proposal) -> str | None:
    """A merge is undone as long as the proposal it made has received nothing that deleting it would lose."""
    if merged.merged_at is None:
        return _("Cette proposition n'est pas issue d'une fusion.")
    acquired = _acquired(merged)
    if acquired:
        return _("La fusion ne peut plus être défaite : la proposition fusionnée a reçu depuis %(what)s, que "
                 "défaire la fusion effacerait.", what=", ".join(acquired))
    return None


def unmerge(merged: Proposal, *, by: User, now: datetime | None = None) -> list[Proposal]:
    """Undo a merge: delete the proposal it made (versions, vectors, neighbours) and let the originals back
    into the lists, as they were. Returns the originals."""
    consultation = merged.consultation
    refuse_if(why_not_merge(by, consultation, now))
    # Read again once locked: a colleague may have undone it, or commented on it, meanwhile.
    db.session.execute(sa.select(Proposal).where(sa.or_(Proposal.id == merged.id,
                                                        Proposal.merged_into_id == merged.id))
                       .with_for_update().execution_options(populate_existing=True))
    refuse_if(why_not_unmerge(merged))
    origins = merge_origins(merged)
    audit.record("proposal.unmerge", actor=by, subject=merged, data={
        "origins": [origin.id for origin in origins], "origin_titles": [origin.title for origin in origins],
        "title": merged.title})
    # Told at once to "daily" people too: the digest has no trace of a merge once undone.
    _tell(origins, merged, "proposals_unmerged",
          _l("Une fusion de propositions que votre organisation suit a été défaite"),
          DeliveryMode.IMMEDIATE, DeliveryMode.DAILY)
    for origin in origins:
        origin.merged_into_id = None
    _forget_vectors(merged)
    db.session.delete(merged)
    db.session.flush()
    return origins


def _originals(consultation: Consultation, proposal_ids: Iterable[int], *, lock: bool = False) -> list[Proposal]:
    """The proposals chosen, in the order given, if they may be merged together: at least two, published
    proposals of `consultation`, not merged yet nor made by a merge, of one kind. `lock`: until commit,
    so that two members cannot merge the same proposal at once (PostgreSQL; SQLite has one writer)."""
    wanted = list(dict.fromkeys(proposal_ids))
    if len(wanted) < 2:
        raise RuleViolation(_("Choisissez au moins deux propositions à fusionner."), field="proposal_ids")
    statement = sa.select(Proposal).where(Proposal.id.in_([id_ for id_ in wanted if 0 < id_ <= MAX_ID]))
    if lock:  # read again once locked: a colleague may have merged one of them meanwhile
        statement = statement.with_for_update().execution_options(populate_existing=True)
    found = {proposal.id: proposal for proposal in db.session.scalars(statement)}
    originals = [found[id_] for id_ in wanted if id_ in found]
    if len(originals) != len(wanted) or any(
            proposal.consultation_id != consultation.id or proposal.state != ProposalState.PUBLISHED
            or proposal.is_hidden for proposal in originals):
        raise RuleViolation(_("Seules les propositions publiées de cette consultation se fusionnent."),
                            field="proposal_ids")
    for proposal in originals:
        if proposal.merged_into_id is not None:
            raise RuleViolation(_("« %(title)s » a déjà été fusionnée dans une autre proposition.",
                                  title=proposal.title), field="proposal_ids")
        if proposal.merged_at is not None:
            raise RuleViolation(_("« %(title)s » est issue d'une fusion : défaites-la d'abord, puis fusionnez "
                                  "ensemble toutes ses propositions d'origine.", title=proposal.title),
                                field="proposal_ids")
    if len({proposal.kind for proposal in originals}) > 1:
        raise RuleViolation(_("Un besoin et un service ne se fusionnent pas : choisissez des propositions du même "
                              "type."), field="proposal_ids")
    return originals


def _plan(consultation: Consultation, originals: list[Proposal]) -> MergePlan:
    pairs = db.session.execute(sa.select(Support.proposal_id, Organization)
                               .join(Organization, Organization.id == Support.organization_id)
                               .where(Support.proposal_id.in_([proposal.id for proposal in originals]))
                               .order_by(Organization.name, Organization.id)).all()
    supporters = defaultdict(list)
    for proposal_id, organization in pairs:
        supporters[proposal_id].append(organization)
    union = list({organization.id: organization for _id, organization in pairs}.values())
    issue_ids = {proposal.issue_id for proposal in originals}
    issue = db.session.get(Issue, issue_ids.pop()) if len(issue_ids) == 1 and None not in issue_ids else None
    return MergePlan(consultation, originals, dict(supporters), union, issue)


def _merged_input(plan: MergePlan, carrier: Organization, *, title: str, summary: str,
                  body: str) -> proposal_services.ProposalInput:
    """The merged proposal's content: the member's text, every original's themes and territories, and the
    need's or service's facts of the carrier's (first) original."""
    Input = proposal_services.ProposalInput
    title, summary, body = " ".join(title.split()), summary.strip(), body.strip()
    proposal_services.check_text(Input(kind=plan.kind, title=title, summary=summary, body=body))
    source = next(proposal for proposal in plan.originals if proposal.organization_id == carrier.id)
    facts = {name: getattr(source, name) for name in (*Input.NEED_FIELDS, *Input.SERVICE_FIELDS)}
    theme_ids = list(dict.fromkeys(theme.id for proposal in plan.originals for theme in proposal.themes))
    tags = sorted({tag for proposal in plan.originals for tag in proposal.tags})
    return Input(kind=plan.kind, title=title, summary=summary, body=body, theme_ids=theme_ids, territory_tags=tags,
                 **facts)


def _acquired(merged: Proposal) -> list[str]:
    """What points to the merged proposal that its merge did not write, as "label (count)": every table
    referring to proposals is asked, so that what other features add later is not forgotten."""
    found = []
    for table in db.metadata.sorted_tables:
        for column in table.columns:
            if (table.name, column.name) in MADE_BY_MERGE or not any(
                    key.column.table.name == "proposals" for key in column.foreign_keys):
                continue
            count = db.session.scalar(sa.select(sa.func.count()).select_from(table).where(column == merged.id))
            if count:
                found.append(f"{ACQUIRED_LABELS.get(table.name, table.name)} ({count})")
    reports = db.session.scalar(sa.select(sa.func.count()).select_from(Report).where(
        Report.subject_type == "proposal", Report.subject_id == merged.id))
    if reports:
        found.append(f"{ACQUIRED_LABELS['reports']} ({reports})")
    if merged.answer_state != AnswerState.NOT_ANSWERED or merged.answer_text:
        found.append(str(_l("une réponse du comité")))
    if merged.is_hidden:
        found.append(str(_l("un masquage par la modération")))
    if len(merged.versions) > 1:
        found.append(str(_l("des modifications")))
    return found


def _forget_vectors(merged: Proposal) -> None:
    """Delete the merged proposal's vector and neighbour rows, and have the worker write again the lists
    it had entered: each is then exactly what it was before the merge (a list that lost the merged
    proposal would otherwise miss its next neighbour)."""
    entered = list(db.session.scalars(sa.select(ProposalNeighbour.proposal_id).where(
        ProposalNeighbour.neighbour_id == merged.id, ProposalNeighbour.proposal_id != merged.id)))
    db.session.execute(sa.delete(ProposalNeighbour).where(sa.or_(ProposalNeighbour.proposal_id == merged.id,
                                                                 ProposalNeighbour.neighbour_id == merged.id)))
    # Without its vector, a proposal is embedded again and its list renewed by the next job.
    db.session.execute(sa.delete(ProposalVector).where(ProposalVector.proposal_id.in_([merged.id, *entered])))
    queue_vectors(list(db.session.scalars(sa.select(Proposal).where(Proposal.id.in_(entered)))))


FOLLOWED = NotificationKind.FOLLOWED_PROPOSAL_ACTIVITY


def told_of_merge(originals: list[Proposal]) -> dict[User, list[Proposal]]:
    """The members of the organizations submitting, co-sponsoring or supporting the originals, each with the
    originals their organizations follow: those a merge, or its undoing, is told to (at once, or in their daily
    digest)."""
    carriers, supporters = notifications.organizations_following([original.id for original in originals])
    return notifications.audience(carriers | supporters, originals)


def _tell(originals: list[Proposal], merged: Proposal, template: str, subject, *modes: DeliveryMode) -> None:
    """Mail those who chose one of `modes` for their followed proposals, in their language, once each, naming
    the originals of their organizations with their address (a merge reaches "daily" people in their digest)."""
    theirs = told_of_merge(originals)
    merged_url = public_url("proposals.detail", proposal_id=merged.id)
    for user in notifications.choosing(theirs, FOLLOWED, *modes):
        queue_mail(user, subject, template, user=user, merged=merged, merged_url=merged_url,
                   originals=[(original, public_url("proposals.detail", proposal_id=original.id))
                              for original in theirs[user]],
                   consultation=merged.consultation, **notifications.mail_footer(user, FOLLOWED))
