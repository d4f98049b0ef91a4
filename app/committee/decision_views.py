"""The committee's decisions and answers: the list of proposals to answer (and those still lacking an answer),
one proposal's decision and answer, the answer templates and their application in bulk, and the publication
by the chair. Members of the committee and admins only.

The forms live here rather than in forms.py: they serve these pages only.
"""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l, ngettext
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import PasswordField, RadioField, SelectMultipleField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from app.accounts.views import password_entry_limits
from app.committee import decisions, permissions
from app.committee.views import committee_space
from app.consultations.models import Consultation
from app.core.forms import EurosField, enum_choices
from app.core.web import attempt, parse_id
from app.extensions import db
from app.proposals.models import AnswerState, Proposal

bp = Blueprint("decisions", __name__, url_prefix="/consultations/<slug>/comite/decisions")


@bp.record_once
def _public_answer_helper(state) -> None:
    """Public pages read the committee's answer through one function, also inside imported macros (cards)."""
    state.app.jinja_env.globals["public_answer"] = permissions.public_answer


class DecisionForm(FlaskForm):
    state = RadioField(_l("Décision"), choices=enum_choices(AnswerState, only=decisions.DECIDED_STATES),
                       validators=[InputRequired(_l("Choisissez l'état de la réponse."))])
    granted_amount = EurosField(_l("Montant accordé (lauréates)"), validators=[Optional()])
    reason = TextAreaField(_l("Motif de la décision"), render_kw={"rows": 3}, validators=[
        Length(max=decisions.REASON_MAX, message=_l("%(max)d caractères au plus."))])
    answer_text = TextAreaField(_l("Réponse publique"), render_kw={"rows": 8}, validators=[
        Length(max=decisions.ANSWER_MAX, message=_l("%(max)d caractères au plus."))])


class TemplatesForm(FlaskForm):
    evaluating = TextAreaField(_l("Modèle « En cours d'évaluation »"), render_kw={"rows": 5}, validators=[
        Length(max=decisions.TEMPLATE_MAX, message=_l("%(max)d caractères au plus."))])
    laureate = TextAreaField(_l("Modèle « Lauréate »"), render_kw={"rows": 5}, validators=[
        Length(max=decisions.TEMPLATE_MAX, message=_l("%(max)d caractères au plus."))])
    not_retained = TextAreaField(_l("Modèle « Non retenue »"), render_kw={"rows": 5}, validators=[
        Length(max=decisions.TEMPLATE_MAX, message=_l("%(max)d caractères au plus."))])


class ApplyForm(FlaskForm):
    proposal_ids = SelectMultipleField(validate_choice=False)


class PublishForm(FlaskForm):
    current_password = PasswordField(_l("Votre mot de passe"), validators=[
        InputRequired(_l("Saisissez de nouveau votre mot de passe pour publier."))])


def _proposal(consultation: Consultation, proposal_id: int) -> Proposal:
    proposal = db.get_or_404(Proposal, proposal_id)
    if proposal.consultation_id != consultation.id:
        abort(404)
    return proposal


def _index_page(consultation: Consultation, apply_form: ApplyForm, status: int = 200):
    state = request.args.get("etat")
    state = state if state in decisions.DECIDED_STATES or state == AnswerState.NOT_ANSWERED else None
    missing = request.args.get("manque") == "1"
    return render_template(
        "committee/decision_index.html", consultation=consultation, form=apply_form, state=state, missing=missing,
        proposals=decisions.proposals_to_answer(consultation, state=state, missing_only=missing),
        envelope=decisions.envelope_of(consultation), readiness=decisions.readiness(consultation),
        states=AnswerState.choices(), why_not=permissions.why_not_decide(current_user, consultation),
        why_not_publish=permissions.why_not_publish_results(current_user, consultation)), status


@bp.get("")
@login_required
def index(slug: str):
    return _index_page(committee_space(slug), ApplyForm())


