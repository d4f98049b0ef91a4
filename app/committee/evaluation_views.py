"""The committee's evaluation pages: the grid (with bulk assignment to evaluators), one proposal to score with
its private notes, the member's seat (declared conflicts of interest), and the criteria.

Members of the committee and admins only; admins see everything but score only if they sit on the committee.
"""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import format_decimal, gettext as _, lazy_gettext as _l
from flask_login import current_user, login_required
from wtforms.fields.choices import SelectChoice

from app.accounts.models import User
from app.committee import evaluation, permissions, queries
from app.committee.evaluation_forms import (ConflictForm, EvaluatorForm, GridFilterForm, NoteForm, criteria_form,
                                            score_form)
from app.committee.forms import WITHOUT_ISSUE
from app.committee.views import committee_space
from app.consultations.models import Consultation
from app.core.web import attempt, current_path
from app.extensions import db
from app.proposals.forms import with_blank
from app.proposals.models import Proposal, ProposalState

bp = Blueprint("evaluation", __name__, url_prefix="/consultations/<slug>/comite/evaluation")
PER_PAGE = 50


@bp.app_template_filter("score")
def score_filter(value) -> str:
    """A weighted score or mean (an exact fraction) shown to two decimals, as people read marks."""
    return "—" if value is None else format_decimal(round(float(value), 2), format="0.##")


def _proposal(consultation: Consultation, proposal_id: int) -> Proposal:
    """A published proposal of the consultation (drafts and withdrawn ones are not the committee's)."""
    proposal = db.get_or_404(Proposal, proposal_id)
    if proposal.consultation_id != consultation.id or proposal.state != ProposalState.PUBLISHED:
        abort(404)
    return proposal


def _seat_or_403(consultation: Consultation):
    seat = permissions.committee_seat(consultation, current_user)
    if seat is None:
        abort(403)
    return seat


@bp.route("", methods=["GET", "POST"])
@login_required
def grid(slug: str):
    """Each proposal's scores by member, weighted mean, spread and who has not scored it yet; ticked
    proposals are given to an evaluator, or taken back."""
    consultation = committee_space(slug)
    issues = queries.issues_of(consultation)
    members = [seat.user for seat in consultation.committee_seats]
    form = EvaluatorForm()
    form.evaluator_id.choices = with_blank([SelectChoice(str(member.id), member.name) for member in members],
                                           _l("Choisir un membre du comité"))
    if form.validate_on_submit() and _assign(consultation, form, members):
        return redirect(current_path())
    filter_form = GridFilterForm(request.args)
    filter_form.set_choices(issues)
    valid = filter_form.validate()
    issue = filter_form.issue.data if valid else ""
    statement = evaluation.grid_proposals(
        consultation, issue_id=int(issue) if issue and issue.isdigit() else None, without_issue=issue == WITHOUT_ISSUE,
        assigned_to=current_user.id if valid and filter_form.mine.data else None)
    page = db.paginate(statement, page=(filter_form.page.data or 1) if valid else 1, per_page=PER_PAGE,
                       error_out=False)
    ids = [proposal.id for proposal in page.items]
    return render_template("committee/evaluation_grid.html", consultation=consultation, members=members,
                           page=page, form=form, filter_form=filter_form,
                           evaluations=evaluation.evaluations(consultation, ids),
                           assigned=evaluation.assignments_of(ids),
                           filtered=any(request.args.get(name) for name in ("issue", "mine")),
                           why_not=permissions.why_not_evaluation_work(current_user, consultation))


def _assign(consultation: Consultation, form: EvaluatorForm, members: list[User]) -> bool:
    evaluator = next(member for member in members if str(member.id) == form.evaluator_id.data)
    if form.action.data == "remove":
        return attempt(lambda: evaluation.unassign_evaluator(consultation, form.ids, evaluator, by=current_user),
                       form=form, success=_("Propositions retirées à %(name)s.", name=evaluator.name))[0]
    return attempt(lambda: evaluation.assign_evaluator(consultation, form.ids, evaluator, by=current_user),
                   form=form, success=_("Propositions attribuées à %(name)s.", name=evaluator.name))[0]


@bp.route("/propositions/<int:proposal_id>", methods=["GET", "POST"])
@login_required
def proposal(slug: str, proposal_id: int):
    """One proposal to evaluate: the member's scores on every criterion at once, the others', the notes."""
    consultation = committee_space(slug)
    proposal = _proposal(consultation, proposal_id)
    criteria = evaluation.criteria_of(consultation)
    scores = evaluation.scores_of(proposal)
    form = score_form(criteria, scores.get(current_user.id))
    if request.method == "POST" and form.validate() and attempt(
            lambda: evaluation.score_proposal(proposal, form.values(), by=current_user), form=form,
            success=_("Vos notes sont enregistrées."))[0]:
        return redirect(url_for("evaluation.proposal", slug=slug, proposal_id=proposal.id))
    return _proposal_page(consultation, proposal, criteria, scores, form, NoteForm(formdata=None))


