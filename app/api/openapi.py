"""The OpenAPI 3.1 document of /api/v1, built from the code rather than kept by hand.

Each view declares, with `documented`, its summary, the WTForms form that validates its query string, its
other parameters and the JSON Schema of its answer (next to its serializer); the views read their query
string through that same declaration (`read_query`), and the document walks the registered routes. A route
cannot be left out, and a parameter cannot be documented otherwise than it is read.
"""

import re
from dataclasses import dataclass

from flask import current_app, request
from flask_babel import LazyString, gettext as _, lazy_gettext as _l
from wtforms import BooleanField, IntegerField, SelectField, StringField
from wtforms.validators import Length, NumberRange, Regexp

from app.core.db import MAX_ID

PREFIX = "/api/v1"


class InvalidParameters(Exception):
    """The query string's errors, by parameter: answered with a 400 (api.views)."""

    def __init__(self, errors: dict):
        super().__init__(errors)
        self.errors = errors


@dataclass(frozen=True)
class IntegerParameter:
    """A whole number read from the query string outside any form (pagination, a random order's seed)."""

    name: str
    default: int
    low: int
    high: int
    description: object  # a lazy French string

    def read(self, errors: dict) -> int:
        value = request.args.get(self.name, str(self.default))
        # isdigit() alone takes "²" for a digit, which int() refuses; a plain number is short.
        if not (value.isascii() and value.isdigit() and len(value) <= 12) or not self.low <= int(value) <= self.high:
            errors[self.name] = [_("Entier entre %(low)d et %(high)d attendu.", low=self.low, high=self.high)]
            return self.default
        return int(value)

    def schema(self) -> dict:
        return {"type": "integer", "minimum": self.low, "maximum": self.high, "default": self.default}


@dataclass(frozen=True)
class Operation:
    summary: object
    response: dict  # JSON Schema of the 200 answer
    form: type | None = None  # validates the query string; its fields are the parameters
    parameters: tuple[IntegerParameter, ...] = ()
    description: object = ""
    media_type: str = "application/json"
    tags: tuple[str, ...] = ("données",)
    reads_query: bool = True  # through read_query, which refuses unknown parameters with a 400


def documented(summary, response: dict, **details):
    """Declare a view's operation; put it under the route decorator."""
    def decorate(view):
        view.operation = Operation(summary, response, **details)
        return view
    return decorate


def current_operation() -> Operation:
    return current_app.view_functions[request.endpoint].operation


def read_query(form=None) -> dict[str, int]:
    """Check the query string against the current view's declaration: its form (already built, its choices
    set), its other parameters, nothing else. The values of the other parameters; InvalidParameters."""
    operation = current_operation()
    if type(form) is not (operation.form or type(None)):
        raise TypeError(f"{request.endpoint} validates with {type(form)}, declares {operation.form}")
    allowed = {field_.name for field_ in form or ()} | {parameter.name for parameter in operation.parameters}
    errors = {name: [_("Paramètre inconnu.")] for name in request.args if name not in allowed}
    values = {parameter.name: parameter.read(errors) for parameter in operation.parameters}
    if form is not None and not form.validate():  # named as the query string names them (name="reponse")
        errors.update({form[key].name: messages for key, messages in form.errors.items()})
    if errors:
        raise InvalidParameters(errors)
    return values


# The document.
ERROR = {
    "type": "object", "title": "Erreur", "required": ["error"], "additionalProperties": False,
    "properties": {"error": {
        "type": "object", "required": ["status", "message"], "additionalProperties": False,
        "properties": {"status": {"type": "integer"}, "message": {"type": "string"},
                       "fields": {"type": "object", "description": "Les messages d'erreur de chaque paramètre.",
                                  "additionalProperties": {"type": "array", "items": {"type": "string"}}}}}},
}
PATH_PARAMETERS = {
    "slug": _l("L'identifiant de la consultation dans ses adresses."),
    "proposal_id": _l("Le numéro de la proposition."),
    "issue_id": _l("Le numéro du grand enjeu."),
}
RULE_ARGUMENT = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")


def form_parameter(form_field) -> dict:
    """A form field as a query parameter: its type and bounds read from the field and its validators."""
    schema = {"type": "string"}
    if isinstance(form_field, IntegerField):
        schema = {"type": "integer"}
    elif isinstance(form_field, BooleanField):
        schema = {"type": "boolean"}
    elif isinstance(form_field, SelectField) and form_field.choices is not None:
        schema["enum"] = [choice[0] for choice in form_field.iter_choices() if choice[0]]
    for validator in form_field.validators:
        if isinstance(validator, NumberRange):
            schema.update({key: value for key, value in (("minimum", validator.min), ("maximum", validator.max))
                           if value is not None})
        elif isinstance(validator, Length) and validator.max >= 0 and isinstance(form_field, StringField):
            schema["maxLength"] = validator.max
        elif isinstance(validator, Regexp):
            schema["pattern"] = validator.regex.pattern
    description = " ".join(str(text) for text in (form_field.label.text, form_field.description) if text)
    return {"name": form_field.name, "in": "query", "required": False, "description": description,
            "schema": schema}


