"""JSON endpoints under /api/v1; malformed parameters get a 400 JSON error, never a 500."""

from flask import Blueprint, jsonify, request
from flask_babel import gettext as _

from app.extensions import csrf, db
from app.organizations import services as organization_services
from app.organizations.forms import DirectorySearchForm
from app.organizations.models import Organization

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)

MAX_PER_PAGE = 100


def bad_request(errors: dict):
    return jsonify({"error": {"status": 400, "message": _("Paramètres invalides."),
                              "fields": {name: [str(message) for message in messages]
                                         for name, messages in errors.items()}}}), 400


def unknown_parameters(allowed: set[str]) -> dict:
    return {name: [_("Paramètre inconnu.")] for name in request.args if name not in allowed}


def page_envelope(page, items: list[dict]) -> dict:
    return {"items": items, "total": page.total, "page": page.page, "per_page": page.per_page,
            "pages": page.pages}


def organization_json(organization: Organization) -> dict:
    return {
        "id": organization.id, "kind": organization.kind, "name": organization.name,
        "siren": organization.siren, "insee_code": organization.insee_code,
        "population": organization.population, "departement": organization.departement_code,
        "region": organization.region_code, "epci_id": organization.epci_id,
        "is_verified": organization.is_verified, "is_ansm_eligible": organization.is_ansm_eligible,
    }


@bp.get("/organizations")
def organizations():
    form = DirectorySearchForm(request.args)
    errors = unknown_parameters({"q", "kind", "departement", "page", "per_page"})
    per_page = request.args.get("per_page", "20")
    if not per_page.isdigit() or not 1 <= int(per_page) <= MAX_PER_PAGE:
        errors["per_page"] = [_("Entier entre 1 et %(max)d attendu.", max=MAX_PER_PAGE)]
    if not form.validate() or errors:
        return bad_request({**form.errors, **errors})
    statement = organization_services.search_organizations(form.q.data or "", form.kind.data,
                                                           form.departement.data)
    page = db.paginate(statement, page=form.page.data or 1, per_page=int(per_page), error_out=False,
                       max_per_page=MAX_PER_PAGE)
    return jsonify(page_envelope(page, [organization_json(org) for org in page.items]))
