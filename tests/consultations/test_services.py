"""Consultation rules: phases from the clock, dates that never overlap, audited changes, committee."""

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from app.consultations import services
from app.consultations.models import PhaseKind
from app.consultations.phases import allows, current_phase
from app.core import clock
from app.core.audit import AuditEntry, verify_chain
from app.core.errors import RuleViolation
from app.consultations.phases import calendar_around
from app.extensions import db
from app.votes.services import cast_support, frozen_tally
from tests.factories import make_consultation, make_member, make_organization, make_proposal, make_user


def consultation_input(**changes) -> services.ConsultationInput:
    values = dict(title="Consultation 2027", slug="consultation-2027", eligible_kinds=["commune"],
                  theme_names=["Démarches", "Inclusion"],
                  phase_dates=calendar_around(PhaseKind.COLLECT, datetime(2027, 2, 1, tzinfo=UTC)))
    values.update(changes)
    return services.ConsultationInput(**values)


def test_current_phase_is_computed_from_the_clock_start_inclusive_end_exclusive():
    consultation = make_consultation(PhaseKind.SUPPORT)
    support = consultation.phase(PhaseKind.SUPPORT)
    assert current_phase(consultation, support.starts_at).kind == "support"
    assert current_phase(consultation, support.ends_at - timedelta(microseconds=1)).kind == "support"
    assert current_phase(consultation, support.ends_at).kind == "deliberation"
    assert current_phase(consultation, consultation.phases[0].starts_at - timedelta(seconds=1)) is None
    assert allows(consultation, "support", support.starts_at)
    assert not allows(consultation, "submit", support.starts_at)


def test_admin_creates_a_consultation_with_themes_and_phases_and_it_is_audited():
    admin = make_user(is_admin=True)
    consultation = services.save_consultation(None, consultation_input(), by=admin)
    assert [theme.name for theme in consultation.themes] == ["Démarches", "Inclusion"]
    assert [phase.kind for phase in consultation.phases] == [kind.value for kind in PhaseKind]
    entry = db.session.scalars(sa.select(AuditEntry).order_by(AuditEntry.id.desc())).first()
    assert entry.action == "consultation.create" and entry.actor == admin
    assert verify_chain() is None


def test_only_admins_save_consultations():
    with pytest.raises(RuleViolation, match="équipe d'administration"):
        services.save_consultation(None, consultation_input(), by=make_user())


@pytest.mark.parametrize("changes, message", [
    ({"slug": "Avec Espaces"}, "identifiant d'adresse"),
    ({"title": "  "}, "titre"),
    ({"vote_limit": -1}, "négatif"),
    ({"vote_limit": 3, "minimum_votes_per_user": 5}, "minimum de soutiens"),
    ({"eligible_kinds": []}, "au moins un type"),
    ({"eligible_kinds": ["planete"]}, "au moins un type"),
    ({"theme_names": ["Data", "data"]}, "même nom"),
])
def test_invalid_settings_are_refused(changes, message):
    with pytest.raises(RuleViolation, match=message):
        services.save_consultation(None, consultation_input(**changes), by=make_user(is_admin=True))


def test_phases_must_not_overlap_nor_end_before_they_start():
    dates = calendar_around(PhaseKind.COLLECT, datetime(2027, 2, 1, tzinfo=UTC))
    overlapping = dict(dates)
    start, end = dates[PhaseKind.SUPPORT]
    overlapping[PhaseKind.SUPPORT] = (start - timedelta(hours=1), end)
    with pytest.raises(RuleViolation, match="chevaucher"):
        services.check_phase_dates(overlapping)
    backwards = dict(dates)
    backwards[PhaseKind.RESULTS] = (dates[PhaseKind.RESULTS][1], dates[PhaseKind.RESULTS][0])
    with pytest.raises(RuleViolation, match="finir après son début"):
        services.check_phase_dates(backwards)
    missing = {kind: value for kind, value in dates.items() if kind != PhaseKind.SELECTION}
    with pytest.raises(RuleViolation, match="Sélection des lauréats"):
        services.check_phase_dates(missing)


