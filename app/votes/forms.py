"""Forms of the votes domain: the mandate an elected official gives an aidant (input shape only)."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField
from wtforms.validators import InputRequired

from app.core.forms import ParisDateTimeField


class MandateForm(FlaskForm):
    # Choices: the verified agents of the official's organizations, one per membership (set by the view, which
    # also says when the one chosen is no longer among them).
    aidant = SelectField(_l("Aidant"), validate_choice=False,
                         validators=[InputRequired(_l("Choisissez l'aidant."))],
                         description=_l("Un agent vérifié de votre organisation."))
    starts_at = ParisDateTimeField(_l("Début du mandat"),
                                   validators=[InputRequired(_l("Indiquez le début du mandat."))],
                                   description=_l("Date et heure de Paris, par exemple 01/12/2026 09:00."))
    ends_at = ParisDateTimeField(_l("Fin du mandat"), validators=[InputRequired(_l("Indiquez la fin du mandat."))],
                                 description=_l("Le mandat cesse à cette date et heure. "
                                                "Vous pouvez le révoquer avant."))
