"""The committee's "Besoins et services" pages: each need with the services likeliest to answer it (and the
reverse), the links declared or confirmed; confirming or taking back a link is one button (POST, CSRF).

Committee members and admins only; buttons show while the stage allows linking (permissions.why_not_link).
"""

from dataclasses import replace

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.committee import links, permissions, queries
from app.committee.forms import CommitteeFilterForm, LinkPairForm
from app.committee.queries import CommitteeFilters
from app.committee.views import committee_space
from app.consultations.models import Consultation
from app.core.web import attempt, safe_next_url
from app.extensions import db
from app.proposals.models import Proposal, ProposalKind

bp = Blueprint("links", __name__, url_prefix="/consultations/<slug>/comite/besoins-services")
PER_PAGE = 20  # each with its links and up to links.SUGGESTIONS suggestions


@bp.get("")
@login_required
def needs(slug: str):
    return _page(committee_space(slug), ProposalKind.NEED)


@bp.get("/services")
@login_required
def services(slug: str):
    return _page(committee_space(slug), ProposalKind.SERVICE)


def _page(consultation: Consultation, kind: str):
    """A page of the consultation's listed proposals of `kind`, filtered by issue and theme, with their links
    and suggestions of the other kind."""
    issues = queries.issues_of(consultation)
    filter_form = CommitteeFilterForm(request.args)
    filter_form.set_choices(consultation, issues)
    filters, number = ((filter_form.filters(), filter_form.page.data or 1) if filter_form.validate()
                       else (CommitteeFilters(), 1))
    page = db.paginate(queries.committee_proposals(consultation, replace(filters, kind=kind)), page=number,
                       per_page=PER_PAGE, error_out=False)
    return render_template("committee/links.html", consultation=consultation, filter_form=filter_form, page=page,
                           rows=links.rows(page.items), from_needs=kind == ProposalKind.NEED,
                           filtered=any(request.args.get(name) for name in ("issue", "theme")),
                           why_not=permissions.why_not_link(current_user, consultation))


@bp.post("/confirmer")
@login_required
def confirm(slug: str):
    consultation = committee_space(slug)
    if pair := _posted_pair(consultation):
        need, service = pair
        attempt(lambda: links.confirm_link(need, service, by=current_user),
                success=_("Lien confirmé : « %(service)s » répond à « %(need)s ».", service=service.title,
                          need=need.title))
    return _back(consultation)


@bp.post("/retirer")
@login_required
def remove(slug: str):
    consultation = committee_space(slug)
    if pair := _posted_pair(consultation):
        need, service = pair
        done, deleted = attempt(lambda: links.remove_link(need, service, by=current_user))
        if done:
            flash(_("Lien retiré entre « %(service)s » et « %(need)s ».", service=service.title, need=need.title)
                  if deleted else
                  _("Confirmation retirée : le lien reste déclaré par l'organisation de « %(service)s ».",
                    service=service.title), "success")
    return _back(consultation)


def _posted_pair(consultation: Consultation) -> tuple[Proposal, Proposal] | None:
    """The need and the service posted, both of this consultation; None (and the user told) otherwise."""
    form = LinkPairForm()
    found = [db.session.get(Proposal, proposal_id) for proposal_id in form.ids] if form.validate_on_submit() else []
    if not found or any(proposal is None or proposal.consultation_id != consultation.id for proposal in found):
        flash(_("Choisissez un besoin et un service de cette consultation."), "error")
        return None
    return found[0], found[1]


def _back(consultation: Consultation):
    return redirect(safe_next_url() or url_for("links.needs", slug=consultation.slug))
