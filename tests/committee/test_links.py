"""Needs ↔ services: suggestions read from stored vectors, links confirmed or taken back by the committee
(rules, audit), and what the pages show."""

import numpy as np
import pytest
import sqlalchemy as sa
from flask_login import AnonymousUserMixin

from app.committee import links
from app.committee.permissions import why_not_link
from app.consultations.models import PhaseKind
from app.core import clock
from app.core.audit import AuditEntry
from app.core.errors import RuleViolation
from app.extensions import db
from app.proposals import similarity, vectors
from app.proposals.models import NeedServiceLink
from app.proposals.services import link_service_to_need
from tests.factories import make_consultation, make_issue, make_member, make_proposal, make_user, seat
from tests.helpers import counted_statements, run_jobs, text_of

LINK_STAGES = {PhaseKind.DELIBERATION, PhaseKind.SELECTION}


@pytest.fixture
def consultation():
    return make_consultation(PhaseKind.DELIBERATION, slug="besoins-2027")


@pytest.fixture
def member(consultation):
    return seat(consultation, make_user(name="Karim Benali")).user


def need(consultation, title=None, **fields):
    return make_proposal(consultation, kind="need", title=title, **fields)


def service(consultation, title=None, **fields):
    return make_proposal(consultation, kind="service", title=title, **fields)


def pointing(score: float, axis: int) -> np.ndarray:
    """A unit vector whose similarity with axis 0 (where the needs of the tests point) is `score`."""
    vector = np.zeros(similarity.DIM, dtype=np.float32)
    vector[axis] = np.sqrt(1 - score ** 2)
    vector[0] = score  # set last: pointing(1, 0) is axis 0 itself
    return vector


def store_vectors(monkeypatch, placed: dict) -> None:
    """Give these proposals the vectors chosen, through the worker's job (the model's embedding replaced by
    the table, by title): their vectors and nearest neighbours are stored as in production."""
    by_title = {proposal.title: vector for proposal, vector in placed.items()}
    monkeypatch.setattr(similarity, "embed",
                        lambda texts: np.array([by_title[text.split("\n")[0]] for text in texts], dtype=np.float32))
    vectors.queue_vectors(list(placed))
    db.session.commit()
    run_jobs()
    monkeypatch.setattr(similarity, "embed", _never)  # pages and services read stored vectors only


def _never(texts):
    raise AssertionError("nothing embeds a text outside the worker")


def audit_actions() -> list[tuple[str, str, dict]]:
    return [(entry.action, entry.subject, entry.data)
            for entry in db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action.like("link.%"))
                                            .order_by(AuditEntry.id))]


def the_link(need_, service_) -> NeedServiceLink | None:
    return db.session.scalar(sa.select(NeedServiceLink).filter_by(need_id=need_.id, service_id=service_.id))


def suggested(proposal) -> list[tuple[str, float]]:
    row = links.rows([proposal])[0]
    return [(other.title, round(score, 3)) for other, score in row.suggested]


# Services: who, when, which proposals


def person(role, consultation):
    if role == "member":
        return seat(consultation).user
    if role == "admin":
        return make_user(is_admin=True)
    return make_member().user if role == "agent" else AnonymousUserMixin()


@pytest.mark.parametrize("role, allowed", [("member", True), ("admin", True), ("agent", False), ("visitor", False)])
def test_committee_members_and_admins_confirm_and_remove_links_and_nobody_else(consultation, role, allowed):
    actor = person(role, consultation)
    pair = need(consultation), service(consultation)
    if not allowed:
        for action in (links.confirm_link, links.remove_link):
            with pytest.raises(RuleViolation, match="Seuls les membres du comité et l'équipe d'administration"):
                action(*pair, by=actor)
        assert the_link(*pair) is None and audit_actions() == []
        return
    links.confirm_link(*pair, by=actor)
    assert the_link(*pair).is_confirmed
    assert links.remove_link(*pair, by=actor) is True and the_link(*pair) is None


@pytest.mark.parametrize("phase", list(PhaseKind))
def test_links_are_confirmed_during_deliberation_and_selection_only(phase):
    consultation = make_consultation(phase)
    member = seat(consultation).user
    pair = need(consultation), service(consultation)
    assert (why_not_link(member, consultation) is None) == (phase in LINK_STAGES)
    if phase in LINK_STAGES:
        assert links.confirm_link(*pair, by=member).is_confirmed
    else:
        with pytest.raises(RuleViolation, match="pendant la délibération du comité et la sélection des lauréats"):
            links.confirm_link(*pair, by=member)
        assert the_link(*pair) is None


