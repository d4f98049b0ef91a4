"""Each person's own data (RGPD): everything the platform holds about them, the deletion of their account,
and the retention command that deletes the accounts nobody uses.

A deleted account's row stays only while something published or audited points to it (a proposal, a comment,
a support, a journal entry…), under a name that says the person's role and organization, not who they were:
every page that showed the name shows that instead, without a page of its own changing. Its address, password,
sessions, memberships and mails are gone; the address may sign up again.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import click
import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale, gettext as _, ngettext
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from app.accounts.models import User, UserIdentity, UserSession
from app.accounts.services import UNUSABLE_PASSWORD_HASH, check_current_password, why_not_leave_admins
from app.accounts.sessions import end_every_session
from app.committee.models import (AnswerTemplate, ClusterSuggestion, CommitteeNote, CommitteeSeat,
                                  ConflictDeclaration, EvaluationAssignment, Issue, Score)
from app.core import audit, clock
from app.core.audit import AuditEntry
from app.core.errors import refuse_if
from app.core.mail import OutboxMessage
from app.core.web import paris_datetime
from app.extensions import db
from app.notifications.models import NotificationPreference, SentReminder
from app.organizations.models import DiagnosticRequest, Membership, MembershipRole, Organization
from app.proposals.models import (Comment, NeedServiceLink, Proposal, ProposalCosponsor, ProposalVersion,
                                  Report)
from app.votes.models import Mandate, Support, SupportEvent
from app.votes.permissions import why_not_withdraw
from app.votes.services import withdraw_support

# Why an account is deleted (the `cause` its audit entry records).
ON_REQUEST, INACTIVE, UNCONFIRMED = "request", "inactive", "unconfirmed"
# Deleted accounts' addresses: unique, in the reserved .invalid domain (RFC 2606), which no sign-up accepts.
DELETED_EMAIL = "compte-supprime-{id}@agora.invalid"
NAME_MAX_LENGTH = 120


# --- What the platform holds about a person ------------------------------------------------------------

@dataclass(frozen=True)
class Section:
    """One kind of row about the person in the download: the rows of `model` whose `owner` column (a
    users.id foreign key) is theirs, or those `about` selects; `fields` are attribute paths ("a.b")."""

    name: str
    model: type
    owner: str
    fields: tuple[str, ...]
    about: Callable[[User], sa.ColumnElement] | None = None

    def where(self, user: User) -> sa.ColumnElement:
        return self.about(user) if self.about else getattr(self.model, self.owner) == user.id


ACCOUNT_FIELDS = ("id", "name", "email", "locale", "created_at", "email_confirmed_at", "last_seen_at", "is_admin",
                  "blocked_at")
# Other people's names and addresses never appear: the rows below name them by nothing more than an id, if at all.
SECTIONS = (
    Section("memberships", Membership, "user_id",
            ("organization_id", "organization.name", "role", "status", "created_at", "verified_at")),
    Section("memberships_decided", Membership, "verified_by_id",
            ("organization_id", "organization.name", "role", "status", "verified_at")),
    Section("proposals", Proposal, "author_id",
            ("id", "consultation.slug", "organization.name", "kind", "state", "title", "summary", "body", "problem",
             "affected", "workaround", "maturity", "licence", "repository_url", "carrier", "deployments",
             "requested_budget_cents", "created_at", "published_at", "withdrawn_at", "withdrawal_reason")),
    Section("proposal_versions", ProposalVersion, "author_id",
            ("proposal_id", "number", "created_at", "changed_fields")),
    Section("cosponsorships", ProposalCosponsor, "added_by_id",
            ("proposal_id", "proposal.title", "organization.name", "created_at")),
    Section("comments", Comment, "author_id",
            ("id", "proposal_id", "proposal.title", "organization.name", "body", "created_at", "edited_at",
             "hidden_at")),
    Section("reports", Report, "reporter_id", ("subject_type", "subject_id", "reason", "created_at")),
    Section("supports", Support, "cast_by_id",
            ("proposal_id", "proposal.title", "organization.name", "cast_at", "receipt_code")),
    Section("support_journal", SupportEvent, "actor_id",
            ("action", "proposal_id", "proposal.title", "organization.name", "at", "source")),
    Section("aidant_mandates_given", Mandate, "official_id",
            ("organization.name", "aidant_id", "starts_at", "ends_at", "revoked_at", "created_at")),
    Section("aidant_mandates_held", Mandate, "aidant_id",
            ("organization.name", "official_id", "starts_at", "ends_at", "revoked_at", "created_at")),
    Section("aidant_mandates_revoked", Mandate, "revoked_by_id", ("organization.name", "revoked_at")),
    Section("committee_seats", CommitteeSeat, "user_id", ("consultation.slug", "affiliation", "is_chair")),
    Section("committee_notes", CommitteeNote, "author_id", ("proposal_id", "parent_id", "body", "created_at")),
    Section("evaluation_scores", Score, "member_id",
            ("proposal_id", "criterion.name", "value", "comment", "updated_at")),
    Section("evaluations_assigned_to_you", EvaluationAssignment, "evaluator_id", ("proposal_id", "assigned_at")),
    Section("evaluations_you_assigned", EvaluationAssignment, "assigned_by_id", ("proposal_id", "assigned_at")),
    Section("conflicts_of_interest", ConflictDeclaration, "seat_id", ("proposal_id", "reason", "declared_at"),
            lambda user: ConflictDeclaration.seat_id.in_(
                sa.select(CommitteeSeat.id).where(CommitteeSeat.user_id == user.id))),
    Section("issues_created", Issue, "created_by_id", ("id", "consultation.slug", "title", "created_at")),
    Section("issue_suggestions_requested", ClusterSuggestion, "requested_by_id", ("consultation.slug", "requested_at")),
    Section("answer_templates_edited", AnswerTemplate, "updated_by_id", ("consultation.slug", "state", "updated_at")),
    Section("need_service_links_declared", NeedServiceLink, "created_by_id", ("need_id", "service_id", "created_at")),
    Section("need_service_links_confirmed", NeedServiceLink, "confirmed_by_id",
            ("need_id", "service_id", "confirmed_at")),
    Section("proposals_merged", Proposal, "merged_by_id", ("id", "title", "merged_at")),
    Section("committee_decisions", Proposal, "decided_by_id",
            ("id", "title", "answer_state", "decision_reason", "decided_at")),
    Section("diagnostic_requests", DiagnosticRequest, "requested_by_id",
            ("organization.name", "needs", "contact_name", "contact_email", "contact_phone", "status", "created_at",
             "updated_at")),
    Section("sessions", UserSession, "user_id", ("created_at", "expires_at")),
    Section("mail_preferences", NotificationPreference, "user_id", ("kind", "mode", "changed_at")),
    Section("reminders_sent", SentReminder, "user_id", ("kind", "subject_id", "created_at", "sent_at")),
    Section("proconnect_identities", UserIdentity, "user_id", ("provider", "subject", "created_at")),
    # Entries they made, and those about them: their account, or another's act naming them in its data.
    Section("audit_entries", AuditEntry, "actor_id", ("at", "action", "subject", "data"),
            lambda user: sa.or_(AuditEntry.actor_id == user.id, AuditEntry.subject == f"users:{user.id}",
                                AuditEntry.data["user_id"].as_integer() == user.id)),
    Section("mails", OutboxMessage, "recipient", ("subject", "body", "created_at", "sent_at"),
            lambda user: OutboxMessage.recipient == user.email),
)


def _value(row, path: str):
    value = row
    for name in path.split("."):
        value = getattr(value, name) if value is not None else None
    return value.isoformat() if isinstance(value, datetime) else value


def _record(row, fields: tuple[str, ...]) -> dict:
    return {path.replace(".", "_"): _value(row, path) for path in fields}


def personal_data_of(user: User, now: datetime | None = None) -> dict:
    """Everything the platform holds about `user`, section by section, as JSON-ready values."""
    data = {"generated_at": (now or clock.now()).isoformat(), "account": _record(user, ACCOUNT_FIELDS)}
    for section in SECTIONS:
        order = sa.inspect(section.model).primary_key
        rows = db.session.scalars(sa.select(section.model).where(section.where(user)).order_by(*order))
        data[section.name] = [_record(row, section.fields) for row in rows]
    return data


# --- Deleting an account ------------------------------------------------------------------------------

def replacement_name(user: User) -> str:
    """What pages show in place of a deleted person's name: their role and organization (elected officials
    first, verified memberships first), else their committee seat, in the site's default language."""
    memberships = sorted(user.memberships, key=lambda m: (not m.counts, m.role != MembershipRole.ELECTED, m.id))
    seat = db.session.scalar(sa.select(CommitteeSeat).where(CommitteeSeat.user_id == user.id)
                             .order_by(CommitteeSeat.id.desc()).limit(1))
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        if memberships:
            name = _role_of(memberships[0].role, memberships[0].organization)
        elif seat is not None:
            name = _("Membre du comité (%(affiliation)s)", affiliation=seat.affiliation)
        else:
            name = _("Compte supprimé")
    return name[:NAME_MAX_LENGTH]


