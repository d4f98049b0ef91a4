"""One rule for what each phase allows: the stage comes from the clock, and every rule reads the table."""

from datetime import UTC, datetime, timedelta

import pytest

from app.committee import permissions as committee_rules
from app.consultations.models import Consultation, Phase, PhaseKind, Theme
from app.consultations.phases import ACTIONS_BY_STAGE, Interval, allows, has_ended, stage
from app.extensions import db
from app.proposals import permissions as proposal_rules
from app.votes import permissions as support_rules
from tests.factories import make_issue, make_member, make_organization, make_proposal, seat

START = datetime(2027, 1, 4, 8, tzinfo=UTC)
GAP = timedelta(days=1)


def consultation_with_gaps() -> Consultation:
    """Phases of ten days, each a day after the previous one ends."""
    phases, start = [], START
    for kind in PhaseKind:
        phases.append(Phase(kind=kind.value, starts_at=start, ends_at=start + timedelta(days=10)))
        start += timedelta(days=10) + GAP
    consultation = Consultation(slug="avec-intervalles", title="Avec intervalles", phases=phases,
                                eligible_kinds=["commune"], themes=[Theme(name="Démarches")])
    db.session.add(consultation)
    db.session.commit()
    return consultation


def moments(consultation: Consultation) -> dict[str, datetime]:
    """An instant of every stage and both edges of every phase."""
    found = {"before": START - timedelta(hours=1), "after": consultation.phases[-1].ends_at}
    for phase in consultation.phases:
        found[f"{phase.kind} start"] = phase.starts_at
        found[f"{phase.kind} last instant"] = phase.ends_at - timedelta(microseconds=1)
        found[f"after {phase.kind}"] = phase.ends_at
    return found


def test_the_stage_is_a_phase_or_where_the_consultation_stands_outside_them():
    consultation = consultation_with_gaps()
    at = moments(consultation)
    assert stage(consultation, at["before"]) == Interval.UPCOMING
    assert stage(consultation, at["support start"]) == PhaseKind.SUPPORT
    assert stage(consultation, at["support last instant"]) == PhaseKind.SUPPORT
    assert stage(consultation, at["after support"]) == Interval.BETWEEN
    assert stage(consultation, at["after"]) == Interval.CLOSED
    assert not has_ended(consultation, PhaseKind.SUPPORT, at["support last instant"])
    assert has_ended(consultation, PhaseKind.SUPPORT, at["after support"])


@pytest.fixture
def people():
    """An agent and an elected official of a commune, another commune's published proposal and a draft of
    their own."""
    consultation = consultation_with_gaps()
    commune = make_organization(kind="commune")
    agent, official = (make_member(organization=commune, role=role) for role in ("agent", "elected"))
    return {"consultation": consultation, "commune": commune, "agent": agent.user, "official": official.user,
            "other": make_proposal(consultation), "draft": make_proposal(consultation, commune, state="draft"),
            "own": make_proposal(consultation, commune), "member": seat(consultation).user,
            "issue": make_issue(consultation)}


# action of the table: whether the rule lets it happen at `now` (None when allowed)
RULES = {
    "draft": lambda p, now: proposal_rules.why_not_submit(p["agent"], p["commune"], p["consultation"], now),
    "edit": lambda p, now: proposal_rules.why_not_edit(p["agent"], p["draft"], now),
    "publish": lambda p, now: proposal_rules.why_not_publish(p["agent"], p["draft"], now),
    "withdraw": lambda p, now: proposal_rules.why_not_withdraw(p["agent"], p["own"], now),
    "cosponsor": lambda p, now: proposal_rules.why_not_cosponsor(p["agent"], p["commune"], p["other"], now),
    "comment": lambda p, now: proposal_rules.why_not_comment(p["agent"], p["other"], now),
    "support": lambda p, now: support_rules.why_not_support(p["official"], p["commune"], p["other"], now),
    "organize_issues": lambda p, now: committee_rules.why_not_organize_issues(p["member"], p["consultation"], now),
    "link_needs": lambda p, now: committee_rules.why_not_link(p["member"], p["consultation"], now),
    "see_results": lambda p, now: None if committee_rules.can_see_issue(p["agent"], p["issue"], now) else "",
}


@pytest.mark.parametrize("action", sorted(RULES))
def test_every_rule_allows_its_action_exactly_when_the_table_does(people, action):
    """Edges, gaps between phases, before and after: a rule comparing dates of its own would differ."""
    consultation = people["consultation"]
    for name, now in moments(consultation).items():
        allowed = RULES[action](people, now) is None
        assert allowed == (action in ACTIONS_BY_STAGE[stage(consultation, now)]) == allows(consultation, action, now), (
            f"{action} at {name}")


def test_withdrawing_a_support_follows_the_same_window_as_casting_it(people):
    consultation = people["consultation"]
    for name, now in moments(consultation).items():
        allowed = support_rules.why_not_withdraw(people["official"], people["commune"], people["other"], now) is None
        assert allowed == allows(consultation, "support", now), name


def test_every_stage_has_its_line_in_the_table():
    assert set(ACTIONS_BY_STAGE) == set(PhaseKind) | set(Interval)