def test_a_link_joins_a_need_to_a_listed_service_of_the_same_consultation(consultation, member):
    elsewhere = make_consultation(PhaseKind.DELIBERATION)
    a_need, a_service = need(consultation), service(consultation)
    refused = {
        "Un lien relie un besoin à un service.": [(a_service, a_need), (a_need, need(consultation))],
        "Le besoin et le service doivent appartenir à la même consultation.": [(a_need, service(elsewhere))],
        "Seules des propositions publiées, visibles et non fusionnées se relient.": [
            (a_need, service(consultation, state="draft")),
            (a_need, service(consultation, hidden_at=clock.now())),
            (a_need, service(consultation, merged_into_id=a_service.id))],
    }
    for message, pairs in refused.items():
        for pair in pairs:
            with pytest.raises(RuleViolation, match=message):
                links.confirm_link(*pair, by=member)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(NeedServiceLink)) == 0


def test_confirming_a_declared_link_marks_it_confirmed_once_and_logs_it(consultation, member):
    a_need, a_service = need(consultation), service(consultation, title="Prise de rendez-vous en ligne")
    author = make_member(organization=a_service.organization).user
    link_service_to_need(a_service, a_need, by=author)
    db.session.commit()
    assert not the_link(a_need, a_service).is_confirmed

    link = links.confirm_link(a_need, a_service, by=member)
    again = links.confirm_link(a_need, a_service, by=seat(consultation).user)  # a second click, or a colleague
    assert again is link and link.confirmed_by_id == member.id and link.is_declared
    assert link.created_by_id == author.id  # still the service's declaration
    assert audit_actions() == [("link.confirm", f"proposals:{a_need.id}",
                                {"service_id": a_service.id, "service": "Prise de rendez-vous en ligne",
                                 "declared": True})]


def test_confirming_a_suggested_pair_creates_the_link_confirmed(consultation, member):
    a_need, a_service = need(consultation), service(consultation)
    link = links.confirm_link(a_need, a_service, by=member)
    db.session.commit()
    assert (link.is_confirmed, link.is_declared, link.created_by_id) == (True, False, member.id)
    assert [action for action, _subject, _data in audit_actions()] == ["link.confirm"]
    with pytest.raises(RuleViolation, match="Ce service est déjà relié à ce besoin."):
        link_service_to_need(a_service, a_need, by=make_member(organization=a_service.organization).user)


def test_taking_a_confirmation_back_keeps_a_declared_link_and_deletes_the_committee_s_own(consultation, member):
    a_need, declared, suggested_service, unconfirmed = (need(consultation), service(consultation),
                                                        service(consultation), service(consultation))
    for each in (declared, unconfirmed):
        link_service_to_need(each, a_need, by=make_member(organization=each.organization).user)
    for each in (declared, suggested_service):
        links.confirm_link(a_need, each, by=member)

    assert links.remove_link(a_need, declared, by=member) is False
    assert the_link(a_need, declared).is_declared and not the_link(a_need, declared).is_confirmed
    assert the_link(a_need, declared).confirmed_by_id is None
    assert links.remove_link(a_need, suggested_service, by=member) is True
    assert links.remove_link(a_need, unconfirmed, by=member) is True  # a declaration the committee rejects
    assert the_link(a_need, suggested_service) is None and the_link(a_need, unconfirmed) is None
    with pytest.raises(RuleViolation, match="Ce service n'est pas relié à ce besoin."):
        links.remove_link(a_need, suggested_service, by=member)
    removals = [(data["service_id"], data["kept_declared"]) for action, _subject, data in audit_actions()
                if action == "link.remove"]
    assert removals == [(declared.id, True), (suggested_service.id, False), (unconfirmed.id, False)]


# Suggestions


def test_suggestions_rank_the_listed_services_by_score_and_leave_out_linked_ones(consultation, member,
                                                                                  monkeypatch):
    a_need = need(consultation, "Besoin")
    close, closer, closest, far = (service(consultation, title) for title in ("Proche", "Plus proche",
                                                                                  "Le plus proche", "Lointain"))
    hidden = service(consultation, "Masqué", hidden_at=clock.now())
    elsewhere = service(make_consultation(PhaseKind.DELIBERATION), "Ailleurs")
    store_vectors(monkeypatch, {a_need: pointing(1, 0), close: pointing(0.5, 1), closer: pointing(0.7, 2),
                                closest: pointing(0.9, 3), far: pointing(0.1, 4), hidden: pointing(0.95, 5),
                                elsewhere: pointing(0.99, 6)})
    with counted_statements() as statements:
        assert suggested(a_need) == [("Le plus proche", 0.9), ("Plus proche", 0.7), ("Proche", 0.5)]
    assert not any("proposal_vectors" in statement for statement in statements)  # the stored lists sufficed
    assert suggested(closest) == [("Besoin", 0.9)]  # the reverse: services → needs

    links.confirm_link(a_need, closest, by=member)
    link_service_to_need(close, a_need, by=make_member(organization=close.organization).user)
    row = links.rows([a_need])[0]
    assert [(other.title, link.is_confirmed) for other, link in row.links] == [("Le plus proche", True),
                                                                                ("Proche", False)]
    assert suggested(a_need) == [("Plus proche", 0.7)]


