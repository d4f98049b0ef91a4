"""Supports through HTTP: casting and withdrawing from the pages people use, the reasons shown instead of
buttons, the organization's dashboard, receipts, the frozen tally and its CSV, hidden counts, the admin's
journal, and the reason required to shorten a support window that has supports."""

import csv
import hashlib
import io
import html
import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from app.consultations.models import PhaseKind
from app.core import clock
from app.core.audit import AuditEntry
from app.extensions import db
from app.votes import services
from app.votes.models import Support, SupportEvent
from tests.factories import make_consultation, make_member, make_organization, make_proposal, make_user, seat
from tests.helpers import counted_statements, text_of

PARIS = ZoneInfo("Europe/Paris")
MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
          "novembre", "décembre")
FORM = re.compile(r'<form method="post" action="(?P<action>[^"]+)"[^>]*>(?P<body>.*?)</form>', re.S)
HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')
FLASH = re.compile(r'<div class="fr-alert fr-alert--(success|error)[^"]*"[^>]*>\s*<p>(.*?)</p>', re.S)
CSRF_VALUE = re.compile(r'(name="csrf_token" value=")[^"]+"')
RECEIPT = re.compile(r"Reçu : (\w{4}-\w{4}-\w{4})\.")


# --- Reading pages --------------------------------------------------------------------------------------

def words(fragment: str) -> str:
    """What a screen reader says of an HTML fragment: its text, tags dropped, spaces collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def flashes(response) -> list[tuple[str, str]]:
    return [(kind, words(text)) for kind, text in FLASH.findall(response.get_data(as_text=True))]


def buttons(fragment: str) -> list[str]:
    return [words(label) for label in re.findall(r"<button[^>]*>(.*?)</button>", fragment, re.S)]


def card(response, proposal) -> str:
    """The HTML of one proposal's card in a list."""
    match = re.search(rf'<article class="agora-item" id="proposition-{proposal.id}">(.*?)</article>',
                      response.get_data(as_text=True), re.S)
    assert match, f"la proposition {proposal.id} n'est pas dans la liste"
    return match.group(1)


def table_rows(response) -> list[list[str]]:
    body = re.search(r"<tbody>(.*?)</tbody>", response.get_data(as_text=True), re.S).group(1)
    return [[words(cell) for cell in re.findall(r"<td>(.*?)</td>", row, re.S)]
            for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)]


def shown_count(response) -> int:
    """The support count in the 'Soutiens' box of a proposal page."""
    return int(re.search(r"<strong>(\d+) soutiens?</strong>", response.get_data(as_text=True)).group(1))


def paris(moment: datetime) -> str:
    """How pages write an instant: Paris wall-clock time, to the minute, in French."""
    local = moment.astimezone(PARIS)
    day = "1er" if local.day == 1 else local.day
    return f"{day} {MONTHS[local.month - 1]} {local.year} à {local:%H}h{local:%M}"


def press(client, response, action: str, organization=None):
    """Submit the page's form aimed at `action` with the hidden fields it carries, as a browser does."""
    forms = [{name: html.unescape(value) for name, value in HIDDEN.findall(match["body"])}
             for match in FORM.finditer(response.get_data(as_text=True)) if match["action"] == action]
    if organization is not None:
        forms = [fields for fields in forms if fields.get("organization_id") == str(organization.id)]
    assert len(forms) == 1, f"{len(forms)} formulaire(s) vers {action} sur la page"
    return client.post(action, data=forms[0], follow_redirects=True)


def has_form(response, action: str) -> bool:
    return any(match["action"] == action for match in FORM.finditer(response.get_data(as_text=True)))


# --- Data -----------------------------------------------------------------------------------------------

def elected(organization=None, user=None, **organization_fields):
    return make_member(user, organization or make_organization(**organization_fields), role="elected")


def support_url(proposal) -> str:
    return f"/propositions/{proposal.id}/soutenir"


def withdraw_url(proposal) -> str:
    return f"/propositions/{proposal.id}/retirer-soutien"


def index_url(consultation) -> str:
    return f"/consultations/{consultation.slug}/propositions"


def dashboard_url(consultation, organization) -> str:
    return f"/consultations/{consultation.slug}/collectivites/{organization.id}/soutiens"


def in_window(consultation, days: float = 1) -> datetime:
    """An instant inside the support window, `days` after it opened."""
    return consultation.phase(PhaseKind.SUPPORT).starts_at + timedelta(days=days)


def cast(proposal, member, now=None):
    support = services.cast_support(proposal, member.organization, by=member.user, now=now)
    db.session.commit()
    return support


def stored_supports() -> set[tuple[int, int]]:
    return set(db.session.execute(sa.select(Support.proposal_id, Support.organization_id)).all())


def events() -> list[tuple[str, int, int]]:
    return db.session.execute(sa.select(SupportEvent.action, SupportEvent.proposal_id, SupportEvent.organization_id)
                              .order_by(SupportEvent.id)).all()


def quota(consultation, organization) -> int:
    return services.quota_used(consultation, [organization.id]).get(organization.id, 0)


