"""JSON endpoints under /api/v1; malformed parameters get a 400 JSON error, never a 500."""

import sqlalchemy as sa
from flask import Blueprint, abort, jsonify, request
from flask_login import current_user
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from app.api.serializers import consultation_json, organization_json, proposal_json
from app.consultations.models import Consultation
from app.extensions import csrf, db
from app.organizations import services as organization_services
from app.organizations.forms import DirectorySearchForm
from app.proposals.forms import ProposalSearchForm
from app.proposals.models import Proposal, ProposalState
from app.proposals.search import PRIME, page_of_proposals
from app.votes.permissions import counts_hidden

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)

MAX_PER_PAGE = 100


def bad_request(errors: dict):
    return jsonify({"error": {"status": 400, "message": _("Paramètres invalides."),
                              "fields": {name: [str(message) for message in messages]
                                         for name, messages in errors.items()}}}), 400


def _integer_parameter(name: str, default: int, low: int, high: int, errors: dict) -> int:
    value = request.args.get(name, str(default))
    # isdigit() alone takes "²" for a digit, which int() refuses; a plain number is short.
    if not (value.isascii() and value.isdigit() and len(value) <= 12) or not low <= int(value) <= high:
        errors[name] = [_("Entier entre %(low)d et %(high)d attendu.", low=low, high=high)]
        return default
    return int(value)


def _check_parameters(form, allowed: set[str]) -> tuple[dict, int]:
    """Validate the query string against `form` and `allowed`; return the errors and per_page."""
    errors = {name: [_("Paramètre inconnu.")] for name in request.args if name not in allowed}
    per_page = _integer_parameter("per_page", 20, 1, MAX_PER_PAGE, errors)
    if not form.validate():
        errors.update(form.errors)
    return errors, per_page


def page_envelope(page, items: list[dict]) -> dict:
    return {"items": items, "total": page.total, "page": page.page, "per_page": page.per_page,
            "pages": page.pages}


def shown_support_count(proposal: Proposal) -> int | None:
    return None if counts_hidden(proposal.consultation, current_user) else proposal.support_count


@bp.get("/organizations")
def organizations():
    form = DirectorySearchForm(request.args)
    errors, per_page = _check_parameters(form, {"q", "kind", "departement", "page", "per_page"})
    if errors:
        return bad_request(errors)
    statement = organization_services.search_organizations(form.q.data or "", form.kind.data,
                                                           form.departement.data)
    page = db.paginate(statement, page=form.page.data or 1, per_page=per_page, error_out=False)
    return jsonify(page_envelope(page, [organization_json(org) for org in page.items]))


@bp.get("/consultations")
def consultations():
    items = db.session.scalars(sa.select(Consultation).order_by(Consultation.created_at.desc())).all()
    return jsonify({"items": [consultation_json(consultation) for consultation in items], "total": len(items)})


def _consultation(slug: str) -> Consultation:
    return db.first_or_404(sa.select(Consultation).where(Consultation.slug == slug)
                           .options(selectinload(Consultation.phases), selectinload(Consultation.themes)))


@bp.get("/consultations/<slug>")
def consultation(slug: str):
    return jsonify(consultation_json(_consultation(slug), full=True))


@bp.get("/consultations/<slug>/proposals")
def consultation_proposals(slug: str):
    consultation_ = _consultation(slug)
    form = ProposalSearchForm(request.args)
    form.set_choices(consultation_, counts_hidden=counts_hidden(consultation_, current_user))
    errors, per_page = _check_parameters(form, {field.name for field in form} | {"per_page", "seed"})
    seed = _integer_parameter("seed", 0, 0, PRIME - 1, errors)
    if errors:
        return bad_request(errors)
    page = page_of_proposals(consultation_, form.filters(seed), page=form.page.data or 1, per_page=per_page,
                             complete=True)
    return jsonify(page_envelope(page, [proposal_json(p, support_count=shown_support_count(p)) for p in page.items]))


@bp.get("/proposals/<int:proposal_id>")
def proposal(proposal_id: int):
    proposal_ = db.get_or_404(Proposal, proposal_id)
    if proposal_.state == ProposalState.DRAFT or proposal_.is_hidden:
        abort(404)
    return jsonify(proposal_json(proposal_, support_count=shown_support_count(proposal_)))
