"""The public statistics of a consultation: contributions and supports over time, the participating
organizations by kind, département and région, the participation rate, needs and services per theme.

Plain figures (ints, strings, dates) that the statistics page draws and the API serves as they are
(`consultation_statistics(…).as_dict()`). Each can be recomputed from what is published: contributions are
the listed proposals (`search.is_listed`) by the Paris day of their publication; supports are the tally's
lines (`counted_supports`) by the day they were cast; participants are the organizations whose supports
count. While the consultation hides its counts (`counts_hidden`), nothing drawn from supports is computed.

Every figure is an aggregate computed by the database; times are grouped by UTC hour there (Paris is a
whole number of hours from UTC, so each hour falls in one Paris day), then into days, weeks or months here.
"""

from collections import Counter, defaultdict
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from app.consultations.models import Consultation
from app.core import clock
from app.core.db import UTCDateTime
from app.core.regions import region_of
from app.extensions import db
from app.organizations.models import Organization
from app.proposals.models import Proposal, ProposalKind, proposal_themes
from app.proposals.search import is_listed
from app.results.queries import participants_per
from app.votes.models import Support
from app.votes.permissions import counts_hidden, eligible_organizations
from app.votes.services import counted_supports, counting_organizations

# Periods of a time series, the longest span each reads well for (in days); months beyond.
UNITS = (("day", 31), ("week", 26 * 7))


class utc_hour(FunctionElement):
    """A stored instant truncated to its UTC hour, by the cheapest means of each database (the supports' statistics
    compute it for every support)."""

    type = UTCDateTime()
    inherit_cache = True


@compiles(utc_hour)
def _utc_hour_sqlite(element, compiler, **kw):
    return f"substr({compiler.process(element.clauses, **kw)}, 1, 13) || ':00:00'"  # stored as 'YYYY-MM-DD HH:…'


@compiles(utc_hour, "postgresql")
def _utc_hour_postgresql(element, compiler, **kw):
    return f"date_trunc('hour', {compiler.process(element.clauses, **kw)})"


@dataclass(frozen=True)
class Period:
    start: date  # its first day (in Paris)
    counts: dict[str, int]


@dataclass(frozen=True)
class TimeSeries:
    unit: str  # "day", "week" (starting on Monday) or "month"
    periods: list[Period]  # every period from the first to the last with a count, empty ones included


@dataclass(frozen=True)
class Area:
    code: str | None  # INSEE code of the département or région; None for organizations placed in none
    organizations: int


@dataclass(frozen=True)
class ThemeCount:
    theme_id: int | None  # None: the proposals in no theme
    name: str | None
    needs: int
    services: int


@dataclass(frozen=True)
class Participation:
    """What the supports show: the organizations whose supports count, out of those that may support."""

    supports: int
    organizations: int
    eligible_organizations: int  # eligible now, or that supported when they were
    rate: float | None  # organizations / eligible_organizations; None when none is eligible
    by_kind: dict[str, int]  # OrganizationKind value: organizations
    by_departement: list[Area]
    by_region: list[Area]
    supports_over_time: TimeSeries


@dataclass(frozen=True)
class ConsultationStatistics:
    needs: int
    services: int
    contributing_organizations: int
    contributions_over_time: TimeSeries  # counts "needs" and "services" per period
    themes: list[ThemeCount]
    counts_hidden: bool
    participation: Participation | None  # None while the consultation hides its counts

    def as_dict(self) -> dict:
        """The figures as JSON-ready data: dates written as ISO 8601."""
        return asdict(self, dict_factory=lambda items: {
            name: value.isoformat() if isinstance(value, date) else value for name, value in items})


def consultation_statistics(consultation: Consultation, viewer, now: datetime | None = None) -> ConsultationStatistics:
    """The public statistics of `consultation` as `viewer` may see them (supports hidden by `counts_hidden`)."""
    hidden = counts_hidden(consultation, viewer, now)
    listed = sa.and_(Proposal.consultation_id == consultation.id, is_listed())
    contributions = db.session.execute(sa.select(utc_hour(Proposal.published_at), Proposal.kind, sa.func.count())
                                       .where(listed).group_by(utc_hour(Proposal.published_at), Proposal.kind)).all()
    totals = Counter()
    for _hour, kind, count in contributions:
        totals[kind] += count
    return ConsultationStatistics(
        needs=totals[ProposalKind.NEED], services=totals[ProposalKind.SERVICE],
        contributing_organizations=db.session.scalar(
            sa.select(sa.func.count(sa.distinct(Proposal.organization_id))).where(listed)),
        contributions_over_time=time_series([(hour, {_KEYS[kind]: count}) for hour, kind, count in contributions],
                                            keys=tuple(_KEYS.values())),
        themes=needs_and_services_per_theme(consultation),
        counts_hidden=hidden,
        participation=None if hidden else participation(consultation))


