"""Support rules: casting and withdrawing within the window and the quota, exact under concurrency;
public counts that respect minimum_votes_per_user; receipts; the frozen tally and its digest.

Counting: `Proposal.support_count` holds the supports that count publicly, i.e. those of
organizations that have cast at least minimum_votes_per_user supports. It is written in the same
transaction as the supports, so counts shown always equal supports stored.
"""

import csv
import functools
import hashlib
import hmac
import io
import secrets
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _, ngettext
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, make_transient_to_detached
from sqlalchemy.orm.util import identity_key

from app.accounts.models import User
from app.consultations.models import Consultation, PhaseKind
from app.consultations.phases import has_ended
from app.core import audit, clock
from app.core.errors import RuleViolation, refuse_if
from app.extensions import db
from app.organizations.models import Organization
from app.proposals.models import Proposal
from app.proposals.services import load_cosponsors
from app.votes import mandates, permissions
from app.votes.models import Mandate, Support, SupportEvent, SupportQuota, Tally

RECEIPT_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford's base 32: no I, L, O, U to misread
RECEIPT_LENGTH = 12


def new_receipt_code() -> str:
    return "".join(secrets.choice(RECEIPT_ALPHABET) for _ in range(RECEIPT_LENGTH))


def format_receipt(code: str) -> str:
    return "-".join(code[index:index + 4] for index in range(0, len(code), 4))


def normalize_receipt(text: str) -> str:
    """What a person types, read the way Crockford's base 32 intends (O is 0, I and L are 1)."""
    cleaned = "".join(char for char in text.upper() if char.isalnum())
    return cleaned.translate(str.maketrans("OIL", "011"))


# The writes of a support, built once per database with their cache keys (building a statement costs
# more than sending it, on the path every support takes); the values come as parameters.
@functools.cache
def _writes(dialect_name: str) -> dict[str, sa.Executable]:
    insert = (postgresql if dialect_name == "postgresql" else sqlite).insert
    supports, quotas, proposals = Support.__table__, SupportQuota.__table__, Proposal.__table__
    owner = (quotas.c.consultation_id == sa.bindparam("of_consultation")) & (
        quotas.c.organization_id == sa.bindparam("of_organization"))
    limit = sa.bindparam("limit")
    return {
        # ON CONFLICT DO NOTHING: a colleague's support, even one pressed at the same moment, makes this a
        # no-op instead of an error (on PostgreSQL the insert waits for the colleague's commit).
        "support": insert(supports).on_conflict_do_nothing().returning(supports.c.id),
        # The first support creates the quota row, later ones update it only while under the limit (0:
        # none). On PostgreSQL the update locks the row until commit, so a colleague's concurrent cast
        # waits and then sees the new total; SQLite's BEGIN IMMEDIATE serialises writers.
        "take_quota": insert(quotas).values(used=1).on_conflict_do_update(
            index_elements=[quotas.c.consultation_id, quotas.c.organization_id], set_={"used": quotas.c.used + 1},
            where=(limit == 0) | (quotas.c.used < limit)).returning(quotas.c.used),
        "give_back_quota": sa.update(quotas).where(owner).values(used=quotas.c.used - 1).returning(quotas.c.used),
        "shift_counts": sa.update(proposals).where(proposals.c.id.in_(sa.bindparam("ids", expanding=True)))
        .values(support_count=proposals.c.support_count + sa.bindparam("step")),
        "withdraw": sa.delete(supports).where(supports.c.proposal_id == sa.bindparam("proposal_id"),
                                              supports.c.organization_id == sa.bindparam("organization_id"))
        .returning(supports.c.id),
        "journal": sa.insert(SupportEvent.__table__),
    }


def _write(name: str, values: dict):
    return db.session.execute(_writes(db.session.get_bind().dialect.name)[name], values)


def _insert_support(proposal: Proposal, organization: Organization, by: User, now: datetime,
                    mandate: Mandate | None) -> Support | None:
    """The new support, in the session; None when the organization already supports the proposal.

    The row is written by a plain INSERT and its object attached to the session as it stands, without
    reading it back: inserting through the ORM cost a third of the request (bench/README.md).
    """
    support = Support(consultation_id=proposal.consultation_id, proposal_id=proposal.id,
                      organization_id=organization.id, cast_by_id=by.id, cast_at=now, receipt_code=new_receipt_code(),
                      mandate_id=mandate.id if mandate else None)
    support.id = _write("support", {column: getattr(support, column) for column in SUPPORT_COLUMNS}).scalar()
    if support.id is None:
        return None
    make_transient_to_detached(support)
    db.session.add(support)
    return support


