"""No 500 on any input a user can type: generated text, numbers and dates thrown at every form field, query
parameter and path parameter of every route, by a person allowed through its door.

Hypothesis draws the values, among them those that once broke pages (superscript digits, numbers beyond
the database's range, sNaN, year 1); the test client raises any exception a view lets escape.
"""

import re
from html.parser import HTMLParser

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from wtforms.fields.core import UnboundField

from app.consultations.models import PhaseKind
from app.consultations.phases import calendar_around
from app.core import clock
from app.extensions import db, limiter
from app.proposals.search import PRIME
from tests.test_route_permissions import ROLES, ROUTES, world  # noqa: F401  (world is a fixture)

TRICKY = ["", " ", "0", "-1", "1", "²", "٣", "2147483648", "99999999999999999999", "9" * 5000, "1e400", "NaN",
          "sNaN", "-Infinity", "12 000 000,50 €", "0001-01-01T00:00", "9999-12-31T23:59", "31/02/2027 25:61",
          "<script>alert(1)</script>", "' OR 1=1 --", "\u202e\u200b", "x" * 30_000, "//evil.example", "javascript:x"]
# Values that gave a 500 somewhere before: each is tried in every field of every form.
BROKE_PAGES = ["²", "99999999999999999999", "sNaN", "0001-01-01T00:00", "9" * 5000, "-1", ""]
values = st.one_of(st.sampled_from(TRICKY), st.sampled_from(TRICKY), st.text(max_size=40), st.integers().map(str),
                   st.decimals(allow_nan=True, allow_infinity=True).map(str),
                   st.datetimes().map(lambda moment: moment.strftime("%Y-%m-%dT%H:%M")))
QUERY_NAMES = ["q", "kind", "theme", "territory", "organization_kind", "departement", "answer_state", "sort", "page",
               "per_page", "seed", "code", "next", "token"]
