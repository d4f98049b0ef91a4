"""Proposal pages: the public index, a proposal's page, drafting, publishing and discussing."""

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy.orm import joinedload

from app.committee import links as committee_links
from app.consultations.models import Consultation
from app.core import clock
from app.core.page_cache import same_for_visitors
from app.core.web import attempt, form_id, safe_next_url
from app.extensions import db
from app.proposals import moderation, permissions, services, vectors
from app.proposals.forms import (CommentEditForm, CommentForm, LinkForm, OrganizationChoiceForm, ProposalForm,
                                 ProposalSearchForm, ReportForm, WithdrawForm, id_choices)
from app.proposals.models import Carrier, Comment, Maturity, Proposal, ProposalKind, ProposalState
from app.proposals.search import ProposalFilters, page_of_proposals, shuffle_of_the_moment
from app.votes.permissions import counts_hidden
from app.votes.services import support_options

bp = Blueprint("proposals", __name__)
PER_PAGE = 20


FIELD_LABELS = {
    "kind": _l("type"), "title": _l("titre"), "summary": _l("résumé"), "body": _l("description"),
    "problem": _l("problème"), "affected": _l("personnes concernées"), "workaround": _l("solution actuelle"),
    "maturity": _l("maturité"), "licence": _l("licence"), "repository_url": _l("dépôt de code"),
    "carrier": _l("structure porteuse"), "deployments": _l("déploiements"),
    "requested_budget_cents": _l("budget demandé"), "themes": _l("thèmes"), "territory_tags": _l("territoires"),
}


@bp.context_processor
def rules():
    return {"rules": permissions}


@bp.app_template_filter("field_label")
def field_label(name: str) -> str:
    return str(FIELD_LABELS.get(name, name))


@bp.app_template_filter("maturity_label")
def maturity_label(value: str) -> str:
    return Maturity(value).label


@bp.app_template_filter("carrier_label")
def carrier_label(value: str) -> str:
    return Carrier(value).label


def _consultation(slug: str) -> Consultation:
    return db.first_or_404(sa.select(Consultation).where(Consultation.slug == slug))


def visible_proposal_or_404(proposal_id: int, *options) -> Proposal:
    """The proposal if the viewer may see it (loaded with `options`), else a 404: drafts are not known to exist."""
    proposal = db.get_or_404(Proposal, proposal_id, options=options)
    if not permissions.can_see(current_user, proposal):
        abort(404)
    return proposal


@bp.get("/consultations/<slug>/propositions")
@same_for_visitors
def index(slug: str):
    consultation = _consultation(slug)
    hidden = counts_hidden(consultation, current_user)
    form = ProposalSearchForm(request.args)
    form.set_choices(consultation, counts_hidden=hidden)
    valid = form.validate()
    filters = form.filters() if valid else ProposalFilters(seed=shuffle_of_the_moment())
    page = page_of_proposals(consultation, filters, page=(form.page.data or 1) if valid else 1, per_page=PER_PAGE)
    own_organizations = [organization.id for organization in permissions.acting_organizations(current_user)]
    drafts = db.session.scalars(
        sa.select(Proposal).where(Proposal.consultation_id == consultation.id, Proposal.state == ProposalState.DRAFT,
                                  Proposal.organization_id.in_(own_organizations))
        .order_by(Proposal.updated_at.desc())).all() if own_organizations else []
    filtered = any(request.args.get(name) for name in request.args if name not in ("page", "sort"))
    return render_template("proposals/index.html", consultation=consultation, form=form, page=page,
                           seed=filters.seed, drafts=drafts, show_counts=not hidden, filtered=filtered,
                           support_options=support_options(current_user, consultation, page.items))


def _input(form: ProposalForm) -> services.ProposalInput:
    return services.ProposalInput(
        kind=form.kind.data, title=form.title.data or "", summary=form.summary.data or "", body=form.body.data or "",
        theme_ids=list(form.theme_ids.data or []), territory_tags=list(form.territory_tags.data or []),
        problem=form.problem.data, affected=form.affected.data, workaround=form.workaround.data,
        maturity=form.maturity.data, licence=form.licence.data, repository_url=form.repository_url.data,
        carrier=form.carrier.data, deployments=form.deployments.data,
        requested_budget_cents=form.requested_budget.cents)


def _proposal_form(consultation: Consultation, **kwargs) -> ProposalForm:
    form = ProposalForm(**kwargs)
    form.theme_ids.choices = [(theme.id, theme.name) for theme in consultation.themes]
    form.organization_id.choices = id_choices(permissions.acting_organizations(current_user))
    return form