def test_changing_dates_of_a_started_phase_is_audited_with_old_and_new_dates():
    admin = make_user(is_admin=True)
    now = datetime(2027, 2, 1, tzinfo=UTC)
    consultation = services.save_consultation(None, consultation_input(), by=admin, now=now)
    dates = calendar_around(PhaseKind.COLLECT, now)
    collect_start, collect_end = dates[PhaseKind.COLLECT]
    dates[PhaseKind.COLLECT] = (collect_start, collect_end - timedelta(days=1))
    services.save_consultation(consultation, consultation_input(phase_dates=dates), by=admin, now=now)
    entry = db.session.scalars(sa.select(AuditEntry).order_by(AuditEntry.id.desc())).first()
    change = entry.data["phases"]["collect"]
    assert entry.action == "consultation.update" and change["had_started"] is True
    assert change["from"][1] == collect_end.isoformat()
    assert change["to"][1] == (collect_end - timedelta(days=1)).isoformat()


def test_themes_keep_their_identity_when_renamed_list_is_saved():
    admin = make_user(is_admin=True)
    consultation = services.save_consultation(None, consultation_input(), by=admin)
    kept = consultation.themes[1]
    services.save_consultation(consultation, consultation_input(theme_names=["Inclusion", "Cybersécurité"]),
                               by=admin)
    assert [theme.name for theme in consultation.themes] == ["Inclusion", "Cybersécurité"]
    assert consultation.themes[0].id == kept.id and kept.position == 0


def test_a_theme_that_contributions_were_filed_under_cannot_be_removed():
    admin = make_user(is_admin=True)
    consultation = make_consultation(PhaseKind.COLLECT)
    used, unused = consultation.themes
    make_proposal(consultation, themes=[used])
    with pytest.raises(RuleViolation, match=f"Le thème « {used.name} » est celui de contributions déposées") as refusal:
        services.save_consultation(consultation, input_of(consultation, theme_names=[unused.name]), by=admin)
    assert refusal.value.field == "themes"
    db.session.rollback()
    services.save_consultation(consultation, input_of(consultation, theme_names=[used.name]), by=admin)
    assert [theme.name for theme in consultation.themes] == [used.name]


def test_paris_wall_clock_round_trips_through_utc_across_daylight_saving():
    winter = clock.from_paris(datetime(2027, 3, 27, 12, 0))
    summer = clock.from_paris(datetime(2027, 3, 28, 12, 0))
    assert (winter.hour, summer.hour) == (11, 10)
    assert clock.to_paris(summer).hour == 12


def dates_of(consultation) -> dict:
    return {PhaseKind(phase.kind): (phase.starts_at, phase.ends_at) for phase in consultation.phases}


def input_of(consultation, **changes) -> services.ConsultationInput:
    """What the admin's form sends back for `consultation` as it is, with `changes`."""
    values = {name: getattr(consultation, name) for name in services.ConsultationInput.SETTINGS}
    values.update(theme_names=[theme.name for theme in consultation.themes], phase_dates=dates_of(consultation))
    values.update(changes)
    return services.ConsultationInput(**values)


def cast_one_support(consultation):
    member = make_member(organization=make_organization(kind="commune"), role="elected")
    support = cast_support(make_proposal(consultation), member.organization, by=member.user)
    db.session.commit()
    return support


RULE_CHANGES = [{"vote_limit": 2}, {"minimum_votes_per_user": 2}, {"threshold_per_proposal": 5},
                {"can_accumulate_supports_beyond_threshold": True}, {"can_support_own_proposals": True},
                {"eligible_kinds": ["commune"]}]


@pytest.mark.parametrize("change", RULE_CHANGES)
def test_support_rules_stay_as_they_were_once_a_support_is_cast(change):
    admin = make_user(is_admin=True)
    consultation = make_consultation(PhaseKind.SUPPORT, vote_limit=3,
                                     eligible_kinds=["commune", "epci", "departement", "region"])
    services.save_consultation(consultation, input_of(consultation, **change), by=admin)  # no support yet
    db.session.rollback()
    cast_one_support(consultation)
    [(name, value)] = change.items()
    with pytest.raises(RuleViolation, match="les règles de soutien .* ne peuvent plus changer") as refusal:
        services.save_consultation(consultation, input_of(consultation, **change), by=admin)
    assert refusal.value.field == name
    db.session.rollback()
    assert getattr(consultation, name) != value


