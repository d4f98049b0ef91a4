"""What happens to a followed proposal beside its comments (a merge, the committee's answer) obeys the person's
choice of 'followed proposal activity': "immediate", a mail at once from the committee's code; "daily", nothing
at once and the event in the next digest (after 8:00 Paris), once; "nothing", nothing. Each mail carries the link
that stops the kind."""

from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from app.committee import decisions, merging
from app.consultations.models import PhaseKind
from app.core import clock
from app.core.mail import OutboxMessage
from app.extensions import db
from app.notifications import services
from app.notifications.models import DeliveryMode, NotificationKind, SentReminder
from app.proposals.models import AnswerState, ProposalCosponsor
from tests.factories import (PASSWORD, make_comment, make_consultation, make_issue, make_member, make_organization,
                             make_proposal, make_support, make_user, seat)

FOLLOWED = NotificationKind.FOLLOWED_PROPOSAL_ACTIVITY
SIX_IN_PARIS = datetime(2027, 3, 29, 4, 0, tzinfo=clock.UTC)  # summer time: UTC+2
EIGHT_IN_PARIS = SIX_IN_PARIS + timedelta(hours=2)
NEXT_MORNING = EIGHT_IN_PARIS + timedelta(days=1)


def mails_to(user) -> list[OutboxMessage]:
    return list(db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.recipient == user.email)
                                   .order_by(OutboxMessage.id)))


def person(email: str, organization, mode: DeliveryMode):
    user = make_member(make_user(email), organization).user
    services.set_preference(user, FOLLOWED, mode)
    return user


@pytest.fixture
def merged():
    """Two proposals merged at six in Paris, by organizations whose members chose each mode; a comment on one."""
    consultation = make_consultation(PhaseKind.DELIBERATION, now=SIX_IN_PARIS)
    saint_flour, mauriac = make_organization("Saint-Flour"), make_organization("Mauriac")
    first = make_proposal(consultation, saint_flour, title="Réserver la cantine en ligne")
    second = make_proposal(consultation, mauriac, title="Inscription numérique à la cantine")
    make_issue(consultation, "Cantines", proposals=[first, second])
    people = {mode: person(f"{mode}@saint-flour.fr", saint_flour, mode) for mode in DeliveryMode}
    comment = make_comment(first, make_member(organization=mauriac))
    comment.created_at = SIX_IN_PARIS - timedelta(hours=1)
    proposal = merging.merge_proposals(consultation, [first.id, second.id], by=seat(consultation).user,
                                       organization_id=saint_flour.id, title="Cantine en ligne",
                                       summary="Réserver, s'inscrire.", body="Un seul service.", now=SIX_IN_PARIS)
    return proposal, first, people


def test_a_merge_mails_at_once_those_who_chose_immediate_only(merged):
    _proposal, _first, people = merged
    [mail] = mails_to(people[DeliveryMode.IMMEDIATE])
    assert mail.subject == "Des propositions que votre organisation suit ont été fusionnées"
    token = services.unsubscribe_token(people[DeliveryMode.IMMEDIATE], FOLLOWED)
    assert f"http://localhost/courriels/desabonnement/{token}" in mail.body
    assert mails_to(people[DeliveryMode.DAILY]) == mails_to(people[DeliveryMode.NONE]) == []


def test_a_merge_waits_for_the_digest_of_those_who_chose_daily_and_is_told_once(merged):
    proposal, first, people = merged
    daily = people[DeliveryMode.DAILY]
    assert services.run(SIX_IN_PARIS + timedelta(minutes=1)) == 1  # the comment, at once, to "immediate" only
    assert mails_to(daily) == []
    assert services.run(EIGHT_IN_PARIS) == 1
    [digest] = mails_to(daily)
    assert digest.subject == "Votre résumé quotidien d'Agora"
    assert ("Des propositions que votre organisation suit ont été fusionnées dans la proposition "
            "« Cantine en ligne » :\n- « Réserver la cantine en ligne »") in digest.body
    assert f"http://localhost/propositions/{proposal.id}\n" in digest.body
    assert "a commenté la proposition « Réserver la cantine en ligne »" in digest.body  # both, side by side
    assert f"http://localhost/propositions/{first.id}#commentaire-" in digest.body
    assert len(mails_to(people[DeliveryMode.IMMEDIATE])) == 2  # the merge and the comment, nothing more
    assert mails_to(people[DeliveryMode.NONE]) == []
    assert services.run(EIGHT_IN_PARIS + timedelta(hours=1)) == 0
    assert services.run(NEXT_MORNING) == 0
    assert len(mails_to(daily)) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SentReminder).where(
        SentReminder.kind == "followed_merge")) == 1


