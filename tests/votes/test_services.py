"""Support rules at the service level: window, eligibility, quota, uniqueness, minimum, threshold, tally."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.consultations.models import PhaseKind
from app.core.errors import RuleViolation
from app.extensions import db
from app.proposals.models import ProposalCosponsor
from app.votes import services
from app.votes.models import Support, SupportEvent
from app.votes.permissions import counts_hidden
from tests.factories import make_consultation, make_member, make_organization, make_proposal, make_user, seat


def elected(organization=None, **kwargs):
    return make_member(organization=organization or make_organization(**kwargs), role="elected")


@pytest.fixture
def consultation():
    return make_consultation(PhaseKind.SUPPORT, vote_limit=3)


def support_count(proposal) -> int:
    db.session.refresh(proposal)
    return proposal.support_count


def test_an_elected_official_supports_for_the_organization_once_whoever_presses(consultation):
    proposal = make_proposal(consultation)
    first = elected()
    colleague = make_member(organization=first.organization, role="elected")
    support = services.cast_support(proposal, first.organization, by=first.user, source="/propositions")
    assert len(support.receipt_code) == 12 and support_count(proposal) == 1
    with pytest.raises(RuleViolation, match="soutient déjà"):
        services.cast_support(proposal, first.organization, by=colleague.user)
    event = db.session.scalars(sa.select(SupportEvent)).one()
    assert (event.action, event.actor_id, event.organization_id, event.source) == (
        "cast", first.user.id, first.organization.id, "/propositions")


@pytest.mark.parametrize("role, organization_kwargs, message", [
    ("agent", {}, "Seuls les élus"),
    ("elected", {"is_verified": False}, "élus vérifiés"),
    ("elected", {"kind": "association", "population": None}, "ne sont pas admises"),
])
def test_only_verified_elected_officials_of_eligible_verified_organizations(consultation, role, organization_kwargs,
                                                                            message):
    member = make_member(organization=make_organization(**organization_kwargs), role=role)
    with pytest.raises(RuleViolation, match=message):
        services.cast_support(make_proposal(consultation), member.organization, by=member.user)


def test_unverified_membership_cannot_support(consultation):
    member = make_member(role="elected", status="pending")
    with pytest.raises(RuleViolation, match="élus vérifiés"):
        services.cast_support(make_proposal(consultation), member.organization, by=member.user)


def test_window_start_inclusive_end_exclusive_by_the_server_clock(consultation):
    window = consultation.phase(PhaseKind.SUPPORT)
    member = elected()
    proposal = make_proposal(consultation)
    with pytest.raises(RuleViolation, match="ouvriront le"):
        services.cast_support(proposal, member.organization, by=member.user,
                              now=window.starts_at - timedelta(microseconds=1))
    services.cast_support(proposal, member.organization, by=member.user, now=window.starts_at)
    with pytest.raises(RuleViolation, match="clos depuis le"):
        services.withdraw_support(proposal, member.organization, by=member.user, now=window.ends_at)
    services.withdraw_support(proposal, member.organization, by=member.user,
                              now=window.ends_at - timedelta(microseconds=1))


def test_window_across_daylight_saving_change():
    # Window ending at 03:00 Paris time on the night clocks go forward (02:00 → 03:00): 01:00 UTC.
    from datetime import UTC, datetime

    from app.core import clock
    consultation = make_consultation(PhaseKind.SUPPORT, now=datetime(2027, 3, 20, tzinfo=UTC), vote_limit=0)
    window = consultation.phase(PhaseKind.SUPPORT)
    window.ends_at = clock.from_paris(datetime(2027, 3, 28, 3, 0))
    consultation.phase(PhaseKind.DELIBERATION).starts_at = window.ends_at
    db.session.commit()
    assert window.ends_at == datetime(2027, 3, 28, 1, 0, tzinfo=UTC)
    member, proposal = elected(), make_proposal(consultation)
    services.cast_support(proposal, member.organization, by=member.user,
                          now=datetime(2027, 3, 28, 0, 59, 59, tzinfo=UTC))
    with pytest.raises(RuleViolation, match="28 mars 2027 à 03h00"):
        services.cast_support(make_proposal(consultation), member.organization, by=member.user,
                              now=datetime(2027, 3, 28, 1, 0, tzinfo=UTC))


def test_vote_limit_and_withdrawal_gives_the_support_back(consultation):
    member = elected()
    proposals = [make_proposal(consultation) for _ in range(4)]
    for proposal in proposals[:3]:
        services.cast_support(proposal, member.organization, by=member.user)
    with pytest.raises(RuleViolation, match="utilisé ses 3 soutiens"):
        services.cast_support(proposals[3], member.organization, by=member.user)
    services.withdraw_support(proposals[0], member.organization, by=member.user)
    services.cast_support(proposals[3], member.organization, by=member.user)
    assert services.quota_used(consultation, [member.organization.id]) == {member.organization.id: 3}
    assert [support_count(p) for p in proposals] == [0, 1, 1, 1]


def test_withdrawn_hidden_and_merged_proposals_cannot_be_supported(consultation):
    member = elected()
    target = make_proposal(consultation)
    from app.core import clock
    for proposal in (make_proposal(consultation, state="withdrawn"), make_proposal(consultation, hidden_at=clock.now()),
                     make_proposal(consultation, merged_into=target), make_proposal(consultation, state="draft")):
        with pytest.raises(RuleViolation, match="retirée, masquée ou fusionnée"):
            services.cast_support(proposal, member.organization, by=member.user)


def test_supports_count_publicly_only_once_the_minimum_is_reached():
    consultation = make_consultation(PhaseKind.SUPPORT, vote_limit=5, minimum_votes_per_user=3)
    member, other = elected(), elected()
    proposals = [make_proposal(consultation) for _ in range(3)]
    services.cast_support(proposals[0], other.organization, by=other.user)
    services.cast_support(proposals[0], member.organization, by=member.user)
    services.cast_support(proposals[1], member.organization, by=member.user)
    assert [support_count(p) for p in proposals] == [0, 0, 0]
    services.cast_support(proposals[2], member.organization, by=member.user)  # the third: all three count
    assert [support_count(p) for p in proposals] == [1, 1, 1]
    services.withdraw_support(proposals[1], member.organization, by=member.user)  # back under: none counts
    assert [support_count(p) for p in proposals] == [0, 0, 0]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Support)) == 3  # stored all the same
    assert services.tally_rows(consultation) == []


def test_threshold_without_accumulation_closes_a_proposal_to_more_supports():
    consultation = make_consultation(PhaseKind.SUPPORT, threshold_per_proposal=2)
    proposal = make_proposal(consultation)
    members = [elected() for _ in range(3)]
    for member in members[:2]:
        services.cast_support(proposal, member.organization, by=member.user)
    with pytest.raises(RuleViolation, match="seuil de 2 soutiens"):
        services.cast_support(proposal, members[2].organization, by=members[2].user)
    consultation.can_accumulate_supports_beyond_threshold = True
    services.cast_support(proposal, members[2].organization, by=members[2].user)
    assert support_count(proposal) == 3


def test_counts_hidden_to_all_but_the_committee_until_the_window_ends():
    consultation = make_consultation(PhaseKind.SUPPORT, votes_hidden=True)
    member = seat(consultation).user
    window = consultation.phase(PhaseKind.SUPPORT)
    assert counts_hidden(consultation, make_user())
    assert counts_hidden(consultation, make_user(is_admin=True))
    assert not counts_hidden(consultation, member)
    assert not counts_hidden(consultation, make_user(), now=window.ends_at)


def test_receipts_are_found_as_typed_and_die_with_the_support(consultation):
    member, proposal = elected(), make_proposal(consultation)
    support = services.cast_support(proposal, member.organization, by=member.user)
    typed = services.format_receipt(support.receipt_code).lower().replace("0", "o")
    assert services.find_receipt(f"  {typed} ").id == support.id
    services.withdraw_support(proposal, member.organization, by=member.user)
    assert services.find_receipt(support.receipt_code) is None
    assert services.find_receipt("trop court") is None


def test_tally_freezes_after_the_window_with_a_digest_anyone_can_recompute(consultation):
    import hashlib
    window = consultation.phase(PhaseKind.SUPPORT)
    members = [elected() for _ in range(2)]
    proposals = [make_proposal(consultation) for _ in range(2)]
    for member in members:
        services.cast_support(proposals[0], member.organization, by=member.user)
    services.cast_support(proposals[1], members[0].organization, by=members[0].user)
    assert services.frozen_tally(consultation, now=window.ends_at - timedelta(seconds=1)) is None
    tally = services.frozen_tally(consultation, now=window.ends_at + timedelta(hours=5))
    assert tally.frozen_at == window.ends_at  # as the supports stood when the window ended, whenever asked
    assert tally.support_count == 3 and tally.digest == hashlib.sha256(tally.content.encode()).hexdigest()
    [header, *lines] = tally.content.splitlines()
    assert header == "id_proposition;id_organisation;organisation;siren;soutenu_le"
    assert sorted(line.split(";")[0] for line in lines) == sorted([str(proposals[0].id)] * 2 + [str(proposals[1].id)])
    services.withdraw_support(proposals[1], members[0].organization, by=members[0].user,
                              now=window.ends_at - timedelta(seconds=1))  # a late write cannot change it
    assert services.frozen_tally(consultation, now=window.ends_at + timedelta(days=3)).content == tally.content


def test_hidden_supporters_appear_under_a_stable_pseudonym(consultation):
    consultation.supporters_hidden = True
    member, proposal = elected(), make_proposal(consultation)
    services.cast_support(proposal, member.organization, by=member.user)
    [(_, label, name, siren, _)] = services.tally_rows(consultation)
    assert (name, siren) == ("", "")
    assert label.startswith("org-") and str(member.organization.id) not in label
    assert services.tally_rows(consultation)[0][1] == label


def test_the_support_returned_is_in_the_session_with_its_proposal_and_organization_until_withdrawn(consultation):
    member, proposal = elected(), make_proposal(consultation)
    support = services.cast_support(proposal, member.organization, by=member.user)
    assert support in db.session and support.proposal is proposal and support.organization is member.organization
    assert proposal.support_count == 1  # the counter the cast moved, read again
    services.withdraw_support(proposal, member.organization, by=member.user)
    assert support not in db.session and proposal.support_count == 0


def test_an_organization_supports_neither_what_it_submitted_nor_what_it_co_sponsors_unless_allowed(consultation):
    member = elected()
    own = make_proposal(consultation, member.organization)
    cosponsored = make_proposal(consultation)
    cosponsored.cosponsors.append(ProposalCosponsor(organization=member.organization, added_by_id=member.user.id))
    db.session.commit()
    for proposal in (own, cosponsored):
        with pytest.raises(RuleViolation, match="porte cette proposition : elle ne peut pas la soutenir"):
            services.cast_support(proposal, member.organization, by=member.user)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Support)) == 0
    consultation.can_support_own_proposals = True
    for proposal in (own, cosponsored):
        services.cast_support(proposal, member.organization, by=member.user)
    assert support_count(own) == support_count(cosponsored) == 1


def test_a_refused_cast_leaves_nothing_behind_even_without_a_rollback():
    consultation = make_consultation(PhaseKind.SUPPORT, vote_limit=1)
    member = elected()
    first, second = make_proposal(consultation), make_proposal(consultation)
    services.cast_support(first, member.organization, by=member.user)
    with pytest.raises(RuleViolation, match="a utilisé son soutien"):
        services.cast_support(second, member.organization, by=member.user)
    db.session.commit()
    assert [support.proposal_id for support in db.session.scalars(sa.select(Support))] == [first.id]
    assert services.quota_used(consultation, [member.organization_id]) == {member.organization_id: 1}
