"""Committee rules: seating members and the chair (admins only); the major issues (grands enjeux) the
committee shapes and fills with proposals.

Services take the actor, re-check every rule, raise RuleViolation with a message for people, and flush
without committing: the caller commits once. Every change is written in the audit log.
"""

from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from app.accounts.models import User
from app.committee.models import CommitteeSeat, Issue
from app.committee.permissions import why_not_organize_issues
from app.consultations.models import Consultation
from app.core import audit
from app.core.db import MAX_ID
from app.core.errors import RuleViolation, refuse_if
from app.extensions import db
from app.proposals.models import Proposal, ProposalState

TITLE_LENGTH = (3, 150)
DESCRIPTION_MAX = 5000


def add_committee_member(consultation: Consultation, user: User, *, affiliation: str, is_chair: bool,
                         by: User) -> CommitteeSeat:
    """Seat `user` on the committee; naming a new chair takes the chair from the previous one."""
    if not by.is_admin:
        raise RuleViolation(_("Seule l'équipe d'administration peut composer le comité."))
    if not affiliation.strip():
        raise RuleViolation(_("Indiquez l'affiliation du membre (association, administration…)."),
                            field="affiliation")
    if any(seat.user_id == user.id for seat in consultation.committee_seats):
        raise RuleViolation(_("Cette personne siège déjà au comité."), field="email")
    if is_chair:
        _clear_chair(consultation)
    seat = CommitteeSeat(user=user, affiliation=affiliation.strip(), is_chair=is_chair)
    consultation.committee_seats.append(seat)
    db.session.flush()
    audit.record("committee.add", actor=by, subject=consultation,
                 data={"user_id": user.id, "affiliation": seat.affiliation, "is_chair": is_chair})
    return seat


def _clear_chair(consultation: Consultation) -> None:
    for seat in consultation.committee_seats:
        seat.is_chair = False
    db.session.flush()  # the unique chair index must see the old chair gone first


def remove_committee_member(seat: CommitteeSeat, *, by: User) -> None:
    if not by.is_admin:
        raise RuleViolation(_("Seule l'équipe d'administration peut composer le comité."))
    consultation = seat.consultation
    consultation.committee_seats.remove(seat)
    db.session.flush()
    audit.record("committee.remove", actor=by, subject=consultation, data={"user_id": seat.user_id})


def create_issue(consultation: Consultation, *, title: str, description: str = "", by: User,
                 now: datetime | None = None) -> Issue:
    """A new issue, last in the committee's order; no two issues of a consultation share a title."""
    refuse_if(why_not_organize_issues(by, consultation, now))
    last = db.session.scalar(sa.select(sa.func.max(Issue.position)).where(Issue.consultation_id == consultation.id))
    issue = Issue(consultation=consultation, created_by=by, position=0 if last is None else last + 1)
    _write(issue, title, description)
    audit.record("issue.create", actor=by, subject=issue,
                 data={"title": issue.title, "description": issue.description})
    return issue


def update_issue(issue: Issue, *, title: str, description: str, by: User, now: datetime | None = None) -> None:
    """Rename an issue or change its description; the log keeps what each field was before."""
    refuse_if(why_not_organize_issues(by, issue.consultation, now))
    _lock(issue)
    before = {"title": issue.title, "description": issue.description}
    _write(issue, title, description)
    changes = {name: [old, getattr(issue, name)] for name, old in before.items() if old != getattr(issue, name)}
    if changes:
        audit.record("issue.update", actor=by, subject=issue, data=changes)


def _write(issue: Issue, title: str, description: str) -> None:
    title, description = " ".join(title.split()), description.strip()
    if not TITLE_LENGTH[0] <= len(title) <= TITLE_LENGTH[1]:
        raise RuleViolation(_("Le titre d'un grand enjeu compte entre %(min)d et %(max)d caractères.",
                              min=TITLE_LENGTH[0], max=TITLE_LENGTH[1]), field="title")
    if len(description) > DESCRIPTION_MAX:
        raise RuleViolation(_("La description compte %(max)d caractères au plus.", max=DESCRIPTION_MAX),
                            field="description")
    try:
        with db.session.begin_nested():
            issue.title, issue.description = title, description
            db.session.add(issue)
    except IntegrityError:  # unique (consultation, title), also against a colleague's issue created meanwhile
        raise RuleViolation(_("Un autre grand enjeu porte déjà ce titre."), field="title") from None


