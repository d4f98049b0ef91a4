"""Schemathesis draws requests from the OpenAPI document and sends them to the app in process, on a
populated consultation: no answer is a server error, every answer's status, type and body are those the
document gives. Each operation is tried as drawn (unknown slugs and ids among them) and on the populated
consultation's own slug and ids."""

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance, response_schema_conformance,
                                               status_code_conformance)

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
FUZZ = settings(max_examples=25, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.filter_too_much])


def unique(variants: list[dict]) -> list[dict]:
    return [variant for index, variant in enumerate(variants) if variant not in variants[:index]]


def test_drawn_requests_get_no_server_error_and_documented_answers(app, document, published):
    known = {"slug": published.consultation.slug, "issue_id": published.canteens.id,
             "proposal_id": published.laureate.id}
    operations = [result.ok() for result in schemathesis.openapi.from_dict(document).get_all_operations()]
    assert len(operations) == len(document["paths"])
    for operation in operations:
        @FUZZ
        @given(case=operation.as_strategy())
        def check(case):
            drawn = dict(case.path_parameters or {})
            # As drawn, then in the populated consultation (drawn ids in it), then on its own ids.
            for values in unique([drawn, {**drawn, "slug": known["slug"]} if "slug" in drawn else drawn,
                                  {name: known[name] for name in drawn}]):
                case.path_parameters = values
                case.call_and_validate(app=app, checks=CHECKS)

        check()
