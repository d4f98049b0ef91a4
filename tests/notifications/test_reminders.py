"""The reminder scheduler under a frozen clock: around each deadline, across a daylight-saving change,
twice in a row (nothing twice), in each person's language and by each person's choice."""

from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from app.consultations.models import PhaseKind
from app.core import clock
from app.core.mail import OutboxMessage
from app.extensions import db
from app.notifications import services
from app.notifications.models import DeliveryMode, NotificationKind, NotifiedEvent, SentReminder
from app.votes.models import SupportQuota
from tests.factories import make_comment, make_consultation, make_member, make_organization, make_proposal

MINUTE = timedelta(minutes=1)


def mails_to(user) -> list[OutboxMessage]:
    return list(db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.recipient == user.email)
                                   .order_by(OutboxMessage.id)))


def outbox_count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage))


def use_quota(consultation, organization, used: int) -> None:
    db.session.add(SupportQuota(consultation_id=consultation.id, organization_id=organization.id, used=used))
    db.session.flush()


@pytest.fixture
def window():
    """A consultation whose support window opens in a day: its elected officials, and people who get nothing."""
    consultation = make_consultation(PhaseKind.COLLECT, now=datetime(2027, 5, 1, 12, tzinfo=clock.UTC),
                                     vote_limit=3, minimum_votes_per_user=2, eligible_kinds=["commune"])
    phase = consultation.phase(PhaseKind.SUPPORT)
    commune = make_organization("Saint-Flour")
    elected = make_member(organization=commune, role="elected").user
    agent = make_member(organization=commune, role="agent").user
    department = make_organization("Cantal", kind="departement")
    ineligible = make_member(organization=department, role="elected").user
    pending = make_member(organization=commune, role="elected", status="pending").user
    return consultation, phase, commune, elected, [agent, ineligible, pending]


def test_window_opens_from_its_start_to_its_officials_only(window):
    consultation, phase, _commune, elected, others = window
    assert services.run(phase.starts_at - MINUTE) == 0
    assert mails_to(elected) == []
    assert services.run(phase.starts_at + MINUTE) == 1
    [mail] = mails_to(elected)
    assert mail.subject == "Les soutiens sont ouverts"
    assert consultation.title in mail.body and f"http://localhost/consultations/{consultation.slug}" in mail.body
    assert all(mails_to(person) == [] for person in others)


def test_running_twice_sends_nothing_twice(window):
    _consultation, phase, _commune, elected, _others = window
    services.run(phase.starts_at + MINUTE)
    count = outbox_count()
    assert services.run(phase.starts_at + MINUTE) == 0
    assert services.run(phase.starts_at + 2 * MINUTE) == 0
    assert outbox_count() == count
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SentReminder)
                             .where(SentReminder.user_id == elected.id)) == 1


def test_a_second_claim_of_the_same_reminder_is_refused_by_the_database(window):
    """Two schedulers at once: the unique key, not a prior read, decides who sends."""
    _consultation, phase, _commune, elected, _others = window
    now = phase.starts_at
    rows = [services._claim_row("window_opens", 1, elected.id, now, now)]
    assert services._claim(rows) == {("window_opens", 1, elected.id)}
    assert services._claim(rows) == set()


def test_window_closing_three_days_before_its_end_says_how_many_supports_are_missing(window):
    consultation, phase, commune, elected, _others = window
    services.run(phase.starts_at + MINUTE)  # the opening, sent and out of the way
    use_quota(consultation, commune, 0)
    before = len(mails_to(elected))
    assert services.run(phase.ends_at - timedelta(days=3) - MINUTE) == 0
    assert services.run(phase.ends_at - timedelta(days=3) + MINUTE) == 1
    mail = mails_to(elected)[before]
    assert mail.subject == "Les soutiens ferment dans trois jours"
    assert "Saint-Flour : il manque 2 soutiens" in mail.body


def test_window_closing_skips_organizations_with_nothing_left_to_do(window):
    consultation, phase, commune, elected, _others = window
    use_quota(consultation, commune, 3)  # its three supports cast: at its limit, above the minimum
    assert services.run(phase.ends_at - timedelta(days=3) + MINUTE) == 0
    assert mails_to(elected) == []