_KEYS = {ProposalKind.NEED: "needs", ProposalKind.SERVICE: "services"}


def time_series(counts: list[tuple[datetime | None, dict[str, int]]], keys: tuple[str, ...]) -> TimeSeries:
    """`counts` (an instant, its counts by key) summed per Paris day, week or month, whichever keeps the span
    readable, every period from the first to the last present; counts of no date are left out."""
    dated = [(clock.to_paris(moment).date(), values) for moment, values in counts if moment is not None]
    if not dated:
        return TimeSeries(UNITS[0][0], [])
    first, last = min(day for day, _values in dated), max(day for day, _values in dated)
    unit = next((name for name, longest in UNITS if (last - first).days <= longest), "month")
    sums = defaultdict(Counter)
    for day, values in dated:
        sums[_period_start(day, unit)].update(values)
    periods, start = [], _period_start(first, unit)
    while start <= last:
        periods.append(Period(start, {key: sums[start][key] for key in keys}))
        start = _next_period(start, unit)
    return TimeSeries(unit, periods)


def _period_start(day: date, unit: str) -> date:
    if unit == "week":
        return day - timedelta(days=day.weekday())
    return day.replace(day=1) if unit == "month" else day


def _next_period(start: date, unit: str) -> date:
    if unit == "month":
        return (start + timedelta(days=31)).replace(day=1)
    return start + timedelta(days=7 if unit == "week" else 1)


def needs_and_services_per_theme(consultation: Consultation) -> list[ThemeCount]:
    """The listed needs and services of each theme, in the consultation's order (a proposal counts in each of
    its themes), then of those in none."""
    counts = defaultdict(Counter)
    for theme_id, kind, count in db.session.execute(
            sa.select(proposal_themes.c.theme_id, Proposal.kind, sa.func.count()).select_from(Proposal)
            .outerjoin(proposal_themes, proposal_themes.c.proposal_id == Proposal.id)
            .where(Proposal.consultation_id == consultation.id, is_listed())
            .group_by(proposal_themes.c.theme_id, Proposal.kind)):
        counts[theme_id][kind] = count
    themes = [(theme.id, theme.name) for theme in consultation.themes] + ([(None, None)] if None in counts else [])
    return [ThemeCount(theme_id, name, counts[theme_id][ProposalKind.NEED], counts[theme_id][ProposalKind.SERVICE])
            for theme_id, name in themes]


def participation(consultation: Consultation) -> Participation:
    """The supports that count and the organizations that cast them, by kind, département and région."""
    participants = participants_per(consultation, Organization.kind, Organization.departement_code,
                                    Organization.region_code)
    by_kind, by_departement, by_region = Counter(), Counter(), Counter()
    for (kind, departement, region), count in participants.items():
        by_kind[kind] += count
        by_departement[departement] += count
        by_region[region_of(region, departement)] += count
    organizations = sum(participants.values())
    eligible = db.session.scalar(sa.select(sa.func.count()).select_from(Organization).where(sa.or_(
        Organization.id.in_(eligible_organizations(consultation)),
        Organization.id.in_(counting_organizations(consultation)))))
    supports = db.session.execute(sa.select(utc_hour(Support.cast_at), sa.func.count())
                                  .where(counted_supports(consultation)).group_by(utc_hour(Support.cast_at))).all()
    return Participation(
        supports=sum(count for _hour, count in supports), organizations=organizations,
        eligible_organizations=eligible, rate=round(organizations / eligible, 4) if eligible else None,
        by_kind=dict(by_kind.most_common()), by_departement=_areas(by_departement), by_region=_areas(by_region),
        supports_over_time=time_series([(hour, {"supports": count}) for hour, count in supports], keys=("supports",)))


def _areas(counts: Counter) -> list[Area]:
    """The areas with participants, the most first (then by code), those placed nowhere last."""
    return sorted((Area(code, count) for code, count in counts.items()),
                  key=lambda area: (area.code is None, -area.organizations, area.code or ""))
