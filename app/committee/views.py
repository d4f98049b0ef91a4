"""The committee's workspace: its major issues (grands enjeux) and its list of proposals to sort into them.

Members of the committee and admins only, but for an issue's page, public once the results are.
"""

import sqlalchemy as sa
from flask import Blueprint, abort, flash, has_request_context, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user, login_required

from app.committee import evaluation, links, permissions, queries, services
from app.committee.forms import AssignForm, CommitteeFilterForm, IssueForm, issue_choices
from app.committee.models import Issue
from app.committee.queries import CommitteeFilters
from app.consultations.models import Consultation
from app.core.web import attempt, current_path
from app.extensions import db, login_manager
from app.proposals.forms import with_blank

bp = Blueprint("committee", __name__, url_prefix="/consultations/<slug>/comite")
PER_PAGE = 50


@bp.app_context_processor
def committee_helpers() -> dict:
    """On every page: the committee's predicates (links and buttons hide by the same rules) and issues, and
    for the menu the consultations on whose committee the signed-in person sits (queried when the layout asks)."""
    helpers = {"committee_rules": permissions, "committee_issues": queries.issues_of}
    if has_request_context() and current_user.is_authenticated:  # mails rendered by commands: nobody
        helpers["seated_consultations"] = lambda: queries.seated_consultations(current_user)
    return helpers


def consultation_by_slug(slug: str) -> Consultation:
    return db.first_or_404(sa.select(Consultation).where(Consultation.slug == slug))


def committee_space(slug: str) -> Consultation:
    """The consultation whose committee space this is: its members' and the admins' (403 for others)."""
    consultation = consultation_by_slug(slug)
    if not permissions.can_see_committee_space(current_user, consultation):
        abort(403)
    return consultation


def _issue(consultation: Consultation, issue_id: int) -> Issue:
    issue = db.get_or_404(Issue, issue_id)
    if issue.consultation_id != consultation.id:
        abort(404)
    return issue


def _refused(consultation: Consultation):
    """Back to the committee's home, told why, when the issues cannot be organized now; else None."""
    reason = permissions.why_not_organize_issues(current_user, consultation)
    if reason:
        flash(reason, "error")
        return redirect(url_for("committee.home", slug=consultation.slug))
    return None


@bp.get("")
@login_required
def home(slug: str):
    consultation = committee_space(slug)
    return render_template("committee/home.html", consultation=consultation, issues=queries.issues_of(consultation),
                           counts=queries.proposal_counts(consultation),
                           waiting=evaluation.waiting_for(consultation, current_user),
                           why_not=permissions.why_not_organize_issues(current_user, consultation))


@bp.route("/enjeux/nouveau", methods=["GET", "POST"])
@login_required
def new_issue(slug: str):
    consultation = committee_space(slug)
    if refusal := _refused(consultation):
        return refusal
    form = IssueForm()
    if form.validate_on_submit():
        done, issue = attempt(lambda: services.create_issue(consultation, title=form.title.data,
                                                            description=form.description.data or "", by=current_user),
                              form=form, success=_("Grand enjeu créé."))
        if done:
            return redirect(url_for("committee.issue", slug=slug, issue_id=issue.id))
    return render_template("committee/issue_form.html", consultation=consultation, issue=None, form=form)


@bp.route("/enjeux/<int:issue_id>/modifier", methods=["GET", "POST"])
@login_required
def edit_issue(slug: str, issue_id: int):
    consultation = committee_space(slug)
    issue = _issue(consultation, issue_id)
    if refusal := _refused(consultation):
        return refusal
    form = IssueForm(obj=issue if request.method == "GET" else None)
    if form.validate_on_submit():
        if attempt(lambda: services.update_issue(issue, title=form.title.data, description=form.description.data or "",
                                                 by=current_user), form=form, success=_("Grand enjeu modifié."))[0]:
            return redirect(url_for("committee.issue", slug=slug, issue_id=issue.id))
    return render_template("committee/issue_form.html", consultation=consultation, issue=issue, form=form)


