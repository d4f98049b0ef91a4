"""Supporting and withdrawing, the organization's dashboard, receipts and the frozen tally."""

import functools

import sqlalchemy as sa
from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from limits import parse_many
from limits.storage import MemoryStorage
from limits.strategies import RateLimiter
from redis import RedisError
from sqlalchemy.orm import joinedload

from app.consultations.models import Consultation
from app.core import clock
from app.core.web import attempt, form_id, page_argument, safe_next_url
from app.extensions import db, limiter
from app.organizations.models import Organization
from app.proposals.models import Proposal, ProposalCosponsor
from app.proposals.permissions import can_see
from app.votes import mandates, permissions, services
from app.votes.forms import MandateForm
from app.votes.models import Mandate, SupportEvent

bp = Blueprint("votes", __name__)


def _acting_organization(organization_id: int | None) -> Organization:
    """The organization named in the form, or 403 when the user is not its verified member."""
    membership = next((m for m in current_user.memberships if m.organization_id == organization_id and m.counts),
                      None)
    if membership is None:
        abort(403)
    return membership.organization


def _acting_mandate(organization: Organization) -> Mandate | None:
    """The mandate named in the form (the user acts as aidant for its official), or None when none is named;
    403 when it is not one the user holds in force for that organization."""
    if not request.form.get("mandate_id"):
        return None
    mandate = db.session.get(Mandate, form_id("mandate_id") or 0)
    if (mandate is None or mandate.aidant_id != current_user.id or mandate.organization_id != organization.id
            or not mandates.is_in_force(mandate)):
        abort(403)
    return mandate


@functools.cache
def _rate_limits(text: str) -> list:
    return parse_many(text)


@functools.cache
def _in_memory(strategy: type[RateLimiter]) -> RateLimiter:
    return strategy(MemoryStorage())


def _refuse_bursts() -> None:
    """A person pressing buttons stays far below SUPPORT_RATE_LIMIT; a script meets it, and is told so
    (429). Casts and withdrawals count together, per person (a town hall's officials often share an
    address), in the limiter's storage, which every web process shares (Redis in production). Asked of
    Flask-Limiter's strategy directly: its route decorator costs a twelfth of a support request. Redis
    away, this process counts alone in memory, as Flask-Limiter's fallback does for decorated routes."""
    limits, person = _rate_limits(current_app.config["SUPPORT_RATE_LIMIT"]), str(current_user.id)
    try:
        allowed = all(limiter.limiter.hit(limit, "supports", person) for limit in limits)
    except RedisError:
        allowed = all(_in_memory(type(limiter.limiter)).hit(limit, "supports", person) for limit in limits)
    if not allowed:
        abort(429)


# The proposal with all that the support rules read: its consultation, the consultation's phases, its
# co-sponsors. Built once, with its cache key: building loader options costs more than the query.
PROPOSAL_FOR_RULES = (sa.select(Proposal).where(Proposal.id == sa.bindparam("proposal_id"))
                      .options(joinedload(Proposal.consultation).joinedload(Consultation.phases),
                               joinedload(Proposal.cosponsors).lazyload(ProposalCosponsor.organization)))


def _proposal(proposal_id: int) -> Proposal:
    proposal = db.session.scalars(PROPOSAL_FOR_RULES, {"proposal_id": proposal_id}).unique().one_or_none()
    if proposal is None or not can_see(current_user, proposal):
        abort(404)  # a draft is not known to exist
    return proposal


@bp.post("/propositions/<int:proposal_id>/soutenir")
@login_required
def support(proposal_id: int):
    _refuse_bursts()
    proposal = _proposal(proposal_id)
    organization = _acting_organization(form_id("organization_id"))
    mandate = _acting_mandate(organization)
    done, cast = attempt(lambda: services.cast_support(proposal, organization, by=current_user,
                                                       source=safe_next_url(), mandate=mandate))
    if done and mandate:
        flash(_("Soutien enregistré au nom de %(name)s par %(aidant)s pour %(official)s. Reçu : %(code)s.",
                name=organization.name, aidant=current_user.name, official=mandate.official.name,
                code=services.format_receipt(cast.receipt_code)), "success")
    elif done:
        flash(_("Soutien enregistré au nom de %(name)s. Reçu : %(code)s.", name=organization.name,
                code=services.format_receipt(cast.receipt_code)), "success")
    return _back_to(proposal)


@bp.post("/propositions/<int:proposal_id>/retirer-soutien")
@login_required
def withdraw(proposal_id: int):
    _refuse_bursts()
    proposal = _proposal(proposal_id)
    organization = _acting_organization(form_id("organization_id"))
    mandate = _acting_mandate(organization)
    success = (_("Soutien de %(name)s retiré par %(aidant)s pour %(official)s.", name=organization.name,
                 aidant=current_user.name, official=mandate.official.name) if mandate
               else _("Soutien de %(name)s retiré.", name=organization.name))
    attempt(lambda: services.withdraw_support(proposal, organization, by=current_user, source=safe_next_url(),
                                              mandate=mandate), success=success)
    return _back_to(proposal)