def path_parameter(converter: str | None, name: str) -> dict:
    schema = {"type": "integer", "minimum": 1, "maximum": MAX_ID} if converter == "int" else {"type": "string"}
    return {"name": name, "in": "path", "required": True, "description": str(PATH_PARAMETERS.get(name, "")),
            "schema": schema}


def operation_document(rule, operation: Operation) -> dict:
    path_parameters = [path_parameter(converter, name) for converter, name in RULE_ARGUMENT.findall(rule.rule)]
    query = ([form_parameter(form_field) for form_field in operation.form(formdata=None)] if operation.form
             else [])
    query += [{"name": parameter.name, "in": "query", "required": False,
               "description": str(parameter.description), "schema": parameter.schema()}
              for parameter in operation.parameters]
    responses = {"200": {"description": _("Réussite."),
                         "content": {operation.media_type: {"schema": operation.response}}}}
    if operation.reads_query:
        responses["400"] = {"description": _("Paramètre inconnu ou invalide."),
                            "content": {"application/json": {"schema": ERROR}}}
    if path_parameters:
        responses["404"] = {"description": _("Introuvable, ou pas encore public."),
                            "content": {"application/json": {"schema": ERROR}}}
    document = {"operationId": rule.endpoint.removeprefix("api."), "summary": str(operation.summary),
                "tags": list(operation.tags), "parameters": path_parameters + query, "responses": responses}
    if operation.description:
        document["description"] = str(operation.description)
    return document


def api_rules(app) -> list:
    return sorted((rule for rule in app.url_map.iter_rules() if rule.rule.startswith(PREFIX + "/")),
                  key=lambda rule: rule.rule)


def document_path(rule) -> str:
    """/api/v1/proposals/<int:proposal_id> as OpenAPI writes it: /api/v1/proposals/{proposal_id}."""
    return RULE_ARGUMENT.sub(lambda match: "{" + match.group(2) + "}", rule.rule)


def resolved(value):
    """The schemas' lazy French descriptions as text, in the current language."""
    if isinstance(value, dict):
        return {key: resolved(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [resolved(item) for item in value]
    return str(value) if isinstance(value, LazyString) else value


def openapi_document(app, server_url: str) -> dict:
    """The document of every route under /api/v1, in the current language."""
    paths = {}
    for rule in api_rules(app):
        operation = getattr(app.view_functions[rule.endpoint], "operation", None)
        if operation is None:
            raise LookupError(f"{rule.rule} is not declared: put @documented(...) under its route")
        path = document_path(rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            paths.setdefault(path, {})[method.lower()] = operation_document(rule, operation)
    return resolved({
        "openapi": "3.1.0",
        "info": {"title": _("API de données ouvertes d'Agora"), "version": "1",
                 "description": _("Les données publiques des consultations, en lecture seule et sans "
                                  "authentification : consultations, propositions, grands enjeux, réponses et "
                                  "lauréats, décompte des soutiens, organisations participantes, journal d'audit. "
                                  "Les listes sont paginées (paramètres page et per_page)."),
                 "license": {"name": "Licence Ouverte 2.0",
                             "url": "https://www.etalab.gouv.fr/licence-ouverte-open-licence/"}},
        "servers": [{"url": server_url}],
        "paths": paths,
    })


# The documentation page reads the same document.
TYPE_NAMES = {"string": _l("texte"), "integer": _l("entier"), "boolean": _l("booléen"), "object": _l("objet"),
              "array": _l("liste"), "null": "null"}


def type_label(schema: dict) -> str:
    """A parameter's or field's type in words: « entier ou null », « liste de texte », its values."""
    types = schema.get("type", "object")
    types = types if isinstance(types, list) else [types]
    words = [str(TYPE_NAMES.get(kind, kind)) for kind in types]
    if schema.get("format") == "date-time":
        words[0] = _("instant ISO 8601")
    if "items" in schema:
        words[0] = _("liste (%(items)s)", items=type_label(schema["items"]))
    label = _(" ou ").join(words)
    if values := [value for value in schema.get("enum", []) if value is not None]:
        label = _("%(type)s parmi %(values)s", type=label, values=", ".join(map(str, values)))
    bounds = [_("min. %(value)s", value=schema["minimum"])] if "minimum" in schema else []
    bounds += [_("max. %(value)s", value=schema["maximum"])] if "maximum" in schema else []
    bounds += [_("%(count)s caractères au plus", count=schema["maxLength"])] if "maxLength" in schema else []
    return ", ".join([label, *bounds])


def schema_rows(schema: dict, prefix: str = "") -> list[tuple[str, str, str]]:
    """The fields of an answer, nested ones by their path (items[].organization.name), with their type and
    description."""
    rows = []
    for name, field_schema in schema.get("properties", {}).items():
        rows.append((prefix + name, type_label(field_schema), field_schema.get("description", "")))
        if field_schema.get("properties"):
            rows += schema_rows(field_schema, f"{prefix}{name}.")
        elif field_schema.get("items", {}).get("properties"):
            rows += schema_rows(field_schema["items"], f"{prefix}{name}[].")
    return rows
