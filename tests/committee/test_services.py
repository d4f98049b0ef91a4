"""Committee seats: one chair, no member twice, admins only."""

import pytest

from app.committee import services
from app.core.errors import RuleViolation
from tests.factories import make_consultation, make_user


def test_committee_has_one_chair_and_no_duplicate_member():
    admin = make_user(is_admin=True)
    consultation = make_consultation()
    first, second = make_user(), make_user()
    services.add_committee_member(consultation, first, affiliation="DINUM", is_chair=True, by=admin)
    services.add_committee_member(consultation, second, affiliation="ANCT", is_chair=True, by=admin)
    assert [(seat.user, seat.is_chair) for seat in consultation.committee_seats] == [(first, False), (second, True)]
    with pytest.raises(RuleViolation, match="siège déjà"):
        services.add_committee_member(consultation, first, affiliation="DINUM", is_chair=False, by=admin)
    with pytest.raises(RuleViolation, match="affiliation"):
        services.add_committee_member(consultation, make_user(), affiliation=" ", is_chair=False, by=admin)


def test_only_admins_seat_committee_members():
    with pytest.raises(RuleViolation, match="équipe d'administration"):
        services.add_committee_member(make_consultation(), make_user(), affiliation="DINUM", is_chair=False,
                                      by=make_user())
