"""Which phase a consultation is in, computed from the clock, and what each phase allows."""

from datetime import datetime

from app.consultations.models import Consultation, Phase, PhaseKind
from app.core import clock

ACTIONS_BY_PHASE = {
    PhaseKind.COLLECT: {"submit", "edit", "comment", "cosponsor"},
    PhaseKind.SUPPORT: {"support", "comment"},
    PhaseKind.DELIBERATION: {"cluster", "merge", "evaluate", "comment"},
    PhaseKind.SELECTION: {"evaluate", "select", "answer"},
    PhaseKind.RESULTS: set(),
}


def current_phase(consultation: Consultation, now: datetime | None = None) -> Phase | None:
    """The phase whose window [starts_at, ends_at) holds `now`; None between or outside phases."""
    now = now or clock.now()
    return next((phase for phase in consultation.phases if phase.contains(now)), None)


def allows(consultation: Consultation, action: str, now: datetime | None = None) -> bool:
    phase = current_phase(consultation, now)
    return phase is not None and action in ACTIONS_BY_PHASE[PhaseKind(phase.kind)]


def next_phase(consultation: Consultation, now: datetime | None = None) -> Phase | None:
    now = now or clock.now()
    return next((phase for phase in consultation.phases if phase.starts_at > now), None)
