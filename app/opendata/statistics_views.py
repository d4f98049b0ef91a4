"""The public statistics page of a consultation: its figures (app/opendata/statistics.py) as charts drawn on the
server, each with its data table, in every phase; nothing drawn from supports while counts are hidden."""

from datetime import date, datetime, time

from flask import Blueprint, render_template
from flask_babel import format_date, format_percent, gettext as _, ngettext
from flask_login import current_user

from app.committee.views import consultation_by_slug
from app.consultations.models import PhaseKind
from app.core import charts, clock
from app.core.page_cache import same_for_visitors
from app.core.regions import REGIONS
from app.core.web import paris_datetime
from app.opendata.statistics import ConsultationStatistics, Participation, TimeSeries, consultation_statistics
from app.organizations.models import OrganizationKind
from app.results.views import participants_map, summary

bp = Blueprint("statistics", __name__, url_prefix="/consultations/<slug>/statistiques")


@bp.get("")
@same_for_visitors
def statistics(slug: str):
    consultation = consultation_by_slug(slug)
    now = clock.now()
    stats = consultation_statistics(consultation, current_user, now)
    participation = stats.participation
    window = consultation.phase(PhaseKind.SUPPORT)
    return render_template(
        "opendata/statistics.html", consultation=consultation, stats=stats, charts=contribution_charts(stats),
        support_charts=support_charts(participation) if participation else [], support_window=window,
        supports_upcoming=window is not None and now < window.starts_at,
        rate=format_percent(participation.rate) if participation and participation.rate is not None else None)


def contribution_charts(stats: ConsultationStatistics) -> list[charts.Chart]:
    """Contributions over time, and needs against services per theme."""
    published = [(*_period_labels(period.start, stats.contributions_over_time.unit), sum(period.counts.values()))
                 for period in stats.contributions_over_time.periods]
    themes = [(theme.name or _("Sans thème"), theme.needs, theme.services) for theme in stats.themes]
    return [
        charts.time_chart(
            "contributions-dans-le-temps", _("Contributions publiées dans le temps"),
            _over_time(stats.contributions_over_time, ngettext(
                "%(num)d contribution publiée en tout (besoins et services).",
                "%(num)d contributions publiées en tout (besoins et services).", stats.needs + stats.services)),
            published, headers=(_period_header(stats.contributions_over_time), _("Contributions publiées"),
                                _("Total depuis le début"))),
        charts.bar_chart(
            "besoins-et-services-par-theme", _("Besoins et services par thème"),
            _("Pour chaque thème, le nombre de besoins et de services numériques publiés ; une contribution compte "
              "dans chacun de ses thèmes."),
            themes, headers=(_("Thème"), _("Besoins"), _("Services numériques"))),
    ]


def support_charts(participation: Participation) -> list[charts.Chart]:
    """Supports over time, and the participating organizations by kind, région and département."""
    series = participation.supports_over_time
    supports = [(*_period_labels(period.start, series.unit), period.counts["supports"]) for period in series.periods]
    kinds = [(OrganizationKind(kind).label, count) for kind, count in participation.by_kind.items()]
    regions = [(REGIONS[area.code][0] if area.code in REGIONS else area.code or _("Sans région"), area.organizations)
               for area in participation.by_region]
    return [
        charts.time_chart(
            "soutiens-dans-le-temps", _("Soutiens comptés dans le temps"),
            _over_time(series, ngettext("%(num)d soutien compté en tout.", "%(num)d soutiens comptés en tout.",
                                        participation.supports)),
            supports, headers=(_period_header(series), _("Soutiens comptés"), _("Total depuis le début"))),
        charts.bar_chart(
            "participants-par-type", _("Organisations participantes par type"),
            summary(kinds, _("Nombre d'organisations de chaque type dont les soutiens sont comptés.")),
            kinds, headers=(_("Type d'organisation"), _("Organisations"))),
        charts.bar_chart(
            "participants-par-region", _("Organisations participantes par région"),
            summary(regions, _("Nombre d'organisations de chaque région dont les soutiens sont comptés.")),
            regions, headers=(_("Région"), _("Organisations"))),
        participants_map({area.code: area.organizations for area in participation.by_departement}),
    ]


def _period_header(series: TimeSeries) -> str:
    return {"day": _("Jour"), "week": _("Semaine"), "month": _("Mois")}[series.unit]


def _period_labels(start: date, unit: str) -> tuple[str, str]:
    """How the table names a period, and the shorter name the chart's axis gives it."""
    if unit == "month":
        # Translators: Babel (CLDR) date patterns, for a month in a table and on a chart's axis.
        return format_date(start, _("MMMM y")), format_date(start, _("MMM y"))
    midnight = clock.from_paris(datetime.combine(start, time()))  # written as other dates are ("1er mars")
    # Translators: Babel (CLDR) date patterns, for a day in a table and on a chart's axis.
    day, short = paris_datetime(midnight, _("d MMMM y")), paris_datetime(midnight, _("d MMM"))
    return (_("Semaine du %(date)s", date=day) if unit == "week" else day), short


def _over_time(series: TimeSeries, total: str) -> str:
    """What a time chart shows: its total, one column per period, and the busiest period."""
    columns = {"day": _("Une colonne par jour."), "week": _("Une colonne par semaine, du lundi au dimanche."),
               "month": _("Une colonne par mois.")}[series.unit]
    if not series.periods:
        return " ".join((total, _("Aucun pour l'instant.")))
    busiest = max(series.periods, key=lambda period: sum(period.counts.values()))
    return " ".join((total, columns, _("Le plus élevé : %(label)s (%(count)d).",
                                       label=_period_labels(busiest.start, series.unit)[0],
                                       count=sum(busiest.counts.values()))))
