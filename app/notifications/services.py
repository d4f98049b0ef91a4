"""Each person's mail preferences, the one-click unsubscribe token, and the reminder scheduler.

`run(now)` decides what is due from the clock and the database alone and records each reminder in
`sent_reminders` (unique kind, subject, person) in the same transaction as its mail: running it twice, or in
two processes at once, sends nothing twice.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import AppGroup
from flask_babel import gettext as _, lazy_gettext as _l
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import contains_eager

from app.accounts.models import User
from app.consultations.models import Consultation, Phase, PhaseKind
from app.core import audit, clock
from app.core.errors import RuleViolation
from app.core.jobs import keep_running, worker_options
from app.core.mail import queue_mail
from app.core.web import public_url
from app.extensions import db
from app.notifications.models import (DeliveryMode, NotificationKind, NotificationPreference, NotifiedEvent,
                                      SentReminder)
from app.organizations.models import Membership, MembershipRole, MembershipStatus, Organization
from app.proposals.models import Comment, Proposal, ProposalCosponsor
from app.votes.models import Support, SupportQuota

CLOSING_NOTICE = timedelta(days=3)  # "the support window closes in three days"
DIGEST_HOUR = time(8, 0)  # the daily digest leaves at the first run after 8:00, Paris time
# Events older than this are not announced: a scheduler started late does not mail about last month.
LOOKBACK = timedelta(days=2)
# Kinds of the events of followed proposals (SentReminder.kind, NotifiedEvent.kind): a comment, a merge (subject:
# the merged proposal), a published answer (the answered proposal).
FOLLOWED_COMMENT = NotificationKind.FOLLOWED_PROPOSAL_ACTIVITY.value
MERGE_EVENT, ANSWER_EVENT = "followed_merge", "followed_answer"
DIGEST = "digest"  # the kind of the rows that make one daily digest per person and Paris day
UNSUBSCRIBE_SALT = "notifications-unsubscribe"


# ---- preferences -----------------------------------------------------------------------------------------------

def preferences_of(user: User) -> dict[NotificationKind, DeliveryMode]:
    """The mode of every kind for `user`: immediate unless they chose otherwise."""
    chosen = dict(db.session.execute(sa.select(NotificationPreference.kind, NotificationPreference.mode)
                                     .where(NotificationPreference.user_id == user.id)).all())
    return {kind: DeliveryMode(chosen.get(kind, DeliveryMode.IMMEDIATE)) for kind in NotificationKind}


def set_preference(user: User, kind: NotificationKind | str, mode: DeliveryMode | str, *, source: str = "account",
                   now: datetime | None = None) -> None:
    """Record how `user` receives `kind` (immediately, in a daily digest, or not at all)."""
    try:
        kind, mode = NotificationKind(kind), DeliveryMode(mode)
    except ValueError:
        raise RuleViolation(_("Ce choix de courriels n'existe pas.")) from None
    now = now or clock.now()
    preference = db.session.get(NotificationPreference, (user.id, kind.value))
    if (preference.mode if preference else DeliveryMode.IMMEDIATE) == mode:
        return  # no change, nothing to record
    if preference is None:
        db.session.add(NotificationPreference(user_id=user.id, kind=kind.value, mode=mode.value, changed_at=now))
    else:
        preference.mode, preference.changed_at = mode.value, now
    audit.record("notifications.preference", actor=user, subject=user,
                 data={"kind": kind.value, "mode": mode.value, "source": source})
    db.session.flush()


def set_preferences(user: User, modes: dict, *, now: datetime | None = None) -> None:
    for kind, mode in modes.items():
        set_preference(user, kind, mode, now=now)


def choosing(users, kind: NotificationKind, *modes: DeliveryMode) -> list[User]:
    """Those of `users` who receive `kind` by one of `modes` ("immediate" without a choice), in one query. The
    mails other domains send as things happen (a merge, the committee's answers) go at once to those choosing
    "immediate"; the scheduler puts the same events in the digest of those choosing "daily"."""
    users = list(users)
    if not users:
        return []
    chosen = dict(db.session.execute(sa.select(NotificationPreference.user_id, NotificationPreference.mode).where(
        NotificationPreference.user_id.in_({user.id for user in users}),
        NotificationPreference.kind == kind.value)).all())
    return [user for user in users if chosen.get(user.id, DeliveryMode.IMMEDIATE) in modes]


def mail_footer(user: User, *kinds: NotificationKind) -> dict:
    """What templates/mail/_unsubscribe.txt needs: a link to the choices, one to stop each kind."""
    return {"unsubscribe": _unsubscribe_links(user, kinds), "preferences_url": public_url("notifications.preferences")}


# ---- unsubscribe -----------------------------------------------------------------------------------------------

def _serializer() -> URLSafeSerializer:
    # Its own salt: a token made for another purpose (confirmation, reset) is refused here, and this one there.
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=UNSUBSCRIBE_SALT)


def unsubscribe_token(user: User, kind: NotificationKind | str) -> str:
    """A token that does one thing: stop `kind` for `user`. It opens no session and reaches no other page."""
    return _serializer().dumps([user.id, NotificationKind(kind).value])


def read_unsubscribe_token(token: str) -> tuple[User, NotificationKind]:
    """The person and kind a token stops, or a RuleViolation if it was not made by us for that."""
    try:
        user_id, kind = _serializer().loads(token)
        kind = NotificationKind(kind)
    except (BadSignature, ValueError, TypeError):
        raise RuleViolation(_("Ce lien de désabonnement n'est pas valide.")) from None
    user = db.session.get(User, user_id) if isinstance(user_id, int) else None
    if user is None or user.deleted_at is not None:
        raise RuleViolation(_("Ce lien de désabonnement n'est pas valide.")) from None
    return user, kind


def unsubscribe(token: str, *, now: datetime | None = None) -> tuple[User, NotificationKind]:
    """Stop the kind of mail the token names for its person; nothing else."""
    user, kind = read_unsubscribe_token(token)
    set_preference(user, kind, DeliveryMode.NONE, source="unsubscribe_link", now=now)
    return user, kind


# ---- what is due -----------------------------------------------------------------------------------------------

@dataclass
class Item:
    """One reminder for one person: what it is about, and what to say."""

    kind: NotificationKind
    subject_id: int
    consultation: Consultation
    url: str
    missing: list[tuple[str, int | None]] = field(default_factory=list)  # closing: (organization, missing or None)
    comment: Comment | None = None
    merged: Proposal | None = None  # a merge: the proposal it made, and the person's originals merged into it
    originals: list[Proposal] = field(default_factory=list)
    answered: Proposal | None = None  # a committee's answer, published
    event: str | None = None  # the kind recorded in sent_reminders when `kind` has several kinds of subject

    @property
    def reminder_kind(self) -> str:
        return self.event or self.kind.value


@dataclass
class Scan:
    """Which events a run lists the followers of: those no earlier run listed (`only` None), or exactly those of
    `only` (a daily digest tells again what waited for it). `listed` collects them, to be marked as listed."""

    only: set[tuple[str, int]] | None = None
    listed: set[tuple[str, int]] = field(default_factory=set)

    def pick(self, kind: str, subjects: list) -> list:
        """The `subjects` (comments or proposals) of `kind` to list followers of, in their order."""
        if self.only is not None:
            chosen = [subject for subject in subjects if (kind, subject.id) in self.only]
        else:
            listed = set(db.session.scalars(sa.select(NotifiedEvent.subject_id).where(
                NotifiedEvent.kind == kind, NotifiedEvent.subject_id.in_([subject.id for subject in subjects]))))
            chosen = [subject for subject in subjects if subject.id not in listed]
        self.listed.update((kind, subject.id) for subject in chosen)
        return chosen


def _officials(consultation: Consultation):
    """(user, organization) of every verified elected official of a verified organization of an eligible kind,
    who can receive mail."""
    return db.session.execute(
        sa.select(User, Organization).join(Membership, Membership.user_id == User.id)
        .join(Organization, Organization.id == Membership.organization_id)
        .where(Membership.role == MembershipRole.ELECTED, Membership.status == MembershipStatus.VERIFIED,
               Organization.is_verified, Organization.kind.in_(consultation.eligible_kinds),
               User.blocked_at.is_(None), User.deleted_at.is_(None))
        .order_by(User.id, Organization.id)).all()


def _consultation_url(consultation: Consultation) -> str:
    return public_url("consultations.detail", slug=consultation.slug)


def _window_items(now: datetime) -> list[tuple[User, Item]]:
    """Support windows open now: announced from their start; recalled within CLOSING_NOTICE of their end to
    the officials whose organization has supports left or is short of minimum_votes_per_user."""
    due = []
    windows = db.session.scalars(sa.select(Phase).where(Phase.kind == PhaseKind.SUPPORT, Phase.starts_at <= now,
                                                        Phase.ends_at > now)).all()
    for window in windows:
        consultation = window.consultation
        url = _consultation_url(consultation)
        officials = _officials(consultation)
        if window.starts_at > now - LOOKBACK:
            seen = set()
            for user, _organization in officials:
                if user.id not in seen:
                    seen.add(user.id)
                    due.append((user, Item(NotificationKind.WINDOW_OPENS, consultation.id, consultation, url)))
        if window.ends_at - CLOSING_NOTICE <= now:
            used = dict(db.session.execute(sa.select(SupportQuota.organization_id, SupportQuota.used).where(
                SupportQuota.consultation_id == consultation.id)).all())
            by_user: dict[int, tuple[User, Item]] = {}
            for user, organization in officials:
                taken = used.get(organization.id, 0)
                missing = max(0, consultation.minimum_votes_per_user - taken)
                has_left = consultation.vote_limit == 0 or taken < consultation.vote_limit
                if not (missing or has_left):
                    continue
                if user.id not in by_user:
                    by_user[user.id] = (user, Item(NotificationKind.WINDOW_CLOSING, consultation.id, consultation,
                                                   url))
                by_user[user.id][1].missing.append((organization.name, missing or None))
            due.extend(by_user.values())
    return due


def _results_items(now: datetime) -> list[tuple[User, Item]]:
    """Results published lately, announced to the officials of the organizations that could support."""
    due = []
    for consultation in db.session.scalars(sa.select(Consultation).where(
            Consultation.results_published_at <= now, Consultation.results_published_at > now - LOOKBACK)):
        url = public_url("results.results", slug=consultation.slug)
        seen = set()
        for user, _organization in _officials(consultation):
            if user.id not in seen:
                seen.add(user.id)
                due.append((user, Item(NotificationKind.RESULTS, consultation.id, consultation, url)))
    return due


def organizations_following(proposal_ids) -> tuple[set[tuple[int, int]], set[tuple[int, int]]]:
    """Who follows these proposals, as (organization id, proposal id) pairs: the organizations carrying them
    (submitting or co-sponsoring), then those supporting them, directly or through the originals merged into
    them (as merging.supporters_of counts them)."""
    carriers = set(db.session.execute(sa.union(
        sa.select(Proposal.organization_id, Proposal.id).where(Proposal.id.in_(proposal_ids)),
        sa.select(ProposalCosponsor.organization_id, ProposalCosponsor.proposal_id)
        .where(ProposalCosponsor.proposal_id.in_(proposal_ids)))).all())
    supporters = set(db.session.execute(sa.union(
        sa.select(Support.organization_id, Support.proposal_id).where(Support.proposal_id.in_(proposal_ids)),
        sa.select(Support.organization_id, Proposal.merged_into_id).join(Proposal, Proposal.id == Support.proposal_id)
        .where(Proposal.merged_into_id.in_(proposal_ids)))).all())
    return carriers, supporters


def members_of(organization_ids) -> dict[int, list[User]]:
    """The verified members (not blocked, not deleted) of these organizations, when verified, by organization."""
    members = defaultdict(list)
    for user, organization_id in db.session.execute(
            sa.select(User, Membership.organization_id).join(Membership, Membership.user_id == User.id)
            .join(Organization, Organization.id == Membership.organization_id)
            .where(Membership.organization_id.in_(organization_ids), Membership.status == MembershipStatus.VERIFIED,
                   Organization.is_verified, User.blocked_at.is_(None), User.deleted_at.is_(None))
            .order_by(User.id)):
        members[organization_id].append(user)
    return members


def audience(pairs: set[tuple[int, int]], proposals: list[Proposal]) -> dict[User, list[Proposal]]:
    """The members of the organizations in `pairs` (organization id, proposal id), each with the `proposals`
    their organizations follow, each once, by id."""
    by_id = {proposal.id: proposal for proposal in proposals}
    members = members_of({organization_id for organization_id, _proposal_id in pairs})
    theirs = defaultdict(dict)
    for organization_id, proposal_id in sorted(pairs, key=lambda pair: pair[1]):
        for user in members.get(organization_id, []):
            theirs[user][proposal_id] = by_id[proposal_id]
    return {user: list(followed.values()) for user, followed in theirs.items()}


def _comment_items(now: datetime, scan: Scan) -> list[tuple[User, Item]]:
    """Recent visible comments on the visible proposals that a person's organization submitted, co-sponsors or
    supports: to its verified members, the author aside."""
    comments = scan.pick(FOLLOWED_COMMENT, db.session.scalars(
        sa.select(Comment).join(Proposal, Proposal.id == Comment.proposal_id).where(
            Comment.created_at <= now, Comment.created_at > now - LOOKBACK, Comment.hidden_at.is_(None),
            Proposal.hidden_at.is_(None)).order_by(Comment.id).options(contains_eager(Comment.proposal))).all())
    if not comments:
        return []
    carriers, supporters = organizations_following({comment.proposal_id for comment in comments})
    followers = defaultdict(set)  # proposal id → organization ids
    for organization_id, proposal_id in carriers | supporters:
        followers[proposal_id].add(organization_id)
    members = members_of({organization_id for organization_id, _proposal_id in carriers | supporters})
    due = []
    for comment in comments:
        proposal = comment.proposal
        url = public_url("proposals.detail", proposal_id=proposal.id) + f"#commentaire-{comment.id}"
        seen = {comment.author_id}
        for organization_id in sorted(followers[proposal.id]):
            for user in members[organization_id]:
                if user.id not in seen:
                    seen.add(user.id)
                    due.append((user, Item(NotificationKind.FOLLOWED_PROPOSAL_ACTIVITY, comment.id,
                                           proposal.consultation, url, comment=comment)))
    return due


def _merge_items(now: datetime, scan: Scan) -> list[tuple[User, Item]]:
    """Recent merges, for the digest of those who chose a daily one for their followed proposals (the others
    were mailed at once, or chose nothing: merging._tell)."""
    from app.committee import merging  # it calls this module as things happen: imported here, once it is loaded

    due = []
    for merged in scan.pick(MERGE_EVENT, db.session.scalars(sa.select(Proposal).where(
            Proposal.merged_at <= now, Proposal.merged_at > now - LOOKBACK).order_by(Proposal.id)).all()):
        theirs = merging.told_of_merge(merging.merge_origins(merged))
        url = public_url("proposals.detail", proposal_id=merged.id)
        for user in choosing(theirs, NotificationKind.FOLLOWED_PROPOSAL_ACTIVITY, DeliveryMode.DAILY):
            due.append((user, Item(NotificationKind.FOLLOWED_PROPOSAL_ACTIVITY, merged.id, merged.consultation, url,
                                   merged=merged, originals=theirs[user], event=MERGE_EVENT)))
    return due


def _answer_items(now: datetime, scan: Scan) -> list[tuple[User, Item]]:
    """The committee's answers published lately, one item per proposal, for the digest of those who chose a
    daily one for their followed proposals (the others were mailed at once, or chose nothing:
    decisions._notify)."""
    from app.committee import decisions  # it calls this module as things happen: imported here, once it is loaded

    answered = scan.pick(ANSWER_EVENT, db.session.scalars(sa.select(Proposal).join(Consultation).where(
        Consultation.results_published_at <= now, Proposal.answered_at <= now,
        Proposal.answered_at > now - LOOKBACK).order_by(Proposal.id)).all())
    if not answered:
        return []
    due, seen = [], set()
    for _template, _subject, theirs in decisions.told_of_answers(answered):
        for user in choosing(theirs, NotificationKind.FOLLOWED_PROPOSAL_ACTIVITY, DeliveryMode.DAILY):
            for proposal in theirs[user]:
                if (user.id, proposal.id) not in seen:  # carried and supported: told once
                    seen.add((user.id, proposal.id))
                    due.append((user, Item(NotificationKind.FOLLOWED_PROPOSAL_ACTIVITY, proposal.id,
                                           proposal.consultation, public_url("proposals.detail",
                                                                             proposal_id=proposal.id),
                                           answered=proposal, event=ANSWER_EVENT)))
    return due


def due_items(now: datetime, scan: Scan) -> list[tuple[User, Item]]:
    """The reminders due at `now`: support windows and results (a few per consultation, listed at every run),
    and the events of followed proposals that `scan` picks."""
    return [*_window_items(now), *_results_items(now), *_comment_items(now, scan), *_merge_items(now, scan),
            *_answer_items(now, scan)]


# ---- sending ---------------------------------------------------------------------------------------------------

SUBJECTS = {
    NotificationKind.WINDOW_OPENS: _l("Les soutiens sont ouverts"),
    NotificationKind.WINDOW_CLOSING: _l("Les soutiens ferment dans trois jours"),
    NotificationKind.RESULTS: _l("Les résultats sont publiés"),
    NotificationKind.FOLLOWED_PROPOSAL_ACTIVITY: _l("Un nouveau commentaire sur une proposition que vous suivez"),
}


ROWS_PER_STATEMENT = 500  # 5 values each at most: well under SQLite's limit of bound parameters


def _insert_new(model, rows: list[dict], *returning) -> set[tuple]:
    """Insert `rows` (of SentReminder or NotifiedEvent) in key order, skipping those whose key is there (an
    earlier run's, or that of a scheduler running at the same time: on PostgreSQL the second insert waits for the
    first to commit, then skips it; the same order in both means they never wait for each other in a circle);
    the `returning` columns of those inserted."""
    insert = (postgresql if db.engine.dialect.name == "postgresql" else sqlite).insert(model).on_conflict_do_nothing()
    if returning:
        insert = insert.returning(*returning)
    rows = sorted(rows, key=lambda row: (row["kind"], row["subject_id"], row.get("user_id", 0)))
    inserted = set()
    for start in range(0, len(rows), ROWS_PER_STATEMENT):
        result = db.session.execute(insert.values(rows[start:start + ROWS_PER_STATEMENT]))
        if returning:
            inserted.update(tuple(row) for row in result)
    return inserted


def _claim(rows: list[dict]) -> set[tuple[str, int, int]]:
    """Insert the rows that say these reminders were (or will be) sent; the (kind, subject_id, user_id) of those
    inserted: one already there was sent before, or by another scheduler."""
    return _insert_new(SentReminder, rows, SentReminder.kind, SentReminder.subject_id, SentReminder.user_id)


def _claim_row(kind: str, subject_id: int, user_id: int, sent_at: datetime | None, now: datetime) -> dict:
    return {"kind": kind, "subject_id": subject_id, "user_id": user_id, "sent_at": sent_at, "created_at": now}


def _unsubscribe_links(user: User, kinds) -> list[tuple[NotificationKind, str]]:
    return [(kind, public_url("notifications.unsubscribe", token=unsubscribe_token(user, kind)))
            for kind in sorted(set(kinds), key=list(NotificationKind).index)]


def _send_one(user: User, item: Item) -> None:
    queue_mail(user, SUBJECTS[item.kind], "reminder", user=user, items=[item], **mail_footer(user, item.kind))


def _send_digest(user: User, items: list[Item]) -> None:
    queue_mail(user, _l("Votre résumé quotidien d'Agora"), "reminder_digest", user=user, items=items,
               **mail_footer(user, *(item.kind for item in items)))


def digest_day(now: datetime) -> int | None:
    """The Paris day whose digest may leave at `now` (its ordinal), or None before DIGEST_HOUR, Paris time."""
    local = clock.to_paris(now)
    return local.date().toordinal() if local.time() >= DIGEST_HOUR else None


def run(now: datetime | None = None) -> int:
    """Queue the reminders due at `now`; return how many mails were queued. Flushes, never commits."""
    now = now or clock.now()
    scan = Scan()
    due = due_items(now, scan)
    done = _already_claimed(due)
    sent = 0
    new = [(user, item) for user, item in due if (item.reminder_kind, item.subject_id, user.id) not in done]
    chosen = _chosen_modes({user.id for user, _item in new})
    wanted = [(user, item, mode == DeliveryMode.IMMEDIATE) for user, item in new
              if (mode := chosen.get((user.id, item.kind.value), DeliveryMode.IMMEDIATE)) != DeliveryMode.NONE]
    claimed = _claim([_claim_row(item.reminder_kind, item.subject_id, user.id, now if immediate else None, now)
                      for user, item, immediate in wanted])
    for user, item, immediate in wanted:
        if immediate and (item.reminder_kind, item.subject_id, user.id) in claimed:
            _send_one(user, item)
            sent += 1
    _mark_listed(scan.listed, now)
    sent += _send_digests(now)
    db.session.flush()
    return sent


def _mark_listed(events: set[tuple[str, int]], now: datetime) -> None:
    """Record the events whose followers this run listed (a scheduler running at the same time may have too)."""
    _insert_new(NotifiedEvent, [{"kind": kind, "subject_id": subject_id, "created_at": now}
                                for kind, subject_id in events])


def _chosen_modes(user_ids: set[int]) -> dict[tuple[int, str], DeliveryMode]:
    """The modes these people chose, by (person, kind); a kind without a choice is immediate."""
    if not user_ids:
        return {}
    return {(user_id, kind): DeliveryMode(mode) for user_id, kind, mode in db.session.execute(
        sa.select(NotificationPreference.user_id, NotificationPreference.kind, NotificationPreference.mode)
        .where(NotificationPreference.user_id.in_(user_ids)))}


def _already_claimed(due: list[tuple[User, Item]]) -> set[tuple[str, int, int]]:
    pairs = {(item.reminder_kind, item.subject_id) for _user, item in due}
    if not pairs:
        return set()
    return set(db.session.execute(sa.select(SentReminder.kind, SentReminder.subject_id, SentReminder.user_id).where(
        sa.tuple_(SentReminder.kind, SentReminder.subject_id).in_(pairs))).all())


def _send_digests(now: datetime) -> int:
    """One mail per person and Paris day with the reminders that waited for it, from DIGEST_HOUR on.

    A waiting reminder says what is true when the digest leaves, and is left out if it no longer applies
    (window closed, comment hidden, the person chose to receive nothing meanwhile)."""
    day = digest_day(now)
    if day is None:
        return 0
    waiting = db.session.scalars(sa.select(SentReminder).where(SentReminder.sent_at.is_(None))
                                 .order_by(SentReminder.user_id, SentReminder.id)).all()
    if not waiting:
        return 0
    by_user = defaultdict(list)
    for row in waiting:
        by_user[row.user_id].append(row)
    sent = 0
    claimed = _claim([_claim_row(DIGEST, day, user_id, now, now) for user_id in by_user])
    told_again = {(row.kind, row.subject_id) for user_id, rows in by_user.items() if (DIGEST, day, user_id) in claimed
                  for row in rows}
    current = {(user.id, item.reminder_kind, item.subject_id): item
               for user, item in due_items(now, Scan(only=told_again))} if told_again else {}
    for user_id, rows in by_user.items():
        if (DIGEST, day, user_id) not in claimed:
            continue  # today's digest is gone: these wait for tomorrow's
        user = db.session.get(User, user_id)
        modes = preferences_of(user)
        items = [item for item in (current.get((user_id, row.kind, row.subject_id)) for row in rows)
                 if item is not None and modes[item.kind] != DeliveryMode.NONE]
        for row in rows:
            row.sent_at = now
        if items:
            _send_digest(user, items)
            sent += 1
    return sent


reminders_cli = AppGroup("reminders", help="Rappels et notifications par courriel (soutiens, résultats, suivi).")


@reminders_cli.command("run")
@worker_options
def run_command(loop: bool, interval: float) -> None:
    """Met dans la file d'attente les rappels dus (deux passages n'envoient rien deux fois)."""
    def once() -> int:
        count = run()
        db.session.commit()
        return count
    count = keep_running(once, loop=loop, interval=interval)
    click.echo(f"{count} rappel(s) mis en file d'attente.")
