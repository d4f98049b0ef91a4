"""Who holds which place in a consultation (pure predicates, also used by templates)."""

from datetime import datetime

from app.consultations.models import CommitteeSeat, Consultation, PhaseKind
from app.consultations.phases import current_phase
from app.organizations.models import MembershipRole


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


def user_situation(user, consultation: Consultation, now: datetime | None = None) -> dict:
    """What the home page tells a person they can do now, derived from the phase and their roles."""
    phase = current_phase(consultation, now)
    memberships = list(user.memberships) if user.is_authenticated else []
    counted = [m for m in memberships if m.counts]
    return {
        "phase": PhaseKind(phase.kind) if phase else None,
        "organizations": [m.organization for m in counted],
        "elected_for": [m.organization for m in counted if m.role == MembershipRole.ELECTED
                        and m.organization.kind in consultation.eligible_kinds],
        "has_pending": any(m.status == "pending" for m in memberships),
        "seat": committee_seat(consultation, user),
    }
