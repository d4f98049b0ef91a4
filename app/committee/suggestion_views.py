"""The committee's suggested issues ("Proposer des enjeux"): asking for a suggestion, reading it once the job
has computed it, reworking its clusters, accepting them, and the likely duplicates it lists.

Members of the committee and admins only. Pages read the stored draft: nothing here imports the clustering
engine (scikit-learn), which only the job runs.
"""

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import format_percent, gettext as _, lazy_gettext as _l, ngettext
from flask_login import current_user, login_required
from flask_sqlalchemy.pagination import Pagination
from wtforms.fields.choices import SelectChoice

from app.committee import permissions, queries
from app.committee.models import ClusterSuggestion
from app.committee.suggestion_forms import MOVE, AcceptForm, MergeForm, RenameForm, RequestForm, SortForm
from app.committee.suggestions import (accept_clusters, computation_failed, current_draft, drop_proposals,
                                       merge_clusters, move_proposals, rename_cluster, request_suggestion)
from app.committee.views import committee_space
from app.consultations.models import Consultation
from app.core.web import attempt, page_argument, safe_next_url
from app.extensions import db
from app.proposals.forms import with_blank
from app.proposals.models import Proposal
from app.proposals.search import is_listed

bp = Blueprint("suggestions", __name__, url_prefix="/consultations/<slug>/comite/suggestion")
PER_PAGE = 100
DUPLICATES_PER_PAGE = 50


def merge_url(slug: str, first: int, second: int) -> str:
    """The page that merges the two proposals of a likely duplicate (app/committee/merge_views.py)."""
    return url_for("merging.new", slug=slug, proposal=[first, second])


@bp.context_processor
def helpers() -> dict:
    return {"percent": lambda score: format_percent(score), "merge_url": merge_url}


class ListPagination(Pagination):
    """Pages of a list already in memory (a cluster's proposals, the duplicates), for the pagination macro."""

    def _query_items(self) -> list:
        start = (self.page - 1) * self.per_page
        return self._query_args["items"][start:start + self.per_page]

    def _query_count(self) -> int:
        return len(self._query_args["items"])


def _facts(consultation: Consultation) -> dict[int, sa.Row]:
    """Title, issue and whether still listed, of every proposal of the consultation, in one query (a draft
    names thousands: no IN list)."""
    rows = db.session.execute(sa.select(Proposal.id, Proposal.title, Proposal.issue_id, is_listed().label("is_listed"))
                              .where(Proposal.consultation_id == consultation.id))
    return {row.id: row for row in rows}


def _refused(consultation: Consultation):
    """Back to the suggestion, told why, when the member cannot work on it now; else None."""
    reason = permissions.why_not_cluster(current_user, consultation)
    if reason:
        flash(reason, "error")
        return redirect(url_for(".show", slug=consultation.slug))
    return None


NOT_COMPUTED = _l("La suggestion n'est pas encore calculée.")


def _computed_draft(consultation: Consultation, missing=NOT_COMPUTED) -> ClusterSuggestion:
    """The draft, computed; without one, back to the suggestion's page, told `missing`."""
    draft = current_draft(consultation)
    if draft is None or draft.content is None:
        abort(_back(consultation, str(missing)))
    return draft


def _find(draft: ClusterSuggestion, number: int) -> dict | None:
    return next((cluster for cluster in draft.content["clusters"] if cluster["number"] == number), None)


def _back(consultation: Consultation, message: str):
    flash(message, "error")
    return redirect(url_for(".show", slug=consultation.slug))


@bp.get("")
@login_required
def show(slug: str):
    consultation = committee_space(slug)
    return _show(consultation, current_draft(consultation))


def _show(consultation: Consultation, draft: ClusterSuggestion | None, *, request_form: RequestForm | None = None,
          accept_form: AcceptForm | None = None):
    if request_form is None:  # the last request's inputs
        request_form = RequestForm(data={"clusters": draft.n_clusters,
                                         "threshold": round(draft.duplicate_threshold * 100)} if draft else None)
    accept_form = accept_form or AcceptForm()
    for form in (request_form, accept_form):
        form.version.data = str(draft.version) if draft else ""
    content = draft.content if draft else None
    facts = _facts(consultation) if content else {}
    in_issue = {id_ for id_, row in facts.items() if row.issue_id is not None}
    return render_template("committee/suggestion.html", consultation=consultation, draft=draft, content=content,
                           failed=draft is not None and computation_failed(draft),
                           request_form=request_form, accept_form=accept_form, facts=facts,
                           assigned_counts={cluster["number"]: len(in_issue.intersection(cluster["proposal_ids"]))
                                            for cluster in (content or {}).get("clusters", [])},
                           issue_titles={issue.id: issue.title for issue in queries.issues_of(consultation)},
                           why_not=permissions.why_not_cluster(current_user, consultation),
                           why_not_accept=permissions.why_not_organize_issues(current_user, consultation))


@bp.post("")
@login_required
def ask(slug: str):
    consultation = committee_space(slug)
    if refusal := _refused(consultation):
        return refusal
    form = RequestForm()
    if form.validate_on_submit():
        threshold = form.threshold.data / 100
        if attempt(lambda: request_suggestion(consultation, n_clusters=form.clusters.data, threshold=threshold,
                                              version=form.seen, by=current_user), form=form,
                   success=_("Suggestion demandée : elle se calcule en quelques secondes à quelques minutes."))[0]:
            return redirect(url_for(".show", slug=slug))
    return _show(consultation, current_draft(consultation), request_form=form)