SUPPORT_COLUMNS = ("consultation_id", "proposal_id", "organization_id", "cast_by_id", "cast_at", "receipt_code",
                   "mandate_id")


def _take_quota(consultation: Consultation, organization: Organization) -> int | None:
    """Count one more support for the organization if vote_limit allows; the new total, or None."""
    return _write("take_quota", {"consultation_id": consultation.id, "organization_id": organization.id,
                                 "limit": consultation.vote_limit}).scalar()


def _give_back_quota(consultation: Consultation, organization: Organization) -> int:
    return _write("give_back_quota", {"of_consultation": consultation.id,
                                      "of_organization": organization.id}).scalar()


def _shift_counts(proposal_ids: set[int], step: int) -> None:
    """Move public counts; proposals already in the session read their new count when next asked."""
    _write("shift_counts", {"ids": sorted(proposal_ids), "step": step})
    for proposal_id in proposal_ids:
        proposal = db.session.identity_map.get(identity_key(Proposal, proposal_id))
        if proposal is not None:
            db.session.expire(proposal, ["support_count"])


def _journal(action: str, proposal: Proposal, organization: Organization, by: User, now: datetime,
             source: str | None, mandate: Mandate | None) -> None:
    """Nothing in a request reads the journal back: a plain INSERT, without an object. Under a mandate, the audit
    log names both people too."""
    _write("journal", {"consultation_id": proposal.consultation_id, "proposal_id": proposal.id,
                       "organization_id": organization.id, "actor_id": by.id, "action": action, "at": now,
                       "source": (source or "")[:200] or None, "mandate_id": mandate.id if mandate else None})
    if mandate is not None:
        audit.record(f"support.{action}_under_mandate", actor=by, subject=proposal,
                     data={"organization_id": organization.id, "organization": organization.name,
                           "mandate_id": mandate.id, "official_id": mandate.official_id,
                           "official": mandate.official.name, "aidant_id": by.id, "aidant": by.name})


def _organization_support_ids(consultation: Consultation, organization: Organization) -> set[int]:
    return set(db.session.scalars(sa.select(Support.proposal_id).where(
        Support.consultation_id == consultation.id, Support.organization_id == organization.id)))


def _recount_after(consultation: Consultation, organization: Organization, proposal: Proposal,
                   used_before: int, used_after: int) -> None:
    """Keep public counts exact when an organization's total crosses minimum_votes_per_user."""
    minimum = consultation.minimum_votes_per_user
    step = 1 if used_after > used_before else -1
    if used_before >= minimum and used_after >= minimum:
        _shift_counts({proposal.id}, step)  # already counting: only this proposal moves
    elif max(used_before, used_after) >= minimum:
        # Crossing the minimum: every support of the organization starts or stops counting.
        _shift_counts(_organization_support_ids(consultation, organization) | {proposal.id}, step)


def _check_threshold(consultation: Consultation, proposal: Proposal) -> None:
    """Without accumulation, a proposal that reached threshold_per_proposal takes no more supports."""
    threshold = consultation.threshold_per_proposal
    if not threshold or consultation.can_accumulate_supports_beyond_threshold:
        return
    # Lock the proposal so that two organizations cannot both take the last place.
    db.session.execute(sa.select(Proposal.id).where(Proposal.id == proposal.id).with_for_update())
    stored = db.session.scalar(sa.select(sa.func.count()).select_from(Support)
                               .where(Support.proposal_id == proposal.id))
    if stored >= threshold:
        raise RuleViolation(_("Cette proposition a déjà atteint le seuil de %(count)d soutiens.", count=threshold))


def cast_support(proposal: Proposal, organization: Organization, *, by: User, now: datetime | None = None,
                 source: str | None = None, mandate: Mandate | None = None) -> Support:
    """Record `organization`'s support for `proposal`, cast by the elected official `by`, or by their aidant `by`
    under `mandate` (in force): the same rules, quota and window either way.

    While the consultation's stage allows supports; within vote_limit; once per proposal and
    organization whoever presses; not beyond the threshold unless accumulation is allowed; not for
    the organization's own proposals unless the consultation allows it.
    """
    now = now or clock.now()
    consultation = proposal.consultation
    refuse_if(permissions.why_not_support(by, organization, proposal, now, mandate))
    _check_threshold(consultation, proposal)
    support = _insert_support(proposal, organization, by, now, mandate)
    if support is None:
        raise RuleViolation(_("Votre collectivité soutient déjà cette proposition."))
    used = _take_quota(consultation, organization)
    if used is None:
        db.session.delete(support)  # leave nothing behind, whether or not the caller rolls back
        db.session.flush()
        raise RuleViolation(ngettext("Votre collectivité a utilisé son soutien. Retirez-le pour en donner un autre.",
                                     "Votre collectivité a utilisé ses %(num)d soutiens. Retirez-en un pour en "
                                     "donner un autre.", consultation.vote_limit))
    _recount_after(consultation, organization, proposal, used - 1, used)
    _journal("cast", proposal, organization, by, now, source, mandate)
    db.session.flush()
    return support