def _back_to(proposal: Proposal):
    return redirect(safe_next_url() or url_for("proposals.detail", proposal_id=proposal.id))


def _consultation(slug: str) -> Consultation:
    return db.first_or_404(sa.select(Consultation).where(Consultation.slug == slug))


@bp.get("/consultations/<slug>/collectivites/<int:organization_id>/soutiens")
@login_required
def dashboard(slug: str, organization_id: int):
    consultation = _consultation(slug)
    organization = db.get_or_404(Organization, organization_id)
    if not permissions.can_see_dashboard(current_user, organization):
        abort(403)
    supports = services.organization_supports(consultation, organization)
    used = services.quota_used(consultation, [organization.id]).get(organization.id, 0)
    return render_template("votes/dashboard.html", consultation=consultation, organization=organization,
                           supports=supports, used=used, now=clock.now(), format_receipt=services.format_receipt,
                           why_not_withdraw=permissions.why_not_withdraw,
                           mandates=mandates.of_organization(organization), mandate_status=mandates.status_label)


@bp.get("/soutiens/verifier")
def check_receipt():
    code = request.args.get("code", "").strip()[:40]
    support_ = services.find_receipt(code) if code else None
    consultation = db.session.get(Consultation, support_.consultation_id) if support_ else None
    return render_template("votes/receipt.html", code=code, support=support_, consultation=consultation,
                           counted=services.is_counted(support_, consultation) if support_ else False)


@bp.get("/consultations/<slug>/decompte")
def tally(slug: str):
    consultation = _consultation(slug)
    frozen = services.frozen_tally(consultation)
    db.session.commit()  # the first visit after the window closes freezes it
    return render_template("votes/tally.html", consultation=consultation, tally=frozen)


@bp.get("/consultations/<slug>/decompte.csv")
def tally_csv(slug: str):
    consultation = _consultation(slug)
    frozen = services.frozen_tally(consultation) or abort(404)
    db.session.commit()
    return Response(frozen.content, mimetype="text/csv",
                    headers={"Content-Disposition": f"attachment; filename=soutiens-{consultation.slug}.csv"})


@bp.get("/admin/consultations/<int:consultation_id>/soutiens")
@login_required
def journal(consultation_id: int):
    if not current_user.is_admin:
        abort(403)
    consultation = db.get_or_404(Consultation, consultation_id)
    page = db.paginate(sa.select(SupportEvent).where(SupportEvent.consultation_id == consultation.id)
                       .options(joinedload(SupportEvent.proposal), joinedload(SupportEvent.organization),
                                joinedload(SupportEvent.actor),
                                joinedload(SupportEvent.mandate).joinedload(Mandate.official))
                       .order_by(SupportEvent.id.desc()), page=page_argument(),
                       per_page=50, error_out=False)
    return render_template("votes/journal.html", consultation=consultation, page=page)


@bp.route("/compte/mandats", methods=["GET", "POST"])
@login_required
def mandates_page():
    """An elected official's mandates given to aidants (form and list), and those the person holds as aidant."""
    candidates = mandates.candidate_aidants(current_user)
    form = MandateForm()
    form.aidant.choices = [("", _("Choisissez un agent"))] + [
        (str(membership.id), f"{membership.user.name} — {membership.organization.name}") for membership in candidates]
    if candidates and form.validate_on_submit():
        chosen = next((membership for membership in candidates if str(membership.id) == form.aidant.data), None)
        if chosen is None:
            form.aidant.errors.append(_("Choisissez l'aidant parmi les agents vérifiés de votre organisation."))
            return _mandates_page(form, candidates)
        done, _mandate = attempt(lambda: mandates.grant_mandate(
            current_user, chosen.user, chosen.organization, form.starts_at.utc, form.ends_at.utc), form=form,
            success=_("Mandat confié à %(aidant)s pour %(name)s.", aidant=chosen.user.name,
                      name=chosen.organization.name))
        if done:
            return redirect(url_for("votes.mandates_page"))
    elif request.method == "POST" and not candidates:
        abort(403)
    return _mandates_page(form, candidates)


def _mandates_page(form: MandateForm, candidates: list):
    return render_template("votes/mandates.html", form=form, candidates=candidates,
                           granted=mandates.granted_by(current_user), held=mandates.held_by(current_user),
                           now=clock.now(), mandate_status=mandates.status_label,
                           why_not_revoke=mandates.why_not_revoke)


@bp.post("/compte/mandats/<int:mandate_id>/revoquer")
@login_required
def revoke_mandate(mandate_id: int):
    mandate = db.get_or_404(Mandate, mandate_id)
    if mandate.official_id != current_user.id and not current_user.is_admin:
        abort(403)
    attempt(lambda: mandates.revoke_mandate(mandate, by=current_user),
            success=_("Mandat de %(aidant)s révoqué.", aidant=mandate.aidant.name))
    return redirect(safe_next_url() or url_for("votes.mandates_page"))
