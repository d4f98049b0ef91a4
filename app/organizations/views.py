"""Directory search, organization pages, membership requests and their verification."""

from flask import Blueprint, abort, flash, has_request_context, redirect, render_template, request, url_for
from flask_babel import format_decimal, gettext as _
from flask_login import current_user, login_required

from app.core.web import attempt, safe_next_url
from app.extensions import db
from app.organizations import diagnostics, permissions, services
from app.organizations.forms import DiagnosticRequestForm, DirectorySearchForm, JoinForm
from app.organizations.models import (ANSM_COMMUNE_MAX_POPULATION, ANSM_EPCI_MAX_POPULATION, Membership,
                                      MembershipStatus, Organization)

bp = Blueprint("organizations", __name__)

PER_PAGE = 20


@bp.get("/collectivites/")
def search():
    form = DirectorySearchForm(request.args)
    results = None
    if form.validate() and (form.q.data or form.kind.data or form.departement.data):
        statement = services.search_organizations(form.q.data or "", form.kind.data, form.departement.data)
        results = db.paginate(statement, page=form.page.data or 1, per_page=PER_PAGE, error_out=False)
    return render_template("organizations/search.html", form=form, results=results)


@bp.get("/collectivites/<int:organization_id>")
def detail(organization_id: int):
    organization = db.get_or_404(Organization, organization_id)
    membership = _own_membership(organization)
    members = pending = None
    if current_user.is_authenticated and (current_user.is_admin or (membership and membership.counts)):
        members = db.session.scalars(
            db.select(Membership).filter_by(organization_id=organization.id, status=MembershipStatus.VERIFIED)
            .order_by(Membership.role, Membership.id)).all()
    if current_user.is_authenticated:
        pending = [request_ for request_ in db.session.scalars(
            services.pending_requests_for(current_user).where(Membership.organization_id == organization.id))]
    # Its members and the admins see its diagnostic requests, and why an ineligible organization cannot ask;
    # the others see whether it is eligible.
    sees_diagnostic = permissions.can_see_diagnostic_requests(current_user, organization)
    return render_template("organizations/detail.html", organization=organization, membership=membership,
                           members=members, pending=pending, join_form=JoinForm(), sees_diagnostic=sees_diagnostic,
                           diagnostic=diagnostics.latest_request(organization) if sees_diagnostic else None,
                           why_not_diagnostic=permissions.why_not_request_diagnostic(current_user, organization))


def _own_membership(organization: Organization) -> Membership | None:
    if not current_user.is_authenticated:
        return None
    return next((m for m in current_user.memberships if m.organization_id == organization.id), None)


@bp.post("/collectivites/<int:organization_id>/rejoindre")
@login_required
def join(organization_id: int):
    organization = db.get_or_404(Organization, organization_id)
    form = JoinForm()
    if not form.validate():
        flash(_("Choisissez votre rôle : agent ou élu."), "error")
        return redirect(url_for("organizations.detail", organization_id=organization.id))
    attempt(lambda: services.request_membership(current_user, organization, form.role.data),
            success=_("Votre demande est envoyée. Un élu de la collectivité ou l'équipe d'Agora la vérifiera."))
    return redirect(url_for("organizations.detail", organization_id=organization.id))


@bp.route("/collectivites/<int:organization_id>/diagnostic", methods=["GET", "POST"])
@login_required
def request_diagnostic(organization_id: int):
    organization = db.get_or_404(Organization, organization_id)
    if reason := permissions.why_not_request_diagnostic(current_user, organization):
        flash(reason, "error")
        return redirect(url_for("organizations.detail", organization_id=organization.id, _anchor="diagnostic"))
    form = DiagnosticRequestForm()
    if request.method == "GET":
        form.contact_name.data, form.contact_email.data = current_user.name, current_user.email
    if form.validate_on_submit():
        data = diagnostics.DiagnosticInput(needs=form.needs.data, contact_name=form.contact_name.data or "",
                                           contact_email=form.contact_email.data or "",
                                           contact_phone=form.contact_phone.data or "")
        done, _diagnostic = attempt(lambda: diagnostics.request_diagnostic(organization, data, by=current_user),
                                    form=form, success=_("Votre demande de diagnostic est envoyée. L'équipe vous "
                                                         "contactera à l'adresse indiquée."))
        if done:
            return redirect(url_for("organizations.detail", organization_id=organization.id, _anchor="diagnostic"))
    return render_template("organizations/diagnostic_form.html", organization=organization, form=form)


@bp.get("/adhesions/a-traiter")
@login_required
def pending_requests():
    requests_ = db.session.scalars(services.pending_requests_for(current_user).limit(200)).all()
    return render_template("organizations/pending.html", pending=requests_)


@bp.post("/adhesions/<int:membership_id>/decision")
@login_required
def decide(membership_id: int):
    membership = db.get_or_404(Membership, membership_id)
    if not permissions.can_verify_membership(current_user, membership):
        abort(403)
    decision = request.form.get("decision")
    if decision not in ("accept", "refuse"):
        flash(_("Choisissez d'accepter ou de refuser la demande."), "error")
    else:
        name = membership.user.name
        attempt(lambda: services.decide_membership(membership, accept=decision == "accept", by=current_user),
                success=_("Demande de %(name)s acceptée.", name=name) if decision == "accept"
                else _("Demande de %(name)s refusée.", name=name))
    return redirect(safe_next_url() or url_for("organizations.pending_requests"))


@bp.app_context_processor
def pending_requests_counter() -> dict:
    """The menu's "Adhésions à traiter (N)", for whoever may decide requests: counted when the page's
    layout asks (once), not for the mails rendered during a request, and never for visitors."""
    if not (has_request_context() and current_user.is_authenticated):  # mails rendered by commands: nobody
        return {}
    return {"count_pending_requests": lambda: services.count_pending_requests_for(current_user)}


@bp.app_template_global()
def ansm_explanation() -> str:
    """What "Éligible ANSM" means, written beside the badge: a `title` reaches neither keyboard nor touch."""
    return _("Accompagnement numérique sur mesure (ANSM) : gratuit pour les communes de moins de %(commune)s "
             "habitants et les intercommunalités de moins de %(epci)s habitants.",
             commune=format_decimal(ANSM_COMMUNE_MAX_POPULATION), epci=format_decimal(ANSM_EPCI_MAX_POPULATION))