def withdraw_support(proposal: Proposal, organization: Organization, *, by: User, now: datetime | None = None,
                     source: str | None = None, mandate: Mandate | None = None) -> None:
    """Withdraw the organization's support while supports are open (by an official, or their aidant under
    `mandate`); the quota is given back."""
    now = now or clock.now()
    consultation = proposal.consultation
    refuse_if(permissions.why_not_withdraw(by, organization, proposal, now, mandate))
    support_id = _write("withdraw", {"proposal_id": proposal.id, "organization_id": organization.id}).scalar()
    if support_id is None:
        raise RuleViolation(_("Votre collectivité ne soutient pas cette proposition."))
    if (support := db.session.identity_map.get(identity_key(Support, support_id))) is not None:
        db.session.expunge(support)  # gone from the database: gone from the session
    used = _give_back_quota(consultation, organization)
    _recount_after(consultation, organization, proposal, used + 1, used)
    _journal("withdraw", proposal, organization, by, now, source, mandate)
    db.session.flush()


def has_supports(consultation: Consultation) -> bool:
    return db.session.scalar(sa.select(Support.id).where(Support.consultation_id == consultation.id)
                             .limit(1)) is not None


def quota_used(consultation: Consultation, organization_ids: list[int]) -> dict[int, int]:
    return dict(db.session.execute(sa.select(SupportQuota.organization_id, SupportQuota.used).where(
        SupportQuota.consultation_id == consultation.id, SupportQuota.organization_id.in_(organization_ids))).all())


def supported_by(organization_ids: list[int], proposal_ids: list[int]) -> set[tuple[int, int]]:
    """The (organization, proposal) pairs among these that have a support."""
    if not organization_ids or not proposal_ids:
        return set()
    return set(db.session.execute(sa.select(Support.organization_id, Support.proposal_id).where(
        Support.organization_id.in_(organization_ids), Support.proposal_id.in_(proposal_ids))).all())


def organization_supports(consultation: Consultation, organization: Organization) -> list[Support]:
    return list(db.session.scalars(sa.select(Support).where(
        Support.consultation_id == consultation.id, Support.organization_id == organization.id)
        .options(joinedload(Support.proposal), joinedload(Support.cast_by),
                 joinedload(Support.mandate).joinedload(Mandate.official)).order_by(Support.cast_at)))


def find_receipt(code: str) -> Support | None:
    normalized = normalize_receipt(code)
    if len(normalized) != RECEIPT_LENGTH:
        return None
    return db.session.scalar(sa.select(Support).where(Support.receipt_code == normalized))


def is_counted(support: Support, consultation: Consultation) -> bool:
    used = quota_used(consultation, [support.organization_id]).get(support.organization_id, 0)
    return used >= consultation.minimum_votes_per_user


def supporter_label(consultation: Consultation, organization_id: int) -> str:
    """The organization's id in open data, or a stable pseudonym when supporters are hidden."""
    if not consultation.supporters_hidden:
        return str(organization_id)
    key = f"{current_app.config['SECRET_KEY']}:{consultation.id}".encode()
    return "org-" + hmac.new(key, str(organization_id).encode(), hashlib.sha256).hexdigest()[:16]


# The published file's columns, documented on the tally page: the proposal, the supporting organization
# (its id, or a pseudonym when supporters are hidden, with neither name nor SIREN), when it supported.
TALLY_COLUMNS = ("id_proposition", "id_organisation", "organisation", "siren", "soutenu_le")


def counting_organizations(consultation: Consultation) -> sa.Select:
    """The select of the organizations whose supports count: those that cast at least minimum_votes_per_user
    (and one), read from their quotas (one row per organization) rather than from the supports."""
    return sa.select(SupportQuota.organization_id).where(
        SupportQuota.consultation_id == consultation.id,
        SupportQuota.used >= max(1, consultation.minimum_votes_per_user))


def counted_supports(consultation: Consultation) -> sa.ColumnElement[bool]:
    """The condition of the supports that count: the tally's lines, the public counts, the statistics."""
    return sa.and_(Support.consultation_id == consultation.id,
                   Support.organization_id.in_(counting_organizations(consultation)))


