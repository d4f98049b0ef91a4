"""Which stage a consultation is in, computed from the clock, and what each stage allows.

`ACTIONS_BY_STAGE` is the only place where a phase's powers are written, and `allows` the only
function that reads it: every rule asks it whether an action may happen now.
"""

import enum
from datetime import datetime, timedelta

from app.consultations.models import Consultation, Phase, PhaseKind
from app.core import clock


class Interval(enum.StrEnum):
    """Where a consultation stands when no phase holds the moment."""

    UPCOMING = "upcoming"  # before the collect phase opens
    BETWEEN = "between"  # after a phase has ended and before the next one starts
    CLOSED = "closed"  # after the results phase has ended


# "organize_issues": the committee shapes its major issues while it deliberates and selects;
# "see_results": what the committee kept to itself (an issue's page) is public from the results on;
# "link_needs": the committee confirms which services answer which needs while it deliberates and selects.
ACTIONS_BY_STAGE: dict[PhaseKind | Interval, frozenset[str]] = {
    Interval.UPCOMING: frozenset({"draft", "edit"}),
    PhaseKind.COLLECT: frozenset({"draft", "edit", "publish", "cosponsor", "comment", "withdraw"}),
    PhaseKind.SUPPORT: frozenset({"support", "comment", "withdraw"}),
    PhaseKind.DELIBERATION: frozenset({"cluster", "merge", "evaluate", "comment", "withdraw", "organize_issues",
                                       "link_needs"}),
    PhaseKind.SELECTION: frozenset({"evaluate", "select", "answer", "publish_results", "withdraw",
                                    "organize_issues", "link_needs"}),
    PhaseKind.RESULTS: frozenset({"see_results"}),
    Interval.BETWEEN: frozenset({"withdraw"}),
    Interval.CLOSED: frozenset({"see_results"}),
}


def current_phase(consultation: Consultation, now: datetime | None = None) -> Phase | None:
    """The phase whose window [starts_at, ends_at) holds `now`; None between or outside phases."""
    now = now or clock.now()
    return next((phase for phase in consultation.phases if phase.contains(now)), None)


def stage(consultation: Consultation, now: datetime | None = None) -> PhaseKind | Interval:
    """The phase holding `now`, or where the consultation stands outside its phases."""
    now = now or clock.now()
    phase = current_phase(consultation, now)
    if phase is not None:
        return PhaseKind(phase.kind)
    if not consultation.phases or now < consultation.phases[0].starts_at:
        return Interval.UPCOMING
    return Interval.CLOSED if now >= consultation.phases[-1].ends_at else Interval.BETWEEN


def allows(consultation: Consultation, action: str, now: datetime | None = None) -> bool:
    """Whether `action` may happen now in this consultation, by its stage."""
    return action in ACTIONS_BY_STAGE[stage(consultation, now)]


def has_ended(consultation: Consultation, kind: PhaseKind, now: datetime | None = None) -> bool:
    """Whether the phase `kind` is over (a consultation without it never ends it)."""
    phase = consultation.phase(kind)
    return phase is not None and (now or clock.now()) >= phase.ends_at


def next_phase(consultation: Consultation, now: datetime | None = None) -> Phase | None:
    now = now or clock.now()
    return next((phase for phase in consultation.phases if phase.starts_at > now), None)


# Lengths of a calendar laid out around a moment, for demonstrations and tests.
PHASE_DAYS = {PhaseKind.COLLECT: 60, PhaseKind.SUPPORT: 30, PhaseKind.DELIBERATION: 60,
              PhaseKind.SELECTION: 20, PhaseKind.RESULTS: 365}


def calendar_around(current: PhaseKind, now: datetime) -> dict[PhaseKind, tuple[datetime, datetime]]:
    """Consecutive phases, starting at Paris midnights, placed so that `current` is halfway at `now`."""
    today = now.astimezone(clock.PARIS).replace(hour=0, minute=0, second=0, microsecond=0)
    kinds = list(PhaseKind)
    offset = sum(PHASE_DAYS[kind] for kind in kinds[:kinds.index(current)]) + PHASE_DAYS[current] // 2
    start = today - timedelta(days=offset)
    dates = {}
    for kind in kinds:
        end = start + timedelta(days=PHASE_DAYS[kind])
        dates[kind] = (start.astimezone(clock.UTC), end.astimezone(clock.UTC))
        start = end
    return dates
