"""The API's fixtures: a client that checks every answer against the OpenAPI document, and a consultation
whose results are published, with what must show and what must not."""

from types import SimpleNamespace
from urllib.parse import urlsplit

import jsonschema_rs
import pytest

from app.api.openapi import document_path, openapi_document
from app.consultations.models import PhaseKind
from app.core import audit, clock
from tests.factories import (make_consultation, make_counted_support, make_issue, make_organization, make_proposal,
                             make_user)


@pytest.fixture
def document(app):
    with app.test_request_context():
        return openapi_document(app, app.config["PUBLIC_URL"])


class CheckedClient:
    """GET requests to the API whose answers must be documented: their status among the operation's
    responses, their JSON body valid against the schema."""

    def __init__(self, client, app, document: dict):
        self.client, self.app, self.document = client, app, document

    def get(self, url: str, **kwargs):
        response = self.client.get(url, **kwargs)
        rule, _arguments = self.app.url_map.bind("localhost").match(urlsplit(url).path, return_rule=True)
        responses = self.document["paths"][document_path(rule)]["get"]["responses"]
        assert str(response.status_code) in responses, (url, response.status_code, response.text[:300])
        schema = responses[str(response.status_code)]["content"].get("application/json", {}).get("schema")
        if schema is not None:
            jsonschema_rs.Draft202012Validator(schema).validate(response.get_json())
        return response

    def json(self, url: str, status: int = 200, **kwargs) -> dict:
        response = self.get(url, **kwargs)
        assert response.status_code == status, (url, response.text[:300])
        return response.get_json()


@pytest.fixture
def api(client, app, document) -> CheckedClient:
    return CheckedClient(client, app, document)


SECRET = "Brouillon confidentiel du comité"


@pytest.fixture
def published():
    """A consultation in its results stage, answers published: a laureate need, a service not retained and a
    need under evaluation in two issues, with counted supports; a draft, a hidden and a merged proposal that
    no list may show; an audit entry whose data is the committee's."""
    consultation = make_consultation(PhaseKind.RESULTS, results_published_at=clock.now())
    cantal = make_organization("Aurillac", departement_code="15", siren="200066637")
    monts = make_organization("CC des Monts", kind="epci", population=9000, departement_code="63")
    paris = make_organization("Paris", departement_code="75", population=2_100_000)
    bystander = make_organization("Commune sans rien", departement_code="15")
    laureate = make_proposal(consultation, cantal, title="Cantine en ligne", answer_state="laureate",
                             answer_text="Retenue pour son utilité.", granted_amount_cents=1_000_000)
    service = make_proposal(consultation, monts, kind="service", title="Logiciel de cantine",
                            answer_state="not_retained", answer_text="Trop tôt.")
    evaluating = make_proposal(consultation, cantal, title="Transport scolaire", answer_state="evaluating")
    draft = make_proposal(consultation, paris, state="draft", title="Brouillon de Paris")
    hidden = make_proposal(consultation, paris, title="Proposition masquée", hidden_at=clock.now())
    merged = make_proposal(consultation, paris, title="Doublon fusionné", merged_into_id=laureate.id)
    for supporter in (monts, paris):
        make_counted_support(laureate, supporter)
    make_counted_support(evaluating, monts)
    canteens = make_issue(consultation, "Restauration scolaire", proposals=[laureate, service])
    transport = make_issue(consultation, "Mobilité", proposals=[evaluating], position=1)
    entry = audit.record("decision.answer", actor=make_user(), subject=laureate, data={"text": SECRET})
    return SimpleNamespace(consultation=consultation, cantal=cantal, monts=monts, paris=paris, bystander=bystander,
                           laureate=laureate, service=service, evaluating=evaluating, draft=draft, hidden=hidden,
                           merged=merged, canteens=canteens, transport=transport, entry=entry,
                           base=f"/api/v1/consultations/{consultation.slug}")
