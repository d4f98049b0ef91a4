"""The demo consultation: dated around today, all roles present, idempotent."""

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from app.accounts.models import User
from app.consultations.models import PhaseKind
from app.consultations.phases import current_phase
from app.demo import load_demo
from app.extensions import db
from app.organizations.models import Membership


@pytest.mark.parametrize("phase", list(PhaseKind))
def test_demo_opens_the_chosen_phase_now(phase):
    now = datetime(2027, 3, 28, 1, 30, tzinfo=UTC)  # the night Paris moves to summer time
    consultation = load_demo(phase, now=now)
    assert current_phase(consultation, now).kind == phase.value


def test_demo_has_every_role_and_is_idempotent():
    consultation = load_demo()
    db.session.commit()
    users = db.session.scalar(sa.select(sa.func.count()).select_from(User))
    roles = [membership.role for membership in db.session.scalars(sa.select(Membership))
             if membership.organization.name == "Saint-Flour" and membership.counts]
    assert roles.count("elected") >= 2 and roles.count("agent") >= 2
    assert any(seat.is_chair for seat in consultation.committee_seats) and len(consultation.committee_seats) >= 2
    assert db.session.scalar(sa.select(User).where(User.is_admin)) is not None
    first_dates = [(phase.starts_at, phase.ends_at) for phase in consultation.phases]

    again = load_demo(PhaseKind.SUPPORT, now=datetime(2030, 1, 1, tzinfo=UTC))
    assert again.id == consultation.id
    assert [(phase.starts_at, phase.ends_at) for phase in again.phases] == first_dates  # kept unless asked
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == users
    moved = load_demo(PhaseKind.RESULTS, reschedule=True)
    assert current_phase(moved).kind == "results"
