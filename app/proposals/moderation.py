"""Comments, reports and moderation.

A proposal or comment reported by REPORTS_TO_HIDE different members is hidden until an admin
restores it; hidden content disappears from every public view and export.
"""

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from app.accounts.models import User
from app.accounts.sessions import end_every_session
from app.core import audit, clock
from app.core.errors import RuleViolation, refuse_if
from app.extensions import db
from app.organizations.models import Organization
from app.proposals import permissions
from app.proposals.models import Comment, Proposal, Report, ReportReason

REPORTS_TO_HIDE = 3
COMMENT_MAX = 5_000


def _check_body(body: str) -> str:
    body = body.strip()
    if not body:
        raise RuleViolation(_("Le commentaire est vide."), field="body")
    if len(body) > COMMENT_MAX:
        raise RuleViolation(_("Un commentaire compte au plus %(max)d caractères.", max=COMMENT_MAX), field="body")
    return body


def add_comment(proposal: Proposal, body: str, *, by: User, organization: Organization,
                parent: Comment | None = None, now: datetime | None = None) -> Comment:
    """Comment on a proposal on behalf of one's organization; replies go one level deep."""
    now = now or clock.now()
    refuse_if(permissions.why_not_comment(by, proposal, now))
    if organization not in permissions.acting_organizations(by):
        raise RuleViolation(_("Vous ne pouvez commenter qu'au nom d'une organisation dont vous êtes membre."))
    if parent is not None and (parent.proposal_id != proposal.id or parent.parent_id is not None
                               or parent.is_hidden):
        raise RuleViolation(_("On ne peut répondre qu'à un commentaire visible de cette proposition."))
    comment = Comment(proposal=proposal, parent=parent, author=by, organization=organization,
                      body=_check_body(body), created_at=now)
    db.session.add(comment)
    proposal.comment_count = Proposal.comment_count + 1
    db.session.flush()
    return comment


def edit_comment(comment: Comment, body: str, *, by: User, now: datetime | None = None) -> Comment:
    if not permissions.can_edit_comment(by, comment):
        raise RuleViolation(_("Seul son auteur modifie un commentaire."))
    comment.body = _check_body(body)
    comment.edited_at = now or clock.now()
    db.session.flush()
    return comment


def report(subject: Proposal | Comment, reason: str, *, by: User, now: datetime | None = None) -> Report:
    """Record a member's report; the third hides the content pending moderation."""
    now = now or clock.now()
    refuse_if(permissions.why_not_report(by))
    if reason not in set(ReportReason):
        raise RuleViolation(_("Choisissez un motif de signalement."), field="reason")
    subject_type = "proposal" if isinstance(subject, Proposal) else "comment"
    try:
        with db.session.begin_nested():
            entry = Report(subject_type=subject_type, subject_id=subject.id, reporter=by, reason=reason,
                           created_at=now)
            db.session.add(entry)
    except IntegrityError:  # unique (reporter, subject)
        raise RuleViolation(_("Vous avez déjà signalé ce contenu.")) from None
    db.session.execute(sa.update(type(subject)).where(type(subject).id == subject.id)
                       .values(report_count=type(subject).report_count + 1))
    db.session.refresh(subject)
    if subject.report_count >= REPORTS_TO_HIDE and not subject.is_hidden:
        _set_hidden(subject, now)
    return entry


def _set_hidden(subject: Proposal | Comment, moment: datetime | None) -> None:
    subject.hidden_at = moment
    db.session.flush()
    if isinstance(subject, Comment):
        subject.proposal.comment_count = visible_comment_count(subject.proposal_id)


def visible_comment_count(proposal_id: int) -> int:
    """What visitors see: visible comments whose parent, if any, is visible too (a hidden comment
    takes its replies with it)."""
    parent = sa.orm.aliased(Comment)
    return db.session.scalar(
        sa.select(sa.func.count(Comment.id)).outerjoin(parent, parent.id == Comment.parent_id)
        .where(Comment.proposal_id == proposal_id, Comment.hidden_at.is_(None),
               sa.or_(Comment.parent_id.is_(None), parent.hidden_at.is_(None))))


def hide(subject: Proposal | Comment, *, by: User, now: datetime | None = None) -> None:
    _require_moderator(by)
    if not subject.is_hidden:
        _set_hidden(subject, now or clock.now())
    audit.record("moderation.hide", actor=by, subject=subject)


def restore(subject: Proposal | Comment, *, by: User) -> None:
    """Show the content again; earlier reports no longer count towards hiding it."""
    _require_moderator(by)
    if subject.is_hidden:
        _set_hidden(subject, None)
    subject.report_count = 0
    audit.record("moderation.restore", actor=by, subject=subject)


def block_user(user: User, *, by: User, now: datetime | None = None) -> None:
    _require_moderator(by)
    if user.is_admin:
        raise RuleViolation(_("Un compte d'administration ne peut pas être suspendu ici."))
    user.blocked_at = user.blocked_at or now or clock.now()
    end_every_session(user)
    audit.record("moderation.block_user", actor=by, subject=user)


def _require_moderator(by: User) -> None:
    if not permissions.can_moderate(by):
        raise RuleViolation(_("Seule l'équipe d'administration modère les contenus."))


def moderation_queue() -> list[tuple[str, Proposal | Comment]]:
    """Hidden or reported content, most reported first."""
    items = [("proposal", p) for p in db.session.scalars(
        sa.select(Proposal).where(sa.or_(Proposal.hidden_at.is_not(None), Proposal.report_count > 0)))]
    items += [("comment", c) for c in db.session.scalars(
        sa.select(Comment).where(sa.or_(Comment.hidden_at.is_not(None), Comment.report_count > 0)))]
    return sorted(items, key=lambda item: (-item[1].report_count, item[1].id))


def reports_about(subject_type: str, subject_id: int) -> list[Report]:
    return list(db.session.scalars(sa.select(Report).filter_by(subject_type=subject_type, subject_id=subject_id)
                                   .order_by(Report.created_at)))


def find_subject(subject_type: str, subject_id: int) -> Proposal | Comment | None:
    model = {"proposal": Proposal, "comment": Comment}.get(subject_type)
    return db.session.get(model, subject_id) if model else None