@bp.post("/enjeux/<int:issue_id>/<any(monter, descendre):direction>")
@login_required
def move_issue(slug: str, issue_id: int, direction: str):
    consultation = committee_space(slug)
    issue = _issue(consultation, issue_id)
    done, rank = attempt(lambda: services.move_issue(issue, -1 if direction == "monter" else 1, by=current_user))
    if done:
        flash(_("« %(title)s » est désormais au rang %(rank)d.", title=issue.title, rank=rank), "success")
    return redirect(url_for("committee.home", slug=slug))


@bp.route("/enjeux/<int:issue_id>/supprimer", methods=["GET", "POST"])
@login_required
def delete_issue(slug: str, issue_id: int):
    consultation = committee_space(slug)
    issue = _issue(consultation, issue_id)
    if refusal := _refused(consultation):
        return refusal
    if request.method == "POST" and attempt(lambda: services.delete_issue(issue, by=current_user),
                                            success=_("Grand enjeu « %(title)s » supprimé.", title=issue.title))[0]:
        return redirect(url_for("committee.home", slug=slug))
    return render_template("committee/delete_issue.html", consultation=consultation, issue=issue,
                           count=queries.proposal_counts(consultation).get(issue.id, 0))


@bp.get("/enjeux/<int:issue_id>")
def issue(slug: str, issue_id: int):
    """An issue's page: the committee's own until the results are public."""
    consultation = consultation_by_slug(slug)
    issue = _issue(consultation, issue_id)
    if not permissions.can_see_issue(current_user, issue):
        if not current_user.is_authenticated:
            return login_manager.unauthorized()  # signing in may open it
        abort(403)
    proposals = queries.issue_proposals(issue)
    needs = [proposal for proposal in proposals if proposal.is_need]
    in_space = permissions.can_see_committee_space(current_user, consultation)
    return render_template("committee/issue.html", consultation=consultation, issue=issue, in_space=in_space,
                           needs=needs, answers=links.links_of(needs),
                           services=[proposal for proposal in proposals if not proposal.is_need],
                           key_terms=queries.key_terms(proposals),
                           organizations=queries.supporting_organizations(issue),
                           # The public is told how many organizations, not which, where the consultation
                           # names no supporter (receipts and open data do the same).
                           name_supporters=in_space or not consultation.supporters_hidden)


@bp.route("/propositions", methods=["GET", "POST"])
@login_required
def proposals(slug: str):
    """The published proposals, filtered; those ticked are put in an issue, or taken out of theirs."""
    consultation = committee_space(slug)
    issues = queries.issues_of(consultation)
    form = AssignForm()
    form.issue_id.choices = with_blank(issue_choices(issues), _l("Choisir un grand enjeu"))
    if form.validate_on_submit() and _sort(consultation, form, issues):
        return redirect(current_path())  # the same filters and page, with the proposals where they now are
    filter_form = CommitteeFilterForm(request.args)
    filter_form.set_choices(consultation, issues)
    filters, number = ((filter_form.filters(member_id=current_user.id), filter_form.page.data or 1)
                       if filter_form.validate()
                       else (CommitteeFilters(), 1))
    page = db.paginate(queries.committee_proposals(consultation, filters), page=number, per_page=PER_PAGE,
                       error_out=False)
    return render_template("committee/proposals.html", consultation=consultation, issues=issues, form=form,
                           filter_form=filter_form, page=page, issue_titles={issue.id: issue.title for issue in issues},
                           filtered=any(request.args.get(name)
                                        for name in ("issue", "kind", "theme", "evaluated", "doublon")),
                           why_not=permissions.why_not_organize_issues(current_user, consultation))


def _sort(consultation: Consultation, form: AssignForm, issues: list[Issue]) -> bool:
    """Put the ticked proposals in the chosen issue, or take them out of theirs: the button pressed says which."""
    if form.action.data == "remove":
        return attempt(lambda: services.remove_proposals(consultation, form.ids, by=current_user), form=form,
                       success=_("Propositions retirées de leur grand enjeu."))[0]
    issue = next(issue for issue in issues if str(issue.id) == form.issue_id.data)
    return attempt(lambda: services.assign_proposals(issue, form.ids, by=current_user), form=form,
                   success=_("Propositions rangées dans « %(title)s ».", title=issue.title))[0]