def test_window_closing_reminds_an_organization_with_supports_left(window):
    consultation, phase, commune, elected, _others = window
    use_quota(consultation, commune, 2)  # the minimum reached, one support left
    services.run(phase.ends_at - timedelta(days=3) + MINUTE)
    [mail] = mails_to(elected)
    assert "Saint-Flour : votre organisation peut encore soutenir des propositions." in mail.body
    assert services.run(phase.ends_at - MINUTE) == 0  # once, not every run until the end


def test_nothing_after_the_window_closed(window):
    _consultation, phase, _commune, elected, _others = window
    assert services.run(phase.ends_at + MINUTE) == 0
    assert mails_to(elected) == []


def test_results_once_published(window):
    consultation, phase, _commune, elected, _others = window
    published = phase.ends_at + timedelta(days=90)
    consultation.results_published_at = published
    db.session.flush()
    assert services.run(published - MINUTE) == 0
    assert services.run(published + MINUTE) == 1
    [mail] = mails_to(elected)
    assert mail.subject == "Les résultats sont publiés"
    assert f"http://localhost/consultations/{consultation.slug}/resultats" in mail.body
    assert services.run(published + 2 * MINUTE) == 0


def test_a_comment_on_a_followed_proposal_reaches_the_members_of_its_organizations_but_its_author(window):
    consultation, phase, commune, elected, others = window
    agent = others[0]
    proposal = make_proposal(consultation, commune)
    outsider = make_member(organization=make_organization("Aurillac"), role="agent")
    comment = make_comment(proposal, outsider)
    comment.created_at = phase.starts_at - timedelta(hours=30)
    db.session.flush()
    services.run(phase.starts_at - timedelta(hours=29))
    [to_elected] = mails_to(elected)
    [to_agent] = mails_to(agent)
    assert mails_to(outsider.user) == []
    assert f"/propositions/{proposal.id}#commentaire-{comment.id}" in to_agent.body
    assert proposal.title in to_elected.body and "Aurillac" in to_elected.body


def test_each_comment_is_listed_once_so_a_run_costs_what_is_new(window):
    """Later runs skip a comment whose followers were listed: someone who joins a following organization after
    that is not told of it, but is of the next comment."""
    consultation, phase, commune, _elected, _others = window
    proposal = make_proposal(consultation, commune)
    outsider = make_member(organization=make_organization("Aurillac"), role="agent")
    first = make_comment(proposal, outsider)
    first.created_at = phase.starts_at - timedelta(hours=30)
    db.session.flush()
    services.run(phase.starts_at - timedelta(hours=29))
    assert db.session.scalars(sa.select(NotifiedEvent.subject_id)
                              .where(NotifiedEvent.kind == "followed_proposal_activity")).all() == [first.id]
    newcomer = make_member(organization=commune, role="agent").user
    second = make_comment(proposal, outsider)
    second.created_at = phase.starts_at - timedelta(hours=28)
    db.session.flush()
    assert services.run(phase.starts_at - timedelta(hours=27)) == 3  # the second comment, to the three members
    [mail] = mails_to(newcomer)
    assert f"#commentaire-{second.id}" in mail.body
    assert services.run(phase.starts_at - timedelta(hours=26)) == 0


def test_a_person_who_chose_nothing_gets_nothing(window):
    _consultation, phase, _commune, elected, _others = window
    services.set_preference(elected, NotificationKind.WINDOW_OPENS, DeliveryMode.NONE)
    assert services.run(phase.starts_at + MINUTE) == 0
    assert mails_to(elected) == []


def test_each_mail_is_written_in_its_recipients_language(window):
    """queue_mail renders under the recipient's locale: Babel writes the window's end date in English for a
    person who reads English, whoever runs the scheduler (the texts themselves are the translators' work)."""
    _consultation, phase, _commune, elected, _others = window
    english = make_member(organization=window[2], role="elected").user
    english.locale = "en"
    db.session.flush()
    services.run(phase.starts_at + MINUTE)
    month_fr = {5: "mai", 6: "juin", 7: "juillet"}[clock.to_paris(phase.ends_at).month]
    month_en = {5: "May", 6: "June", 7: "July"}[clock.to_paris(phase.ends_at).month]
    assert month_fr in mails_to(elected)[0].body
    [mail] = mails_to(english)
    assert month_en in mail.body and month_fr not in mail.body