@pytest.fixture
def new_client(app):
    """Another person's browser: cookies of its own."""
    def make(user=None):
        other = app.test_client()
        return other.sign_in_as(user) if user is not None else other
    return make


# --- Casting and withdrawing ----------------------------------------------------------------------------

def test_an_elected_official_supports_then_withdraws_from_the_proposal_page(client):
    consultation = make_consultation(PhaseKind.SUPPORT, vote_limit=3)
    proposal = make_proposal(consultation, title="Un guichet unique pour les démarches")
    member = elected(name="Saint-Flour")
    client.sign_in_as(member.user)

    page = client.get(f"/propositions/{proposal.id}")
    assert "Soutenir « Un guichet unique pour les démarches »" in buttons(page.get_data(as_text=True))
    assert "3 soutiens restants pour Saint-Flour" in text_of(page)

    done = press(client, page, support_url(proposal))
    assert done.request.path == f"/propositions/{proposal.id}"  # back where the official was
    [(kind, message)] = flashes(done)
    receipt = RECEIPT.search(message).group(1)
    support = db.session.scalars(sa.select(Support)).one()
    assert kind == "success" and message == f"Soutien enregistré au nom de Saint-Flour. Reçu : {receipt}."
    assert receipt.replace("-", "") == support.receipt_code
    assert (support.proposal_id, support.organization_id, support.cast_by_id) == (
        proposal.id, member.organization.id, member.user.id)
    assert "Retirer mon soutien « Un guichet unique pour les démarches »" in buttons(done.get_data(as_text=True))
    assert "2 soutiens restants pour Saint-Flour" in text_of(done) and shown_count(done) == 1

    undone = press(client, done, withdraw_url(proposal))
    assert undone.request.path == f"/propositions/{proposal.id}"
    assert flashes(undone) == [("success", "Soutien de Saint-Flour retiré.")]
    assert "Soutenir « Un guichet unique pour les démarches »" in buttons(undone.get_data(as_text=True))
    assert "3 soutiens restants pour Saint-Flour" in text_of(undone)
    assert stored_supports() == set() and quota(consultation, member.organization) == 0
    assert [action for action, _, _ in events()] == ["cast", "withdraw"]
    sources = db.session.scalars(sa.select(SupportEvent.source)).all()
    assert all(source.startswith(f"/propositions/{proposal.id}") for source in sources)


def test_an_elected_official_supports_and_withdraws_from_the_index_until_the_limit(client):
    consultation = make_consultation(PhaseKind.SUPPORT, vote_limit=2)
    first, second, third = (make_proposal(consultation, title=title)
                            for title in ("Cantine en ligne", "Carte scolaire", "Paiement des factures"))
    member = elected(name="Mauriac")
    client.sign_in_as(member.user)
    index = client.get(index_url(consultation))
    assert "2 soutiens restants pour Mauriac" in text_of(index)

    index = press(client, index, support_url(first))
    assert index.request.path == index_url(consultation)  # back to the list, not to the proposal
    [(kind, message)] = flashes(index)
    assert kind == "success" and RECEIPT.search(message) and "Mauriac" in message
    assert buttons(card(index, first)) == ["Retirer mon soutien « Cantine en ligne »"]
    assert buttons(card(index, second)) == ["Soutenir « Carte scolaire »"]
    assert "1 soutien restant pour Mauriac" in text_of(index)

    index = press(client, index, support_url(second))
    assert buttons(card(index, second)) == ["Retirer mon soutien « Carte scolaire »"]
    # The limit is reached: the third proposal says why it cannot be supported.
    assert buttons(card(index, third)) == []
    assert "Votre collectivité a utilisé ses 2 soutiens." in words(card(index, third))
    assert re.search(r"\b0 soutiens? restants? pour Mauriac", text_of(index))

    index = press(client, index, withdraw_url(first))
    assert index.request.path == index_url(consultation)
    assert flashes(index) == [("success", "Soutien de Mauriac retiré.")]
    assert buttons(card(index, third)) == ["Soutenir « Paiement des factures »"]
    index = press(client, index, support_url(third))
    assert stored_supports() == {(second.id, member.organization.id), (third.id, member.organization.id)}
    assert quota(consultation, member.organization) == 2
    sources = db.session.scalars(sa.select(SupportEvent.source)).all()
    assert len(sources) == 4 and all(source.startswith(index_url(consultation)) for source in sources)


def test_a_limit_of_one_support_is_written_in_the_singular(client):
    consultation = make_consultation(PhaseKind.SUPPORT, vote_limit=1)
    supported, other = make_proposal(consultation), make_proposal(consultation)
    member = elected()
    cast(supported, member)
    page = client.sign_in_as(member.user).get(f"/propositions/{other.id}")
    assert "Votre collectivité a utilisé son soutien." in text_of(page)
    refused = client.post_form(support_url(other), {"organization_id": member.organization.id},
                               follow_redirects=True)
    assert flashes(refused) == [("error", "Votre collectivité a utilisé son soutien. Retirez-le pour en donner "
                                          "un autre.")]


def reason_collect_phase():
    consultation = make_consultation(PhaseKind.COLLECT)
    return consultation, elected(), "Les soutiens ouvriront le "


