"""The mails other domains send as things happen to a followed proposal (a merge) obey the person's choice of
'followed proposal activity' and carry the link that stops them."""

import sqlalchemy as sa

from app.committee import merging
from app.consultations.models import PhaseKind
from app.core.mail import OutboxMessage
from app.extensions import db
from app.notifications import services
from app.notifications.models import DeliveryMode, NotificationKind
from tests.factories import (make_consultation, make_issue, make_member, make_organization, make_proposal, make_user,
                             seat)

FOLLOWED = NotificationKind.FOLLOWED_PROPOSAL_ACTIVITY


def test_a_merge_mails_those_who_follow_unless_they_chose_nothing():
    consultation = make_consultation(PhaseKind.DELIBERATION)
    saint_flour, mauriac = make_organization("Saint-Flour"), make_organization("Mauriac")
    first = make_proposal(consultation, saint_flour, title="Réserver la cantine en ligne")
    second = make_proposal(consultation, mauriac, title="Inscription numérique à la cantine")
    make_issue(consultation, "Cantines", proposals=[first, second])
    keeps = make_member(make_user("agent@saint-flour.fr"), saint_flour).user
    stops = make_member(make_user("maire@saint-flour.fr"), saint_flour, role="elected").user
    digest = make_member(make_user("agent@mauriac.fr"), mauriac).user
    services.set_preference(stops, FOLLOWED, DeliveryMode.NONE)
    services.set_preference(digest, FOLLOWED, DeliveryMode.DAILY)
    merging.merge_proposals(consultation, [first.id, second.id], by=seat(consultation).user,
                            organization_id=saint_flour.id, title="Cantine en ligne", summary="Réserver, s'inscrire.",
                            body="Un seul service.")
    mails = {message.recipient: message for message in db.session.scalars(sa.select(OutboxMessage))}
    assert set(mails) == {keeps.email, digest.email}  # "daily": a merge is told once, at once
    token = services.unsubscribe_token(keeps, FOLLOWED)
    assert f"http://localhost/courriels/desabonnement/{token}" in mails[keeps.email].body