def test_a_need_among_many_similar_needs_still_gets_its_services_from_the_stored_vectors(consultation, member,
                                                                                        monkeypatch):
    """Its stored neighbours are all needs: the services are found by comparing the stored vectors."""
    a_need = need(consultation, "Besoin")
    twins = {need(consultation, f"Besoin jumeau {number}"): pointing(0.95, 10 + number)
             for number in range(vectors.NEIGHBOURS)}
    first, second, third = (service(consultation, title) for title in ("Premier", "Deuxième", "Troisième"))
    store_vectors(monkeypatch, {a_need: pointing(1, 0), **twins, first: pointing(0.8, 1), second: pointing(0.6, 2),
                                third: pointing(0.4, 3)})
    with counted_statements() as statements:
        assert suggested(a_need) == [("Premier", 0.8), ("Deuxième", 0.6), ("Troisième", 0.4)]
    assert any("proposal_vectors" in statement for statement in statements)
    links.confirm_link(a_need, first, by=member)
    assert suggested(a_need) == [("Deuxième", 0.6), ("Troisième", 0.4)]
    assert len(links.rows([a_need], k=1)[0].suggested) == 1


def test_a_proposal_without_a_stored_vector_yet_gets_no_suggestion(consultation):
    a_need = need(consultation)
    service(consultation)
    assert links.rows([a_need])[0].suggested == []


# Pages


def page_url(path: str = "") -> str:
    return f"/consultations/besoins-2027/comite/besoins-services{path}"


def test_a_member_sees_each_need_with_its_suggested_services_and_confirms_one_in_one_click(
        client, consultation, member, monkeypatch):
    a_need = need(consultation, "Prendre rendez-vous en mairie")
    a_service = service(consultation, "Agenda partagé des services municipaux")
    store_vectors(monkeypatch, {a_need: pointing(1, 0), a_service: pointing(0.62, 1)})
    client.sign_in_as(member)
    page = text_of(client.get(page_url()))
    assert "Prendre rendez-vous en mairie" in page and "Agenda partagé des services municipaux" in page
    assert "0,62" in page and "Suggéré" in page and page.count(">Confirmer<") == 1
    reverse = text_of(client.get(page_url("/services")))  # services → needs
    assert "Besoins auxquels répond le service « Agenda partagé des services municipaux »" in reverse
    assert "Prendre rendez-vous en mairie" in reverse and "0,62" in reverse

    response = client.post_form(page_url("/confirmer"), {"need_id": a_need.id, "service_id": a_service.id,
                                                          "next": page_url("?page=1")})
    assert response.status_code == 302 and response.location == page_url("?page=1")
    assert the_link(a_need, a_service).is_confirmed
    page = text_of(client.get(response.location))
    assert ("Lien confirmé : « Agenda partagé des services municipaux » répond à « Prendre rendez-vous en mairie »."
            in page)
    assert "Confirmé par le comité" in page and "Suggéré" not in page and ">Retirer le lien<" in page

    for proposal, other in ((a_need, a_service), (a_service, a_need)):  # both proposal pages
        page = text_of(client.get(f"/propositions/{proposal.id}"))
        assert other.title in page and "confirmé par le comité" in page

    client.post_form(page_url("/retirer"), {"need_id": a_need.id, "service_id": a_service.id})
    assert the_link(a_need, a_service) is None
    assert "confirmé par le comité" not in text_of(client.get(f"/propositions/{a_need.id}"))
    assert [action for action, _subject, _data in audit_actions()] == ["link.confirm", "link.remove"]


def test_a_declared_link_shows_as_declared_until_the_committee_confirms_it(client, consultation, member):
    a_need, a_service = need(consultation, "Besoin déclaré"), service(consultation, "Service déclarant")
    link_service_to_need(a_service, a_need, by=make_member(organization=a_service.organization).user)
    db.session.commit()
    client.sign_in_as(member)
    page = text_of(client.get(page_url()))
    assert "Déclaré par l'organisation du service" in page and ">Confirmer<" in page
    assert "confirmé par le comité" not in text_of(client.get(f"/propositions/{a_service.id}"))
    client.post_form(page_url("/confirmer"), {"need_id": a_need.id, "service_id": a_service.id})
    page = text_of(client.get(page_url()))
    assert "Confirmé par le comité" in page and ">Retirer la confirmation<" in page
    client.post_form(page_url("/retirer"), {"need_id": a_need.id, "service_id": a_service.id})
    page = text_of(client.get(page_url()))
    assert "Confirmation retirée : le lien reste déclaré par l'organisation de « Service déclarant »." in page
    assert the_link(a_need, a_service).is_declared