def test_a_merge_undone_before_the_digest_leaves_it_and_is_told_at_once(merged):
    proposal, _first, people = merged
    services.run(SIX_IN_PARIS + timedelta(minutes=1))
    merging.unmerge(proposal, by=seat(proposal.consultation).user, now=SIX_IN_PARIS + timedelta(minutes=5))
    [undone] = mails_to(people[DeliveryMode.DAILY])
    assert undone.subject == "Une fusion de propositions que votre organisation suit a été défaite"
    services.run(EIGHT_IN_PARIS)
    [_undone, digest] = mails_to(people[DeliveryMode.DAILY])
    assert "fusionnées" not in digest.body and "a commenté" in digest.body
    assert mails_to(people[DeliveryMode.NONE]) == []


@pytest.fixture
def answered():
    """Answers published at six in Paris: a laureate carried by Saint-Flour, co-sponsored by Mauriac and
    supported by Aurillac and Saint-Flour, whose members chose each mode."""
    consultation = make_consultation(PhaseKind.SELECTION, now=SIX_IN_PARIS, budget_envelope_cents=100_000_00)
    member = seat(consultation).user
    chair = seat(consultation, make_user(), is_chair=True).user
    saint_flour, mauriac, aurillac = (make_organization(name) for name in ("Saint-Flour", "Mauriac", "Aurillac"))
    laureate = make_proposal(consultation, saint_flour, kind="service", title="Un guichet unique",
                             requested_budget_cents=50_000_00)
    db.session.add(ProposalCosponsor(proposal=laureate, organization=mauriac, added_by_id=member.id))
    make_support(laureate, aurillac)
    make_support(laureate, saint_flour)
    decisions.decide(laureate, state=AnswerState.LAUREATE, granted_amount_cents=50_000_00, reason="Oui.",
                     by=member, now=SIX_IN_PARIS)
    decisions.write_answer(laureate, "Bravo.", by=member, now=SIX_IN_PARIS)
    people = {mode: person(f"{mode}@saint-flour.fr", saint_flour, mode) for mode in DeliveryMode}
    people["cosponsor"] = person("maire@mauriac.fr", mauriac, DeliveryMode.DAILY)
    people["supporter"] = person("elu@aurillac.fr", aurillac, DeliveryMode.DAILY)
    decisions.publish_results(consultation, by=chair, password=PASSWORD, now=SIX_IN_PARIS)
    return laureate, people


def test_the_answers_mail_at_once_those_who_chose_immediate_only(answered):
    _laureate, people = answered
    subjects = [mail.subject for mail in mails_to(people[DeliveryMode.IMMEDIATE])]
    assert subjects == ["La réponse du comité à vos propositions",
                        "Le résultat des propositions que vous avez soutenues"]
    for who in (DeliveryMode.DAILY, DeliveryMode.NONE, "cosponsor", "supporter"):
        assert mails_to(people[who]) == []


def test_the_answers_wait_for_the_digest_of_those_who_chose_daily_and_are_told_once(answered):
    laureate, people = answered
    assert services.run(SIX_IN_PARIS + timedelta(minutes=1)) == 0
    assert services.run(EIGHT_IN_PARIS) == 3
    for who in (DeliveryMode.DAILY, "cosponsor", "supporter"):
        [digest] = mails_to(people[who])
        assert digest.subject == "Votre résumé quotidien d'Agora"
        body = digest.body
        # Carried and supported by Saint-Flour: said once.
        assert body.count("Le comité a répondu à la proposition « Un guichet unique », que votre organisation "
                          "suit : Lauréate.") == 1
        assert f"http://localhost/propositions/{laureate.id}\n" in body
    assert len(mails_to(people[DeliveryMode.IMMEDIATE])) == 2 and mails_to(people[DeliveryMode.NONE]) == []
    assert services.run(EIGHT_IN_PARIS + timedelta(hours=1)) == 0
    assert services.run(NEXT_MORNING) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SentReminder).where(
        SentReminder.kind == "followed_answer")) == 3
