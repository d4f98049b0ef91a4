"""Committee forms: the shape of the input only; rules live in services."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, InputRequired, Length, NumberRange, Optional, ValidationError

from app.committee.queries import CommitteeFilters
from app.committee.services import DESCRIPTION_MAX, TITLE_LENGTH
from app.core.forms import enum_choices
from app.core.web import parse_id
from app.proposals.forms import with_blank
from app.proposals.models import ProposalKind

WITHOUT_ISSUE = "aucun"  # the issue filter's value for proposals in none
EVALUATED_BY_ME, NOT_EVALUATED_BY_ME = "par-moi", "pas-par-moi"  # the evaluation filter's values
LIKELY_DUPLICATE = "probable"  # the duplicate filter's value


class IssueForm(FlaskForm):
    title = StringField(_l("Titre"), validators=[
        InputRequired(_l("Donnez un titre au grand enjeu.")),
        Length(min=TITLE_LENGTH[0], max=TITLE_LENGTH[1],
               message=_l("Le titre doit compter entre %(min)d et %(max)d caractères."))])
    description = TextAreaField(_l("Description"), render_kw={"rows": 6}, validators=[
        Optional(), Length(max=DESCRIPTION_MAX, message=_l("%(max)d caractères au plus."))])


def issue_choices(issues) -> list[SelectChoice]:
    return [SelectChoice(str(issue.id), issue.title) for issue in issues]


class CommitteeFilterForm(FlaskForm):
    """The committee's list filters, read from the query string."""

    class Meta:
        csrf = False

    issue = SelectField(_l("Grand enjeu"), validators=[Optional()])
    kind = SelectField(_l("Type"), choices=with_blank(enum_choices(ProposalKind), _l("Besoins et services")),
                       validators=[Optional()])
    theme = SelectField(_l("Thème"), validators=[Optional()])
    evaluated = SelectField(_l("Mon évaluation"), validators=[Optional()], choices=[
        SelectChoice("", _l("Toutes")), SelectChoice(EVALUATED_BY_ME, _l("Évaluées par moi")),
        SelectChoice(NOT_EVALUATED_BY_ME, _l("Pas encore évaluées par moi"))])
    likely_duplicate = SelectField(_l("Doublons"), name="doublon", validators=[Optional()], choices=[
        SelectChoice("", _l("Toutes")), SelectChoice(LIKELY_DUPLICATE, _l("Doublons probables"))])
    page = IntegerField(_l("Page"), validators=[
        Optional(), NumberRange(min=1, max=100_000, message=_l("Le numéro de page doit être un entier positif."))])

    def set_choices(self, consultation, issues) -> None:
        self.issue.choices = [SelectChoice("", _l("Tous")), SelectChoice(WITHOUT_ISSUE, _l("Sans grand enjeu")),
                              *issue_choices(issues)]
        self.theme.choices = with_blank([SelectChoice(str(theme.id), theme.name) for theme in consultation.themes],
                                        _l("Tous"))

    def filters(self, member_id: int | None = None) -> CommitteeFilters:
        """The filters chosen; "evaluated by me" is about `member_id`, the signed-in person."""
        issue = self.issue.data or ""
        return CommitteeFilters(issue_id=int(issue) if issue.isdigit() else None, without_issue=issue == WITHOUT_ISSUE,
                                kind=self.kind.data or None, theme_id=int(self.theme.data) if self.theme.data else None,
                                evaluated={EVALUATED_BY_ME: True, NOT_EVALUATED_BY_ME: False}.get(self.evaluated.data),
                                member_id=member_id, likely_duplicate=self.likely_duplicate.data == LIKELY_DUPLICATE)


class AssignForm(FlaskForm):
    """Ticked proposals, put in the chosen issue or taken out of theirs, depending on the button pressed."""

    proposal_ids = SelectMultipleField(_l("Propositions"), validate_choice=False)
    issue_id = SelectField(_l("Grand enjeu de destination"), validate_choice=False)  # for the "assign" button
    action = StringField(validators=[AnyOf(("assign", "remove"), message=_l("Choisissez : ranger ou retirer."))])

    def validate_proposal_ids(self, field) -> None:
        if not field.data:
            raise ValidationError(_l("Cochez au moins une proposition."))
        if any(parse_id(value) is None for value in field.data):
            raise ValidationError(_l("Sélection illisible : rechargez la page et recommencez."))

    def validate_issue_id(self, field) -> None:
        if self.action.data == "assign" and field.data not in {choice.value for choice in field.choices
                                                               if choice.value}:
            raise ValidationError(_l("Choisissez le grand enjeu où ranger les propositions."))

    @property
    def ids(self) -> list[int]:
        return [parse_id(value) for value in self.proposal_ids.data]


class LinkPairForm(FlaskForm):
    """A need and a service, posted by a "Confirmer" or "Retirer" button of the needs ↔ services page."""

    need_id = StringField(validators=[InputRequired()])
    service_id = StringField(validators=[InputRequired()])

    def validate(self, extra_validators=None) -> bool:
        if not super().validate(extra_validators):
            return False
        return self.ids is not None

    @property
    def ids(self) -> tuple[int, int] | None:
        need_id, service_id = parse_id(self.need_id.data or ""), parse_id(self.service_id.data or "")
        return (need_id, service_id) if need_id and service_id else None
