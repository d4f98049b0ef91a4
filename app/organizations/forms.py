"""Organization forms: directory search (shared by the page and the API), joining, creating, asking for the
ANSM diagnostic and triaging the requests."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, IntegerField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, NumberRange, Optional, Regexp

from app.core.forms import enum_choices
from app.organizations.models import DiagnosticStatus, MembershipRole, OrganizationKind

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


class DiagnosticRequestForm(FlaskForm):
    """The shape of a diagnostic request; what it must hold is checked by diagnostics.request_diagnostic."""

    needs = TextAreaField(_l("Vos besoins"), render_kw={"rows": 8, "maxlength": 4000},
                          validators=[InputRequired(_l("Décrivez vos besoins : ce que vous attendez du diagnostic.")),
                                      Length(max=4000, message=_l("La description des besoins compte au plus 4 000 "
                                                                  "caractères."))])
    contact_name = StringField(_l("Personne à contacter"), render_kw={"autocomplete": "name"},
                               validators=[Optional(),
                                           Length(max=120, message=_l("Le nom compte au plus 120 caractères."))])
    contact_email = EmailField(_l("Adresse électronique de contact"), render_kw={"autocomplete": "email"},
                               validators=[InputRequired(_l("Indiquez l'adresse électronique à laquelle vous "
                                                            "joindre.")),
                                           Length(max=254, message=_l("L'adresse compte au plus 254 caractères."))])
    contact_phone = StringField(_l("Téléphone"), render_kw={"autocomplete": "tel", "inputmode": "tel"},
                                validators=[Optional(),
                                            Length(max=30, message=_l("Le numéro compte au plus 30 caractères."))])


class DiagnosticStatusForm(FlaskForm):
    status = SelectField(_l("Statut"), choices=enum_choices(DiagnosticStatus), validate_choice=True,
                         validators=[InputRequired(_l("Choisissez un statut."))])
    note = TextAreaField(_l("Note de l'équipe (non transmise à la collectivité)"), render_kw={"rows": 4},
                         validators=[Optional(), Length(max=4000, message=_l("La note compte au plus 4 000 "
                                                                             "caractères."))])