@bp.post("/propositions/<int:proposal_id>/notes")
@login_required
def note(slug: str, proposal_id: int):
    """A private note on the proposal, or a reply to one."""
    consultation = committee_space(slug)
    proposal = _proposal(consultation, proposal_id)
    if reason := permissions.why_not_evaluation_work(current_user, consultation):
        flash(reason, "error")
        return redirect(url_for("evaluation.proposal", slug=slug, proposal_id=proposal.id))
    form = NoteForm()
    if form.validate() and attempt(lambda: evaluation.add_note(proposal, form.body.data, parent_id=form.parent,
                                                               by=current_user),
                                   form=form, success=_("Note ajoutée."))[0]:
        return redirect(url_for("evaluation.proposal", slug=slug, proposal_id=proposal.id, _anchor="notes"))
    criteria = evaluation.criteria_of(consultation)
    scores = evaluation.scores_of(proposal)
    return _proposal_page(consultation, proposal, criteria, scores, score_form(criteria, scores.get(current_user.id)),
                          form)


def _proposal_page(consultation, proposal, criteria, scores, form, note_form):
    members = [seat.user for seat in consultation.committee_seats]
    return render_template("committee/evaluation_proposal.html", consultation=consultation, proposal=proposal,
                           criteria=criteria, scores=scores, form=form, note_form=note_form, members=members,
                           result=evaluation.evaluations(consultation, [proposal.id])[proposal.id],
                           assigned=evaluation.assigned_evaluators(proposal), threads=evaluation.notes_of(proposal),
                           why_not_score=permissions.why_not_score(current_user, proposal),
                           why_not_note=permissions.why_not_evaluation_work(current_user, consultation),
                           seated=permissions.is_committee_member(current_user, consultation))


@bp.route("/mon-siege", methods=["GET", "POST"])
@login_required
def seat(slug: str):
    """The member's own seat: the conflicts of interest they declare, and those their organizations make."""
    consultation = committee_space(slug)
    seat = _seat_or_403(consultation)
    declared = evaluation.declared_conflicts(seat)
    form = ConflictForm(data={"proposal_id": request.args.get("proposition", "")})
    taken = {declaration.proposal_id for declaration in declared}
    candidates = [proposal for proposal in db.session.scalars(evaluation.grid_proposals(consultation))
                  if proposal.id not in taken]
    form.proposal_id.choices = with_blank([SelectChoice(str(proposal.id), proposal.title) for proposal in candidates],
                                          _l("Choisir une proposition"))
    if form.validate_on_submit():
        proposal = next(proposal for proposal in candidates if str(proposal.id) == form.proposal_id.data)
        if attempt(lambda: evaluation.declare_conflict(proposal, form.reason.data, by=current_user), form=form,
                   success=_("Conflit d'intérêts déclaré avec « %(title)s ».", title=proposal.title))[0]:
            return redirect(url_for("evaluation.seat", slug=slug))
    memberships = [membership for membership in current_user.memberships if membership.is_verified]
    return render_template("committee/evaluation_seat.html", consultation=consultation, seat=seat, form=form,
                           declared=declared, memberships=memberships)


@bp.post("/mon-siege/conflits/<int:proposal_id>/retirer")
@login_required
def withdraw_conflict(slug: str, proposal_id: int):
    consultation = committee_space(slug)
    _seat_or_403(consultation)
    proposal = _proposal(consultation, proposal_id)
    attempt(lambda: evaluation.withdraw_conflict(proposal, by=current_user),
            success=_("Conflit d'intérêts retiré pour « %(title)s ».", title=proposal.title))
    return redirect(url_for("evaluation.seat", slug=slug))


@bp.route("/criteres", methods=["GET", "POST"])
@login_required
def criteria(slug: str):
    """The criteria and their weights, editable until the first score."""
    consultation = committee_space(slug)
    criteria = evaluation.criteria_of(consultation)
    why_not = permissions.why_not_edit_criteria(current_user, consultation, evaluation.evaluation_started(consultation))
    form = criteria_form(criteria)
    if not why_not and form.validate_on_submit() and attempt(
            lambda: evaluation.update_criteria(consultation, form.rows(), by=current_user), form=form,
            success=_("Critères enregistrés."))[0]:
        return redirect(url_for("evaluation.criteria", slug=slug))
    if why_not and request.method == "POST":
        flash(why_not, "error")
    return render_template("committee/evaluation_criteria.html", consultation=consultation, criteria=criteria,
                           form=form, why_not=why_not, total=sum(criterion.weight for criterion in criteria))

