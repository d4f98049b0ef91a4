"""Shared form fields: amounts in euros typed the French way, dates and times typed in Paris time."""

import pytest
from werkzeug.datastructures import MultiDict
from wtforms import Form
from wtforms.validators import InputRequired, Optional

from app.core.forms import EurosField, ParisDateTimeField

AMOUNT_ERROR = ("Indiquez un montant en euros positif ou nul, avec deux décimales au plus, "
                "par exemple 12 000 000 ou 1 234,50.")


class AmountForm(Form):
    amount = EurosField("Montant", validators=[Optional()], maximum=10**8)
    required = EurosField("Montant obligatoire", validators=[InputRequired("Indiquez un montant.")])


class DateForm(Form):
    moment = ParisDateTimeField("Date", validators=[InputRequired()])


def submitted(form_class, **values):
    form = form_class(MultiDict(values))
    form.validate()
    return form


@pytest.fixture(autouse=True)
def request_context(app):
    with app.test_request_context():
        yield


@pytest.mark.parametrize("typed, cents", [
    ("12 000 000", 12_000_000_00), ("12 000 000 €", 12_000_000_00), ("12\u00a0000\u00a0000", 12_000_000_00),
    ("12\u202f000\u202f000\u00a0€", 12_000_000_00), ("1 234,50", 1234_50), ("1234.5", 1234_50),
    ("  0 ", 0), ("100 000 000", 10**8 * 100),
])
def test_an_amount_is_read_as_a_french_person_types_it(typed, cents):
    form = submitted(AmountForm, amount=typed, required="1")
    assert form.errors == {} and form.amount.cents == cents


@pytest.mark.parametrize("typed", ["sNaN", "NaN", "Infinity", "-Infinity", "1e400", "1E3", "-5", "+5", "1,234",
                                   "1.2.3", "12.000.000", "douze", "€", "0x10", "١٢"])
def test_anything_but_a_finite_non_negative_amount_with_two_decimals_is_a_french_error(typed):
    form = submitted(AmountForm, amount=typed, required="1")
    assert form.errors == {"amount": [AMOUNT_ERROR]} and form.amount.cents is None


def test_an_amount_has_a_maximum_said_in_the_error():
    form = submitted(AmountForm, amount="100 000 000,01", required="1")
    assert form.errors == {"amount": ["Le montant ne peut pas dépasser 100 000 000 €."]}


def test_an_empty_amount_is_none_when_optional_and_an_error_when_required():
    form = submitted(AmountForm, amount="", required="   ")
    assert form.amount.cents is None and form.errors == {"required": [AMOUNT_ERROR]}
    assert submitted(AmountForm, amount="").errors == {"required": ["Indiquez un montant."]}


@pytest.mark.parametrize("cents, shown", [(12_000_000_00, "12 000 000"), (1234_50, "1 234,50"),
                                          (1_05, "1,05"), (0, "0")])
def test_a_stored_amount_is_shown_grouped_with_cents_only_when_there_are_some(cents, shown):
    form = AmountForm()
    form.amount.set_cents(cents)
    assert form.amount.cents == cents
    html = form.amount()
    assert f'value="{shown}"' in html and 'inputmode="decimal"' in html
    assert submitted(AmountForm, amount=shown, required="1").amount.cents == cents  # typed back unchanged


def test_what_was_typed_is_shown_back_with_its_error():
    form = submitted(AmountForm, amount="douze cents", required="1")
    assert 'value="douze cents"' in form.amount()


@pytest.mark.parametrize("typed", ["0001-01-01T00:00", "1999-12-31T23:59", "2101-01-01T00:00", "9999-12-31T23:59",
                                   "01/01/0001 00:00"])
def test_a_date_out_of_the_years_2000_to_2100_is_a_french_error(typed):
    form = submitted(DateForm, moment=typed)
    assert form.errors == {"moment": ["L'année doit être comprise entre 2000 et 2100."]}
    assert form.moment.utc is None


def test_the_years_2000_to_2100_are_accepted_and_not_one_minute_beyond():
    assert submitted(DateForm, moment="2000-01-01T00:00").moment.utc.isoformat() == "1999-12-31T23:00:00+00:00"
    assert submitted(DateForm, moment="31/12/2100 23:59").moment.utc.isoformat() == "2100-12-31T22:59:00+00:00"
    assert submitted(DateForm, moment="31/12/1999 23:59").errors
    assert submitted(DateForm, moment="2101-01-01T00:00").errors