def reason_window_closed():
    consultation = make_consultation(PhaseKind.DELIBERATION)
    return consultation, elected(), "Les soutiens sont clos depuis le "


def reason_agent():
    consultation = make_consultation(PhaseKind.SUPPORT)
    return (consultation, make_member(role="agent"),
            "Seuls les élus soutiennent au nom de leur collectivité ; les agents peuvent commenter.")


def reason_kind_not_eligible():
    consultation = make_consultation(PhaseKind.SUPPORT, eligible_kinds=["commune", "epci"])
    return (consultation, elected(kind="departement", population=None),
            "Les organisations de type « Département » ne sont pas admises à soutenir dans cette consultation.")


def reason_limit_reached():
    consultation = make_consultation(PhaseKind.SUPPORT, vote_limit=2)
    member = elected()
    for _ in range(2):
        cast(make_proposal(consultation), member)
    return consultation, member, "Votre collectivité a utilisé ses 2 soutiens."


@pytest.mark.parametrize("situation", [reason_collect_phase, reason_window_closed, reason_agent,
                                       reason_kind_not_eligible, reason_limit_reached])
def test_without_a_button_the_pages_say_why(client, situation):
    consultation, member, reason = situation()
    proposal = make_proposal(consultation, title="Archivage électronique mutualisé")
    client.sign_in_as(member.user)
    page = client.get(f"/propositions/{proposal.id}")
    assert reason in text_of(page)
    assert not has_form(page, support_url(proposal)) and not has_form(page, withdraw_url(proposal))
    index = client.get(index_url(consultation))
    assert reason in words(card(index, proposal)) and buttons(card(index, proposal)) == []


def test_a_visitor_is_invited_to_sign_in_and_sees_no_button(client):
    consultation = make_consultation(PhaseKind.SUPPORT)
    proposal = make_proposal(consultation)
    page = client.get(f"/propositions/{proposal.id}")
    assert "Connectez-vous pour soutenir au nom de votre collectivité." in words(page.get_data(as_text=True))
    assert not has_form(page, support_url(proposal))
    response = client.post_form(support_url(proposal), {"organization_id": make_organization().id})
    assert response.status_code == 302 and "/compte/connexion" in response.location
    assert stored_supports() == set()


def test_a_page_loaded_before_the_deadline_and_sent_after_it_is_refused(client):
    consultation = make_consultation(PhaseKind.SUPPORT, vote_limit=3)
    proposal, supported = make_proposal(consultation), make_proposal(consultation)
    member = elected()
    cast(supported, member)
    client.sign_in_as(member.user)
    support_page = client.get(f"/propositions/{proposal.id}")
    withdraw_page = client.get(f"/propositions/{supported.id}")
    assert has_form(support_page, support_url(proposal)) and has_form(withdraw_page, withdraw_url(supported))

    # The deadline passes while both pages stay open: yesterday at 18h30, Paris time.
    yesterday = datetime.now(PARIS) - timedelta(days=1)
    deadline = yesterday.replace(hour=18, minute=30, second=0, microsecond=0).astimezone(UTC)
    consultation.phase(PhaseKind.SUPPORT).ends_at = deadline
    db.session.commit()
    closed = f"Les soutiens sont clos depuis le {paris(deadline)}."

    refused = press(client, support_page, support_url(proposal))
    assert flashes(refused) == [("error", closed)]
    assert not has_form(refused, support_url(proposal))
    refused = press(client, withdraw_page, withdraw_url(supported))
    assert flashes(refused) == [("error", closed)]
    assert stored_supports() == {(supported.id, member.organization.id)}
    assert quota(consultation, member.organization) == 1 and len(events()) == 1


def not_a_member(user):
    return make_organization()


def pending_member(user):
    return make_member(user, make_organization(), role="elected", status="pending").organization


def member_of_an_unverified_organization(user):
    return make_member(user, make_organization(is_verified=False), role="elected").organization


@pytest.mark.parametrize("state", ["draft", "missing"])
def test_a_support_for_a_draft_answers_as_for_a_proposal_that_does_not_exist(client, state):
    """Drafts cannot be discovered by id: both are a plain 404, and nothing is written."""
    consultation = make_consultation(PhaseKind.SUPPORT)
    member = elected()
    draft = make_proposal(consultation, state="draft")
    target = draft.id if state == "draft" else draft.id + 1000
    client.sign_in_as(member.user)
    for url in (support_url(draft).replace(str(draft.id), str(target)),
                withdraw_url(draft).replace(str(draft.id), str(target))):
        response = client.post_form(url, {"organization_id": member.organization_id})
        assert response.status_code == 404 and "Page introuvable" in text_of(response)
    assert stored_supports() == set() and events() == []


def test_an_organization_is_told_it_cannot_support_its_own_proposal(client):
    consultation = make_consultation(PhaseKind.SUPPORT)
    member = elected(name="Saint-Flour")
    proposal = make_proposal(consultation, member.organization)
    client.sign_in_as(member.user)
    page = client.get(f"/propositions/{proposal.id}")
    reason = "Votre collectivité porte cette proposition : elle ne peut pas la soutenir elle-même."
    assert reason in text_of(page) and not has_form(page, support_url(proposal))
    done = client.post_form(support_url(proposal), {"organization_id": member.organization_id}, follow_redirects=True)
    assert flashes(done) == [("error", reason)] and stored_supports() == set()


