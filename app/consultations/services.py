"""Consultation rules: settings, themes, phase dates, committee seats. Admin only."""

import re
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext as _

from app.accounts.models import User
from app.committee.evaluation import add_default_criteria
from app.consultations.models import Consultation, Phase, PhaseKind, Theme
from app.consultations.phases import has_ended
from app.core import audit, clock
from app.core.errors import RuleViolation
from app.extensions import db
from app.organizations.models import OrganizationKind
from app.proposals.services import themes_in_use
from app.votes.services import forget_empty_tally, has_supports

SLUG_PATTERN = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


@dataclass
class ConsultationInput:
    """What an admin sets on a consultation; dates are UTC instants."""

    title: str
    slug: str
    description: str = ""
    budget_envelope_cents: int = 0
    laureate_target: int = 0
    vote_limit: int = 0
    threshold_per_proposal: int = 0
    minimum_votes_per_user: int = 0
    can_accumulate_supports_beyond_threshold: bool = False
    can_support_own_proposals: bool = False
    votes_hidden: bool = False
    supporters_hidden: bool = False
    eligible_kinds: list[str] = field(default_factory=list)
    theme_names: list[str] = field(default_factory=list)
    phase_dates: dict[PhaseKind, tuple[datetime, datetime]] = field(default_factory=dict)
    change_reason: str = ""  # required to move a support window that already has supports

    # What supports were cast under: once one is, these stay as they are.
    SUPPORT_RULES = ("vote_limit", "threshold_per_proposal", "minimum_votes_per_user",
                     "can_accumulate_supports_beyond_threshold", "can_support_own_proposals", "eligible_kinds")

    SETTINGS = ("title", "slug", "description", "budget_envelope_cents", "laureate_target", "vote_limit",
                "threshold_per_proposal", "minimum_votes_per_user",
                "can_accumulate_supports_beyond_threshold", "can_support_own_proposals", "votes_hidden",
                "supporters_hidden", "eligible_kinds")


def _check(data: ConsultationInput, consultation: Consultation | None) -> None:
    if not data.title.strip():
        raise RuleViolation(_("Donnez un titre à la consultation."), field="title")
    if not SLUG_PATTERN.fullmatch(data.slug):
        raise RuleViolation(_("L'identifiant d'adresse ne peut contenir que des lettres minuscules "
                              "sans accent, des chiffres et des tirets."), field="slug")
    taken = db.session.scalar(sa.select(Consultation.id).where(Consultation.slug == data.slug))
    if taken and (consultation is None or taken != consultation.id):
        raise RuleViolation(_("Une autre consultation utilise déjà cet identifiant d'adresse."), field="slug")
    for name in ("budget_envelope_cents", "laureate_target", "vote_limit", "threshold_per_proposal",
                 "minimum_votes_per_user"):
        if getattr(data, name) < 0:
            raise RuleViolation(_("Ce nombre ne peut pas être négatif."), field=name)
    if data.vote_limit and data.minimum_votes_per_user > data.vote_limit:
        raise RuleViolation(_("Le minimum de soutiens ne peut pas dépasser le nombre de soutiens "
                              "permis par organisation."), field="minimum_votes_per_user")
    unknown = set(data.eligible_kinds) - set(OrganizationKind)
    if unknown or not data.eligible_kinds:
        raise RuleViolation(_("Choisissez au moins un type d'organisation admis à soutenir."),
                            field="eligible_kinds")
    names = [name.strip() for name in data.theme_names if name.strip()]
    if len({name.lower() for name in names}) != len(names):
        raise RuleViolation(_("Deux thèmes portent le même nom."), field="themes")
    check_phase_dates(data.phase_dates)


def check_phase_dates(phase_dates: dict[PhaseKind, tuple[datetime, datetime]]) -> None:
    """Every phase ends after it starts, and each starts once the previous one has ended."""
    previous = None
    for kind in PhaseKind:
        if kind not in phase_dates:
            raise RuleViolation(_("Indiquez les dates de la phase « %(phase)s ».", phase=kind.label),
                                field=f"{kind.value}_starts_at")
        starts_at, ends_at = phase_dates[kind]
        if starts_at >= ends_at:
            raise RuleViolation(_("La phase « %(phase)s » doit finir après son début.", phase=kind.label),
                                field=f"{kind.value}_ends_at")
        if previous is not None and starts_at < phase_dates[previous][1]:
            raise RuleViolation(
                _("La phase « %(phase)s » commence avant la fin de la phase « %(previous)s » : "
                  "les phases ne peuvent pas se chevaucher.", phase=kind.label, previous=previous.label),
                field=f"{kind.value}_starts_at")
        previous = kind


def save_consultation(consultation: Consultation | None, data: ConsultationInput, *, by: User,
                      now: datetime | None = None) -> Consultation:
    """Create or update a consultation with its themes and phases; every change is audited."""
    if not by.is_admin:
        raise RuleViolation(_("Seule l'équipe d'administration peut modifier une consultation."))
    return _save(consultation, data, actor=by, now=now or clock.now())


