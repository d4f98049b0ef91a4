"""Consultation rules: settings, themes, phase dates, committee seats. Admin only."""

import re
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext as _

from app.accounts.models import User
from app.consultations.models import CommitteeSeat, Consultation, Phase, PhaseKind, Theme
from app.core import audit, clock
from app.core.errors import RuleViolation
from app.extensions import db
from app.organizations.models import OrganizationKind
from app.votes.models import Support, Tally

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
    votes_hidden: bool = False
    supporters_hidden: bool = False
    eligible_kinds: list[str] = field(default_factory=list)
    theme_names: list[str] = field(default_factory=list)
    phase_dates: dict[PhaseKind, tuple[datetime, datetime]] = field(default_factory=dict)
    change_reason: str = ""  # required to shorten a support window that already has supports

    # What supports were cast under: once one is, these stay as they are.
    SUPPORT_RULES = ("vote_limit", "threshold_per_proposal", "minimum_votes_per_user",
                     "can_accumulate_supports_beyond_threshold", "eligible_kinds")

    SETTINGS = ("title", "slug", "description", "budget_envelope_cents", "laureate_target", "vote_limit",
                "threshold_per_proposal", "minimum_votes_per_user",
                "can_accumulate_supports_beyond_threshold", "votes_hidden", "supporters_hidden", "eligible_kinds")


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
        raise RuleViolation(_("Deux thèmes portent le même nom."), field="theme_names")
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
    now = now or clock.now()
    _check(data, consultation)
    created = consultation is None
    if created:
        consultation = Consultation()
        db.session.add(consultation)
    changes = {name: getattr(data, name) for name in ConsultationInput.SETTINGS
               if _differs(getattr(consultation, name), getattr(data, name))}
    if not created:
        _check_support_changes(consultation, data, changes)
    for name, value in changes.items():
        setattr(consultation, name, value)
    _save_themes(consultation, data.theme_names)
    date_changes = _save_phases(consultation, data.phase_dates, now)
    db.session.flush()
    if created or changes or date_changes:
        audit.record("consultation.create" if created else "consultation.update", actor=by,
                     subject=consultation, data={"settings": changes, "phases": date_changes,
                                                 "reason": data.change_reason.strip() or None})
    return consultation


def _differs(old, new) -> bool:
    """Whether a setting changes; a list is a set of choices, whose order is no change."""
    if isinstance(old, list) and isinstance(new, list):
        return sorted(old) != sorted(new)
    return old != new


def _check_support_changes(consultation: Consultation, data: ConsultationInput, changes: dict) -> None:
    """Supports are counted under the rules they were cast under, within the window published.

    Once a support is stored, its rules (limit, minimum, threshold, accumulation, eligible kinds)
    stay: lowering a limit would put organizations over it, raising a minimum would leave counters
    counting supports that no longer count. Shortening the window needs a reason, kept in the audit.
    Once the tally is frozen and published, the window no longer moves at all: its digest would no
    longer describe the supports.
    """
    window = consultation.phase(PhaseKind.SUPPORT)
    if window is None:
        return
    starts_at, ends_at = data.phase_dates[PhaseKind.SUPPORT]
    if (starts_at, ends_at) != (window.starts_at, window.ends_at) and db.session.get(Tally, consultation.id):
        raise RuleViolation(_("Le décompte des soutiens est figé et publié : la période de soutiens ne peut "
                              "plus changer."), field="support_starts_at")
    rules_changed = [name for name in ConsultationInput.SUPPORT_RULES if name in changes]
    needs_reason = (starts_at > window.starts_at or ends_at < window.ends_at) and not data.change_reason.strip()
    if not (rules_changed or needs_reason) or not has_supports(consultation):
        return
    if rules_changed:
        raise RuleViolation(_("Des soutiens ont déjà été exprimés : les règles de soutien (nombre par "
                              "organisation, minimum, seuil, cumul, types d'organisations admis) ne peuvent "
                              "plus changer."), field=rules_changed[0])
    raise RuleViolation(_("Des soutiens ont déjà été exprimés : expliquez pourquoi la période de soutiens "
                          "est raccourcie."), field="change_reason")


def has_supports(consultation: Consultation) -> bool:
    return db.session.scalar(sa.select(Support.id).where(Support.consultation_id == consultation.id)
                             .limit(1)) is not None


def _save_themes(consultation: Consultation, names: list[str]) -> None:
    """Keep themes whose name stays (proposals point to them), add new ones, drop removed ones."""
    names = [name.strip() for name in names if name.strip()]
    by_name = {theme.name: theme for theme in consultation.themes}
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


def add_committee_member(consultation: Consultation, user: User, *, affiliation: str, is_chair: bool,
                         by: User) -> CommitteeSeat:
    """Seat `user` on the committee; naming a new chair takes the chair from the previous one."""
    if not by.is_admin:
        raise RuleViolation(_("Seule l'équipe d'administration peut composer le comité."))
    if not affiliation.strip():
        raise RuleViolation(_("Indiquez l'affiliation du membre (association, administration…)."),
                            field="affiliation")
    if any(seat.user_id == user.id for seat in consultation.committee_seats):
        raise RuleViolation(_("Cette personne siège déjà au comité."), field="email")
    if is_chair:
        _clear_chair(consultation)
    seat = CommitteeSeat(user=user, affiliation=affiliation.strip(), is_chair=is_chair)
    consultation.committee_seats.append(seat)
    db.session.flush()
    audit.record("committee.add", actor=by, subject=consultation,
                 data={"user_id": user.id, "affiliation": seat.affiliation, "is_chair": is_chair})
    return seat


def _clear_chair(consultation: Consultation) -> None:
    for seat in consultation.committee_seats:
        seat.is_chair = False
    db.session.flush()  # the unique chair index must see the old chair gone first


def remove_committee_member(seat: CommitteeSeat, *, by: User) -> None:
    if not by.is_admin:
        raise RuleViolation(_("Seule l'équipe d'administration peut composer le comité."))
    consultation = seat.consultation
    consultation.committee_seats.remove(seat)
    db.session.flush()
    audit.record("committee.remove", actor=by, subject=consultation, data={"user_id": seat.user_id})