def _role_of(role: str, organization: Organization) -> str:
    name = organization.name
    if role == MembershipRole.ELECTED:
        return (_("Élu·e d'%(organization)s", organization=name) if organization.name_elides
                else _("Élu·e de %(organization)s", organization=name))
    return (_("Agent·e d'%(organization)s", organization=name) if organization.name_elides
            else _("Agent·e de %(organization)s", organization=name))


@dataclass(frozen=True)
class SupportsAtDeletion:
    """The supports a person cast, as their account's deletion leaves them."""

    withdrawn: list[Support]  # their support window is open: withdrawn, the organization may cast them again
    kept: list[Support]  # window closed, or they no longer act for the organization: they stay in the tally


def supports_at_deletion(user: User, now: datetime | None = None) -> SupportsAtDeletion:
    """Withdrawn are those the person could withdraw themselves now (the support rules' own predicate)."""
    now = now or clock.now()
    supports = db.session.scalars(sa.select(Support).where(Support.cast_by_id == user.id).order_by(Support.id)
                                  .options(joinedload(Support.proposal), joinedload(Support.organization))).all()
    withdrawn = [support for support in supports
                 if why_not_withdraw(user, support.organization, support.proposal, now) is None]
    return SupportsAtDeletion(withdrawn, [support for support in supports if support not in withdrawn])