@bp.post("/accepter")
@login_required
def accept(slug: str):
    consultation = committee_space(slug)
    if refusal := _refused(consultation):
        return refusal
    draft = _computed_draft(consultation)
    form = AcceptForm()
    if form.validate_on_submit():
        done, issues = attempt(lambda: accept_clusters(draft, form.chosen, move_assigned=form.assigned.data == MOVE,
                                                       version=form.seen, by=current_user), form=form)
        if done:
            flash(ngettext("Grand enjeu créé : %(titles)s.", "%(num)d grands enjeux créés : %(titles)s.", len(issues),
                           titles=", ".join(f"« {issue.title} »" for issue in issues)), "success")
            return redirect(url_for(".show", slug=slug))
    return _show(consultation, current_draft(consultation), accept_form=form)


@bp.get("/groupes/<int:number>")
@login_required
def cluster(slug: str, number: int):
    consultation = committee_space(slug)
    draft = _computed_draft(consultation)
    return _show_cluster(consultation, draft, number)


def _show_cluster(consultation: Consultation, draft: ClusterSuggestion, number: int, *,
                  rename_form: RenameForm | None = None, sort_form: SortForm | None = None,
                  merge_form: MergeForm | None = None):
    found = _find(draft, number)
    if found is None:
        return _back(consultation, _("Ce groupe n'existe plus dans la suggestion : il a été fusionné avec un autre."))
    rename_form = rename_form or RenameForm(data={"name": found["name"]})
    sort_form, merge_form = sort_form or SortForm(), merge_form or MergeForm()
    others = [SelectChoice(str(other["number"]), other["name"]) for other in draft.content["clusters"]
              if other["number"] != number and other["issue_id"] is None]
    sort_form.target.choices = with_blank(others, _l("Choisir un groupe"))
    merge_form.other.choices = with_blank(others, _l("Choisir un groupe"))
    accept_form = AcceptForm()
    for form in (rename_form, sort_form, merge_form, accept_form):
        form.version.data = str(draft.version)
    scores = found["scores"]
    ordered = sorted(found["proposal_ids"], key=lambda id_: (-scores.get(str(id_), -2), id_))
    return render_template("committee/suggestion_cluster.html", consultation=consultation, draft=draft,
                           cluster=found, rename_form=rename_form, sort_form=sort_form, merge_form=merge_form,
                           accept_form=accept_form,
                           has_others=bool(others), facts=_facts(consultation),
                           page=ListPagination(items=ordered, page=page_argument(), per_page=PER_PAGE,
                                               error_out=False),
                           issue_titles={issue.id: issue.title for issue in queries.issues_of(consultation)},
                           why_not=permissions.why_not_cluster(current_user, consultation),
                           why_not_accept=permissions.why_not_organize_issues(current_user, consultation))


def _change(slug: str, number: int, form_class, kept_as: str, change, success: str):
    """A change of cluster `number` through a form of `form_class`: done and back where the member was, or the
    cluster's page again with what they typed or ticked, and the reason."""
    consultation = committee_space(slug)
    if refusal := _refused(consultation):
        return refusal
    draft = _computed_draft(consultation)
    form = form_class()
    if form_class.cluster_field:  # any cluster of the draft: the service says why one cannot be chosen
        form[form_class.cluster_field].choices = [SelectChoice(str(other["number"]), other["name"])
                                                  for other in draft.content["clusters"]]
    if form.validate_on_submit() and attempt(lambda: change(draft, form), form=form, success=success)[0]:
        return redirect(safe_next_url() or url_for(".cluster", slug=slug, number=number))
    draft = _computed_draft(consultation, _l("Cette suggestion a été remplacée par une nouvelle demande."))
    return _show_cluster(consultation, draft, number, **{kept_as: form})


@bp.post("/groupes/<int:number>/nom")
@login_required
def rename(slug: str, number: int):
    return _change(slug, number, RenameForm, "rename_form",
                   lambda draft, form: rename_cluster(draft, number, form.name.data, version=form.seen,
                                                      by=current_user),
                   _("Groupe renommé."))


@bp.post("/groupes/<int:number>/propositions")
@login_required
def sort(slug: str, number: int):
    def change(draft, form):
        if form.action.data == "drop":
            return drop_proposals(draft, number, form.ids, version=form.seen, by=current_user)
        return move_proposals(draft, number, form.ids, int(form.target.data), version=form.seen, by=current_user)

    return _change(slug, number, SortForm, "sort_form", change, _("Suggestion modifiée."))


@bp.post("/groupes/<int:number>/fusion")
@login_required
def merge(slug: str, number: int):
    return _change(slug, number, MergeForm, "merge_form",
                   lambda draft, form: merge_clusters(draft, number, int(form.other.data), version=form.seen,
                                                      by=current_user),
                   _("Groupes réunis."))


@bp.get("/doublons")
@login_required
def duplicates(slug: str):
    consultation = committee_space(slug)
    draft = _computed_draft(consultation)
    return render_template("committee/suggestion_duplicates.html", consultation=consultation, draft=draft,
                           page=ListPagination(items=draft.content["duplicates"], page=page_argument(),
                                               per_page=DUPLICATES_PER_PAGE, error_out=False),
                           facts=_facts(consultation),
                           issue_titles={issue.id: issue.title for issue in queries.issues_of(consultation)})
