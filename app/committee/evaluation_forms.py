"""Evaluation forms: the shape of the input only; rules live in app/committee/evaluation.py.

The score and criteria forms have one set of fields per criterion, named after its id, so that each field
has its own label, error and place in the error summary.
"""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (BooleanField, HiddenField, IntegerField, SelectField, SelectMultipleField, StringField,
                     TextAreaField)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, InputRequired, Length, NumberRange, Optional, ValidationError

from app.committee.evaluation import (COMMENT_MAX, DESCRIPTION_MAX, NAME_LENGTH, NOTE_MAX, REASON_LENGTH, SCORE_RANGE,
                                      WEIGHT_RANGE, CriterionInput)
from app.committee.forms import WITHOUT_ISSUE, issue_choices
from app.core.web import parse_id

SCORE_CHOICES = [SelectChoice("", _l("Pas de note")),
                 *(SelectChoice(str(value), str(value)) for value in range(SCORE_RANGE[0], SCORE_RANGE[1] + 1))]
WEIGHT_CHOICES = [SelectChoice(str(weight), str(weight)) for weight in range(WEIGHT_RANGE[0], WEIGHT_RANGE[1] + 1)]
NEW = "nouveau"  # the suffix of the blank row that adds a criterion


def score_form(criteria, scores: dict | None = None) -> FlaskForm:
    """A form scoring every criterion at once, prefilled with the member's scores (criterion id → Score)."""

    class ScoreForm(FlaskForm):
        def values(self) -> dict[int, tuple[int | None, str]]:
            return {criterion.id: (int(self[f"value_{criterion.id}"].data) if self[f"value_{criterion.id}"].data
                                   else None, self[f"comment_{criterion.id}"].data or "") for criterion in criteria}

    data = {}
    for criterion in criteria:
        setattr(ScoreForm, f"value_{criterion.id}", SelectField(
            _l("Note : %(name)s", name=criterion.name), choices=SCORE_CHOICES, default="",
            validators=[AnyOf([choice.value for choice in SCORE_CHOICES],
                              message=_l("Choisissez une note de 0 à 5, ou « Pas de note »."))],
            validate_choice=False))
        setattr(ScoreForm, f"comment_{criterion.id}", TextAreaField(
            _l("Commentaire : %(name)s", name=criterion.name), render_kw={"rows": 2}, validators=[
                Optional(), Length(max=COMMENT_MAX, message=_l("%(max)d caractères au plus."))]))
        if score := (scores or {}).get(criterion.id):
            data[f"value_{criterion.id}"], data[f"comment_{criterion.id}"] = str(score.value), score.comment
    return ScoreForm(data=data)


def criteria_form(criteria) -> FlaskForm:
    """A form changing every criterion at once, with a blank row to add one."""

    class CriteriaForm(FlaskForm):
        def rows(self) -> list[CriterionInput]:
            rows = [CriterionInput(id=criterion.id, name=self[f"name_{criterion.id}"].data or "",
                                   description=self[f"description_{criterion.id}"].data or "",
                                   weight=int(self[f"weight_{criterion.id}"].data),
                                   delete=self[f"delete_{criterion.id}"].data) for criterion in criteria]
            if (self[f"name_{NEW}"].data or "").strip():
                rows.append(CriterionInput(id=None, name=self[f"name_{NEW}"].data,
                                           description=self[f"description_{NEW}"].data or "",
                                           weight=int(self[f"weight_{NEW}"].data)))
            return rows

    data = {}
    for key, criterion in [*((criterion.id, criterion) for criterion in criteria), (NEW, None)]:
        label = criterion.name if criterion else _l("nouveau critère")
        name_validators = [Length(min=NAME_LENGTH[0], max=NAME_LENGTH[1], message=_l(
            "Le nom compte entre %(min)d et %(max)d caractères."))]
        setattr(CriteriaForm, f"name_{key}", StringField(
            _l("Nom (%(name)s)", name=label),
            validators=[Optional() if criterion is None else InputRequired(_l("Nommez le critère.")),
                        *name_validators]))
        setattr(CriteriaForm, f"description_{key}", TextAreaField(
            _l("Description (%(name)s)", name=label), render_kw={"rows": 2},
            validators=[Optional(), Length(max=DESCRIPTION_MAX, message=_l("%(max)d caractères au plus."))]))
        setattr(CriteriaForm, f"weight_{key}", SelectField(
            _l("Poids (%(name)s)", name=label), choices=WEIGHT_CHOICES, default="1",
            validators=[AnyOf([choice.value for choice in WEIGHT_CHOICES],
                              message=_l("Choisissez un poids de %(min)d à %(max)d.", min=WEIGHT_RANGE[0],
                                         max=WEIGHT_RANGE[1]))], validate_choice=False))
        if criterion:
            setattr(CriteriaForm, f"delete_{key}", BooleanField(_l("Supprimer « %(name)s »", name=label)))
            data.update({f"name_{key}": criterion.name, f"description_{key}": criterion.description,
                         f"weight_{key}": str(criterion.weight)})
    return CriteriaForm(data=data)


