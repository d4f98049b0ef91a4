"""Aidants through HTTP: the official grants and revokes from their account, the aidant supports from the pages
people use, and every page naming the act names both people."""

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.consultations.models import PhaseKind
from app.core import clock
from app.extensions import db
from app.votes import mandates
from app.votes.models import Mandate, Support
from tests.factories import make_consultation, make_member, make_organization, make_proposal, make_user
from tests.helpers import text_of
from tests.votes.test_views import (buttons, card, dashboard_url, flashes, has_form, index_url, press, support_url,
                                    table_rows, withdraw_url, words)

PAGE = "/compte/mandats"


@pytest.fixture
def new_client(app):
    """Another person's browser: cookies of its own."""
    return lambda user: app.test_client().sign_in_as(user)


def town():
    organization = make_organization("Saint-Flour")
    official = make_member(make_user(name="Claire Fabre"), organization, role="elected")
    agent = make_member(make_user(name="Paul Murat"), organization, role="agent")
    return organization, official, agent


def tables(response) -> list[list[list[str]]]:
    """Every table of the page: its rows, each a list of its cells as read aloud."""
    page = response.get_data(as_text=True)
    return [[[words(cell) for cell in re.findall(r"<td>(.*?)</td>", row, re.S)]
             for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)]
            for body in re.findall(r"<tbody>(.*?)</tbody>", page, re.S)]


def paris_text(moment) -> str:
    return clock.to_paris(moment).strftime("%d/%m/%Y %H:%M")


def grant(official, agent):
    now = clock.now()
    mandate = mandates.grant_mandate(official.user, agent.user, official.organization, now - timedelta(hours=1),
                                     now + timedelta(days=30))
    db.session.commit()
    return mandate


# --- Granting and revoking from one's account -----------------------------------------------------------

def test_the_official_grants_a_mandate_from_their_account(client):
    _organization, official, agent = town()
    make_member(organization=make_organization("Mauriac"), role="agent")  # not offered: another organization
    client.sign_in_as(official.user)
    assert "Mandats d'aidant" in text_of(client.get("/compte/"))
    page = text_of(client.get(PAGE))
    assert "Paul Murat — Saint-Flour" in page and "Mauriac" not in page

    now = clock.now()
    response = client.post_form(PAGE, {"aidant": str(agent.id), "starts_at": paris_text(now),
                                       "ends_at": paris_text(now + timedelta(days=7))}, follow_redirects=True)
    assert ("success", "Mandat confié à Paul Murat pour Saint-Flour.") in flashes(response)
    mandate = db.session.scalars(sa.select(Mandate)).one()
    assert (mandate.official_id, mandate.aidant_id, mandate.revoked_at) == (official.user.id, agent.user.id, None)
    [row] = table_rows(response)
    assert row[:2] == ["Paul Murat", "Saint-Flour"] and row[4] == "En vigueur" and row[5] == (
        "Révoquer le mandat de Paul Murat")


def test_the_grant_form_says_what_is_wrong_in_french_and_keeps_what_was_typed(client):
    _organization, official, agent = town()
    client.sign_in_as(official.user)
    response = client.post_form(PAGE, {"aidant": "", "starts_at": "demain", "ends_at": ""})
    page = text_of(response)
    assert response.status_code == 200
    assert "Le formulaire contient 3 erreurs" in page
    assert "Choisissez l'aidant." in page and "Indiquez la fin du mandat." in page
    assert "Date et heure invalides" in page and 'value="demain"' in page

    now = clock.now()
    response = client.post_form(PAGE, {"aidant": str(agent.id), "starts_at": paris_text(now + timedelta(days=2)),
                                       "ends_at": paris_text(now + timedelta(days=1))})
    assert ("error", "La fin du mandat doit suivre son début.") in flashes(response)
    assert f'<option selected value="{agent.id}">' in response.get_data(as_text=True)

    response = client.post_form(PAGE, {"aidant": "999999", "starts_at": paris_text(now),
                                       "ends_at": paris_text(now + timedelta(days=1))})
    assert "Choisissez l'aidant parmi les agents vérifiés de votre organisation." in text_of(response)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Mandate)) == 0


def test_an_agent_sees_the_mandates_they_hold_and_cannot_grant(client):
    _organization, official, agent = town()
    grant(official, agent)
    client.sign_in_as(agent.user)
    response = client.get(PAGE)
    assert "Confier un mandat" not in text_of(response)
    [row] = table_rows(response)
    assert row[:2] == ["Claire Fabre", "Saint-Flour"] and row[4] == "En vigueur"
    now = clock.now()
    assert client.post_form(PAGE, {"aidant": str(agent.id), "starts_at": paris_text(now),
                                   "ends_at": paris_text(now + timedelta(days=1))}).status_code == 403


