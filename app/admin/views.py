"""Back office: consultations, committee, organizations, membership queue, audit log."""

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.orm import selectinload

from app.accounts.models import User
from app.accounts.services import find_user_by_email
from app.admin import audit_display
from app.admin.forms import CommitteeSeatForm, ConsultationForm
from app.consultations import services as consultation_services
from app.committee import services as committee_services
from app.committee.models import CommitteeSeat
from app.consultations.models import Consultation, PhaseKind
from app.core import audit
from app.core.web import attempt, page_argument
from app.extensions import db
from app.organizations import diagnostics, services as organization_services
from app.organizations.forms import DiagnosticStatusForm, OrganizationForm
from app.organizations.models import DiagnosticRequest, DiagnosticStatus, Membership, MembershipStatus, Organization
from app.proposals import moderation
from app.votes.services import has_supports

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
@login_required
def require_admin():
    if not current_user.is_admin:
        abort(403)


@bp.get("/")
def index():
    counts = {
        "users": db.session.scalar(sa.select(sa.func.count()).select_from(User)),
        "organizations": db.session.scalar(sa.select(sa.func.count()).select_from(Organization)),
        "pending": db.session.scalar(sa.select(sa.func.count()).select_from(Membership)
                                     .where(Membership.status == MembershipStatus.PENDING)),
        "new_diagnostics": diagnostics.count_new_requests(),
    }
    consultations = db.session.scalars(sa.select(Consultation).order_by(Consultation.created_at.desc())).all()
    return render_template("admin/index.html", counts=counts, consultations=consultations)


def _input_from(form: ConsultationForm) -> consultation_services.ConsultationInput:
    return consultation_services.ConsultationInput(
        title=form.title.data.strip(), slug=form.slug.data.strip(), description=form.description.data or "",
        budget_envelope_cents=form.budget_envelope.cents,
        laureate_target=form.laureate_target.data, vote_limit=form.vote_limit.data,
        threshold_per_proposal=form.threshold_per_proposal.data,
        minimum_votes_per_user=form.minimum_votes_per_user.data,
        can_accumulate_supports_beyond_threshold=form.can_accumulate_supports_beyond_threshold.data,
        can_support_own_proposals=form.can_support_own_proposals.data,
        votes_hidden=form.votes_hidden.data, supporters_hidden=form.supporters_hidden.data,
        eligible_kinds=list(form.eligible_kinds.data or []), change_reason=form.change_reason.data or "",
        theme_names=(form.themes.data or "").splitlines(),
        phase_dates={kind: (form[f"{kind.value}_starts_at"].utc, form[f"{kind.value}_ends_at"].utc)
                     for kind in PhaseKind},
    )


def _fill(form: ConsultationForm, consultation: Consultation) -> None:
    form.process(obj=consultation)
    form.budget_envelope.set_cents(consultation.budget_envelope_cents)
    form.themes.data = "\n".join(theme.name for theme in consultation.themes)
    for phase in consultation.phases:
        form[f"{phase.kind}_starts_at"].set_utc(phase.starts_at)
        form[f"{phase.kind}_ends_at"].set_utc(phase.ends_at)


@bp.route("/consultations/nouvelle", methods=["GET", "POST"])
def new_consultation():
    return _edit(None)


@bp.route("/consultations/<int:consultation_id>/modifier", methods=["GET", "POST"])
def edit_consultation(consultation_id: int):
    return _edit(db.get_or_404(Consultation, consultation_id))


def _edit(consultation: Consultation | None):
    form = ConsultationForm()
    if request.method == "GET" and consultation is not None:
        _fill(form, consultation)
    if form.validate_on_submit():
        done, saved = attempt(lambda: consultation_services.save_consultation(consultation, _input_from(form),
                                                                              by=current_user),
                              form=form, success=_("Consultation enregistrée."))
        if done:
            return redirect(url_for("admin.edit_consultation", consultation_id=saved.id))
    return render_template("admin/consultation_form.html", form=form, consultation=consultation,
                           phase_kinds=list(PhaseKind),
                           supports_cast=consultation is not None and has_supports(consultation))


