"""What a person can do in a consultation now, for the home page (pure, also used by templates)."""

from datetime import datetime

from app.committee.permissions import committee_seat
from app.consultations.models import Consultation, PhaseKind
from app.consultations.phases import current_phase
from app.organizations.models import MembershipRole


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
