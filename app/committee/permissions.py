"""Who sits on a consultation's committee (pure predicates, also used by templates)."""

from app.committee.models import CommitteeSeat
from app.consultations.models import Consultation


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
