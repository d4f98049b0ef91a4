"""Organization forms: directory search (shared by the page and the API), joining, creating."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, RadioField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, NumberRange, Optional, Regexp

from app.core.forms import enum_choices
from app.organizations.models import MembershipRole, OrganizationKind

DEPARTEMENT_PATTERN = r"^(\d{2}|2[AB]|97\d)$"


class DirectorySearchForm(FlaskForm):
    """Read from the query string; every parameter is optional and checked."""

    class Meta:
        csrf = False

    q = StringField(_l("Nom, code postal, code INSEE ou SIREN"), validators=[Optional(), Length(max=100)])
    kind = SelectField(_l("Type"), validators=[Optional()], validate_choice=True)
    departement = StringField(_l("Département (code)"), validators=[
        Optional(), Regexp(DEPARTEMENT_PATTERN, message=_l("Code de département inconnu, par exemple 15 ou 2A."))])
    page = IntegerField(_l("Page"), default=1, validators=[
        Optional(), NumberRange(min=1, max=100_000, message=_l("Le numéro de page doit être un entier positif."))])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = [SelectChoice("", _l("Tous les types")), *enum_choices(OrganizationKind)]


class JoinForm(FlaskForm):
    role = RadioField(_l("J'y exerce en tant que"), validators=[InputRequired(_l("Choisissez votre rôle."))],
                      choices=enum_choices(MembershipRole))


class OrganizationForm(FlaskForm):
    kind = SelectField(_l("Type d'organisation"), validators=[InputRequired()], choices=enum_choices(
        OrganizationKind, only=set(OrganizationKind) - set(OrganizationKind.directory_kinds())))
    name = StringField(_l("Nom"), validators=[InputRequired(_l("Indiquez le nom.")), Length(max=200)])
    siren = StringField(_l("Numéro SIREN"), validators=[InputRequired(_l("Indiquez le numéro SIREN."))],
                        render_kw={"inputmode": "numeric", "autocomplete": "off"})
    departement_code = StringField(_l("Département du siège (code)"), validators=[
        Optional(), Regexp(DEPARTEMENT_PATTERN, message=_l("Code de département inconnu, par exemple 15 ou 2A."))])
