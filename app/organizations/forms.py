"""Organization forms: directory search (shared by the page and the API), joining, creating."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, RadioField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, NumberRange, Optional, Regexp

from app.organizations.models import KIND_LABELS, MembershipRole, OrganizationKind

DEPARTEMENT_PATTERN = r"^(\d{2}|2[AB]|97\d)$"


class DirectorySearchForm(FlaskForm):
    """Read from the query string; every parameter is optional and checked."""

    class Meta:
        csrf = False

    q = StringField(_l("Nom, code INSEE ou SIREN"), validators=[Optional(), Length(max=100)])
    kind = SelectField(_l("Type"), validators=[Optional()], validate_choice=True)
    departement = StringField(_l("Département (code)"), validators=[
        Optional(), Regexp(DEPARTEMENT_PATTERN, message=_l("Code de département inconnu, par exemple 15 ou 2A."))])
    page = IntegerField(_l("Page"), default=1, validators=[
        Optional(), NumberRange(min=1, max=100_000, message=_l("Le numéro de page doit être un entier positif."))])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = [SelectChoice("", _l("Tous les types"))] + [
            SelectChoice(kind.value, KIND_LABELS[kind]) for kind in OrganizationKind]


class JoinForm(FlaskForm):
    role = RadioField(_l("J'y exerce en tant que"), validators=[InputRequired(_l("Choisissez votre rôle."))],
                      choices=[SelectChoice(MembershipRole.AGENT.value, _l("Agent")),
                               SelectChoice(MembershipRole.ELECTED.value, _l("Élu ou élue"))])


class OrganizationForm(FlaskForm):
    kind = SelectField(_l("Type d'organisation"), validators=[InputRequired()], choices=[
        SelectChoice(kind.value, KIND_LABELS[kind]) for kind in OrganizationKind
        if kind not in OrganizationKind.directory_kinds()])
    name = StringField(_l("Nom"), validators=[InputRequired(_l("Indiquez le nom.")), Length(max=200)])
    siren = StringField(_l("Numéro SIREN"), validators=[InputRequired(_l("Indiquez le numéro SIREN."))],
                        render_kw={"inputmode": "numeric", "autocomplete": "off"})
    departement_code = StringField(_l("Département du siège (code)"), validators=[
        Optional(), Regexp(DEPARTEMENT_PATTERN, message=_l("Code de département inconnu, par exemple 15 ou 2A."))])