def delete_own_account(user: User, password: str, *, now: datetime | None = None,
                       source: str | None = None) -> SupportsAtDeletion:
    """The person deletes their account, typing their password again: a session left open is not enough."""
    check_current_password(user, password)
    refuse_if(why_not_leave_admins(user))
    return delete_account(user, cause=ON_REQUEST, now=now, source=source)


def delete_account(user: User, *, cause: str, now: datetime | None = None,
                   source: str | None = None) -> SupportsAtDeletion:
    """Delete `user`'s account (the person's request or the retention rules): supports of an open window are
    withdrawn through the support rules; the name becomes their role; address, password, sessions,
    memberships and mails go; the row itself goes too when nothing points to it. The audit log, whose entries
    are never rewritten, records the deletion without personal data."""
    now = now or clock.now()
    supports = supports_at_deletion(user, now)
    for support in supports.withdrawn:
        withdraw_support(support.proposal, support.organization, by=user, now=now, source=source)
    user_id, former_name = user.id, user.name
    user.name = replacement_name(user)
    _erase_own_contact(user, former_name)
    db.session.execute(sa.delete(Membership).where(Membership.user_id == user_id))
    db.session.expire(user, ["memberships"])
    end_every_session(user)
    db.session.execute(sa.delete(UserIdentity).where(UserIdentity.user_id == user_id))  # ProConnect opens it no more
    db.session.execute(sa.delete(NotificationPreference).where(NotificationPreference.user_id == user_id))
    db.session.execute(sa.delete(SentReminder).where(SentReminder.user_id == user_id))
    db.session.execute(sa.delete(OutboxMessage).where(OutboxMessage.recipient == user.email))
    user.email = DELETED_EMAIL.format(id=user_id)
    user.password_hash = UNUSABLE_PASSWORD_HASH  # no password opens it (authenticate says so)
    user.email_confirmed_at = user.last_seen_at = None
    user.is_admin = False
    user.deleted_at = now
    db.session.flush()
    forgotten = _forget(user)
    # The person acts when they ask, unless their row is gone: nothing may point to it, not even this entry.
    actor = user if cause == ON_REQUEST and not forgotten else None
    audit.record("account.delete", actor=actor, subject=f"users:{user_id}",
                 data={"cause": cause, "supports_withdrawn": len(supports.withdrawn),
                       "supports_kept": len(supports.kept)})
    return supports