@bp.route("/consultations/<int:consultation_id>/comite", methods=["GET", "POST"])
def committee(consultation_id: int):
    consultation = db.get_or_404(Consultation, consultation_id)
    form = CommitteeSeatForm()
    if form.validate_on_submit():
        user = find_user_by_email(form.email.data)
        if user is None:
            form.email.errors.append(_("Aucun compte n'utilise cette adresse : la personne doit d'abord créer "
                                       "son compte."))
        elif attempt(lambda: committee_services.add_committee_member(
                consultation, user, affiliation=form.affiliation.data, is_chair=form.is_chair.data, by=current_user),
                form=form, success=_("%(name)s siège désormais au comité.", name=user.name))[0]:
            return redirect(url_for("admin.committee", consultation_id=consultation.id))
    return render_template("admin/committee.html", consultation=consultation, form=form)


@bp.post("/comite/<int:seat_id>/retirer")
def remove_committee_seat(seat_id: int):
    seat = db.get_or_404(CommitteeSeat, seat_id)
    consultation_id, name = seat.consultation_id, seat.user.name
    committee_services.remove_committee_member(seat, by=current_user)
    db.session.commit()
    flash(_("%(name)s ne siège plus au comité.", name=name), "success")
    return redirect(url_for("admin.committee", consultation_id=consultation_id))


@bp.route("/organisations/nouvelle", methods=["GET", "POST"])
def new_organization():
    form = OrganizationForm()
    if form.validate_on_submit():
        done, organization = attempt(lambda: organization_services.create_organization(
            kind=form.kind.data, name=form.name.data, siren=form.siren.data,
            departement_code=form.departement_code.data, by=current_user),
            form=form, success=_("Organisation ajoutée."))
        if done:
            return redirect(url_for("organizations.detail", organization_id=organization.id))
    return render_template("admin/organization_form.html", form=form)


@bp.get("/diagnostics")
def diagnostic_requests():
    status = request.args.get("statut") or None
    if status is not None and status not in set(DiagnosticStatus):
        abort(400)
    page = db.paginate(diagnostics.requests_by_status(status), page=page_argument(), per_page=20, error_out=False)
    return render_template("admin/diagnostic_requests.html", page=page, status=status,
                           statuses=list(DiagnosticStatus))


@bp.route("/diagnostics/<int:request_id>", methods=["GET", "POST"])
def diagnostic_request(request_id: int):
    diagnostic = db.get_or_404(DiagnosticRequest, request_id)
    form = DiagnosticStatusForm(status=diagnostic.status, note=diagnostic.admin_note)
    if form.validate_on_submit():
        done, _changed = attempt(lambda: diagnostics.change_diagnostic_status(
            diagnostic, form.status.data, form.note.data or "", by=current_user),
            form=form, success=_("Demande de diagnostic mise à jour."))
        if done:
            return redirect(url_for("admin.diagnostic_request", request_id=diagnostic.id))
    return render_template("admin/diagnostic_request.html", diagnostic=diagnostic, form=form,
                           needs=diagnostics.published_needs_of(diagnostic.organization),
                           history=audit_display.describe(diagnostics.status_history(diagnostic)))


@bp.get("/journal")
def audit_log():
    entries = db.paginate(sa.select(audit.AuditEntry).options(selectinload(audit.AuditEntry.actor))
                          .order_by(audit.AuditEntry.id.desc()), page=page_argument(), per_page=50, error_out=False)
    return render_template("admin/audit_log.html", entries=entries, lines=audit_display.describe(entries.items),
                           broken_at=audit.verify_chain())


@bp.get("/moderation")
def moderation_queue():
    items = [(kind, subject, moderation.reports_about(kind, subject.id))
             for kind, subject in moderation.moderation_queue()]
    return render_template("admin/moderation.html", items=items)


@bp.post("/moderation/<any(proposal, comment):subject_type>/<int:subject_id>/<any(hide, restore):action>")
def moderate(subject_type: str, subject_id: int, action: str):
    subject = moderation.find_subject(subject_type, subject_id) or abort(404)
    if action == "hide":
        moderation.hide(subject, by=current_user)
        flash(_("Contenu masqué."), "success")
    else:
        moderation.restore(subject, by=current_user)
        flash(_("Contenu rétabli."), "success")
    db.session.commit()
    return redirect(url_for("admin.moderation_queue"))


@bp.post("/comptes/<int:user_id>/suspendre")
def block_user(user_id: int):
    user = db.get_or_404(User, user_id)
    attempt(lambda: moderation.block_user(user, by=current_user),
            success=_("Le compte de %(name)s est suspendu.", name=user.name))
    return redirect(url_for("admin.moderation_queue"))