FUZZ = settings(max_examples=20, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def form_field_names() -> list[str]:
    """Every field of every form of the application, and the fields read without a form."""
    from flask_wtf import FlaskForm

    def subclasses(cls):
        for subclass in cls.__subclasses__():
            yield subclass
            yield from subclasses(subclass)

    names = {name for form in subclasses(FlaskForm) for name in dir(form)
             if isinstance(getattr(form, name, None), UnboundField)}
    return sorted(names | {"organization_id", "need_id", "parent_id", "decision", "next", "language", "reason"})


# What a person types in a field left empty, so that the form as offered passes validation.
FILLERS = {"email": "personne.fuzz@example.org", "password": "un mot de passe assez long", "number": "1",
           "text": "Une valeur plausible pour ce champ"}


class FormReader(HTMLParser):
    """The forms of a page as {action: {field: value}}, as a person would send them: the values offered,
    empty fields filled in."""

    def __init__(self, page_url: str):
        super().__init__()
        self.page_url, self.forms, self.current, self.select = page_url, {}, None, None

    def handle_starttag(self, tag, attributes):
        attributes = dict(attributes)
        name = attributes.get("name")
        if tag == "form":
            self.current = self.forms.setdefault(attributes.get("action") or self.page_url, {})
        elif self.current is None or not name or name == "csrf_token":
            return
        elif tag == "input" and attributes.get("type") in ("checkbox", "radio"):
            if "checked" in attributes or name not in self.current:
                self.current[name] = attributes.get("value", "y")
        elif tag == "input":
            kind = attributes.get("type", "text")
            self.current[name] = attributes.get("value") or FILLERS.get(kind, "")
        elif tag == "textarea":
            self.current[name] = FILLERS["text"]
        elif tag == "select":
            self.current.setdefault(name, "")
            self.select = name
        elif tag == "option" and self.select and ("selected" in attributes or not self.current[self.select]):
            self.current[self.select] = attributes.get("value", "")

    def handle_endtag(self, tag):
        if tag == "form":
            self.current = None
        elif tag == "select":
            self.select = None


def form_offered(client, world, role, url: str) -> dict:  # noqa: F811
    """The form that posts to `url`, as the page offering it shows it to `role`: the page itself, or for
    buttons, the pages that carry them."""
    hosts = [url, f"/propositions/{world.proposal.id}", f"/collectivites/{world.organization.id}", "/",
             "/adhesions/a-traiter", "/admin/moderation", f"/admin/consultations/{world.consultation.id}/comite"]
    for host in hosts:
        page = signed_in(client, world, role).get(host)
        if page.status_code == 200 and page.mimetype == "text/html":  # not a download (a zip, a CSV)
            reader = FormReader(host)
            reader.feed(page.get_data(as_text=True))
            if url in reader.forms:
                return reader.forms[url]
    return {}


def allowed_role(endpoint: str) -> str:
    """A role that gets through the route's door and acts for an organization when it can, so that the form
    is really processed rather than refused first."""
    expected = ROUTES[endpoint][2]
    return next(role for role in ("elected", "admin", *ROLES) if expected[role] not in (403, "login"))


def signed_in(client, world, role):  # noqa: F811
    limiter.reset()  # sign-in and support limits would otherwise answer 429 before the form is read
    if role != "visitor":
        client.sign_in_as(world.users[role])
    return client


def reschedule(consultation, phase: PhaseKind) -> None:
    dates = calendar_around(phase, clock.now())
    for existing in consultation.phases:
        existing.starts_at, existing.ends_at = dates[PhaseKind(existing.kind)]
    db.session.commit()


def assert_no_server_error(response) -> None:
    response.close()
    assert response.status_code < 500, response.get_data(as_text=True)[:500]


FUZZED = sorted(endpoint for endpoint in ROUTES if endpoint not in ("static", "dsfr"))


@pytest.mark.parametrize("endpoint", FUZZED)
def test_query_parameters_and_form_fields_never_cause_a_server_error(app, client, world, endpoint):  # noqa: F811
    """Every route is read with generated parameters and, when it takes a form, sent generated forms."""
    _method, url_of, _expected = ROUTES[endpoint]
    if endpoint.startswith("proposals."):  # their forms are read during the collect phase
        reschedule(world.consultation, PhaseKind.COLLECT)
    url = url_of(world).split("?")[0]
    role = allowed_role(endpoint)
    posts = any("POST" in rule.methods for rule in app.url_map.iter_rules(endpoint))
    # The form as the page offers it, some of its fields changed: random forms rarely get past validation.
    offered = form_offered(client, world, role, url)
    fields = sorted(offered) or (form_field_names() if posts else QUERY_NAMES)

    def send(browser, data: dict):
        return browser.post_form(url, data) if posts else browser.get(url, query_string=data)

    for field in fields:  # each value that once broke a page, in each field
        for value in BROKE_PAGES:
            assert_no_server_error(send(signed_in(client, world, role), {**offered, field: value}))

    @FUZZ
    @given(query=st.dictionaries(st.sampled_from(QUERY_NAMES), values, max_size=5),
           changes=st.dictionaries(st.sampled_from(fields), values, max_size=4))
    def check(query, changes):  # and generated values, several fields at a time
        browser = signed_in(client, world, role)
        assert_no_server_error(browser.get(url, query_string=query))
        assert_no_server_error(send(browser, {**offered, **changes}))

    check()


PARAMETER = re.compile(r"<(?:(\w+)(?:\(([^)]*)\))?:)?\w+>")
NUMBERS = st.one_of(st.integers(min_value=-5, max_value=10**30), st.sampled_from([2**31 - 1, 2**31, 2**63, PRIME]))
PATH_TEXT = st.text(alphabet=st.characters(blacklist_categories=["Cs", "Cc"], blacklist_characters="/?#%"),
                    min_size=1, max_size=30)


def test_path_parameters_never_cause_a_server_error(app, client, world):  # noqa: F811
    """Ids beyond the database's range, negative or odd numbers, any text in a slug or a token, on every
    route with parameters: a 404 or a refusal, never a 500."""
    rules = sorted(rule.rule for rule in app.url_map.iter_rules()
                   if "<" in rule.rule and rule.endpoint not in ("static", "dsfr"))

    @settings(FUZZ, max_examples=10 * len(rules))
    @given(data=st.data())
    def check(data):
        def value(match):
            converter, choices = match.group(1), match.group(2)
            if converter == "int":
                return str(data.draw(NUMBERS))
            if converter == "any":
                return data.draw(st.sampled_from([choice.strip(" '\"") for choice in choices.split(",")]))
            return data.draw(PATH_TEXT)

        url = PARAMETER.sub(value, data.draw(st.sampled_from(rules)))
        browser = signed_in(client, world, "admin")
        assert_no_server_error(browser.get(url))
        assert_no_server_error(browser.post_form(url, {"organization_id": world.organization.id}))

    check()
