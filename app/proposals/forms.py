"""Proposal forms: the shape of the input only; rules live in services."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.widgets import HiddenInput
from wtforms.validators import InputRequired, Length, NumberRange, Optional, Regexp

from app.core.forms import EurosField, MultiCheckboxField, enum_choices
from app.organizations.forms import DEPARTEMENT_PATTERN
from app.organizations.models import OrganizationKind
from app.proposals.models import AnswerState, Carrier, Maturity, ProposalKind, ReportReason, TerritoryTag
from app.proposals.search import PRIME, SORTS, ProposalFilters, shuffle_of_the_moment
from app.proposals.services import BODY_MAX, SUMMARY_MAX, TITLE_LENGTH

SORT_LABELS = {"random": _l("Ordre aléatoire"), "newest": _l("Les plus récentes"),
               "most_supported": _l("Les plus soutenues"), "most_commented": _l("Les plus commentées")}


def with_blank(options: list[SelectChoice], label) -> list[SelectChoice]:
    return [SelectChoice("", label), *options]


class ProposalForm(FlaskForm):
    kind = RadioField(_l("Type de contribution"), choices=enum_choices(ProposalKind),
                      validators=[InputRequired(_l("Choisissez : besoin ou service."))])
    organization_id = SelectField(_l("Au nom de"), coerce=int, validate_choice=True)
    title = StringField(_l("Titre"), validators=[
        InputRequired(_l("Donnez un titre.")),
        Length(min=TITLE_LENGTH[0], max=TITLE_LENGTH[1],
               message=_l("Le titre doit compter entre %(min)d et %(max)d caractères."))])
    summary = TextAreaField(_l("Résumé"), validators=[
        InputRequired(_l("Résumez la contribution.")),
        Length(max=SUMMARY_MAX, message=_l("%(max)d caractères au plus."))], render_kw={"rows": 3})
    body = TextAreaField(_l("Description"), validators=[
        InputRequired(_l("Décrivez la contribution.")),
        Length(max=BODY_MAX, message=_l("%(max)d caractères au plus."))], render_kw={"rows": 12})
    theme_ids = MultiCheckboxField(_l("Thèmes"), coerce=int,
                                   validators=[InputRequired(_l("Choisissez au moins un thème."))])
    territory_tags = MultiCheckboxField(_l("Territoires concernés"), choices=enum_choices(TerritoryTag))
    problem = TextAreaField(_l("Problème rencontré"), validators=[Optional(), Length(max=5000)],
                            render_kw={"rows": 4})
    affected = TextAreaField(_l("Qui en souffre ?"), validators=[Optional(), Length(max=2000)],
                             render_kw={"rows": 2})
    workaround = TextAreaField(_l("Comment faites-vous aujourd'hui ?"), validators=[Optional(), Length(max=5000)],
                               render_kw={"rows": 3})
    maturity = SelectField(_l("Maturité"), choices=with_blank(enum_choices(Maturity), _l("Choisir")),
                           validators=[Optional()])
    licence = StringField(_l("Licence"), validators=[Optional(), Length(max=80)])
    repository_url = StringField(_l("Adresse du dépôt de code source"), validators=[Optional(), Length(max=300)])
    carrier = SelectField(_l("Structure porteuse"), choices=with_blank(enum_choices(Carrier), _l("Choisir")),
                          validators=[Optional()])
    deployments = IntegerField(_l("Nombre de déploiements"), validators=[
        Optional(), NumberRange(min=0, max=100_000, message=_l("Nombre entier positif ou nul."))])
    requested_budget = EurosField(_l("Budget demandé"), maximum=10**10, validators=[Optional()],
                                  description=_l("En euros, par exemple 150 000 € ou 1 234,50 €."))


class ProposalSearchForm(FlaskForm):
    """Filters read from the query string, shared by the index and the API."""

    class Meta:
        csrf = False

    q = StringField(_l("Rechercher"), validators=[Optional(), Length(max=200)])
    kind = SelectField(_l("Type"), choices=with_blank(enum_choices(ProposalKind), _l("Besoins et services")),
                       validators=[Optional()])
    theme = SelectField(_l("Thème"), validators=[Optional()])
    territory = SelectField(_l("Territoire"), choices=with_blank(enum_choices(TerritoryTag), _l("Tous")),
                            validators=[Optional()])
    organization_kind = SelectField(_l("Type d'organisation"), validators=[Optional()], choices=with_blank(
        enum_choices(OrganizationKind), _l("Toutes")))
    departement = StringField(_l("Département (code)"), validators=[
        Optional(), Regexp(DEPARTEMENT_PATTERN, message=_l("Code de département inconnu, par exemple 15 ou 2A."))])
    answer_state = SelectField(_l("Réponse du comité"), choices=with_blank(enum_choices(AnswerState), _l("Toutes")),
                               validators=[Optional()])
    sort = SelectField(_l("Trier par"), choices=[SelectChoice(key, SORT_LABELS[key]) for key in SORTS],
                       validators=[Optional()])
    page = IntegerField(_l("Page"), validators=[
        Optional(), NumberRange(min=1, max=100_000, message=_l("Le numéro de page doit être un entier positif."))])
    # The random order's seed, carried by the links and the form so that the order stays put.
    seed = IntegerField(_l("Graine de l'ordre aléatoire"), widget=HiddenInput(), validators=[
        Optional(), NumberRange(min=0, max=PRIME - 1, message=_l("Entier entre %(min)d et %(max)d attendu."))],
        description=_l("Tri random : la même graine donne le même ordre sur toutes les pages ; sans graine, "
                       "celle de la minute."))

    def filters(self) -> ProposalFilters:
        seed = shuffle_of_the_moment() if self.seed.data is None else self.seed.data
        return ProposalFilters(
            q=(self.q.data or "").strip(), kind=self.kind.data or None,
            theme_id=int(self.theme.data) if self.theme.data else None, territory=self.territory.data or None,
            organization_kind=self.organization_kind.data or None, departement=self.departement.data or None,
            answer_state=self.answer_state.data or None, sort=self.sort.data or "random", seed=seed)

    def set_choices(self, consultation, *, counts_hidden: bool) -> None:
        """Themes of this consultation; no sorting by supports while counts are hidden."""
        self.theme.choices = with_blank([SelectChoice(str(theme.id), theme.name) for theme in consultation.themes],
                                        _l("Tous"))
        if counts_hidden:
            self.sort.choices = [choice for choice in self.sort.choices if choice.value != "most_supported"]


class WithdrawForm(FlaskForm):
    reason = TextAreaField(_l("Pourquoi retirer cette proposition ?"), render_kw={"rows": 3}, validators=[
        InputRequired(_l("Expliquez pourquoi la proposition est retirée.")), Length(max=2000)])


class OrganizationChoiceForm(FlaskForm):
    organization_id = SelectField(_l("Au nom de"), coerce=int, validate_choice=True)


class LinkForm(FlaskForm):
    need_id = SelectField(_l("Besoin auquel ce service répond"), coerce=int, validate_choice=True)


class CommentForm(FlaskForm):
    body = TextAreaField(_l("Votre commentaire"), render_kw={"rows": 4}, validators=[
        InputRequired(_l("Le commentaire est vide.")), Length(max=5000, message=_l("%(max)d caractères au plus."))])
    organization_id = SelectField(_l("Au nom de"), coerce=int, validate_choice=True)
    parent_id = HiddenField()


class CommentEditForm(FlaskForm):
    body = TextAreaField(_l("Commentaire"), render_kw={"rows": 4}, validators=[
        InputRequired(_l("Le commentaire est vide.")), Length(max=5000, message=_l("%(max)d caractères au plus."))])


class ReportForm(FlaskForm):
    reason = RadioField(_l("Motif du signalement"), choices=enum_choices(ReportReason),
                        validators=[InputRequired(_l("Choisissez un motif de signalement."))])


def id_choices(items, label: str = "name") -> list[SelectChoice]:
    """Choices of database objects: their id, shown by the attribute `label`."""
    return [SelectChoice(item.id, getattr(item, label)) for item in items]
