"""The public results of a consultation: the laureates and what was granted, every answer in the ranking by
supports, the charts, and the catalogue of laureate services with a page for each.

Nothing of the answers shows before the chair publishes them (`answers_are_public`): until then the pages
say when the results are expected.
"""

from functools import wraps

from flask import Blueprint, abort, render_template, request
from flask_babel import gettext as _, lazy_gettext as _l, ngettext

from app.committee.models import Issue
from app.committee.permissions import answers_are_public
from app.committee.views import consultation_by_slug
from app.consultations.models import Consultation, PhaseKind
from app.core import charts, clock
from app.core.page_cache import same_for_visitors
from app.extensions import db
from app.proposals.models import TerritoryTag
from app.results import queries
from app.results.forms import CatalogueFilterForm, RankingFilterForm
from app.votes.services import frozen_tally

bp = Blueprint("results", __name__, url_prefix="/consultations/<slug>/resultats")
PER_PAGE = 50


def once_published(page_title):
    """Decorate a results page: the view gets the consultation; until the chair publishes, people read under
    `page_title` (a lazy string) when the results are expected, if known, instead."""
    def decorate(view):
        @wraps(view)
        def page(slug: str):
            consultation = consultation_by_slug(slug)
            if answers_are_public(consultation):
                return view(consultation)
            phase = consultation.phase(PhaseKind.RESULTS)
            return render_template("results/unpublished.html", consultation=consultation, page_title=str(page_title),
                                   expected_at=phase.starts_at if phase else None, now=clock.now())
        return page
    return decorate


@bp.get("")
@same_for_visitors
@once_published(_l("Résultats"))
def results(consultation: Consultation):
    laureates = queries.laureates(consultation)
    granted = sum(proposal.granted_amount_cents or 0 for proposal in laureates)
    supports = queries.supports_per_issue(consultation)
    issues = [issue for issue, _count in supports if issue is not None]
    return render_template("results/results.html", consultation=consultation, laureates=laureates, granted=granted,
                           issues=issues, issue_titles={issue.id: issue.title for issue in issues},
                           tally=_tally(consultation), charts=results_charts(consultation, supports, laureates))


@bp.get("/classement")
@same_for_visitors
@once_published(_l("Classement par soutiens et réponses du comité"))
def ranking(consultation: Consultation):
    """Every listed proposal by its supports, with the committee's answer: a page of its own, the longest
    part of the results."""
    form = RankingFilterForm(request.args)
    valid = form.validate()
    ranking = queries.ranking(consultation, form.filters() if valid else queries.RankingFilters(),
                              page=(form.page.data or 1) if valid else 1, per_page=PER_PAGE)
    return render_template("results/ranking.html", consultation=consultation, ranking=ranking, form=form,
                           tally=_tally(consultation),
                           filtered=any(request.args.get(name) for name in ("kind", "reponse")))


def _tally(consultation: Consultation):
    """The frozen tally, frozen by the first visit after the support window closed (which alone commits: a
    commit expires what the page has read)."""
    tally = queries.tally_of(consultation)
    if tally is None and (tally := frozen_tally(consultation)) is not None:
        db.session.commit()
    return tally


def results_charts(consultation: Consultation, supports: list, laureates: list) -> list[charts.Chart]:
    """The four charts of the results page, each with its data table."""
    per_issue = [(issue.title if issue else _("Sans grand enjeu"), count) for issue, count in supports]
    per_theme = queries.laureates_per_theme(consultation, laureates)
    per_territory = [(TerritoryTag(tag).label if tag else _("Sans territoire particulier"), count)
                     for tag, count in queries.laureates_per_territory(laureates)]
    participants = queries.participants_per_departement(consultation)
    return [
        charts.bar_chart("soutiens-par-enjeu", _("Soutiens par grand enjeu"), summary(
            per_issue, _("Somme des soutiens des propositions de chaque grand enjeu.")),
            per_issue, headers=(_("Grand enjeu"), _("Soutiens"))),
        charts.bar_chart("laureats-par-theme", _("Lauréats par thème"), summary(
            per_theme, _("Nombre de lauréats de chaque thème ; un lauréat compte dans chacun de ses thèmes.")),
            per_theme, headers=(_("Thème"), _("Lauréats"))),
        charts.bar_chart("laureats-par-territoire", _("Lauréats par type de territoire"), summary(
            per_territory, _("Nombre de lauréats concernant chaque type de territoire ; un lauréat compte dans "
                             "chacun de ses territoires.")),
            per_territory, headers=(_("Type de territoire"), _("Lauréats"))),
        participants_map(participants),
    ]


def participants_map(participants: dict[str | None, int]) -> charts.Chart:
    """The map of the organizations whose supports count, by département (results and statistics pages)."""
    return charts.departement_map(
        "participation-par-departement", _("Organisations participantes par département"),
        ngettext("Carte de France : %(num)d organisation a donné des soutiens comptés, dans %(places)d "
                 "départements ; chaque case est un département, avec son numéro et son nombre "
                 "d'organisations, plus foncée quand il est plus élevé.",
                 "Carte de France : %(num)d organisations ont donné des soutiens comptés, dans %(places)d "
                 "départements ; chaque case est un département, avec son numéro et son nombre "
                 "d'organisations, plus foncée quand il est plus élevé.",
                 sum(participants.values()), places=sum(1 for code in participants if code)),
        participants, headers=(_("Département"), _("Organisations")))


def summary(rows: list[tuple[str, int]], what: str) -> str:
    """What a bar chart shows, and its largest bar."""
    if not any(count for _label, count in rows):
        return " ".join((what, _("Aucun pour l'instant.")))
    label, count = max(rows, key=lambda row: row[1])
    return " ".join((what, _("Le plus élevé : %(label)s (%(count)d).", label=label, count=count)))


@bp.get("/services")
@same_for_visitors
@once_published(_l("Catalogue des services lauréats"))
def catalogue(consultation: Consultation):
    services = queries.laureate_services(consultation)
    form = CatalogueFilterForm(request.args)
    form.set_choices(consultation, queries.licences_of(services))
    filters = form.filters() if form.validate() else queries.CatalogueFilters()
    return render_template("results/catalogue.html", consultation=consultation, form=form,
                           services=queries.catalogue(services, filters),
                           filtered=any(request.args.get(name) for name in ("theme", "maturity", "structure",
                                                                              "licence")))


@bp.get("/services/<int:proposal_id>")
@same_for_visitors
def service(slug: str, proposal_id: int):
    consultation = consultation_by_slug(slug)
    if not answers_are_public(consultation):
        abort(404)  # which services are laureates is not known before the publication
    proposal = queries.laureate_service(consultation, proposal_id) or abort(404)
    return render_template("results/service.html", consultation=consultation, proposal=proposal,
                           issue=db.session.get(Issue, proposal.issue_id) if proposal.issue_id else None)
