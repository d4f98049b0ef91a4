"""Decision support pages: the rankings of the proposals under consideration (by supports, by score, by a weighted
mix) and the comparison of the budget rules. Members of the committee and admins, once supports are closed.

Both pages only read, through GET parameters: a ranking or a mix weight is shareable as a link and works without
JavaScript. The committee's weight is not stored (a setting would need a column and a migration): the link is
what keeps it. The forms live here: they serve these pages only.
"""

from flask import Blueprint, render_template, request
from flask_babel import format_decimal, gettext as _, lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import NumberRange, Optional

from app.committee import permissions, queries, selection
from app.committee.forms import WITHOUT_ISSUE, issue_choices
from app.committee.suggestion_views import ListPagination
from app.committee.views import committee_space
from app.core.forms import enum_choices
from app.proposals.forms import with_blank
from app.proposals.models import ProposalKind

bp = Blueprint("selection", __name__, url_prefix="/consultations/<slug>/comite/selection")
PER_PAGE = 50
COMPUTE, SKIP = "oui", "non"  # the completion parameter's values


@bp.app_template_filter("mix")
def mix_filter(value) -> str:
    """A mixed value (an exact fraction from 0 to 1) shown out of 100, to one decimal."""
    return format_decimal(round(float(value) * 100, 1), format="0.#")


@bp.app_template_filter("duration")
def duration_filter(seconds: float) -> str:
    """A computing time as people read it: milliseconds under a second, else seconds."""
    if seconds < 1:
        return _("%(ms)s ms", ms=format_decimal(round(seconds * 1000, 1), format="0.#"))
    return _("%(seconds)s s", seconds=format_decimal(round(seconds, 2), format="0.##"))


class SelectionFilterForm(FlaskForm):
    """Which proposals a page considers, read from the query string."""

    class Meta:
        csrf = False

    issue = SelectField(_l("Grand enjeu"), validators=[Optional()])
    kind = SelectField(_l("Type"), choices=with_blank(enum_choices(ProposalKind), _l("Besoins et services")),
                       validators=[Optional()])
    page = IntegerField(_l("Page"), validators=[
        Optional(), NumberRange(min=1, max=100_000, message=_l("Le numéro de page doit être un entier positif."))])

    def set_choices(self, issues) -> None:
        self.issue.choices = [SelectChoice("", _l("Tous")), SelectChoice(WITHOUT_ISSUE, _l("Sans grand enjeu")),
                              *issue_choices(issues)]

    def value(self, name: str, default=None):
        """A field's value, or `default` when it is empty or wrong (its error is shown; the page still answers)."""
        field = self[name]
        return default if field.errors or field.data in (None, "") else field.data

    def filters(self) -> selection.Filters:
        issue = self.value("issue", "")
        return selection.Filters(issue_id=int(issue) if issue.isdigit() else None,
                                 without_issue=issue == WITHOUT_ISSUE, kind=self.value("kind"))


class RankingForm(SelectionFilterForm):
    ranking = SelectField(_l("Classement"), name="classement", default=selection.BY_SUPPORTS,
                          choices=[SelectChoice(key, label) for key, label in selection.RANKINGS.items()],
                          validators=[Optional()])
    weight = IntegerField(_l("Poids des soutiens dans le classement mixte, en %"), name="poids",
                          default=selection.DEFAULT_WEIGHT, validators=[
                              Optional(), NumberRange(min=0, max=100, message=_l(
                                  "Le poids des soutiens est un nombre entier de 0 à 100."))])


class RulesForm(SelectionFilterForm):
    completion = SelectField(_l("Variantes avec complétion"), validators=[Optional()], choices=[
        SelectChoice("", _l("Selon la taille : calculées jusqu'à %(num)d propositions chiffrées",
                            num=selection.COMPLETION_LIMIT)),
        SelectChoice(COMPUTE, _l("Calculer")), SelectChoice(SKIP, _l("Ne pas calculer"))])


def _form(form_class, consultation) -> SelectionFilterForm:
    form = form_class(request.args)
    form.set_choices(queries.issues_of(consultation))
    form.validate()
    return form


@bp.get("")
@login_required
def rankings(slug: str):
    consultation = committee_space(slug)
    form = _form(RankingForm, consultation)
    why_not = permissions.why_not_see_decision_support(current_user, consultation)
    context = {"consultation": consultation, "form": form, "why_not": why_not, "rankings": selection.RANKINGS}
    if why_not:
        return render_template("committee/selection_rankings.html", **context)
    ranking = form.value("ranking", selection.BY_SUPPORTS)
    weight = form.value("weight", selection.DEFAULT_WEIGHT)
    rows = selection.ranking(consultation, ranking, weight_percent=weight, filters=form.filters())
    return render_template("committee/selection_rankings.html", **context, ranking=ranking, weight=weight,
                           rows=rows, page=ListPagination(items=rows, page=form.value("page", 1),
                                                          per_page=PER_PAGE, error_out=False),
                           filtered=any(request.args.get(name) for name in ("issue", "kind")))


@bp.get("/regles")
@login_required
def rules(slug: str):
    consultation = committee_space(slug)
    form = _form(RulesForm, consultation)
    why_not = permissions.why_not_see_decision_support(current_user, consultation)
    context = {"consultation": consultation, "form": form, "why_not": why_not}
    if why_not:
        return render_template("committee/selection_rules.html", **context)
    filters = form.filters()
    candidates = [candidate for candidate in selection.under_consideration(consultation) if filters.keep(candidate)]
    comparison = selection.compare_rules(candidates, consultation.budget_envelope_cents,
                                         completion={COMPUTE: True, SKIP: False}.get(form.value("completion")))
    return render_template("committee/selection_rules.html", **context, results=comparison.results,
                           voters=comparison.voters, comparison=comparison,
                           limit=selection.COMPLETION_LIMIT,
                           by_id={candidate.id: candidate for candidate in candidates},
                           page=ListPagination(items=selection.compared(candidates, comparison.results),
                                               page=form.value("page", 1), per_page=PER_PAGE, error_out=False),
                           reasons=selection.REASONS, completion_text=selection.COMPLETION_TEXT,
                           filtered=any(request.args.get(name) for name in ("issue", "kind", "completion")))
