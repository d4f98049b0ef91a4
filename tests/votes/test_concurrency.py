"""Supports under real concurrency: simultaneous HTTP requests against the live app, on SQLite and
PostgreSQL alike, never exceed vote_limit nor create two supports for one proposal."""

import http.cookiejar
import re
import threading
import urllib.parse
import urllib.request
from datetime import timedelta

import sqlalchemy as sa

from app.consultations.models import PhaseKind
from app.core import clock
from app.extensions import db
from app.proposals.models import Proposal
from app.votes.mandates import grant_mandate
from app.votes.models import Support, SupportEvent, SupportQuota
from tests.factories import PASSWORD, make_consultation, make_member, make_organization, make_proposal

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
FLASH = re.compile(r'<div class="fr-alert fr-alert--(success|error)[^"]*"[^>]*>\s*<p>([^<]+)</p>')


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    """One signed-in person: a cookie jar and the CSRF token of their session."""

    def __init__(self, base: str, email: str | None = None):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), NoRedirect)
        if email:
            self.token = CSRF.search(self.get("/compte/connexion")).group(1)
            status, _ = self.post("/compte/connexion", {"email": email, "password": PASSWORD})
            assert status == 302, "sign-in failed"

    def tab(self) -> "Browser":
        """Another tab of the same person: the session cookie copied, so its messages are its own."""
        other = Browser(self.base)
        for cookie in self.jar:
            other.jar.set_cookie(cookie)
        other.token = self.token
        return other

    def get(self, path: str) -> str:
        with self.opener.open(self.base + path) as response:
            return response.read().decode()

    def post(self, path: str, data: dict) -> tuple[int, str | None]:
        body = urllib.parse.urlencode({"csrf_token": self.token, **data}).encode()
        try:
            with self.opener.open(self.base + path, data=body) as response:
                return response.status, None
        except urllib.error.HTTPError as error:  # the 302 surfaces here since redirects are not followed
            return error.code, error.headers.get("Location")


def test_fifty_simultaneous_casts_for_twenty_proposals_with_a_limit_of_ten(live_app, live_server):
    with live_app.app_context():
        consultation = make_consultation(PhaseKind.SUPPORT, vote_limit=10)
        organization = make_organization("Saint-Flour")
        officials = [make_member(organization=organization, role="elected").user.email for _ in range(5)]
        proposal_ids = [make_proposal(consultation).id for _ in range(20)]
        organization_id = organization.id
    people = [Browser(live_server, email) for email in officials]
    tabs = [people[number % 5].tab() for number in range(50)]

    barrier = threading.Barrier(50)
    outcomes: list[tuple[int, str]] = []
    lock = threading.Lock()

    def cast(number: int):
        browser = tabs[number]
        proposal_id = proposal_ids[number % 20]
        barrier.wait()
        status, location = browser.post(f"/propositions/{proposal_id}/soutenir",
                                        {"organization_id": organization_id, "next": f"/propositions/{proposal_id}"})
        page = browser.get(urllib.parse.urlsplit(location).path) if location else ""
        with lock:
            outcomes.append((status, FLASH.findall(page)))

    threads = [threading.Thread(target=cast, args=(number,)) for number in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert [status for status, _ in outcomes] == [302] * 50  # no error page
    answers = [flashes[-1] for _, flashes in outcomes]  # what the page said after the request
    successes = [text for kind, text in answers if kind == "success" and "Soutien enregistré" in text]
    refusals = [text for kind, text in answers if kind == "error"]
    assert len(successes) == 10 and len(refusals) == 40
    assert all("utilisé ses 10 soutiens" in text or "soutient déjà" in text for text in refusals)

    with live_app.app_context():
        supports = db.session.execute(sa.select(Support.proposal_id, Support.organization_id)).all()
        assert len(supports) == 10 and len(set(supports)) == 10
        assert db.session.scalar(sa.select(SupportQuota.used)) == 10
        counts = dict(db.session.execute(sa.select(Proposal.id, Proposal.support_count)).all())
        stored = dict(db.session.execute(sa.select(Support.proposal_id, sa.func.count())
                                         .group_by(Support.proposal_id)).all())
        assert {pid: count for pid, count in counts.items() if count} == stored
        db.session.remove()


def test_simultaneous_casts_of_colleagues_on_one_proposal_create_one_support(live_app, live_server):
    with live_app.app_context():
        consultation = make_consultation(PhaseKind.SUPPORT, vote_limit=10)
        organization = make_organization("Mauriac")
        officials = [make_member(organization=organization, role="elected").user.email for _ in range(4)]
        proposal_id = make_proposal(consultation).id
        organization_id = organization.id
    browsers = [Browser(live_server, email) for email in officials]
    barrier = threading.Barrier(len(browsers))
    statuses = []

    def cast(browser):
        barrier.wait()
        statuses.append(browser.post(f"/propositions/{proposal_id}/soutenir", {"organization_id": organization_id})[0])

    threads = [threading.Thread(target=cast, args=(browser,)) for browser in browsers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [302] * 4
    with live_app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Support)) == 1
        assert db.session.scalar(sa.select(SupportQuota.used)) == 1
        assert db.session.get(Proposal, proposal_id).support_count == 1
        db.session.remove()


def test_an_official_and_their_aidant_casting_together_never_exceed_the_limit(live_app, live_server):
    """Supports under a mandate take the official organization's quota with the same lock: the official and the
    aidant pressing at the same moment share vote_limit exactly."""
    with live_app.app_context():
        consultation = make_consultation(PhaseKind.SUPPORT, vote_limit=3)
        organization = make_organization("Riom-ès-Montagnes")
        official = make_member(organization=organization, role="elected").user
        aidant = make_member(organization=organization, role="agent").user
        now = clock.now()
        mandate = grant_mandate(official, aidant, organization, now - timedelta(hours=1), now + timedelta(days=1))
        db.session.commit()
        proposal_ids = [make_proposal(consultation).id for _ in range(10)]
        organization_id, mandate_id, emails = organization.id, mandate.id, (official.email, aidant.email)
    people = [Browser(live_server, email) for email in emails]
    tabs = [people[number % 2].tab() for number in range(20)]
    barrier = threading.Barrier(20)
    statuses = []

    def cast(number: int):
        fields = {"organization_id": organization_id, **({"mandate_id": mandate_id} if number % 2 else {})}
        barrier.wait()
        statuses.append(tabs[number].post(f"/propositions/{proposal_ids[number // 2]}/soutenir", fields)[0])

    threads = [threading.Thread(target=cast, args=(number,)) for number in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert statuses == [302] * 20
    with live_app.app_context():
        supports = db.session.execute(sa.select(Support.proposal_id, Support.mandate_id)).all()
        assert len(supports) == 3 and len({proposal_id for proposal_id, _ in supports}) == 3
        assert db.session.scalar(sa.select(SupportQuota.used)) == 3
        assert db.session.scalar(sa.select(sa.func.sum(Proposal.support_count))) == 3
        under_mandate = db.session.scalar(sa.select(sa.func.count()).select_from(SupportEvent)
                                          .where(SupportEvent.mandate_id == mandate_id))
        assert under_mandate == sum(1 for _, mandate in supports if mandate == mandate_id)
        db.session.remove()