def test_only_the_official_revokes(client, new_client):
    organization, official, agent = town()
    mandate = grant(official, agent)
    url = f"/compte/mandats/{mandate.id}/revoquer"
    colleague = make_member(organization=organization, role="elected").user
    for someone in (agent.user, colleague):
        assert new_client(someone).post_form(url).status_code == 403
    client.sign_in_as(official.user)
    response = press(client, client.get(PAGE), url)
    assert ("success", "Mandat de Paul Murat révoqué.") in flashes(response)
    assert table_rows(response)[0][4].startswith("Révoqué")
    assert not has_form(response, url)
    db.session.refresh(mandate)
    assert mandate.revoked_by_id == official.user.id


# --- Supporting as aidant -------------------------------------------------------------------------------

def test_the_aidant_supports_for_the_official_and_every_page_names_both(client, new_client):
    organization, official, agent = town()
    consultation = make_consultation(PhaseKind.SUPPORT, vote_limit=3)
    proposal = make_proposal(consultation, title="Cantine en ligne")
    client.sign_in_as(agent.user)
    assert buttons(card(client.get(index_url(consultation)), proposal)) == []  # an agent alone does not support

    mandate = grant(official, agent)
    index = client.get(index_url(consultation))
    assert buttons(card(index, proposal)) == ["Soutenir « Cantine en ligne » — Saint-Flour pour Claire Fabre"]
    response = press(client, index, support_url(proposal))
    [(kind, message)] = flashes(response)
    assert kind == "success" and message.startswith(
        "Soutien enregistré au nom de Saint-Flour par Paul Murat pour Claire Fabre. Reçu : ")
    support = db.session.scalars(sa.select(Support)).one()
    assert (support.cast_by_id, support.mandate_id) == (agent.user.id, mandate.id)

    dashboard = new_client(official.user).get(dashboard_url(consultation, organization))
    [[supported], [listed]] = tables(dashboard)
    assert supported[:2] == ["Cantine en ligne", "Paul Murat, aidant de Claire Fabre"]
    assert listed == ["Claire Fabre", "Paul Murat", *listed[2:4], "En vigueur"]
    journal = table_rows(new_client(make_user(is_admin=True)).get(f"/admin/consultations/{consultation.id}/soutiens"))
    assert journal[0][1:5] == ["soutien", "Cantine en ligne", "Saint-Flour", "Paul Murat, aidant de Claire Fabre"]

    response = press(client, client.get(f"/propositions/{proposal.id}"), withdraw_url(proposal))
    assert ("success", "Soutien de Saint-Flour retiré par Paul Murat pour Claire Fabre.") in flashes(response)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Support)) == 0


def test_once_revoked_the_buttons_go_and_a_post_under_the_mandate_is_refused(client, new_client):
    organization, official, agent = town()
    consultation = make_consultation(PhaseKind.SUPPORT)
    proposal = make_proposal(consultation, title="Cantine en ligne")
    mandate = grant(official, agent)
    client.sign_in_as(agent.user)
    assert buttons(card(client.get(index_url(consultation)), proposal)) != []
    new_client(official.user).post_form(f"/compte/mandats/{mandate.id}/revoquer")

    assert buttons(card(client.get(index_url(consultation)), proposal)) == []
    response = client.post_form(support_url(proposal), {"organization_id": organization.id,
                                                        "mandate_id": mandate.id})
    assert response.status_code == 403
    [[listed]] = tables(new_client(official.user).get(dashboard_url(consultation, organization)))
    assert listed[4].startswith("Révoqué — le ") and listed[4].endswith("par Claire Fabre")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Support)) == 0


def test_someone_elses_mandate_is_refused(client):
    organization, official, agent = town()
    consultation = make_consultation(PhaseKind.SUPPORT)
    proposal = make_proposal(consultation)
    mandate = grant(official, agent)
    colleague = make_member(organization=organization, role="agent").user
    client.sign_in_as(colleague)
    for value in (mandate.id, "abc", 10**30):
        assert client.post_form(support_url(proposal), {"organization_id": organization.id,
                                                        "mandate_id": value}).status_code == 403


def test_the_audit_log_names_both_people_of_every_act_under_a_mandate(client, new_client):
    organization, official, agent = town()
    consultation = make_consultation(PhaseKind.SUPPORT)
    proposal = make_proposal(consultation, title="Cantine en ligne")
    mandate = grant(official, agent)
    client.sign_in_as(agent.user)
    press(client, client.get(index_url(consultation)), support_url(proposal))
    new_client(official.user).post_form(f"/compte/mandats/{mandate.id}/revoquer")

    page = text_of(new_client(make_user(is_admin=True)).get("/admin/journal"))
    organization_link = f'« <a href="/collectivites/{organization.id}">Saint-Flour</a> »'
    assert f"Claire Fabre a confié un mandat d'aidant à {organization_link}" in page
    assert f"Claire Fabre a révoqué un mandat d'aidant à {organization_link}" in page
    assert f'Paul Murat a soutenu la proposition « <a href="/propositions/{proposal.id}">Cantine en ligne</a> » ' \
           "comme aidant" in page
    assert page.count("<li>Élu ou élue : Claire Fabre</li><li>Aidant : Paul Murat</li>") == 3
    assert "mandate." not in page and "support." not in page
