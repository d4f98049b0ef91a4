"""Who sits on a consultation's committee, and what they may do with its major issues (pure predicates,
also used by templates).

Each `why_not_*` returns the reason in French, or None when allowed.
"""

from datetime import datetime

from flask_babel import gettext as _

from app.committee.models import CommitteeSeat, Issue
from app.consultations.models import Consultation
from app.consultations.phases import allows


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


def issues_are_public(consultation: Consultation, now: datetime | None = None) -> bool:
    return allows(consultation, "see_results", now)


def can_see_issue(user, issue: Issue, now: datetime | None = None) -> bool:
    """An issue's page is the committee's own until the results are public."""
    consultation = issue.consultation
    return can_see_committee_space(user, consultation) or issues_are_public(consultation, now)
