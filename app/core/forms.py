"""Form fields shared by several domains."""

from datetime import datetime

from flask_babel import lazy_gettext as _l
from wtforms import DateTimeLocalField, SelectMultipleField, widgets

from app.core import clock


class ParisDateTimeField(DateTimeLocalField):
    """A date and time typed in Paris time; `utc` gives the instant to store.

    Accepts what a datetime-local input sends and what a person types where the browser shows a
    plain text box (31/03/2027 18:00).
    """

    def __init__(self, label=None, validators=None, **kwargs):
        super().__init__(label, validators, format=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%d/%m/%Y %H:%M"],
                         **kwargs)

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(_l("Date et heure invalides : utilisez le format jj/mm/aaaa hh:mm, "
                                "par exemple 31/03/2027 18:00.")) from None

    @property
    def utc(self) -> datetime | None:
        return clock.from_paris(self.data) if self.data else None

    def set_utc(self, moment: datetime) -> None:
        self.data = clock.to_paris(moment).replace(tzinfo=None)


class MultiCheckboxField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()
