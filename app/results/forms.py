"""The filters of the results pages, read from the query string: the shape of the input only."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import NumberRange, Optional

from app.core.forms import enum_choices
from app.proposals.forms import with_blank
from app.proposals.models import AnswerState, Carrier, Maturity, ProposalKind
from app.results.queries import CatalogueFilters, RankingFilters


class RankingFilterForm(FlaskForm):
    """Which proposals of the ranking to show: a kind, an answer."""

    class Meta:
        csrf = False

    kind = SelectField(_l("Type"), choices=with_blank(enum_choices(ProposalKind), _l("Besoins et services")),
                       validators=[Optional()])
    answer_state = SelectField(_l("Réponse du comité"), name="reponse", validators=[Optional()], choices=with_blank(
        enum_choices(AnswerState), _l("Toutes")))
    page = IntegerField(_l("Page"), validators=[
        Optional(), NumberRange(min=1, max=100_000, message=_l("Le numéro de page doit être un entier positif."))])

    def filters(self) -> RankingFilters:
        return RankingFilters(kind=self.kind.data or None, answer_state=self.answer_state.data or None)


class CatalogueFilterForm(FlaskForm):
    """Which laureate services to show: a theme, a maturity, a carrying structure, a licence."""

    class Meta:
        csrf = False

    theme = SelectField(_l("Thème"), validators=[Optional()])
    maturity = SelectField(_l("Maturité"), choices=with_blank(enum_choices(Maturity), _l("Toutes")),
                           validators=[Optional()])
    carrier = SelectField(_l("Structure porteuse"), name="structure",
                          choices=with_blank(enum_choices(Carrier), _l("Toutes")), validators=[Optional()])
    licence = SelectField(_l("Licence"), validators=[Optional()])

    def set_choices(self, consultation, licences: list[str]) -> None:
        self.theme.choices = with_blank([SelectChoice(str(theme.id), theme.name) for theme in consultation.themes],
                                        _l("Tous"))
        self.licence.choices = with_blank([SelectChoice(licence, licence) for licence in licences], _l("Toutes"))

    def filters(self) -> CatalogueFilters:
        return CatalogueFilters(theme_id=int(self.theme.data) if self.theme.data else None,
                                maturity=self.maturity.data or None, carrier=self.carrier.data or None,
                                licence=self.licence.data or None)