@bp.route("/consultations/<slug>/propositions/nouvelle", methods=["GET", "POST"])
@login_required
def new(slug: str):
    consultation = _consultation(slug)
    organizations = permissions.acting_organizations(current_user)
    reason = permissions.why_not_submit(current_user, organizations[0] if organizations else None, consultation)
    if reason:
        flash(reason, "error")
        return redirect(url_for("proposals.index", slug=slug))
    form = _proposal_form(consultation)
    if form.validate_on_submit():
        organization = next(o for o in organizations if o.id == form.organization_id.data)
        done, proposal = attempt(
            lambda: services.create_draft(consultation, organization, _input(form), by=current_user), form=form,
            success=_("Brouillon enregistré. Relisez-le, vérifiez les propositions proches, puis publiez-le."))
        if done:
            return redirect(url_for("proposals.detail", proposal_id=proposal.id))
    return render_template("proposals/form.html", form=form, consultation=consultation, proposal=None)


@bp.route("/propositions/<int:proposal_id>/modifier", methods=["GET", "POST"])
@login_required
def edit(proposal_id: int):
    proposal = visible_proposal_or_404(proposal_id)
    if refusal := _refused(permissions.why_not_edit(current_user, proposal), proposal):
        return refusal
    form = _proposal_form(proposal.consultation, obj=proposal if request.method == "GET" else None)
    del form.organization_id
    if request.method == "GET":
        form.theme_ids.data = [theme.id for theme in proposal.themes]
        form.territory_tags.data = proposal.tags
        form.requested_budget.set_cents(proposal.requested_budget_cents)
    if form.validate_on_submit():
        if attempt(lambda: services.update_proposal(proposal, _input(form), by=current_user), form=form,
                   success=_("Modifications enregistrées."))[0]:
            return redirect(url_for("proposals.detail", proposal_id=proposal.id))
    return render_template("proposals/form.html", form=form, consultation=proposal.consultation, proposal=proposal)


def _comments(proposal: Proposal) -> list[tuple[Comment, list[Comment]]]:
    """Visible comments as (comment, replies), oldest first."""
    rows = db.session.scalars(sa.select(Comment).where(Comment.proposal_id == proposal.id,
                                                       Comment.hidden_at.is_(None))
                              .options(joinedload(Comment.author), joinedload(Comment.organization))
                              .order_by(Comment.created_at, Comment.id)).all()
    replies: dict[int, list[Comment]] = {}
    for comment in rows:
        if comment.parent_id:
            replies.setdefault(comment.parent_id, []).append(comment)
    return [(comment, replies.get(comment.id, [])) for comment in rows if comment.parent_id is None]


@bp.get("/propositions/<int:proposal_id>")
@same_for_visitors
def detail(proposal_id: int):
    proposal = db.get_or_404(Proposal, proposal_id)
    if not permissions.can_see(current_user, proposal):
        if not proposal.is_hidden or proposal.state == ProposalState.DRAFT:
            abort(404)  # a draft is not known to exist
        # Those who followed a link, and the reporter whose report hid it, are told why it is gone.
        return render_template("proposals/under_moderation.html", proposal=proposal)
    now = clock.now()
    organizations = permissions.acting_organizations(current_user)
    # None while the worker computes the draft's vector: the page says so.
    similar = vectors.similar_proposals(proposal) if proposal.state == ProposalState.DRAFT else []
    cosponsor_form = _offered(OrganizationChoiceForm, "organization_id", id_choices(
        [o for o in organizations if permissions.why_not_cosponsor(current_user, o, proposal, now) is None]))
    link_form, needs_pending = _link_form(proposal)
    return render_template("proposals/detail.html", proposal=proposal, now=now, similar=similar,
                           show_counts=not counts_hidden(proposal.consultation, current_user, now),
                           support_options=support_options(current_user, proposal.consultation, [proposal], now),
                           comments=_comments(proposal), linked=services.linked(proposal),
                           confirmed=committee_links.confirmed_ids(proposal),
                           comment_choices=id_choices(organizations), cosponsor_form=cosponsor_form,
                           link_form=link_form, needs_pending=needs_pending)


def _link_form(proposal: Proposal) -> tuple[LinkForm | None, bool]:
    """For the members of a published service's organization, the form that links it to one of the needs
    closest in meaning (the likeliest it answers); and whether those are still being computed."""
    if proposal.is_need or not proposal.is_published or not permissions.is_member_of(current_user,
                                                                                     proposal.organization_id):
        return None, False
    closest = vectors.similar_proposals(proposal, k=15)
    needs = (need for need, _score in closest or [] if need.is_need)
    return _offered(LinkForm, "need_id", id_choices(needs, "title")), closest is None


def _offered(form_class, field_name: str, choices: list):
    """A form to show only when it offers a choice. Building a form asks for a CSRF token, which
    would give every reader a session cookie: none is built for readers who have nothing to choose."""
    if not choices:
        return None
    form = form_class()
    form[field_name].choices = choices
    return form


