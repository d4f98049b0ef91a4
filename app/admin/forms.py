"""Back-office forms."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DecimalField, IntegerField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from app.accounts.forms import email_field
from app.consultations.models import PhaseKind
from app.core.forms import MultiCheckboxField, ParisDateTimeField
from app.organizations.models import KIND_LABELS, OrganizationKind

COUNT_MESSAGE = _l("Saisissez un nombre entier positif ou nul.")


def _count(label, description=None):
    return IntegerField(label, description=description, default=0,
                        validators=[InputRequired(COUNT_MESSAGE),
                                    NumberRange(min=0, max=1_000_000, message=COUNT_MESSAGE)])


class ConsultationForm(FlaskForm):
    title = StringField(_l("Titre"), validators=[InputRequired(_l("Donnez un titre.")), Length(max=200)])
    slug = StringField(_l("Identifiant d'adresse"), validators=[InputRequired(_l("Donnez un identifiant d'adresse.")),
                                                             Length(max=80)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=20_000)],
                                render_kw={"rows": 6})
    budget_envelope = DecimalField(_l("Enveloppe budgétaire (euros)"), places=2, default=0,
                                   validators=[InputRequired(_l("Indiquez un montant en euros, par exemple 17200000.")),
                                               NumberRange(min=0, max=10**12,
                                                           message=_l("Le montant doit être positif."))])
    laureate_target = _count(_l("Nombre de lauréats visé"))
    vote_limit = _count(_l("Soutiens par organisation (vote_limit)"), _l("0 : sans limite."))
    threshold_per_proposal = _count(_l("Seuil de soutiens par proposition (threshold_per_proposal)"),
                                    _l("0 : aucun seuil."))
    minimum_votes_per_user = _count(_l("Minimum de soutiens par organisation (minimum_votes_per_user)"),
                                    _l("Les soutiens d'une organisation ne comptent qu'une fois ce nombre atteint."))
    can_accumulate_supports_beyond_threshold = BooleanField(_l("Soutiens au-delà du seuil acceptés"))
    votes_hidden = BooleanField(_l("Masquer les décomptes jusqu'à la fin des soutiens"))
    eligible_kinds = MultiCheckboxField(_l("Organisations admises à soutenir"),
                                        choices=[SelectChoice(kind.value, KIND_LABELS[kind])
                                                 for kind in OrganizationKind])
    themes = TextAreaField(_l("Thèmes"), description=_l("Un thème par ligne."), render_kw={"rows": 6},
                           validators=[Optional(), Length(max=10_000)])
    supporters_hidden = BooleanField(_l("Ne pas nommer les organisations qui soutiennent"),
                                     description=_l("Les reçus et les données ouvertes ne montrent alors qu'un "
                                                    "pseudonyme."))
    change_reason = TextAreaField(_l("Motif du changement de calendrier"), render_kw={"rows": 2},
                                  validators=[Optional(), Length(max=2000)],
                                  description=_l("Obligatoire pour raccourcir une période de soutiens déjà "
                                                 "commencée ; inscrit au journal d'audit."))


for _kind in PhaseKind:
    setattr(ConsultationForm, f"{_kind.value}_starts_at",
            ParisDateTimeField(_l("Début"), validators=[InputRequired(_l("Indiquez la date de début."))]))
    setattr(ConsultationForm, f"{_kind.value}_ends_at",
            ParisDateTimeField(_l("Fin"), validators=[InputRequired(_l("Indiquez la date de fin."))]))


class CommitteeSeatForm(FlaskForm):
    email = email_field(_l("Adresse électronique du membre"))
    affiliation = StringField(_l("Affiliation"), validators=[InputRequired(_l("Indiquez l'affiliation.")),
                                                             Length(max=200)])
    is_chair = BooleanField(_l("Préside le comité"))