def test_a_burst_of_support_presses_meets_the_limit_with_a_french_message(client):
    """A person pressing buttons stays under it; a script pressing 40 times in a few seconds does not."""
    consultation = make_consultation(PhaseKind.SUPPORT)
    proposals = [make_proposal(consultation) for _ in range(2)]
    member = elected()
    client.sign_in_as(member.user)
    answers = []
    for press_number in range(40):
        proposal = proposals[press_number % 2]
        url = withdraw_url(proposal) if (proposal.id, member.organization_id) in stored_supports() \
            else support_url(proposal)
        answers.append(client.post_form(url, {"organization_id": member.organization_id}))
    codes = [answer.status_code for answer in answers]
    assert codes[:30] == [302] * 30 and set(codes[30:]) == {429}
    refused = text_of(answers[-1])
    assert "Trop de tentatives" in refused and "réessayez dans quelques minutes" in refused
    assert len(events()) == 30  # the refused presses wrote nothing
    colleague = make_member(organization=member.organization, role="elected")  # counted per person
    other_browser = client.application.test_client().sign_in_as(colleague.user)
    assert other_browser.post_form(withdraw_url(proposals[0]), {"organization_id": member.organization_id}
                                   ).status_code == 302


@pytest.mark.parametrize("organization_for", [not_a_member, pending_member, member_of_an_unverified_organization])
def test_acting_for_an_organization_one_is_not_a_verified_member_of_is_forbidden(client, organization_for):
    consultation = make_consultation(PhaseKind.SUPPORT)
    proposal, supported = make_proposal(consultation), make_proposal(consultation)
    user = elected().user  # a verified elected official, of another organization
    organization = organization_for(user)
    existing = set()
    if organization.is_verified:  # its own official has supported one proposal
        cast(supported, elected(organization))
        existing = {(supported.id, organization.id)}
    client.sign_in_as(user)
    assert client.post_form(support_url(proposal), {"organization_id": organization.id}).status_code == 403
    assert client.post_form(withdraw_url(supported), {"organization_id": organization.id}).status_code == 403
    assert client.post_form(support_url(proposal)).status_code == 403  # no organization named at all
    assert stored_supports() == existing and len(events()) == len(existing)


# --- The organization's dashboard ----------------------------------------------------------------------

def test_dashboard_lists_who_supported_what_when_with_receipts_and_withdraws_during_the_window(client, new_client):
    consultation = make_consultation(PhaseKind.SUPPORT, vote_limit=3)
    organization = make_organization("Riom")
    anne = elected(organization, make_user(name="Anne Roux"))
    paul = elected(organization, make_user(name="Paul Dumas"))
    canteen = make_proposal(consultation, title="Cantine en ligne")
    schools = make_proposal(consultation, title="Carte scolaire")
    first = cast(canteen, anne, now=in_window(consultation, 1.25))
    second = cast(schools, paul, now=in_window(consultation, 2.5))
    url = dashboard_url(consultation, organization)

    page = client.sign_in_as(anne.user).get(url)
    assert "2 soutiens utilisés sur 3." in text_of(page)
    assert table_rows(page) == [
        ["Cantine en ligne", "Anne Roux", paris(first.cast_at), services.format_receipt(first.receipt_code),
         "Retirer le soutien à « Cantine en ligne »"],
        ["Carte scolaire", "Paul Dumas", paris(second.cast_at), services.format_receipt(second.receipt_code),
         "Retirer le soutien à « Carte scolaire »"],
    ]
    assert re.fullmatch(r"\w{4}-\w{4}-\w{4}", table_rows(page)[0][3])

    after = press(client, page, withdraw_url(canteen))
    assert after.request.path == url
    assert flashes(after) == [("success", "Soutien de Riom retiré.")]
    assert "1 soutien utilisé sur 3." in text_of(after)
    assert [row[0] for row in table_rows(after)] == ["Carte scolaire"]
    assert stored_supports() == {(schools.id, organization.id)}

    # Colleagues who are not elected officials, and admins, read it without withdraw buttons.
    for reader in (make_member(organization=organization, role="agent").user, make_user(is_admin=True)):
        page = new_client(reader).get(url)
        assert page.status_code == 200 and [row[0] for row in table_rows(page)] == ["Carte scolaire"]
        assert not has_form(page, withdraw_url(schools))
    assert new_client(elected().user).get(url).status_code == 403  # another organization's official
    assert new_client().get(url).status_code == 302  # to the sign-in page


def test_dashboard_after_the_window_keeps_receipts_but_offers_no_withdrawal(client):
    consultation = make_consultation(PhaseKind.DELIBERATION, vote_limit=3)
    member = elected(name="Aurillac")
    proposal = make_proposal(consultation, title="Cantine en ligne")
    support = cast(proposal, member, now=in_window(consultation))
    page = client.sign_in_as(member.user).get(dashboard_url(consultation, member.organization))
    [row] = table_rows(page)
    assert row[:4] == ["Cantine en ligne", member.user.name, paris(support.cast_at),
                       services.format_receipt(support.receipt_code)]
    assert row[4] == "" and not has_form(page, withdraw_url(proposal))