def tally_rows(consultation: Consultation) -> list[tuple]:
    """The counted supports as rows of the published file, in a canonical order."""
    rows = db.session.execute(
        sa.select(Support.proposal_id, Organization.id, Organization.name, Organization.siren, Support.cast_at)
        .join(Organization, Organization.id == Support.organization_id).where(counted_supports(consultation))).all()
    hidden = consultation.supporters_hidden
    return sorted((proposal_id, supporter_label(consultation, organization_id), "" if hidden else name,
                   "" if hidden else siren or "", cast_at.isoformat(timespec="microseconds"))
                  for proposal_id, organization_id, name, siren, cast_at in rows)


def tally_file(rows: list[tuple]) -> str:
    """The published CSV file, header included: `;`-separated, one line per counted support."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\n")
    writer.writerow(TALLY_COLUMNS)
    writer.writerows(rows)
    return buffer.getvalue()


def digest_of(content: str) -> str:
    """SHA-256 of the published file: anyone can recompute it (`sha256sum`) from the file they download."""
    return hashlib.sha256(content.encode()).hexdigest()


def frozen_tally(consultation: Consultation, now: datetime | None = None) -> Tally | None:
    """The tally as it stood when the support window ended; None before that.

    Once the window has ended nothing changes the supports it counts (no support is cast or withdrawn,
    the window cannot move again, its rules cannot change), so the file is written the first time it is
    asked for and dated at the end of the window.
    """
    if not has_ended(consultation, PhaseKind.SUPPORT, now):
        return None
    tally = db.session.get(Tally, consultation.id)
    if tally is None:
        rows = tally_rows(consultation)
        content = tally_file(rows)
        try:
            with db.session.begin_nested():
                tally = Tally(consultation_id=consultation.id, frozen_at=consultation.phase(PhaseKind.SUPPORT).ends_at,
                              support_count=len(rows), digest=digest_of(content), content=content)
                db.session.add(tally)
        except IntegrityError:  # written by a concurrent request: theirs is the same
            tally = db.session.get(Tally, consultation.id)
    return tally


def forget_empty_tally(consultation: Consultation) -> None:
    """A support window without supports may move even after it ended: the empty tally written for the
    old window is dropped, and the new window's end writes its own."""
    db.session.execute(sa.delete(Tally).where(Tally.consultation_id == consultation.id))


@dataclass
class SupportOption:
    """What one of the viewer's organizations can do about one proposal."""

    organization: Organization
    supported: bool
    reason: str | None  # why the button is not offered, or None
    remaining: int | None  # supports left to the organization, None when unlimited
    mandate: Mandate | None = None  # the viewer acts as aidant of mandate.official


def support_options(user, consultation: Consultation, proposals: list[Proposal],
                    now: datetime | None = None) -> dict[int, list[SupportOption]]:
    """For each proposal, the support buttons (or reasons) of each organization the user acts for: their own, and
    for an aidant the organizations of the mandates they hold in force (one per organization, the oldest).

    Four queries whatever the number of proposals: the mandates, the quotas, the existing supports, and the
    co-sponsors that make a proposal an organization's own.
    """
    now = now or clock.now()
    if not proposals:
        return {}
    held = {}
    for mandate in mandates.held_in_force(user, now=now):
        held.setdefault(mandate.organization_id, mandate)
    organizations = [m.organization for m in getattr(user, "memberships", [])
                     if m.counts and m.organization_id not in held] + [m.organization for m in held.values()]
    if not organizations:
        return {}
    load_cosponsors(proposals)
    ids = [organization.id for organization in organizations]
    used = quota_used(consultation, ids)
    existing = supported_by(ids, [proposal.id for proposal in proposals])
    limit = consultation.vote_limit
    options = {}
    for proposal in proposals:
        options[proposal.id] = []
        for organization in organizations:
            supported = (organization.id, proposal.id) in existing
            remaining = limit - used.get(organization.id, 0) if limit else None
            mandate = held.get(organization.id)
            if supported:
                reason = permissions.why_not_withdraw(user, organization, proposal, now, mandate)
            else:
                reason = permissions.why_not_support(user, organization, proposal, now, mandate)
                if reason is None and remaining == 0:
                    reason = ngettext("Votre collectivité a utilisé son soutien.",
                                      "Votre collectivité a utilisé ses %(num)d soutiens.", limit)
            options[proposal.id].append(SupportOption(organization, supported, reason, remaining, mandate))
    return options