@bp.post("/appliquer")
@login_required
def apply_templates(slug: str):
    """The state's template written to each ticked proposal."""
    consultation = committee_space(slug)
    if why_not := permissions.why_not_decide(current_user, consultation):
        flash(why_not, "error")
        return redirect(url_for(".index", slug=slug))
    form = ApplyForm()
    if form.validate_on_submit():
        ids = [parse_id(value) for value in form.proposal_ids.data or []]
        if None in ids:
            form.proposal_ids.errors = [_("Sélection illisible : cochez de nouveau les propositions.")]
        else:
            done, applied = attempt(lambda: decisions.apply_templates(consultation, ids, by=current_user), form=form)
            if done:
                flash(ngettext("Modèle appliqué à %(num)d proposition : relisez sa réponse.",
                               "Modèles appliqués à %(num)d propositions : relisez chaque réponse.", len(applied)),
                      "success")
                return redirect(url_for(".index", slug=slug))
    return _index_page(consultation, form, 400 if form.errors else 200)


@bp.route("/<int:proposal_id>", methods=["GET", "POST"])
@login_required
def decide(slug: str, proposal_id: int):
    """One proposal's decision (state, amount, reason) and public answer, saved together."""
    consultation = committee_space(slug)
    proposal = _proposal(consultation, proposal_id)
    why_not = permissions.why_not_decide(current_user, consultation)
    form = DecisionForm()
    if request.method == "GET":
        form.state.data = proposal.answer_state if proposal.answer_state in decisions.DECIDED_STATES else None
        form.granted_amount.set_cents(proposal.granted_amount_cents)
        form.reason.data, form.answer_text.data = proposal.decision_reason or "", proposal.answer_text or ""
    elif why_not:
        flash(why_not, "error")
    elif form.validate_on_submit():
        def save():
            decisions.decide(proposal, state=form.state.data, granted_amount_cents=form.granted_amount.cents,
                             reason=form.reason.data, by=current_user)
            decisions.write_answer(proposal, form.answer_text.data, by=current_user)
        if attempt(save, form=form, success=_("Décision et réponse enregistrées."))[0]:
            return redirect(url_for(".index", slug=slug, _anchor=f"proposition-{proposal.id}"))
    return render_template("committee/decision_proposal.html", consultation=consultation, proposal=proposal,
                           form=form, why_not=why_not, envelope=decisions.envelope_of(consultation))


@bp.route("/modeles", methods=["GET", "POST"])
@login_required
def templates(slug: str):
    consultation = committee_space(slug)
    why_not = permissions.why_not_decide(current_user, consultation)
    form = TemplatesForm(data=decisions.templates_of(consultation) if request.method == "GET" else None)
    if request.method == "POST" and why_not:
        flash(why_not, "error")
    elif form.validate_on_submit():
        def save():
            for state in decisions.DECIDED_STATES:
                decisions.save_template(consultation, state, form[state].data, by=current_user)
        if attempt(save, form=form, success=_("Modèles de réponse enregistrés."))[0]:
            return redirect(url_for(".templates", slug=slug))
    return render_template("committee/decision_templates.html", consultation=consultation, form=form,
                           why_not=why_not, placeholders=decisions.PLACEHOLDERS)


@bp.route("/publier", methods=["GET", "POST"])
@login_required
@password_entry_limits  # the password typed again: limited as sign-in is
def publish(slug: str):
    consultation = committee_space(slug)
    why_not = (permissions.why_not_publish_results(current_user, consultation)
               or decisions.readiness(consultation).refusal)
    form = PublishForm()
    if request.method == "POST" and why_not:
        flash(why_not, "error")
    elif form.validate_on_submit():
        done, _digest = attempt(lambda: decisions.publish_results(
            consultation, password=form.current_password.data, by=current_user), form=form,
            success=_("Réponses publiées : les organisations en sont informées par courriel."))
        if done:
            return redirect(url_for(".index", slug=slug))
    return render_template("committee/decision_publish.html", consultation=consultation, form=form, why_not=why_not,
                           envelope=decisions.envelope_of(consultation),
                           counts=decisions.state_counts(consultation))