def test_the_issue_page_shows_each_need_with_the_services_answering_it(client, consultation, member):
    a_need = need(consultation, "Besoin de l'enjeu")
    issue = make_issue(consultation, "Démarches", proposals=[a_need])
    a_service = service(consultation, "Service qui répond")
    links.confirm_link(a_need, a_service, by=member)
    db.session.commit()
    client.sign_in_as(member)
    page = text_of(client.get(f"/consultations/besoins-2027/comite/enjeux/{issue.id}"))
    assert "Les services qui répondent à ces besoins" in page
    answers = page.split("Les services qui répondent à ces besoins")[1]
    assert "Besoin de l'enjeu" in answers and "Service qui répond" in answers and "confirmé par le comité" in answers


def test_the_page_filters_by_issue_and_theme_and_is_paginated(client, consultation, member):
    inside = need(consultation, "Besoin rangé")
    make_issue(consultation, "Démarches", proposals=[inside])
    need(consultation, "Besoin d'un autre thème", themes=consultation.themes[1:])
    for number in range(25):
        need(consultation, f"Besoin en nombre {number:02d}")
    client.sign_in_as(member)
    page = text_of(client.get(page_url(f"?issue={inside.issue_id}")))
    assert "1 besoin" in page and "Besoin rangé" in page and "Besoin en nombre" not in page
    page = text_of(client.get(page_url(f"?theme={consultation.themes[1].id}")))
    assert "Besoin d'un autre thème" in page and "Besoin rangé" not in page
    first, second = (text_of(client.get(page_url(f"?page={number}"))) for number in (1, 2))
    assert "27 besoins" in first and first.count('<section class="fr-mb-5w">') == 20
    assert second.count('<section class="fr-mb-5w">') == 7
    assert client.get(page_url("?page=abc")).status_code == 200  # unreadable filters: the first page


def test_bad_input_is_refused_in_french_and_changes_nothing(client, consultation, member):
    a_need, a_service = need(consultation), service(consultation)
    elsewhere = need(make_consultation(PhaseKind.DELIBERATION))
    client.sign_in_as(member)
    for data in ({"need_id": "abc", "service_id": a_service.id}, {"need_id": a_need.id},
                 {"need_id": "99999999999", "service_id": a_service.id},
                 {"need_id": elsewhere.id, "service_id": a_service.id}):
        response = client.post_form(page_url("/confirmer"), data)
        assert response.status_code == 302
        assert "Choisissez un besoin et un service de cette consultation." in text_of(client.get(response.location))
    client.post_form(page_url("/confirmer"), {"need_id": a_service.id, "service_id": a_need.id})
    assert "Un lien relie un besoin à un service." in text_of(client.get(page_url()))
    client.post_form(page_url("/retirer"), {"need_id": a_need.id, "service_id": a_service.id})
    assert "Ce service n'est pas relié à ce besoin." in text_of(client.get(page_url()))
    without_token = client.post(page_url("/confirmer"), data={"need_id": a_need.id, "service_id": a_service.id})
    assert without_token.status_code == 400 and "Formulaire expiré" in text_of(without_token)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(NeedServiceLink)) == 0


def test_outside_deliberation_and_selection_the_page_says_why_and_offers_no_button(client):
    consultation = make_consultation(PhaseKind.SUPPORT, slug="besoins-2027")
    member = seat(consultation).user
    a_need, a_service = need(consultation), service(consultation)
    link_service_to_need(a_service, a_need, by=make_member(organization=a_service.organization).user)
    db.session.commit()
    client.sign_in_as(member)
    page = text_of(client.get(page_url()))
    assert "Les liens entre besoins et services se confirment pendant la délibération" in page
    assert ">Confirmer<" not in page
    client.post_form(page_url("/confirmer"), {"need_id": a_need.id, "service_id": a_service.id})
    assert not the_link(a_need, a_service).is_confirmed


def test_the_audit_log_reads_link_actions_as_sentences(client, consultation, member):
    a_need = need(consultation, "Besoin audité")
    a_service = service(consultation, "Service audité")
    links.confirm_link(a_need, a_service, by=member)
    links.remove_link(a_need, a_service, by=member)
    db.session.commit()
    client.sign_in_as(make_user(is_admin=True))
    page = text_of(client.get("/admin/journal"))
    need_link = f'la proposition « <a href="/propositions/{a_need.id}">Besoin audité</a> »'
    assert f"Karim Benali a confirmé qu'un service répond à {need_link}" in page
    assert f"Karim Benali a retiré le lien entre un service et {need_link}" in page
    assert page.count("<li>Service : Service audité</li>") == 2 and "link." not in page