def test_dashboard_warns_while_the_organization_is_under_the_minimum(client):
    consultation = make_consultation(PhaseKind.SUPPORT, vote_limit=5, minimum_votes_per_user=3)
    member = elected()
    proposals = [make_proposal(consultation) for _ in range(3)]
    url = dashboard_url(consultation, member.organization)
    client.sign_in_as(member.user)
    warning = "tant que votre organisation n'en a pas exprimé au moins 3 : il en manque {}."
    assert warning.format(3) in text_of(client.get(url))
    cast(proposals[0], member)
    assert warning.format(2) in text_of(client.get(url))
    for proposal in proposals[1:]:
        cast(proposal, member)
    page = text_of(client.get(url))
    assert "il en manque" not in page and "3 soutiens utilisés sur 5." in page


# --- Receipts -------------------------------------------------------------------------------------------

def test_receipt_page_says_counted_not_yet_counted_or_unknown(client):
    consultation = make_consultation(PhaseKind.SUPPORT, vote_limit=5, minimum_votes_per_user=2)
    proposal = make_proposal(consultation, title="Cantine en ligne")
    counted_member, early_member = elected(name="Riom"), elected(name="Thiers")
    counted = cast(proposal, counted_member, now=in_window(consultation, 3))
    cast(make_proposal(consultation), counted_member)
    early = cast(proposal, early_member)

    typed = services.format_receipt(counted.receipt_code).lower().replace("0", "o")  # as a person may type it
    page = text_of(client.get("/soutiens/verifier", query_string={"code": f" {typed} "}))
    assert "Ce soutien est enregistré." in page
    assert f"Il porte sur la proposition « Cantine en ligne » de la consultation « {consultation.title} »." in page
    assert "Il est compté dans le décompte public." in page
    assert f"Exprimé au nom de Riom le {paris(counted.cast_at)}." in page

    page = text_of(client.get("/soutiens/verifier", query_string={"code": early.receipt_code}))
    assert "Ce soutien est enregistré." in page and "Il est compté" not in page
    assert "Il comptera dans le décompte public quand l'organisation aura exprimé au moins 2 soutiens." in page

    page = text_of(client.get("/soutiens/verifier", query_string={"code": "ZZZZ-ZZZZ-ZZZZ"}))
    assert "Aucun soutien ne porte ce code" in page and "Ce soutien est enregistré" not in page
    services.withdraw_support(proposal, early_member.organization, by=early_member.user)
    db.session.commit()
    page = text_of(client.get("/soutiens/verifier", query_string={"code": early.receipt_code}))
    assert "Aucun soutien ne porte ce code" in page
    page = text_of(client.get("/soutiens/verifier"))
    assert "Aucun soutien ne porte ce code" not in page and "Code du reçu" in page


def test_receipt_page_says_nothing_of_the_organization_when_supporters_are_hidden(client):
    consultation = make_consultation(PhaseKind.SUPPORT, supporters_hidden=True)
    proposal = make_proposal(consultation, title="Cantine en ligne")
    member = elected(make_organization("Saint-Chély-d'Apcher", departement_code="48"),
                     make_user(name="Odile Brunel"))
    support = cast(proposal, member)
    page = text_of(client.get("/soutiens/verifier", query_string={"code": support.receipt_code}))
    assert "Ce soutien est enregistré." in page and "Il est compté dans le décompte public." in page
    for revealing in ("Saint-Chély-d'Apcher", "Odile Brunel", "Exprimé au nom de", paris(support.cast_at)):
        assert revealing not in page


# --- The frozen tally -----------------------------------------------------------------------------------