def move_issue(issue: Issue, offset: int, *, by: User, now: datetime | None = None) -> int:
    """Move an issue `offset` places in the committee's order (-1: up, 1: down); returns its new rank (from 1)."""
    refuse_if(why_not_organize_issues(by, issue.consultation, now))
    ordered = _lock(issue)
    start = ordered.index(issue)
    if not 0 <= start + offset < len(ordered):
        raise RuleViolation(_("Ce grand enjeu est déjà le premier.") if offset < 0
                            else _("Ce grand enjeu est déjà le dernier."))
    ordered.insert(start + offset, ordered.pop(start))
    for position, each in enumerate(ordered):  # renumbered whole: positions stay distinct and without gaps
        each.position = position
    db.session.flush()
    audit.record("issue.move", actor=by, subject=issue, data={"from": start + 1, "to": start + offset + 1})
    return start + offset + 1


def delete_issue(issue: Issue, *, by: User, now: datetime | None = None) -> int:
    """Delete an issue; its proposals stay, without issue. Returns how many it held."""
    refuse_if(why_not_organize_issues(by, issue.consultation, now))
    _lock(issue)
    released = db.session.execute(sa.update(Proposal).where(Proposal.issue_id == issue.id)
                                  .values(issue_id=None)).rowcount
    db.session.delete(issue)
    db.session.flush()
    audit.record("issue.delete", actor=by, subject=issue, data={"title": issue.title, "released": released})
    return released


def assign_proposals(issue: Issue, proposal_ids: Iterable[int], *, by: User,
                     now: datetime | None = None) -> list[Proposal]:
    """Put published proposals of the issue's consultation in `issue`, taking them out of any other (a
    proposal belongs to one issue at most). Returns those that moved."""
    refuse_if(why_not_organize_issues(by, issue.consultation, now))
    _lock(issue)
    proposals = [proposal for proposal in _selected(issue.consultation, proposal_ids)
                 if proposal.issue_id != issue.id]
    titles = _titles(proposal.issue_id for proposal in proposals)
    for proposal in proposals:
        data = {"issue_id": issue.id, "issue": issue.title}
        if proposal.issue_id is not None:
            data["previous_issue"] = titles[proposal.issue_id]
        proposal.issue_id = issue.id
        audit.record("issue.assign", actor=by, subject=proposal, data=data)
    return proposals


def remove_proposals(consultation: Consultation, proposal_ids: Iterable[int], *, by: User,
                     now: datetime | None = None) -> list[Proposal]:
    """Take proposals out of their issue. Returns those that were in one."""
    refuse_if(why_not_organize_issues(by, consultation, now))
    _locked_issues(consultation)
    proposals = [proposal for proposal in _selected(consultation, proposal_ids) if proposal.issue_id is not None]
    titles = _titles(proposal.issue_id for proposal in proposals)
    for proposal in proposals:
        audit.record("issue.remove", actor=by, subject=proposal,
                     data={"issue_id": proposal.issue_id, "issue": titles[proposal.issue_id]})
        proposal.issue_id = None
    return proposals


def _locked_issues(consultation: Consultation) -> list[Issue]:
    """The consultation's issues in order, locked until commit (PostgreSQL; SQLite runs one writer at a
    time), so that moves, deletions and assignments by two members never cross."""
    return list(db.session.scalars(sa.select(Issue).where(Issue.consultation_id == consultation.id)
                                   .order_by(Issue.position, Issue.id).with_for_update()))


def _lock(issue: Issue) -> list[Issue]:
    """The issues of `issue`'s consultation, locked; refused if `issue` was deleted meanwhile."""
    ordered = _locked_issues(issue.consultation)
    if issue not in ordered:
        raise RuleViolation(_("Ce grand enjeu a été supprimé entre-temps."))
    return ordered


def _selected(consultation: Consultation, proposal_ids: Iterable[int]) -> list[Proposal]:
    """The proposals ticked, all of them published proposals of `consultation`."""
    wanted = set(proposal_ids)
    if not wanted:
        raise RuleViolation(_("Cochez au moins une proposition."), field="proposal_ids")
    in_range = {proposal_id for proposal_id in wanted if 0 < proposal_id <= MAX_ID}  # SQLite compares no larger
    proposals = db.session.scalars(sa.select(Proposal).where(Proposal.id.in_(in_range)).order_by(Proposal.id)).all()
    if len(proposals) != len(wanted) or any(proposal.consultation_id != consultation.id
                                           or proposal.state != ProposalState.PUBLISHED for proposal in proposals):
        raise RuleViolation(_("Seules les propositions publiées de cette consultation se rangent dans un grand "
                              "enjeu."), field="proposal_ids")
    return list(proposals)


def _titles(issue_ids: Iterable[int | None]) -> dict[int, str]:
    """The titles of these issues, for the log, in one query."""
    wanted = {issue_id for issue_id in issue_ids if issue_id is not None}
    if not wanted:
        return {}
    return dict(db.session.execute(sa.select(Issue.id, Issue.title).where(Issue.id.in_(wanted))).all())
