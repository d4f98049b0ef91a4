"""The envelope under real concurrency: two committee members grant, at the same moment through the live app,
amounts that fit the envelope one at a time but not together; exactly one succeeds, the other is told why,
and the total granted never exceeds the envelope (SQLite and PostgreSQL alike)."""

import html
import threading
import urllib.error
import urllib.parse

import sqlalchemy as sa

from app.consultations.models import PhaseKind
from app.extensions import db
from app.proposals.models import AnswerState, Proposal
from tests.factories import make_consultation, make_proposal, make_user, seat
from tests.votes.test_concurrency import Browser

ENVELOPE = 100_000_00


def submit(browser: Browser, path: str, data: dict) -> tuple[int, str]:
    """Post a form as the person would, and read what they see next: the page it redirects to (done) or the form
    shown again (refused)."""
    body = urllib.parse.urlencode({"csrf_token": browser.token, **data}).encode()
    try:
        with browser.opener.open(browser.base + path, data=body) as response:
            status, page = response.status, response.read().decode()
    except urllib.error.HTTPError as error:  # the 302 surfaces here since redirects are not followed
        status, page = error.code, browser.get(urllib.parse.urlsplit(error.headers["Location"]).path)
    return status, html.unescape(page).replace("\u202f", " ")


def test_two_members_granting_at_once_never_exceed_the_envelope(live_app, live_server):
    with live_app.app_context():
        consultation = make_consultation(PhaseKind.SELECTION, budget_envelope_cents=ENVELOPE)
        members = [seat(consultation, make_user()).user.email for _member in range(2)]
        proposal_ids = [make_proposal(consultation, kind="service", requested_budget_cents=60_000_00).id
                        for _proposal in range(2)]
        slug = consultation.slug
    browsers = [Browser(live_server, email) for email in members]
    barrier = threading.Barrier(2)
    outcomes: list[tuple[int, str]] = []

    def grant(number: int):
        barrier.wait()
        outcomes.append(submit(browsers[number], f"/consultations/{slug}/comite/decisions/{proposal_ids[number]}", {
            "state": "laureate", "granted_amount": "60 000", "reason": "Utile à beaucoup.", "answer_text": "Oui."}))

    threads = [threading.Thread(target=grant, args=(number,)) for number in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    done = [page for status, page in outcomes if status == 302]
    refused = [page for status, page in outcomes if status == 200]
    assert len(done) == 1 and len(refused) == 1
    assert "Décision et réponse enregistrées." in done[0]
    assert ("Ce montant dépasserait l'enveloppe : 60 000 € sont déjà accordés sur 100 000 €, il reste 40 000 €."
            in refused[0])
    with live_app.app_context():
        granted = db.session.scalars(sa.select(Proposal.granted_amount_cents).where(
            Proposal.answer_state == AnswerState.LAUREATE)).all()
        assert granted == [60_000_00]
        db.session.remove()
