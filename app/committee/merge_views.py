"""The committee's merges of proposals: choosing the originals, editing and confirming the merged proposal,
seeing a merge and undoing it. Members of the committee and admins only.

The forms live here rather than in forms.py: they serve these pages only.
"""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import AnyOf, InputRequired, Length, ValidationError

from app.committee import merging, permissions
from app.committee.views import committee_space
from app.consultations.models import Consultation
from app.core.errors import RuleViolation
from app.core.markdown import render_markdown
from app.core.web import attempt, parse_id
from app.extensions import db
from app.proposals import services as proposal_services
from app.proposals.models import Proposal

bp = Blueprint("merging", __name__, url_prefix="/consultations/<slug>/comite/fusions")
UNREADABLE = _l("Sélection illisible : revenez à la liste des propositions et cochez-les de nouveau.")


@bp.app_context_processor
def merge_helpers() -> dict:
    """A proposal's page names the originals merged into it."""
    return {"merge_origins": merging.merge_origins}


class MergeForm(FlaskForm):
    """The merged proposal as the member edits it; the originals ride along as hidden fields. `step` is the
    button pressed: check the merge, go back to editing, or confirm it."""

    proposal = SelectMultipleField(validate_choice=False)
    organization_id = RadioField(_l("Organisation qui porte la proposition fusionnée"), validate_choice=False)
    title = StringField(_l("Titre"), validators=[
        InputRequired(_l("Donnez un titre à la proposition fusionnée.")),
        Length(*proposal_services.TITLE_LENGTH, message=_l("Le titre doit compter entre %(min)d et %(max)d "
                                                           "caractères."))])
    summary = TextAreaField(_l("Résumé"), render_kw={"rows": 3}, validators=[
        InputRequired(_l("Résumez la proposition fusionnée.")),
        Length(max=proposal_services.SUMMARY_MAX, message=_l("%(max)d caractères au plus."))])
    body = TextAreaField(_l("Description"), render_kw={"rows": 16}, validators=[
        InputRequired(_l("Décrivez la proposition fusionnée.")),
        Length(max=proposal_services.BODY_MAX, message=_l("%(max)d caractères au plus."))])
    step = StringField(validators=[AnyOf(("review", "edit", "confirm"), message=_l("Action inconnue."))])

    def validate_organization_id(self, field) -> None:
        if field.data not in {value for value, _label in field.choices}:
            raise ValidationError(_l("Choisissez l'organisation qui portera la proposition fusionnée."))


def _selection() -> list[int | None]:
    """The ids of the originals: posted by this page's forms, or in the address (`?proposal=1&proposal=2`)."""
    values = request.form.getlist("proposal") if request.method == "POST" else request.args.getlist("proposal")
    return [parse_id(value) for value in values]


def _refused(consultation: Consultation, target: str):
    """Sent to `target`, told why, when merges cannot be made or undone now; else None."""
    reason = permissions.why_not_merge(current_user, consultation)
    if reason:
        flash(reason, "error")
        return redirect(target)
    return None


def _merged(consultation: Consultation, proposal_id: int) -> Proposal:
    """A proposal made by a merge in this consultation, or 404."""
    proposal = db.get_or_404(Proposal, proposal_id)
    if proposal.consultation_id != consultation.id or proposal.merged_at is None:
        abort(404)
    return proposal


@bp.get("")
@login_required
def index(slug: str):
    consultation = committee_space(slug)
    return render_template("committee/merge_index.html", consultation=consultation,
                           merges=merging.merges_of(consultation),
                           why_not=permissions.why_not_merge(current_user, consultation))


@bp.post("/selection")
@login_required
def select(slug: str):
    """The proposals ticked in the committee's list, sent on to the merge page's address."""
    consultation = committee_space(slug)
    return redirect(url_for(".new", slug=consultation.slug, proposal=request.form.getlist("proposal_ids")))


@bp.route("/nouvelle", methods=["GET", "POST"])
@login_required
def new(slug: str):
    consultation = committee_space(slug)
    if refusal := _refused(consultation, url_for("committee.proposals", slug=slug)):
        return refusal
    ids = _selection()
    try:
        if None in ids:
            raise RuleViolation(str(UNREADABLE))
        plan = merging.plan_merge(consultation, ids, by=current_user)
    except RuleViolation as refusal:
        return render_template("committee/merge_new.html", consultation=consultation, plan=None, form=None,
                               refusal=str(refusal))
    form = MergeForm(formdata=request.form if request.method == "POST" else None)
    form.organization_id.choices = [(str(organization.id), organization.name) for organization in plan.carriers]
    if request.method == "GET":
        draft = merging.prefill(plan)
        form.process(data={"proposal": [str(proposal.id) for proposal in plan.originals], "title": draft.title,
                           "summary": draft.summary, "body": draft.body,
                           "organization_id": str(draft.organization_id)})
    elif form.validate_on_submit():
        if form.step.data == "review":  # the confirmation step: what the merge will give, nothing written yet
            return render_template("committee/merge_confirm.html", consultation=consultation, plan=plan, form=form,
                                   body_html=render_markdown(form.body.data),
                                   carrier=next(organization for organization in plan.carriers
                                                if str(organization.id) == form.organization_id.data))
        if form.step.data == "confirm":
            done, merged = attempt(lambda: merging.merge_proposals(
                consultation, ids, organization_id=int(form.organization_id.data), title=form.title.data,
                summary=form.summary.data, body=form.body.data, by=current_user), form=form,
                success=_("Propositions fusionnées : leurs organisations en sont informées par courriel."))
            if done:
                return redirect(url_for(".detail", slug=slug, proposal_id=merged.id))
    return render_template("committee/merge_new.html", consultation=consultation, plan=plan, form=form,
                           refusal=None)


@bp.get("/<int:proposal_id>")
@login_required
def detail(slug: str, proposal_id: int):
    """A merge as the committee sees it: the merged proposal, its originals, their supports and the union."""
    consultation = committee_space(slug)
    merged = _merged(consultation, proposal_id)
    return render_template("committee/merge_detail.html", consultation=consultation, merged=merged,
                           plan=merging.merge_plan_of(merged),
                           why_not=permissions.why_not_merge(current_user, consultation))


@bp.route("/<int:proposal_id>/defaire", methods=["GET", "POST"])
@login_required
def unmerge(slug: str, proposal_id: int):
    consultation = committee_space(slug)
    merged = _merged(consultation, proposal_id)
    if refusal := _refused(consultation, url_for(".detail", slug=slug, proposal_id=merged.id)):
        return refusal
    if request.method == "POST":
        title = merged.title
        if attempt(lambda: merging.unmerge(merged, by=current_user),
                   success=_("Fusion « %(title)s » défaite : les propositions d'origine sont de nouveau listées.",
                             title=title))[0]:
            return redirect(url_for(".index", slug=slug))
        return redirect(url_for(".unmerge", slug=slug, proposal_id=proposal_id))
    return render_template("committee/merge_unmerge.html", consultation=consultation, merged=merged,
                           plan=merging.merge_plan_of(merged), why_not=merging.why_not_unmerge(merged))
