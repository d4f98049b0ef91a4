"""The choice of mails on 'Mon compte': one radio group per kind."""

from flask_wtf import FlaskForm
from wtforms import RadioField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired

from app.notifications.models import DeliveryMode, NotificationKind


def preferences_form(current: dict[NotificationKind, DeliveryMode]) -> FlaskForm:
    """A form with one field per kind, named after it, preset to the person's current modes."""

    class PreferencesForm(FlaskForm):
        pass

    choices = [SelectChoice(mode.value, mode.label) for mode in DeliveryMode]
    for kind in NotificationKind:
        setattr(PreferencesForm, kind.value, RadioField(kind.label, choices=choices, validators=[InputRequired()],
                                                        default=current[kind].value))
    return PreferencesForm()
