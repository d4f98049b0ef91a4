"""Aidants at service level: who grants a mandate to whom and for when, when it is in force (never beyond either
membership), revocation, and supports cast under it: same rules, quota and window as the official's own, both
people named in the journal and the audit log."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.consultations.models import PhaseKind
from app.core import clock
from app.core.audit import AuditEntry
from app.core.errors import RuleViolation
from app.core.mail import OutboxMessage
from app.extensions import db
from app.organizations.models import MembershipRole, MembershipStatus
from app.votes import mandates, services
from app.votes.models import Mandate, Support, SupportEvent
from tests.factories import make_consultation, make_member, make_organization, make_proposal, make_user

DAY = timedelta(days=1)


@pytest.fixture
def town():
    """A commune with an elected official (Claire) and an agent (Paul)."""
    organization = make_organization("Saint-Flour")
    official = make_member(make_user(name="Claire Fabre"), organization, role="elected")
    agent = make_member(make_user(name="Paul Murat"), organization, role="agent")
    return organization, official, agent


def grant(official, agent, *, starts=None, ends=None, now=None):
    now = now or clock.now()
    mandate = mandates.grant_mandate(official.user, agent.user, official.organization,
                                     starts or now - DAY, ends or now + 30 * DAY, now=now)
    db.session.commit()
    return mandate


def refusal_of(action) -> str:
    with pytest.raises(RuleViolation) as refused:
        action()
    db.session.rollback()
    return str(refused.value)


# --- Granting -------------------------------------------------------------------------------------------

def test_an_elected_official_grants_a_mandate_to_an_agent_of_the_same_organization(town):
    organization, official, agent = town
    mandate = grant(official, agent)
    assert (mandate.organization, mandate.official, mandate.aidant) == (organization, official.user, agent.user)
    assert mandates.is_in_force(mandate)
    entry = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "mandate.grant")).one()
    assert entry.actor_id == official.user.id
    assert (entry.data["official"], entry.data["aidant"]) == ("Claire Fabre", "Paul Murat")


def test_the_aidant_is_told_of_the_grant_and_of_the_revocation_in_their_language(town):
    _organization, official, agent = town
    agent.user.locale = "en"
    mandate = grant(official, agent)
    mandates.revoke_mandate(mandate, by=official.user)
    granted, revoked = db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert {granted.recipient, revoked.recipient} == {agent.user.email}
    assert granted.subject == "You have been given an aidant mandate"
    assert "Claire Fabre gives you an aidant mandate for Saint-Flour" in granted.body
    assert "http://localhost/compte/mandats" in granted.body
    assert revoked.subject == "Your aidant mandate has ended"
    assert "Claire Fabre has ended your aidant mandate for Saint-Flour" in revoked.body


def test_only_a_verified_elected_official_grants_to_a_verified_agent_of_the_same_organization(town):
    organization, official, agent = town
    now = clock.now()
    other_agent = make_member(organization=make_organization("Mauriac"), role="agent")
    colleague = make_member(organization=organization, role="elected")
    pending_agent = make_member(organization=organization, role="agent", status=MembershipStatus.PENDING)

    def reason(by, to, organization=organization, starts=now, ends=now + DAY):
        return mandates.why_not_grant(by, to, organization, starts, ends, now)

    assert reason(official.user, agent.user) is None
    assert reason(agent.user, official.user) == (
        "Seuls les élus vérifiés d'une organisation vérifiée confient un mandat d'aidant.")
    assert reason(make_user(), agent.user) == (
        "Seuls les élus vérifiés d'une organisation vérifiée confient un mandat d'aidant.")
    for to in (other_agent.user, colleague.user, pending_agent.user, official.user):
        assert reason(official.user, to) == "L'aidant doit être un agent vérifié de Saint-Flour."
    assert reason(official.user, agent.user, ends=now) == "La fin du mandat doit suivre son début."
    assert reason(official.user, agent.user, starts=now - 3 * DAY, ends=now - DAY) == (
        "Ce mandat serait déjà terminé : choisissez une date de fin à venir.")


def test_no_two_mandates_for_overlapping_periods_to_the_same_aidant(town):
    _organization, official, agent = town
    now = clock.now()
    grant(official, agent, starts=now, ends=now + 10 * DAY, now=now)
    assert refusal_of(lambda: mandates.grant_mandate(official.user, agent.user, official.organization,
                                                     now + 9 * DAY, now + 20 * DAY, now=now)) == (
        "Paul Murat a déjà un mandat de votre part sur une partie de cette période.")
    later = grant(official, agent, starts=now + 10 * DAY, ends=now + 20 * DAY, now=now)  # right after: allowed
    assert not mandates.is_in_force(later, now) and mandates.is_in_force(later, now + 10 * DAY)


def test_an_aidant_cannot_grant_a_mandate(town):
    organization, official, agent = town
    grant(official, agent)
    another_agent = make_member(organization=organization, role="agent")
    now = clock.now()
    assert refusal_of(lambda: mandates.grant_mandate(agent.user, another_agent.user, organization, now,
                                                     now + DAY, now=now)) == (
        "Un aidant ne peut pas confier de mandat : seul l'élu·e qui l'a mandaté le peut.")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Mandate)) == 1


# --- In force -------------------------------------------------------------------------------------------

def test_in_force_between_its_dates_start_included_end_excluded(town):
    _organization, official, agent = town
    now = clock.now()
    mandate = grant(official, agent, starts=now + DAY, ends=now + 2 * DAY, now=now)
    assert not mandates.is_in_force(mandate, now + DAY - timedelta(seconds=1))
    assert mandates.is_in_force(mandate, now + DAY)
    assert not mandates.is_in_force(mandate, now + 2 * DAY)
    assert mandates.status_label(mandate, now) == "À venir"
    assert mandates.status_label(mandate, now + 2 * DAY) == "Terminé"


@pytest.mark.parametrize("change", ["official_leaves", "official_refused", "official_becomes_agent",
                                    "aidant_leaves", "aidant_becomes_elected", "organization_unverified"])
def test_a_mandate_never_outlives_either_membership_or_role(town, change):
    organization, official, agent = town
    mandate, aidant = grant(official, agent), agent.user
    if change == "official_leaves":
        db.session.delete(official)
    elif change == "official_refused":
        official.status = MembershipStatus.REFUSED
    elif change == "official_becomes_agent":
        official.role = MembershipRole.AGENT
    elif change == "aidant_leaves":
        db.session.delete(agent)
    elif change == "aidant_becomes_elected":
        agent.role = MembershipRole.ELECTED
    else:
        organization.is_verified = False
    db.session.commit()
    db.session.expire_all()
    assert not mandates.is_in_force(mandate)
    assert mandates.held_in_force(aidant) == []
    assert mandates.status_label(mandate) == "Terminé"


def test_the_official_revokes_at_any_moment_and_only_they_do(town):
    organization, official, agent = town
    mandate = grant(official, agent)
    colleague = make_member(organization=organization, role="elected").user
    assert refusal_of(lambda: mandates.revoke_mandate(mandate, by=agent.user)) == (
        "Seul l'élu·e qui a confié ce mandat peut le révoquer.")
    assert refusal_of(lambda: mandates.revoke_mandate(mandate, by=colleague)) == (
        "Seul l'élu·e qui a confié ce mandat peut le révoquer.")
    mandates.revoke_mandate(mandate, by=official.user)
    db.session.commit()
    assert mandate.revoked_by == official.user and not mandates.is_in_force(mandate)
    assert mandates.status_label(mandate) == "Révoqué"
    assert refusal_of(lambda: mandates.revoke_mandate(mandate, by=official.user)) == "Ce mandat est déjà révoqué."
    entry = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "mandate.revoke")).one()
    assert (entry.actor_id, entry.data["aidant"]) == (official.user.id, "Paul Murat")
    # Revoked, the period is free again for a new mandate.
    assert mandates.why_not_grant(official.user, agent.user, organization, clock.now(), clock.now() + DAY) is None


# --- Supporting under a mandate -------------------------------------------------------------------------

def test_supports_under_a_mandate_share_the_official_organizations_quota(town):
    organization, official, agent = town
    consultation = make_consultation(PhaseKind.SUPPORT, vote_limit=2)
    first, second, third = (make_proposal(consultation) for _ in range(3))
    mandate = grant(official, agent)
    services.cast_support(first, organization, by=official.user)
    services.cast_support(second, organization, by=agent.user, mandate=mandate)
    db.session.commit()
    supports = {support.proposal_id: (support.cast_by_id, support.mandate_id)
                for support in db.session.scalars(sa.select(Support))}
    assert supports == {first.id: (official.user.id, None), second.id: (agent.user.id, mandate.id)}

    services.withdraw_support(second, organization, by=agent.user, mandate=mandate)
    services.cast_support(third, organization, by=official.user)  # the place the aidant gave back
    services.withdraw_support(first, organization, by=official.user)
    services.cast_support(first, organization, by=agent.user, mandate=mandate)
    db.session.commit()
    assert services.quota_used(consultation, [organization.id]) == {organization.id: 2}
    journal = db.session.execute(sa.select(SupportEvent.action, SupportEvent.actor_id, SupportEvent.mandate_id)
                                 .order_by(SupportEvent.id)).all()
    assert journal == [("cast", official.user.id, None), ("cast", agent.user.id, mandate.id),
                       ("withdraw", agent.user.id, mandate.id), ("cast", official.user.id, None),
                       ("withdraw", official.user.id, None), ("cast", agent.user.id, mandate.id)]
    entries = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action.like("support.%"))
                                 .order_by(AuditEntry.id)).all()
    assert [entry.action for entry in entries] == ["support.cast_under_mandate", "support.withdraw_under_mandate",
                                                    "support.cast_under_mandate"]
    assert all((entry.actor_id, entry.data["official"], entry.data["aidant"], entry.data["organization"])
               == (agent.user.id, "Claire Fabre", "Paul Murat", "Saint-Flour") for entry in entries)
    # Last: a refused cast leaves an object the rollback brings back into this test's long-lived session.
    assert refusal_of(lambda: services.cast_support(second, organization, by=agent.user, mandate=mandate)) == (
        "Votre collectivité a utilisé ses 2 soutiens. Retirez-en un pour en donner un autre.")


def test_an_agent_supports_only_under_a_mandate_in_force_for_that_organization(town):
    organization, official, agent = town
    consultation = make_consultation(PhaseKind.SUPPORT)
    proposal = make_proposal(consultation)
    assert refusal_of(lambda: services.cast_support(proposal, organization, by=agent.user)) == (
        "Seuls les élus soutiennent au nom de leur collectivité ; les agents peuvent commenter.")
    mandate = grant(official, agent)
    elsewhere = make_organization("Mauriac")
    assert refusal_of(lambda: services.cast_support(proposal, elsewhere, by=agent.user, mandate=mandate)) == (
        "Ce mandat ne vous permet pas de soutenir au nom de cette organisation.")
    assert refusal_of(lambda: services.cast_support(proposal, organization, by=make_user(), mandate=mandate)) == (
        "Ce mandat ne vous permet pas de soutenir au nom de cette organisation.")
    mandates.revoke_mandate(mandate, by=official.user)
    db.session.commit()
    assert refusal_of(lambda: services.cast_support(proposal, organization, by=agent.user, mandate=mandate)) \
        .startswith("Ce mandat a été révoqué le ")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Support)) == 0


def test_the_window_closed_refuses_supports_under_a_mandate_too(town):
    organization, official, agent = town
    consultation = make_consultation(PhaseKind.SUPPORT)
    proposal = make_proposal(consultation)
    after = consultation.phase(PhaseKind.SUPPORT).ends_at
    mandate = grant(official, agent, starts=after - 30 * DAY, ends=after + 30 * DAY)
    assert mandates.is_in_force(mandate, after)
    assert refusal_of(lambda: services.cast_support(proposal, organization, by=agent.user, mandate=mandate,
                                                    now=after)).startswith("Les soutiens sont clos depuis le ")


def test_support_options_offer_the_aidant_the_officials_organization(town):
    organization, official, agent = town
    consultation = make_consultation(PhaseKind.SUPPORT, vote_limit=3)
    proposal = make_proposal(consultation)
    [option] = services.support_options(agent.user, consultation, [proposal])[proposal.id]
    assert option.mandate is None and option.reason.startswith("Seuls les élus soutiennent")
    mandate = grant(official, agent)
    [option] = services.support_options(agent.user, consultation, [proposal])[proposal.id]
    assert (option.organization, option.mandate, option.reason, option.remaining) == (organization, mandate, None, 3)
