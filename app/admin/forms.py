"""Back-office forms."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from app.accounts.forms import email_field
from app.consultations.models import PhaseKind
from app.core.forms import EurosField, MultiCheckboxField, ParisDateTimeField, enum_choices
from app.organizations.models import OrganizationKind

COUNT_MESSAGE = _l("Saisissez un nombre entier positif ou nul.")

# A consultation's settings as people name them, in the form and in the audit log; Decidim's names
# go in the help texts, for those who know them.
SETTING_LABELS = {
    "title": _l("Titre"), "slug": _l("Identifiant d'adresse"), "description": _l("Description"),
    "budget_envelope_cents": _l("Enveloppe budgétaire"), "laureate_target": _l("Nombre de lauréats visé"),
    "vote_limit": _l("Soutiens par organisation"), "threshold_per_proposal": _l("Seuil de soutiens par proposition"),
    "minimum_votes_per_user": _l("Minimum de soutiens par organisation"),
    "can_accumulate_supports_beyond_threshold": _l("Soutiens au-delà du seuil acceptés"),
    "can_support_own_proposals": _l("Une organisation peut soutenir ses propres propositions"),
    "votes_hidden": _l("Masquer les décomptes jusqu'à la fin des soutiens"),
    "supporters_hidden": _l("Ne pas nommer les organisations qui soutiennent"),
    "eligible_kinds": _l("Organisations admises à soutenir"),
}


def _count(label, description=None):
    return IntegerField(label, description=description, default=0,
                        validators=[InputRequired(COUNT_MESSAGE),
                                    NumberRange(min=0, max=1_000_000, message=COUNT_MESSAGE)])


class ConsultationForm(FlaskForm):
    title = StringField(SETTING_LABELS["title"], validators=[InputRequired(_l("Donnez un titre.")), Length(max=200)])
    slug = StringField(SETTING_LABELS["slug"], validators=[InputRequired(_l("Donnez un identifiant d'adresse.")),
                                                        Length(max=80)])
    description = TextAreaField(SETTING_LABELS["description"], validators=[Optional(), Length(max=20_000)],
                                render_kw={"rows": 6})
    budget_envelope = EurosField(
        SETTING_LABELS["budget_envelope_cents"], default=0,
        description=_l("En euros : le montant que les lauréats se partagent, par exemple 12 000 000 €."),
        validators=[InputRequired(_l("Indiquez un montant en euros, par exemple 12 000 000."))])
    laureate_target = _count(SETTING_LABELS["laureate_target"],
                             _l("Combien de propositions le comité prévoit de retenir dans la limite de l'enveloppe."))
    vote_limit = _count(SETTING_LABELS["vote_limit"],
                        _l("Combien de propositions chaque organisation peut soutenir ; 0 : sans limite. "
                           "Dans Decidim : vote_limit."))
    threshold_per_proposal = _count(SETTING_LABELS["threshold_per_proposal"],
                                    _l("Une proposition qui atteint ce nombre de soutiens n'en reçoit plus, sauf si "
                                       "les soutiens au-delà du seuil sont acceptés ; 0 : aucun seuil. "
                                       "Dans Decidim : threshold_per_proposal."))
    minimum_votes_per_user = _count(SETTING_LABELS["minimum_votes_per_user"],
                                    _l("Les soutiens d'une organisation ne comptent qu'une fois ce nombre atteint ; "
                                       "0 : aucun minimum. Dans Decidim : minimum_votes_per_user."))
    can_accumulate_supports_beyond_threshold = BooleanField(
        SETTING_LABELS["can_accumulate_supports_beyond_threshold"],
        description=_l("Une proposition qui a atteint le seuil peut encore recevoir des soutiens. "
                       "Dans Decidim : can_accumulate_supports_beyond_threshold."))
    can_support_own_proposals = BooleanField(
        SETTING_LABELS["can_support_own_proposals"],
        description=_l("Sinon, une organisation ne soutient pas les propositions qu'elle a déposées ou qu'elle "
                       "coporte. Réglage propre à Agora : can_support_own_proposals."))
    votes_hidden = BooleanField(SETTING_LABELS["votes_hidden"],
                                description=_l("Seul le comité voit les décomptes tant que la période de soutiens "
                                               "est ouverte. Dans Decidim : votes_hidden."))
    eligible_kinds = MultiCheckboxField(SETTING_LABELS["eligible_kinds"], choices=enum_choices(OrganizationKind),
                                        description=_l("Seuls les élus de ces organisations peuvent soutenir."))
    themes = TextAreaField(_l("Thèmes"), description=_l("Un thème par ligne."), render_kw={"rows": 6},
                           validators=[Optional(), Length(max=10_000)])
    supporters_hidden = BooleanField(SETTING_LABELS["supporters_hidden"],
                                     description=_l("Les reçus et les données ouvertes ne montrent alors qu'un "
                                                    "pseudonyme."))
    change_reason = TextAreaField(_l("Motif du changement de calendrier"), render_kw={"rows": 2},
                                  validators=[Optional(), Length(max=2000)],
                                  description=_l("Obligatoire pour déplacer une période de soutiens qui compte "
                                                 "déjà des soutiens ; inscrit au journal d'audit."))


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
