"""The demo consultation: dated around today, all roles present, contributions, idempotent."""

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from app.accounts.models import User
from app.consultations.models import PhaseKind
from app.consultations.phases import current_phase
from app.consultations.phases import calendar_around
from app.committee.models import EvaluationAssignment, Issue, Score
from app.demo import DEMO_ISSUES, DEMO_MERGE, DEMO_TO_EVALUATE, load_demo
from app.extensions import db
from app.organizations.models import Membership
from app.proposals.models import Comment, Proposal
from app.votes.models import Support
from tests.helpers import text_of


@pytest.mark.parametrize("phase", list(PhaseKind))
def test_schedule_opens_the_chosen_phase_now_even_across_daylight_saving(phase):
    now = datetime(2027, 3, 28, 1, 30, tzinfo=UTC)  # the night Paris moves to summer time
    dates = calendar_around(phase, now)
    assert [kind for kind, (start, end) in dates.items() if start <= now < end] == [phase]
    ordered = list(dates.values())
    assert all(previous[1] == following[0] for previous, following in zip(ordered, ordered[1:]))


def test_demo_has_every_role_contributions_and_supports_and_is_idempotent():
    consultation = load_demo()
    db.session.commit()
    assert current_phase(consultation).kind == "support"
    roles = [membership.role for membership in db.session.scalars(sa.select(Membership))
             if membership.organization.name == "Saint-Flour" and membership.counts]
    assert roles.count("elected") >= 2 and roles.count("agent") >= 2
    assert any(seat.is_chair for seat in consultation.committee_seats) and len(consultation.committee_seats) >= 2
    assert db.session.scalar(sa.select(User).where(User.is_admin)) is not None
    published = db.session.scalars(sa.select(Proposal).where(Proposal.state == "published")).all()
    assert len(published) >= 60 and {p.kind for p in published} == {"need", "service"}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Comment)) >= 3
    supports = db.session.scalar(sa.select(sa.func.count()).select_from(Support))
    assert supports > 20 and sum(p.support_count for p in published) == supports  # all reach the minimum

    # Written by hand: a later clock may add the committee's work (a merge), never a second copy.
    written = sa.select(sa.func.count()).select_from(Proposal).where(Proposal.merged_at.is_(None))
    counted = (sa.select(sa.func.count()).select_from(User), written, sa.select(sa.func.count()).select_from(Support))
    counts = [db.session.scalar(statement) for statement in counted]
    first_dates = [(phase.starts_at, phase.ends_at) for phase in consultation.phases]
    again = load_demo(PhaseKind.SUPPORT, now=datetime(2030, 1, 1, tzinfo=UTC))
    assert again.id == consultation.id
    assert [(phase.starts_at, phase.ends_at) for phase in again.phases] == first_dates  # kept unless asked
    assert [db.session.scalar(statement) for statement in counted] == counts
    moved = load_demo(PhaseKind.RESULTS, reschedule=True)
    assert current_phase(moved).kind == "results"


def test_in_deliberation_the_demo_committee_has_work_done_and_work_waiting(client):
    consultation = load_demo(PhaseKind.DELIBERATION)
    db.session.commit()
    slug = consultation.slug
    issues = db.session.scalars(sa.select(Issue.title).order_by(Issue.position)).all()
    assert issues == list(DEMO_ISSUES)
    merged = db.session.scalar(sa.select(Proposal).where(Proposal.merged_at.is_not(None)))
    assert merged.title == DEMO_MERGE[1]
    assert db.session.scalar(sa.select(sa.func.count()).where(Proposal.merged_into_id == merged.id)) == 2
    assert db.session.scalar(sa.select(sa.func.count(sa.distinct(Score.member_id)))) == 2
    member = db.session.scalar(sa.select(User).filter_by(email="membre.comite@example.org"))
    waiting = db.session.scalars(sa.select(Proposal.title).join(EvaluationAssignment).where(
        EvaluationAssignment.evaluator_id == member.id,
        ~sa.exists().where(Score.proposal_id == Proposal.id, Score.member_id == member.id))).all()
    assert len(waiting) == len(DEMO_TO_EVALUATE)

    client.sign_in_as(member)
    home = text_of(client.get(f"/consultations/{slug}/comite"))
    assert all(title in home for title in issues)
    assert "3 propositions vous sont attribuées et attendent vos notes." in home
    suggestion = text_of(client.get(f"/consultations/{slug}/comite/suggestion"))
    assert "Groupes proposés" in suggestion and "Calcul en cours" not in suggestion
    grid = text_of(client.get(f"/consultations/{slug}/comite/evaluation?mine=y"))
    assert all(title in grid for title in waiting)

    load_demo(PhaseKind.DELIBERATION)  # again: nothing done twice
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Issue)) == len(DEMO_ISSUES)
    assert db.session.scalar(sa.select(sa.func.count()).where(Proposal.merged_at.is_not(None))) == 1


def test_in_selection_the_demo_committee_has_laureates_to_complete_and_rules_to_compare(client):
    consultation = load_demo(PhaseKind.SELECTION)
    db.session.commit()
    laureates = db.session.scalars(sa.select(Proposal).where(Proposal.answer_state == "laureate")).all()
    assert laureates and consultation.results_published_at is None
    assert sum(proposal.granted_amount_cents for proposal in laureates) < consultation.budget_envelope_cents
    client.sign_in_as(db.session.scalar(sa.select(User).filter_by(email="membre.comite@example.org")))
    rules = text_of(client.get(f"/consultations/{consultation.slug}/comite/selection/regles"))
    assert "parts égales" in rules.lower()


def test_in_results_the_demo_has_published_laureates_within_the_envelope(client):
    consultation = load_demo(PhaseKind.RESULTS)
    db.session.commit()
    laureates = db.session.scalars(sa.select(Proposal).where(Proposal.answer_state == "laureate")).all()
    assert consultation.results_published_at is not None
    assert 0 < sum(proposal.granted_amount_cents for proposal in laureates) <= consultation.budget_envelope_cents
    page = text_of(client.get(f"/consultations/{consultation.slug}/resultats"))
    assert all(proposal.title in page for proposal in laureates)
