"""The forms of suggested issues: the shape of the input only; rules live in app/committee/suggestions.py.

Each form that changes the draft carries the version of the draft it was drawn from (hidden), so that a
colleague's change made meanwhile is refused rather than overwritten.
"""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, RadioField, SelectField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, InputRequired, Length, NumberRange, Optional, ValidationError

from app.committee.services import TITLE_LENGTH
from app.committee.suggestions import CLUSTERS, DEFAULT_THRESHOLD_PERCENT, THRESHOLD_PERCENT
from app.core.web import parse_id

LEAVE, MOVE = "laisser", "deplacer"


class VersionedForm(FlaskForm):
    version = HiddenField()
    cluster_field: str | None = None  # the field naming another cluster of the draft, if any

    def validate_version(self, field) -> None:
        if not (field.data or "").isdigit() or len(field.data) > 9:
            raise ValidationError(_l("Formulaire illisible : rechargez la page et recommencez."))

    @property
    def seen(self) -> int:
        return int(self.version.data)


class RequestForm(VersionedForm):
    clusters = IntegerField(_l("Nombre de grands enjeux"), validators=[
        Optional(), NumberRange(min=CLUSTERS[0], max=CLUSTERS[1],
                                message=_l("Indiquez un nombre de %(min)s à %(max)s, ou laissez vide."))])
    threshold = IntegerField(_l("Seuil des doublons probables, en %"), default=DEFAULT_THRESHOLD_PERCENT, validators=[
        InputRequired(_l("Indiquez le seuil des doublons probables, par exemple %(default)d.",
                         default=DEFAULT_THRESHOLD_PERCENT)),
        NumberRange(min=THRESHOLD_PERCENT[0], max=THRESHOLD_PERCENT[1],
                    message=_l("Indiquez un seuil de %(min)s à %(max)s %%."))])

    def validate_version(self, field) -> None:  # empty while the consultation has no draft yet
        if field.data:
            super().validate_version(field)

    @property
    def seen(self) -> int:
        return int(self.version.data or 0)


class RenameForm(VersionedForm):
    name = StringField(_l("Nom du groupe"), validators=[
        InputRequired(_l("Donnez un nom au groupe.")),
        Length(min=TITLE_LENGTH[0], max=TITLE_LENGTH[1],
               message=_l("Le nom doit compter entre %(min)d et %(max)d caractères."))])


def _ids(field) -> None:
    if any(parse_id(value) is None for value in field.data):
        raise ValidationError(_l("Sélection illisible : rechargez la page et recommencez."))


class SortForm(VersionedForm):
    """Ticked proposals of a cluster, moved to another cluster or dropped, depending on the button pressed."""

    cluster_field = "target"
    proposal_ids = SelectMultipleField(_l("Propositions"), validate_choice=False)
    target = SelectField(_l("Groupe de destination"), validate_choice=False)  # for the "move" button
    action = StringField(validators=[AnyOf(("move", "drop"), message=_l("Choisissez : déplacer ou retirer."))])

    def validate_proposal_ids(self, field) -> None:
        if not field.data:
            raise ValidationError(_l("Cochez au moins une proposition."))
        _ids(field)

    def validate_target(self, field) -> None:
        if self.action.data == "move" and field.data not in {choice.value for choice in field.choices if choice.value}:
            raise ValidationError(_l("Choisissez le groupe où déplacer les propositions."))

    @property
    def ids(self) -> list[int]:
        return [parse_id(value) for value in self.proposal_ids.data]


class MergeForm(VersionedForm):
    cluster_field = "other"
    other = SelectField(_l("Groupe à réunir avec celui-ci"), validate_choice=False)

    def validate_other(self, field) -> None:
        if field.data not in {choice.value for choice in field.choices if choice.value}:
            raise ValidationError(_l("Choisissez le groupe à réunir avec celui-ci."))


class AcceptForm(VersionedForm):
    """Ticked clusters, or the one whose own button was pressed, made into issues."""

    numbers = SelectMultipleField(_l("Groupes"), validate_choice=False)
    single = StringField()  # the value of a cluster's own "Accepter" button, pressed instead of ticking
    assigned = RadioField(_l("Propositions déjà rangées dans un grand enjeu"), default=LEAVE, choices=[
        SelectChoice(LEAVE, _l("Les laisser dans leur grand enjeu")),
        SelectChoice(MOVE, _l("Les déplacer dans le grand enjeu créé"))], validators=[
        InputRequired(_l("Choisissez ce que deviennent les propositions déjà rangées."))])

    def validate_numbers(self, field) -> None:
        if not self.chosen and not field.data:
            raise ValidationError(_l("Cochez au moins un groupe à accepter."))
        _ids(field)

    @property
    def chosen(self) -> list[int]:
        """The cluster of the button pressed, or else those ticked (their numbers read like ids)."""
        single = parse_id(self.single.data or "")
        return [single] if single else [parse_id(value) for value in self.numbers.data]