def test_each_mail_carries_a_link_that_stops_its_kind(window):
    _consultation, phase, _commune, elected, _others = window
    services.run(phase.starts_at + MINUTE)
    [mail] = mails_to(elected)
    token = services.unsubscribe_token(elected, NotificationKind.WINDOW_OPENS)
    assert f"http://localhost/courriels/desabonnement/{token}" in mail.body
    assert "http://localhost/compte/courriels" in mail.body


# ---- the daily digest, by the Paris clock ------------------------------------------------------------------

def daily_window(opens_at: datetime):
    """A support window opening at `opens_at`, and an elected official who wants a daily digest."""
    consultation = make_consultation(PhaseKind.COLLECT, now=opens_at - timedelta(days=30))
    phase = consultation.phase(PhaseKind.SUPPORT)
    phase.starts_at = opens_at
    elected = make_member(organization=make_organization(), role="elected").user
    for kind in NotificationKind:
        services.set_preference(elected, kind, DeliveryMode.DAILY)
    db.session.flush()
    return consultation, elected


@pytest.mark.parametrize("eight_in_paris", [
    datetime(2027, 3, 27, 7, 0, tzinfo=clock.UTC),  # winter time: UTC+1
    datetime(2027, 3, 28, 6, 0, tzinfo=clock.UTC),  # the last Sunday of March, clocks went forward at 2:00: UTC+2
    datetime(2027, 10, 31, 7, 0, tzinfo=clock.UTC),  # the last Sunday of October, back to winter time at 3:00
])
def test_the_daily_digest_leaves_at_eight_in_paris_whatever_the_offset(eight_in_paris):
    assert clock.to_paris(eight_in_paris).hour == 8
    night = eight_in_paris - timedelta(hours=6)  # before the change of time, that night
    _consultation, elected = daily_window(night)
    assert services.run(night + MINUTE) == 0  # due, but waiting for the morning
    assert services.run(eight_in_paris - MINUTE) == 0
    assert mails_to(elected) == []
    assert services.run(eight_in_paris) == 1
    [mail] = mails_to(elected)
    assert mail.subject == "Votre résumé quotidien d'Agora"
    assert "sont ouverts" in mail.body
    assert services.run(eight_in_paris + MINUTE) == 0


def test_one_digest_a_day_what_comes_after_it_waits_for_the_next():
    eight = datetime(2027, 3, 28, 6, 0, tzinfo=clock.UTC)
    consultation, elected = daily_window(eight - timedelta(hours=1))
    services.run(eight)
    assert len(mails_to(elected)) == 1
    consultation.results_published_at = eight + timedelta(hours=2)  # (a test shortcut: results in the window)
    db.session.flush()
    assert services.run(eight + timedelta(hours=3)) == 0
    next_morning = datetime(2027, 3, 29, 6, 0, tzinfo=clock.UTC)
    assert services.run(next_morning - MINUTE) == 0
    assert services.run(next_morning) == 1
    assert "a publié ses résultats" in mails_to(elected)[-1].body


def test_a_waiting_reminder_that_no_longer_applies_is_left_out_of_the_digest():
    eight = datetime(2027, 3, 28, 6, 0, tzinfo=clock.UTC)
    _consultation, elected = daily_window(eight - timedelta(hours=1))
    services.run(eight - timedelta(minutes=30))
    services.set_preference(elected, NotificationKind.WINDOW_OPENS, DeliveryMode.NONE)
    assert services.run(eight) == 0
    assert mails_to(elected) == []



def test_the_command_runs_the_scheduler_by_the_server_clock_and_twice_sends_nothing_twice(app, window, monkeypatch):
    _consultation, phase, _commune, elected, _others = window
    monkeypatch.setattr(clock, "now", lambda: phase.starts_at + MINUTE)
    runner = app.test_cli_runner()
    first = runner.invoke(args=["reminders", "run"])
    assert first.exit_code == 0 and "1 rappel(s) mis en file d'attente." in first.output
    second = runner.invoke(args=["reminders", "run"])
    assert "0 rappel(s) mis en file d'attente." in second.output
    assert len(mails_to(elected)) == 1