def open_consultation_for_platform(data: ConsultationInput, *, now: datetime | None = None) -> Consultation:
    """Create a consultation on the platform's own behalf (a command run on the server, such as an import):
    the checks and the audit of an admin's, with no person as the actor."""
    return _save(None, data, actor=None, now=now or clock.now())


def themes_named(consultation: Consultation, names: list[str]) -> list[Theme]:
    """The consultation's themes of these names, whatever their case, as for an admin; those it lacks are
    added after the others, as an import brings its categories."""
    by_name = {theme.name.lower(): theme for theme in consultation.themes}
    for name in names:
        if name.lower() not in by_name:
            by_name[name.lower()] = Theme(name=name, position=len(consultation.themes))
            consultation.themes.append(by_name[name.lower()])
    db.session.flush()
    return [by_name[name.lower()] for name in names]


def _save(consultation: Consultation | None, data: ConsultationInput, *, actor: User | None,
          now: datetime) -> Consultation:
    _check(data, consultation)
    created = consultation is None
    if created:
        consultation = Consultation()
        db.session.add(consultation)
        add_default_criteria(consultation)
    changes = {name: getattr(data, name) for name in ConsultationInput.SETTINGS
               if _differs(getattr(consultation, name), getattr(data, name))}
    if not created:
        _check_support_changes(consultation, data, changes, now)
    for name, value in changes.items():
        setattr(consultation, name, value)
    _save_themes(consultation, data.theme_names)
    date_changes = _save_phases(consultation, data.phase_dates, now)
    db.session.flush()
    if created or changes or date_changes:
        audit.record("consultation.create" if created else "consultation.update", actor=actor,
                     subject=consultation, data={"settings": changes, "phases": date_changes,
                                                 "reason": data.change_reason.strip() or None})
    return consultation


def _differs(old, new) -> bool:
    """Whether a setting changes; a list is a set of choices, whose order is no change."""
    if isinstance(old, list) and isinstance(new, list):
        return sorted(old) != sorted(new)
    return old != new


def _check_support_changes(consultation: Consultation, data: ConsultationInput, changes: dict,
                           now: datetime) -> None:
    """Supports are counted under the rules and within the window they were cast in.

    Once a support is stored, its rules (limit, minimum, threshold, accumulation, own proposals,
    eligible kinds) stay: lowering a limit would put organizations over it, raising a minimum would
    leave counters counting supports that no longer count. Moving the window then needs a reason,
    kept in the audit log; once it has ended, the tally is frozen and the window no longer moves.
    """
    window = consultation.phase(PhaseKind.SUPPORT)
    if window is None:
        return
    moved = data.phase_dates[PhaseKind.SUPPORT] != (window.starts_at, window.ends_at)
    rules_changed = [name for name in ConsultationInput.SUPPORT_RULES if name in changes]
    if not (moved or rules_changed):
        return
    ended = has_ended(consultation, PhaseKind.SUPPORT, now)
    if not has_supports(consultation):
        if moved and ended:
            forget_empty_tally(consultation)
        return
    if rules_changed:
        raise RuleViolation(_("Des soutiens ont déjà été exprimés : les règles de soutien (nombre par "
                              "organisation, minimum, seuil, cumul, propositions de sa collectivité, types "
                              "d'organisations admis) ne peuvent plus changer."), field=rules_changed[0])
    if ended:
        raise RuleViolation(_("La période de soutiens est close et le décompte des soutiens est figé : elle ne "
                              "peut plus changer."), field="support_starts_at")
    if not data.change_reason.strip():
        raise RuleViolation(_("Des soutiens ont déjà été exprimés : expliquez pourquoi la période de soutiens "
                              "change."), field="change_reason")


def _save_themes(consultation: Consultation, names: list[str]) -> None:
    """Keep themes whose name stays (proposals point to them), add new ones, drop removed ones."""
    names = [name.strip() for name in names if name.strip()]
    by_name = {theme.name: theme for theme in consultation.themes}
    used = themes_in_use([theme.id for name, theme in by_name.items() if name not in names])
    if used:  # contributions keep the themes they were filed under
        raise RuleViolation(_("Le thème « %(name)s » est celui de contributions déposées : il ne peut pas être "
                              "retiré.", name=used[0].name), field="themes")
    consultation.themes = [by_name.get(name) or Theme(name=name) for name in names]
    for position, theme in enumerate(consultation.themes):
        theme.position = position


def _save_phases(consultation: Consultation, phase_dates, now: datetime) -> dict:
    """Apply the dates; return what changed, marking phases that had already started."""
    changes = {}
    for kind in PhaseKind:
        starts_at, ends_at = phase_dates[kind]
        phase = consultation.phase(kind)
        if phase is None:
            consultation.phases.append(Phase(kind=kind.value, starts_at=starts_at, ends_at=ends_at))
            continue
        if (phase.starts_at, phase.ends_at) != (starts_at, ends_at):
            changes[kind.value] = {"from": [phase.starts_at.isoformat(), phase.ends_at.isoformat()],
                                   "to": [starts_at.isoformat(), ends_at.isoformat()],
                                   "had_started": phase.starts_at <= now}
            phase.starts_at, phase.ends_at = starts_at, ends_at
    return changes
