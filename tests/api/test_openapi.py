"""The OpenAPI document is built from the code: every route under /api/v1 is in it, each parameter as its
form reads it; its documentation page shows it."""

import re

import pytest
import schemathesis
from flask import Blueprint, Flask
from flask_babel import Babel
from markupsafe import escape

from app.api import views
from app.api.openapi import PREFIX, documented, document_path, openapi_document, read_query
from app.proposals.forms import ProposalSearchForm
from app.results.forms import RankingFilterForm


def test_every_route_under_the_prefix_is_in_the_document_with_its_methods(app, document):
    rules = [rule for rule in app.url_map.iter_rules() if rule.rule.startswith(PREFIX + "/")]
    assert len(rules) >= 14
    for rule in rules:
        operations = document["paths"][document_path(rule)]
        assert set(operations) == {method.lower() for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert len(document["paths"]) == len(rules)


def test_a_route_without_its_declaration_stops_the_document():
    app = Flask(__name__)
    Babel(app)
    blueprint = Blueprint("api", __name__, url_prefix=PREFIX)
    blueprint.add_url_rule("/documented", "documented", documented("Documentée", {"type": "object"})(lambda: {}))
    blueprint.add_url_rule("/forgotten", "forgotten", lambda: {})
    app.register_blueprint(blueprint)
    with app.test_request_context(), pytest.raises(LookupError, match="/api/v1/forgotten"):
        openapi_document(app, "http://localhost")


def query_parameters(document: dict, path: str) -> dict[str, dict]:
    return {parameter["name"]: parameter["schema"] for parameter in document["paths"][path]["get"]["parameters"]
            if parameter["in"] == "query"}


def test_query_parameters_are_the_fields_of_the_form_that_validates_them(app, document):
    parameters = query_parameters(document, "/api/v1/consultations/{slug}/proposals")
    with app.test_request_context():
        fields = {field.name for field in ProposalSearchForm(formdata=None)}
    assert set(parameters) == fields | {"per_page", "seed"}
    assert parameters["kind"]["enum"] == ["need", "service"]
    assert parameters["departement"]["pattern"] and parameters["q"]["maxLength"] == 200
    assert parameters["page"] == {"type": "integer", "minimum": 1, "maximum": 100_000}
    assert parameters["per_page"]["maximum"] == views.PER_PAGE.high
    # The results page names its answer filter "reponse": so does the document.
    assert "reponse" in query_parameters(document, "/api/v1/consultations/{slug}/answers")


def test_a_view_reading_its_query_with_another_form_than_it_declares_fails(app):
    with app.test_request_context("/api/v1/consultations/x/proposals"), pytest.raises(TypeError):
        read_query(RankingFilterForm(formdata=None))


def test_the_document_is_served_and_is_a_valid_openapi_3_1_document(api, document):
    served = api.json("/api/v1/openapi.json")
    assert served == document and served["openapi"] == "3.1.0"
    schema = schemathesis.openapi.from_dict(served)
    operations = [result.ok() for result in schema.get_all_operations()]  # ok() raises on an invalid operation
    assert len(operations) == len(document["paths"])


def test_every_answer_has_a_schema_that_lists_its_fields(document):
    for path, methods in document["paths"].items():
        answer = next(iter(methods["get"]["responses"]["200"]["content"].values()))["schema"]
        if path.endswith("/openapi.json") or path.endswith("/docs"):
            continue
        assert answer["additionalProperties"] is False and answer["required"], path


def test_the_documentation_page_shows_every_operation_in_french_without_inline_code(client, document):
    page = client.get("/api/v1/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    for path, methods in document["paths"].items():
        assert f"GET {path}" in html and escape(methods["get"]["summary"]) in html
    assert "Champs de la réponse" in html and "items[].organization.name" in html
    assert "entier parmi" not in html and "texte parmi need, service" in html
    assert not re.search(r"<script(?![^>]*\bsrc=)", html) and " style=" not in html and "<style" not in html


def test_the_site_map_links_to_the_documentation(client):
    assert 'href="/api/v1/docs"' in client.get("/plan-du-site").get_data(as_text=True)
