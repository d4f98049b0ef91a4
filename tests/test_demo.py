"""The demo consultation: dated around today, all roles present, contributions, idempotent."""

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from app.accounts.models import User
from app.consultations.models import PhaseKind
from app.consultations.phases import current_phase
from app.consultations.phases import calendar_around
from app.demo import load_demo
from app.extensions import db
from app.organizations.models import Membership
from app.proposals.models import Comment, Proposal
from app.votes.models import Support


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

    counts = [db.session.scalar(sa.select(sa.func.count()).select_from(model)) for model in (User, Proposal, Support)]
    first_dates = [(phase.starts_at, phase.ends_at) for phase in consultation.phases]
    again = load_demo(PhaseKind.SUPPORT, now=datetime(2030, 1, 1, tzinfo=UTC))
    assert again.id == consultation.id
    assert [(phase.starts_at, phase.ends_at) for phase in again.phases] == first_dates  # kept unless asked
    assert [db.session.scalar(sa.select(sa.func.count()).select_from(model))
            for model in (User, Proposal, Support)] == counts
    moved = load_demo(PhaseKind.RESULTS, reschedule=True)
    assert current_phase(moved).kind == "results"