def test_tally_after_the_window_publishes_a_csv_whose_digest_and_counts_match(client):
    consultation = make_consultation(PhaseKind.DELIBERATION, vote_limit=3, minimum_votes_per_user=2)
    canteen, schools, bills = (make_proposal(consultation) for _ in range(3))
    riom, thiers, ambert = elected(name="Riom"), elected(name="Thiers"), elected(name="Ambert")
    riom.organization.siren = "200071058"
    for days, (proposal, member) in enumerate([(canteen, riom), (schools, riom), (canteen, thiers),
                                               (bills, thiers), (schools, ambert)], start=1):
        cast(proposal, member, now=in_window(consultation, days + 0.123456))
    # Ambert cast one support, under the minimum of two: it is stored but not counted.

    page = client.get(f"/consultations/{consultation.slug}/decompte")
    assert "La période de soutiens est close" in text_of(page)
    count = int(re.search(r"<dt>Soutiens comptés</dt><dd>(\d+)</dd>", page.get_data(as_text=True)).group(1))
    digest = re.search(r"<code>([0-9a-f]{64})</code>", page.get_data(as_text=True)).group(1)

    response = client.get(f"/consultations/{consultation.slug}/decompte.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert f"soutiens-{consultation.slug}.csv" in response.headers["Content-Disposition"]
    assert hashlib.sha256(response.get_data()).hexdigest() == digest  # what `sha256sum` gives for the file
    [header, *rows] = csv.reader(io.StringIO(response.get_data(as_text=True)), delimiter=";")
    assert header == ["id_proposition", "id_organisation", "organisation", "siren", "soutenu_le"]
    for column in header:
        assert column in text_of(page)  # each column is described on the page
    assert count == len(rows) == 4
    assert {(organization_id, name, siren) for _, organization_id, name, siren, _ in rows} == {
        (str(riom.organization.id), "Riom", "200071058"), (str(thiers.organization.id), "Thiers", "")}
    per_proposal = Counter(int(proposal_id) for proposal_id, *_ in rows)
    for proposal in (canteen, schools, bills):
        assert shown_count(client.get(f"/propositions/{proposal.id}")) == per_proposal[proposal.id]
    assert dict(per_proposal) == {canteen.id: 2, schools.id: 1, bills.id: 1}

    again = client.get(f"/consultations/{consultation.slug}/decompte").get_data(as_text=True)
    assert digest in again  # frozen: the same on every visit


def test_the_tally_names_no_organization_when_supporters_are_hidden(client):
    consultation = make_consultation(PhaseKind.DELIBERATION, supporters_hidden=True)
    riom = elected(name="Riom")
    riom.organization.siren = "200071058"
    cast(make_proposal(consultation), riom, now=in_window(consultation, 1))
    content = client.get(f"/consultations/{consultation.slug}/decompte.csv").get_data(as_text=True)
    [_header, [_proposal, pseudonym, name, siren, _at]] = csv.reader(io.StringIO(content), delimiter=";")
    assert pseudonym.startswith("org-") and (name, siren) == ("", "")
    assert "Riom" not in content and "200071058" not in content


def test_tally_is_not_published_before_the_window_closes(client):
    consultation = make_consultation(PhaseKind.SUPPORT)
    member = elected()
    cast(make_proposal(consultation), member)
    page = text_of(client.get(f"/consultations/{consultation.slug}/decompte"))
    assert "Le décompte sera figé et publié à la fin de la période de soutiens." in page
    assert client.get(f"/consultations/{consultation.slug}/decompte.csv").status_code == 404


# --- Hidden counts --------------------------------------------------------------------------------------

def hidden_count_pages(consultation, quiet, popular) -> list[str]:
    """The pages a visitor could compare; the random order's seed given, as a visitor's links carry it (without
    one, each minute has its own)."""
    return [f"{index_url(consultation)}?seed=2024", f"/propositions/{quiet.id}", f"/propositions/{popular.id}",
            f"/api/v1/consultations/{consultation.slug}/proposals?seed=2024", f"/api/v1/proposals/{popular.id}",
            f"/api/v1/proposals/{quiet.id}"]


def as_seen(client, url: str) -> str:
    """The response body, but for the form token that changes from one page to the next."""
    return CSRF_VALUE.sub(r'\1"', client.get(url).get_data(as_text=True))


def viewer_of(kind: str):
    return {"visiteur": lambda: None, "agent": lambda: make_member(role="agent").user,
            "administrateur": lambda: make_user(is_admin=True)}[kind]()


@pytest.mark.parametrize("viewer", ["visiteur", "agent", "administrateur"])
def test_hidden_counts_leave_no_trace_before_the_window_ends(client, viewer):
    consultation = make_consultation(PhaseKind.SUPPORT, votes_hidden=True)
    quiet = make_proposal(consultation, title="Cantine en ligne")
    popular = make_proposal(consultation, title="Carte scolaire")
    user = viewer_of(viewer)
    if user is not None:
        client.sign_in_as(user)
    pages = hidden_count_pages(consultation, quiet, popular)
    before = {url: as_seen(client, url) for url in pages}

    for _ in range(5):
        cast(popular, elected())
    assert popular.support_count == 5

    # Not a byte moves on any page or answer a visitor could compare: neither the text nor the size.
    assert {url: as_seen(client, url) for url in pages} == before
    assert "Les décomptes sont masqués jusqu'à la fin de la période de soutiens." in text_of(
        client.get(f"/propositions/{popular.id}"))
    listing = client.get(f"/api/v1/consultations/{consultation.slug}/proposals").get_json()
    assert [item["support_count"] for item in listing["items"]] == [None, None]
    assert client.get(f"/api/v1/proposals/{popular.id}").get_json()["support_count"] is None

    # Sorting by supports would tell the counts apart: the index does not offer it, the API refuses it.
    index = client.get(index_url(consultation), query_string={"sort": "most_supported"})
    assert 'value="most_supported"' not in index.get_data(as_text=True)
    assert "Le formulaire contient 1 erreur" in text_of(index)
    api = client.get(f"/api/v1/consultations/{consultation.slug}/proposals", query_string={"sort": "most_supported"})
    assert api.status_code == 400 and "sort" in api.get_json()["error"]["fields"]


def test_the_committee_sees_hidden_counts_during_the_window(client):
    consultation = make_consultation(PhaseKind.SUPPORT, votes_hidden=True)
    quiet = make_proposal(consultation, title="Cantine en ligne")
    popular = make_proposal(consultation, title="Carte scolaire")
    client.sign_in_as(seat(consultation).user)
    before = as_seen(client, f"/propositions/{popular.id}")
    for _ in range(5):
        cast(popular, elected())
    page = client.get(f"/propositions/{popular.id}")
    assert as_seen(client, f"/propositions/{popular.id}") != before and shown_count(page) == 5
    assert "5 soutiens" in words(card(client.get(index_url(consultation)), popular))
    body = client.get(f"/api/v1/consultations/{consultation.slug}/proposals",
                      query_string={"sort": "most_supported"}).get_json()
    assert [(item["title"], item["support_count"]) for item in body["items"]] == [("Carte scolaire", 5),
                                                                                   ("Cantine en ligne", 0)]
    index = client.get(index_url(consultation), query_string={"sort": "most_supported"})
    assert 'value="most_supported"' in index.get_data(as_text=True)
    text = index.get_data(as_text=True)
    assert text.index(f'id="proposition-{popular.id}"') < text.index(f'id="proposition-{quiet.id}"')


@pytest.mark.parametrize("viewer", ["visiteur", "agent", "administrateur"])
def test_hidden_counts_are_published_once_the_window_has_ended(client, viewer):
    consultation = make_consultation(PhaseKind.DELIBERATION, votes_hidden=True)
    make_proposal(consultation, title="Cantine en ligne")
    popular = make_proposal(consultation, title="Carte scolaire")
    for _ in range(5):
        cast(popular, elected(), now=in_window(consultation))
    user = viewer_of(viewer)
    if user is not None:
        client.sign_in_as(user)
    assert shown_count(client.get(f"/propositions/{popular.id}")) == 5
    assert "5 soutiens" in words(card(client.get(index_url(consultation)), popular))
    assert client.get(f"/api/v1/proposals/{popular.id}").get_json()["support_count"] == 5
    body = client.get(f"/api/v1/consultations/{consultation.slug}/proposals",
                      query_string={"sort": "most_supported"}).get_json()
    assert [item["support_count"] for item in body["items"]] == [5, 0]


# --- The admin's side -----------------------------------------------------------------------------------

def test_admin_journal_lists_casts_and_withdrawals_with_who_for_whom_when_and_from_where(client, new_client):
    consultation = make_consultation(PhaseKind.SUPPORT, vote_limit=3)
    member = elected(make_organization("Riom"), make_user(name="Claire Fabre"))
    canteen = make_proposal(consultation, title="Cantine en ligne")
    schools = make_proposal(consultation, title="Carte scolaire")
    client.sign_in_as(member.user)
    press(client, client.get(index_url(consultation)), support_url(canteen))
    press(client, client.get(f"/propositions/{schools.id}"), support_url(schools))
    press(client, client.get(dashboard_url(consultation, member.organization)), withdraw_url(canteen))

    url = f"/admin/consultations/{consultation.id}/soutiens"
    assert client.get(url).status_code == 403  # the journal is the admins'
    rows = table_rows(new_client(make_user(is_admin=True)).get(url))
    moments = db.session.scalars(sa.select(SupportEvent.at).order_by(SupportEvent.id.desc())).all()
    assert [row[:5] for row in rows] == [  # the latest first
        [paris(moments[0]), "retrait", "Cantine en ligne", "Riom", "Claire Fabre"],
        [paris(moments[1]), "soutien", "Carte scolaire", "Riom", "Claire Fabre"],
        [paris(moments[2]), "soutien", "Cantine en ligne", "Riom", "Claire Fabre"],
    ]
    assert rows[0][5].startswith(dashboard_url(consultation, member.organization))
    assert rows[1][5].startswith(f"/propositions/{schools.id}")
    assert rows[2][5].startswith(index_url(consultation))


def consultation_form(consultation, **changes) -> dict:
    """The admin's consultation form as it is filled in for `consultation`, with `changes`."""
    data = {"title": consultation.title, "slug": consultation.slug, "description": "", "budget_envelope": "0",
            "laureate_target": "0", "vote_limit": str(consultation.vote_limit), "threshold_per_proposal": "0",
            "minimum_votes_per_user": "0", "eligible_kinds": consultation.eligible_kinds,
            "themes": "\n".join(theme.name for theme in consultation.themes)}
    for phase in consultation.phases:
        for end in ("starts_at", "ends_at"):
            data[f"{phase.kind}_{end}"] = getattr(phase, end).astimezone(PARIS).strftime("%Y-%m-%dT%H:%M")
    data.update(changes)
    return data


def support_update_entries() -> list[AuditEntry]:
    return [entry for entry in db.session.scalars(sa.select(AuditEntry).where(
        AuditEntry.action == "consultation.update")) if "support" in entry.data["phases"]]


def test_moving_a_support_window_that_has_supports_needs_a_reason_kept_in_the_audit(client):
    consultation = make_consultation(PhaseKind.SUPPORT, vote_limit=3)
    cast(make_proposal(consultation), elected())
    window = consultation.phase(PhaseKind.SUPPORT)
    ends_at = window.ends_at
    shorter = (ends_at - timedelta(days=2)).astimezone(PARIS).strftime("%Y-%m-%dT%H:%M")
    url = f"/admin/consultations/{consultation.id}/modifier"
    client.sign_in_as(make_user(is_admin=True))

    page = text_of(client.post_form(url, consultation_form(consultation, support_ends_at=shorter)))
    assert "Le formulaire contient 1 erreur" in page
    assert "Des soutiens ont déjà été exprimés : expliquez pourquoi la période de soutiens change." in page
    db.session.expire_all()
    assert window.ends_at == ends_at and support_update_entries() == []

    reason = "Report du conseil communautaire : clôture avancée à la demande du comité."
    done = client.post_form(url, consultation_form(consultation, support_ends_at=shorter, change_reason=reason),
                            follow_redirects=True)
    assert flashes(done) == [("success", "Consultation enregistrée.")]
    db.session.expire_all()
    assert window.ends_at == ends_at - timedelta(days=2)
    [entry] = support_update_entries()
    assert entry.data["reason"] == reason
    assert entry.data["phases"]["support"]["to"][1] == (ends_at - timedelta(days=2)).isoformat()


def test_moving_a_support_window_without_supports_needs_no_reason(client):
    consultation = make_consultation(PhaseKind.SUPPORT)
    make_proposal(consultation)
    ends_at = consultation.phase(PhaseKind.SUPPORT).ends_at
    shorter = (ends_at - timedelta(days=2)).astimezone(PARIS).strftime("%Y-%m-%dT%H:%M")
    client.sign_in_as(make_user(is_admin=True))
    done = client.post_form(f"/admin/consultations/{consultation.id}/modifier",
                            consultation_form(consultation, support_ends_at=shorter), follow_redirects=True)
    assert flashes(done) == [("success", "Consultation enregistrée.")]
    [entry] = support_update_entries()
    assert entry.data["reason"] is None


def test_once_supports_are_cast_the_admin_is_told_the_rules_stay_and_cannot_change_them(client):
    consultation = make_consultation(PhaseKind.SUPPORT, vote_limit=3)
    url = f"/admin/consultations/{consultation.id}/modifier"
    client.sign_in_as(make_user(is_admin=True))
    notice = "Des soutiens ont été exprimés : les règles de soutien"
    assert notice not in text_of(client.get(url))
    cast(make_proposal(consultation), elected())

    assert notice in text_of(client.get(url))
    page = text_of(client.post_form(url, consultation_form(consultation, vote_limit="2")))
    assert "Le formulaire contient 1 erreur" in page
    assert ("Des soutiens ont déjà été exprimés : les règles de soutien (nombre par organisation, minimum, seuil, "
            "cumul, propositions de sa collectivité, types d'organisations admis) ne peuvent plus changer.") in page
    db.session.expire_all()
    assert consultation.vote_limit == 3


def test_a_closed_window_holding_supports_never_moves_even_with_a_reason_nor_before_anyone_saw_the_tally(client):
    consultation = make_consultation(PhaseKind.SUPPORT, vote_limit=3)
    cast(make_proposal(consultation), elected())
    window = consultation.phase(PhaseKind.SUPPORT)
    closed_at = window.ends_at = clock.now() - timedelta(minutes=1)  # it has just closed; nobody saw the tally
    db.session.commit()
    client.sign_in_as(make_user(is_admin=True))
    reopened = (clock.now() + timedelta(days=2)).astimezone(PARIS).strftime("%Y-%m-%dT%H:%M")
    page = text_of(client.post_form(f"/admin/consultations/{consultation.id}/modifier", consultation_form(
        consultation, support_ends_at=reopened, change_reason="Quelques communes n'ont pas pu voter.")))
    assert ("La période de soutiens est close et le décompte des soutiens est figé : elle ne peut plus changer."
            in page)
    db.session.expire_all()
    assert window.ends_at == closed_at and support_update_entries() == []


def test_a_support_costs_the_database_the_reads_its_rules_need_and_its_writes(client, monkeypatch):
    """The hot path of the support window: a lazy load or a second read of the same rows shows here."""
    consultation = make_consultation(PhaseKind.SUPPORT, vote_limit=3)
    proposal, member = make_proposal(consultation), elected()
    client.sign_in_as(member.user).csrf_token()  # fetched before counting
    url, form = support_url(proposal), {"organization_id": member.organization_id}
    db.session.expunge_all()  # each request starts with an empty session, as in production,
    monkeypatch.setattr(db.session(), "expire_on_commit", False)  # which keeps what it read after a commit
    with counted_statements() as statements:
        response = client.post_form(url, form)
    assert response.status_code == 302
    sent = [" ".join(statement.split()[:3]) for statement in statements
            if not statement.startswith(("BEGIN", "SAVEPOINT", "RELEASE", "COMMIT"))]
    assert sent == ["SELECT users.id, users.email,",  # with the session and memberships
                    "SELECT proposals.id, proposals.consultation_id,",  # with consultation, phases, co-sponsors
                    "INSERT INTO supports", "INSERT INTO support_quotas", "UPDATE proposals SET",
                    "INSERT INTO support_events"], sent
