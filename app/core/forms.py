"""Form fields shared by several domains."""

import re
from datetime import datetime
from decimal import Decimal

from babel.numbers import get_decimal_symbol
from flask_babel import get_locale, lazy_gettext as _l
from wtforms import DateTimeLocalField, Field, SelectMultipleField, widgets
from wtforms.fields.choices import SelectChoice

from app.core import clock


class ParisDateTimeField(DateTimeLocalField):
    """A date and time typed in Paris time; `utc` gives the instant to store.

    Accepts what a datetime-local input sends and what a person types where the browser shows a
    plain text box (31/03/2027 18:00).
    """

    FIRST_YEAR, LAST_YEAR = 2000, 2100

    def __init__(self, label=None, validators=None, **kwargs):
        super().__init__(label, validators, format=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%d/%m/%Y %H:%M"],
                         **kwargs)

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(_l("Date et heure invalides : utilisez le format jj/mm/aaaa hh:mm, "
                                "par exemple 31/03/2027 18:00.")) from None
        # Beyond these years a typo, not a date: year 1 would not even convert to UTC.
        if self.data is not None and not self.FIRST_YEAR <= self.data.year <= self.LAST_YEAR:
            self.data = None
            raise ValueError(_l("L'année doit être comprise entre %(first)d et %(last)d.",
                                first=self.FIRST_YEAR, last=self.LAST_YEAR))

    @property
    def utc(self) -> datetime | None:
        return clock.from_paris(self.data) if self.data else None

    def set_utc(self, moment: datetime) -> None:
        self.data = clock.to_paris(moment).replace(tzinfo=None)


# Digits, then cents after a comma or a point; spaces (of any kind) and a final "€" are removed first.
AMOUNT = re.compile(r"[0-9]+(?:[.,][0-9]{1,2})?")


def parse_euros(text: str) -> Decimal | None:
    """The amount a person typed ("12 000 000 €", "1 234,50", "1234.5"), or None if it is not a
    non-negative amount with at most two decimals (so never NaN, an infinity or an exponent)."""
    compact = re.sub(r"\s", "", text).removesuffix("€")
    return Decimal(compact.replace(",", ".")) if AMOUNT.fullmatch(compact) else None


def format_euros(amount: Decimal) -> str:
    """An amount as a person types it back: digits grouped by spaces, cents only when there are some."""
    text = f"{amount:,.0f}" if amount == amount.to_integral_value() else f"{amount:,.2f}"
    return text.replace(",", " ").replace(".", get_decimal_symbol(get_locale() or "fr"))


class EurosField(Field):
    """An amount in euros typed the French way; `cents` gives what to store, `set_cents` shows it."""

    widget = widgets.TextInput()

    def __init__(self, label=None, validators=None, *, maximum: int = 10**12, **kwargs):
        kwargs.setdefault("render_kw", {"inputmode": "decimal"})
        super().__init__(label, validators, **kwargs)
        self.maximum = Decimal(maximum)

    def process_data(self, value):
        self.data = None if value is None else Decimal(value)

    def process_formdata(self, valuelist):
        # An empty box is an error here too; Optional() clears it, InputRequired() says its own.
        if not valuelist:
            return
        self.data = parse_euros(valuelist[0])
        if self.data is None:
            raise ValueError(_l("Indiquez un montant en euros positif ou nul, avec deux décimales au plus, "
                                "par exemple 12 000 000 ou 1 234,50."))
        if self.data > self.maximum:
            self.data = None
            raise ValueError(_l("Le montant ne peut pas dépasser %(maximum)s €.",
                                maximum=format_euros(self.maximum)))

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        return "" if self.data is None else format_euros(self.data)

    @property
    def cents(self) -> int | None:
        return None if self.data is None else int(self.data * 100)

    def set_cents(self, cents: int | None) -> None:
        self.data = None if cents is None else Decimal(cents) / 100


class MultiCheckboxField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


def enum_choices(enum_class, only=None) -> list[SelectChoice]:
    """The members of a LabelledEnum as options (all, or those in `only`), labelled for people."""
    return [SelectChoice(value, label) for value, label in enum_class.choices() if only is None or value in only]