def _refused(reason: str | None, proposal: Proposal):
    """Back to the proposal, told why, when a `why_not_*` predicate gave a reason; else None."""
    if reason:
        flash(reason, "error")
        return redirect(url_for("proposals.detail", proposal_id=proposal.id))
    return None


def _act(proposal: Proposal, action, success: str):
    """Run a service for a POST form, then go back to where the user was, or to the proposal."""
    attempt(action, success=success)
    return redirect(safe_next_url() or url_for("proposals.detail", proposal_id=proposal.id))


@bp.post("/propositions/<int:proposal_id>/publier")
@login_required
def publish(proposal_id: int):
    proposal = visible_proposal_or_404(proposal_id)
    return _act(proposal, lambda: services.publish_proposal(proposal, by=current_user),
                _("Proposition publiée : elle est désormais visible de tous."))


@bp.route("/propositions/<int:proposal_id>/retirer", methods=["GET", "POST"])
@login_required
def withdraw(proposal_id: int):
    proposal = visible_proposal_or_404(proposal_id)
    if refusal := _refused(permissions.why_not_withdraw(current_user, proposal), proposal):
        return refusal
    form = WithdrawForm()
    if form.validate_on_submit():
        return _act(proposal, lambda: services.withdraw_proposal(proposal, form.reason.data, by=current_user),
                    _("Proposition retirée."))
    return render_template("proposals/withdraw.html", proposal=proposal, form=form)


@bp.post("/propositions/<int:proposal_id>/coporter")
@login_required
def cosponsor(proposal_id: int):
    proposal = visible_proposal_or_404(proposal_id)
    organization = _acting_organization(form_id("organization_id"))
    return _act(proposal, lambda: services.cosponsor_proposal(proposal, organization, by=current_user),
                _("Votre organisation coporte désormais cette proposition."))


def _acting_organization(organization_id: int | None):
    return next((o for o in permissions.acting_organizations(current_user) if o.id == organization_id), None)


@bp.post("/propositions/<int:proposal_id>/relier")
@login_required
def link(proposal_id: int):
    service = visible_proposal_or_404(proposal_id)
    need_id = form_id("need_id")
    need = db.session.get(Proposal, need_id) if need_id else None
    if need is None or not permissions.can_see(current_user, need) or need.kind != ProposalKind.NEED:
        flash(_("Choisissez un besoin publié de la consultation."), "error")
        return redirect(url_for("proposals.detail", proposal_id=service.id))
    return _act(service, lambda: services.link_service_to_need(service, need, by=current_user),
                _("Le service est relié au besoin « %(title)s ».", title=need.title))


@bp.post("/propositions/<int:proposal_id>/commentaires")
@login_required
def comment(proposal_id: int):
    proposal = visible_proposal_or_404(proposal_id)
    if refusal := _refused(permissions.why_not_comment(current_user, proposal), proposal):
        return refusal
    form = CommentForm()
    form.organization_id.choices = id_choices(permissions.acting_organizations(current_user))
    if not form.validate():
        flash(next(iter(form.errors.values()))[0], "error")
        return redirect(url_for("proposals.detail", proposal_id=proposal.id, _anchor="commentaires"))
    parent_id = form_id("parent_id")
    parent = db.session.get(Comment, parent_id) if parent_id else None
    organization = _acting_organization(form.organization_id.data)
    return _act(proposal, lambda: moderation.add_comment(proposal, form.body.data, by=current_user,
                                                         organization=organization, parent=parent),
                _("Commentaire publié."))


@bp.route("/commentaires/<int:comment_id>/modifier", methods=["GET", "POST"])
@login_required
def edit_comment(comment_id: int):
    comment_ = db.get_or_404(Comment, comment_id)
    if not permissions.can_edit_comment(current_user, comment_):
        abort(403)
    form = CommentEditForm(obj=comment_)
    if form.validate_on_submit():
        return _act(comment_.proposal, lambda: moderation.edit_comment(comment_, form.body.data, by=current_user),
                    _("Commentaire modifié."))
    return render_template("proposals/comment_edit.html", comment=comment_, form=form)


@bp.route("/signaler/<any(proposal, comment):subject_type>/<int:subject_id>", methods=["GET", "POST"])
@login_required
def report(subject_type: str, subject_id: int):
    subject = moderation.find_subject(subject_type, subject_id)
    proposal = subject if subject_type == "proposal" else getattr(subject, "proposal", None)
    if subject is None or subject.is_hidden or not permissions.can_see(current_user, proposal):
        abort(404)
    if refusal := _refused(permissions.why_not_report(current_user), proposal):
        return refusal
    form = ReportForm()
    if form.validate_on_submit():
        return _act(proposal, lambda: moderation.report(subject, form.reason.data, by=current_user),
                    _("Merci : votre signalement a été transmis à l'équipe de modération."))
    return render_template("proposals/report.html", subject=subject, subject_type=subject_type, proposal=proposal,
                           form=form)