def _erase_own_contact(user: User, former_name: str) -> None:
    """The person's name, address and phone go from the diagnostic requests they made naming themselves as the
    contact (the form's default); a colleague they named instead stays, for the admins to reach."""
    db.session.execute(sa.update(DiagnosticRequest).where(
        DiagnosticRequest.requested_by_id == user.id,
        sa.or_(sa.func.lower(DiagnosticRequest.contact_email) == user.email.lower(),
               DiagnosticRequest.contact_name == former_name))
        .values(contact_name=user.name, contact_email="", contact_phone=""))


def _forget(user: User) -> bool:
    """Delete the row if no foreign key points to it (an unconfirmed sign-up, an account that did nothing);
    the database's constraints decide, so that no table can be forgotten here."""
    try:
        with db.session.begin_nested():
            db.session.execute(sa.delete(User.__table__).where(User.__table__.c.id == user.id))
    except IntegrityError:
        return False
    db.session.expunge(user)
    return True


# --- Retention ----------------------------------------------------------------------------------------

def retention_days() -> dict[str, int]:
    config = current_app.config
    return {INACTIVE: config["INACTIVE_ACCOUNT_RETENTION_DAYS"],
            UNCONFIRMED: config["UNCONFIRMED_ACCOUNT_RETENTION_DAYS"]}


def duration_label(days: int) -> str:
    if days and days % 365 == 0:
        return ngettext("%(num)d an", "%(num)d ans", days // 365)
    return ngettext("%(num)d jour", "%(num)d jours", days)


def retention_periods() -> dict[str, str]:
    """The retention settings in words, for the personal-data page."""
    hours = current_app.config["SESSION_MAX_AGE"] // 3600
    return {**{cause: duration_label(days) for cause, days in retention_days().items()},
            "session": ngettext("%(num)d heure", "%(num)d heures", hours)}


def accounts_due(now: datetime | None = None) -> list[tuple[User, str]]:
    """The accounts the retention rules delete at `now`, with the cause: sign-ups left unconfirmed longer than
    UNCONFIRMED_ACCOUNT_RETENTION_DAYS, accounts without a sign-in for INACTIVE_ACCOUNT_RETENTION_DAYS (counted
    from the sign-up when there was none). The platform's own accounts (no password) are not people's; an
    admin's account stays until the role is taken back (`flask --app wsgi accounts admin EMAIL --retirer`)."""
    now = now or clock.now()
    days = retention_days()
    unconfirmed = User.email_confirmed_at.is_(None) & (User.created_at < now - timedelta(days=days[UNCONFIRMED]))
    inactive = sa.func.coalesce(User.last_seen_at, User.created_at) < now - timedelta(days=days[INACTIVE])
    cause = sa.case((unconfirmed, UNCONFIRMED), else_=INACTIVE)
    return list(db.session.execute(
        sa.select(User, cause).where(User.deleted_at.is_(None), User.password_hash != UNUSABLE_PASSWORD_HASH,
                                      ~User.is_admin, sa.or_(unconfirmed, inactive))
        .order_by(User.id)).all())


def _describe(user: User, cause: str) -> str:
    if cause == UNCONFIRMED:
        return _("Compte n° %(id)d : inscription non confirmée depuis le %(date)s", id=user.id,
                 date=paris_datetime(user.created_at))
    return _("Compte n° %(id)d : aucune connexion depuis le %(date)s", id=user.id,
             date=paris_datetime(user.last_seen_at or user.created_at))


@click.command("purge")
@click.option("--dry-run", is_flag=True, help="Dit ce qui serait supprimé, sans rien supprimer.")
def purge_command(dry_run: bool) -> None:
    """Supprime les comptes inactifs et les inscriptions non confirmées (durées réglées dans la configuration)."""
    now = clock.now()
    due = accounts_due(now)
    if not due:
        click.echo(_("Aucun compte à supprimer."))
        return
    for user, cause in due:
        click.echo(_describe(user, cause))
    if dry_run:
        click.echo(ngettext("Simulation : %(num)d compte serait supprimé ; rien n'a été supprimé.",
                            "Simulation : %(num)d comptes seraient supprimés ; rien n'a été supprimé.", len(due)))
        return
    for user, cause in due:
        delete_account(user, cause=cause, now=now)
    db.session.commit()
    click.echo(ngettext("%(num)d compte supprimé.", "%(num)d comptes supprimés.", len(due)))