def test_once_supports_are_cast_display_settings_still_change_and_reordered_kinds_are_no_change():
    admin = make_user(is_admin=True)
    consultation = make_consultation(PhaseKind.SUPPORT, vote_limit=3, eligible_kinds=["epci", "commune"])
    cast_one_support(consultation)
    services.save_consultation(consultation, input_of(consultation, votes_hidden=True, title="Nouveau titre",
                                                      eligible_kinds=["commune", "epci"]), by=admin)
    assert consultation.votes_hidden and consultation.title == "Nouveau titre"
    entry = db.session.scalars(sa.select(AuditEntry).order_by(AuditEntry.id.desc())).first()
    assert entry.data["settings"] == {"title": "Nouveau titre", "votes_hidden": True}


def moved_window(consultation, *, starts: timedelta = timedelta(0), ends: timedelta = timedelta(0)) -> dict:
    """The calendar with the support window's dates moved, and its neighbours moved out of its way."""
    dates = dates_of(consultation)
    start, end = dates[PhaseKind.SUPPORT]
    dates[PhaseKind.SUPPORT] = (start + starts, end + ends)
    collect, deliberation = dates[PhaseKind.COLLECT], dates[PhaseKind.DELIBERATION]
    dates[PhaseKind.COLLECT] = (collect[0], min(collect[1], start + starts))
    dates[PhaseKind.DELIBERATION] = (max(deliberation[0], end + ends), deliberation[1])
    return dates


@pytest.mark.parametrize("move", [{"starts": timedelta(hours=-1)}, {"ends": timedelta(days=2)},
                                  {"ends": timedelta(days=-2)}])
def test_moving_either_date_of_a_window_holding_supports_needs_a_reason_kept_in_the_audit(move):
    admin = make_user(is_admin=True)
    consultation = make_consultation(PhaseKind.SUPPORT, vote_limit=3)
    cast_one_support(consultation)
    with pytest.raises(RuleViolation, match="expliquez pourquoi la période de soutiens change") as refusal:
        services.save_consultation(consultation, input_of(consultation, phase_dates=moved_window(consultation, **move)),
                                   by=admin)
    assert refusal.value.field == "change_reason"
    db.session.rollback()
    services.save_consultation(consultation, input_of(consultation, phase_dates=moved_window(consultation, **move),
                                                      change_reason="Demande du comité."), by=admin)
    entry = db.session.scalars(sa.select(AuditEntry).order_by(AuditEntry.id.desc())).first()
    assert entry.data["reason"] == "Demande du comité." and "support" in entry.data["phases"]


def test_a_closed_window_holding_supports_never_moves_whether_or_not_its_tally_was_seen():
    admin = make_user(is_admin=True)
    consultation = make_consultation(PhaseKind.SUPPORT, vote_limit=3)
    window = consultation.phase(PhaseKind.SUPPORT)
    cast_one_support(consultation)
    after = window.ends_at + timedelta(minutes=1)
    for move in ({"ends": timedelta(days=3)}, {"starts": timedelta(hours=1)}):
        with pytest.raises(RuleViolation, match="décompte des soutiens est figé") as refusal:
            services.save_consultation(consultation, input_of(consultation, phase_dates=moved_window(
                consultation, **move), change_reason="Rouvrir pour les retardataires."), by=admin, now=after)
        assert refusal.value.field == "support_starts_at"
        db.session.rollback()
    assert frozen_tally(consultation, now=after).frozen_at == window.ends_at  # dated when the window ended
    dates = dates_of(consultation)
    results_start, results_end = dates[PhaseKind.RESULTS]
    dates[PhaseKind.RESULTS] = (results_start, results_end + timedelta(days=30))  # the other phases still move
    services.save_consultation(consultation, input_of(consultation, phase_dates=dates), by=admin, now=after)
    assert consultation.phase(PhaseKind.RESULTS).ends_at == results_end + timedelta(days=30)


def test_a_closed_window_without_supports_may_reopen_and_its_tally_is_written_at_its_new_end():
    admin = make_user(is_admin=True)
    consultation = make_consultation(PhaseKind.SUPPORT, vote_limit=3)
    window = consultation.phase(PhaseKind.SUPPORT)
    after = window.ends_at + timedelta(minutes=1)
    assert frozen_tally(consultation, now=after).support_count == 0
    services.save_consultation(consultation, input_of(consultation, phase_dates=moved_window(
        consultation, ends=timedelta(days=3))), by=admin, now=after)
    assert frozen_tally(consultation, now=after) is None  # open again
    member = make_member(organization=make_organization(kind="commune"), role="elected")
    cast_support(make_proposal(consultation), member.organization, by=member.user, now=after)
    assert frozen_tally(consultation, now=window.ends_at + timedelta(minutes=1)).support_count == 1