class ConflictForm(FlaskForm):
    proposal_id = SelectField(_l("Proposition"), validate_choice=False)
    reason = TextAreaField(_l("Motif"), render_kw={"rows": 3}, validators=[
        InputRequired(_l("Indiquez le motif du conflit d'intérêts.")),
        Length(min=REASON_LENGTH[0], max=REASON_LENGTH[1],
               message=_l("Le motif compte entre %(min)d et %(max)d caractères."))])

    def validate_proposal_id(self, field) -> None:
        if field.data not in {choice.value for choice in field.choices if choice.value}:
            raise ValidationError(_l("Choisissez la proposition."))


class NoteForm(FlaskForm):
    body = TextAreaField(_l("Nouvelle note privée"), render_kw={"rows": 4}, validators=[
        InputRequired(_l("Écrivez la note.")), Length(max=NOTE_MAX, message=_l("%(max)d caractères au plus."))])
    parent_id = HiddenField()

    @property
    def parent(self) -> int | None:
        return parse_id(self.parent_id.data or "")


class EvaluatorForm(FlaskForm):
    """Ticked proposals given to the chosen member, or taken back from them, depending on the button pressed."""

    proposal_ids = SelectMultipleField(_l("Propositions"), validate_choice=False)
    evaluator_id = SelectField(_l("Évaluateur ou évaluatrice"), validate_choice=False)
    action = StringField(validators=[AnyOf(("assign", "remove"), message=_l("Choisissez : attribuer ou retirer."))])

    def validate_proposal_ids(self, field) -> None:
        if not field.data:
            raise ValidationError(_l("Cochez au moins une proposition."))
        if any(parse_id(value) is None for value in field.data):
            raise ValidationError(_l("Sélection illisible : rechargez la page et recommencez."))

    def validate_evaluator_id(self, field) -> None:
        if field.data not in {choice.value for choice in field.choices if choice.value}:
            raise ValidationError(_l("Choisissez un membre du comité."))

    @property
    def ids(self) -> list[int]:
        return [parse_id(value) for value in self.proposal_ids.data]


class GridFilterForm(FlaskForm):
    """The grid's filters, read from the query string."""

    class Meta:
        csrf = False

    issue = SelectField(_l("Grand enjeu"), validators=[Optional()])
    mine = BooleanField(_l("Seulement celles qui me sont attribuées"))
    page = IntegerField(_l("Page"), validators=[
        Optional(), NumberRange(min=1, max=100_000, message=_l("Le numéro de page doit être un entier positif."))])

    def set_choices(self, issues) -> None:
        self.issue.choices = [SelectChoice("", _l("Tous")), SelectChoice(WITHOUT_ISSUE, _l("Sans grand enjeu")),
                              *issue_choices(issues)]
