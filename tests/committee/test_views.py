"""The committee's workspace through HTTP: what members see, what forms refuse, and the database afterwards."""

import re

import pytest
import sqlalchemy as sa

from app.committee.models import Issue
from app.consultations.models import PhaseKind
from app.extensions import db
from tests.factories import (make_consultation, make_issue, make_member, make_organization, make_proposal,
                             make_support, make_user, seat)
from tests.helpers import text_of


@pytest.fixture
def consultation():
    return make_consultation(PhaseKind.DELIBERATION, slug="besoins-2027")


@pytest.fixture
def member(client, consultation):
    user = seat(consultation, make_user(name="Karim Benali")).user
    client.sign_in_as(user)
    return user


def space(path: str = "") -> str:
    return f"/consultations/besoins-2027/comite{path}"


def titles() -> list[str]:
    return list(db.session.scalars(sa.select(Issue.title).order_by(Issue.position, Issue.id)))


def test_a_member_creates_renames_and_deletes_an_issue_through_the_forms(client, consultation, member):
    assert "Le comité n'a encore défini aucun grand enjeu." in text_of(client.get(space()))
    response = client.post_form(space("/enjeux/nouveau"), {"title": "Cantines", "description": "Repas.\n\nMenus."})
    issue = db.session.scalars(sa.select(Issue)).one()
    assert response.location == space(f"/enjeux/{issue.id}")
    page = text_of(client.get(response.location))
    assert "Grand enjeu créé." in page and "<h1 class=\"fr-mt-5w\">Cantines</h1>" in page
    assert '<p class="agora-body">Repas.</p><p class="agora-body">Menus.</p>' in page

    page = text_of(client.post_form(space("/enjeux/nouveau"), {"title": "Cantines"}))
    assert "Un autre grand enjeu porte déjà ce titre." in page and titles() == ["Cantines"]
    page = text_of(client.post_form(space("/enjeux/nouveau"), {"title": ""}))
    assert "Donnez un titre au grand enjeu." in page and titles() == ["Cantines"]

    edit = space(f"/enjeux/{issue.id}/modifier")
    assert 'value="Cantines"' in text_of(client.get(edit))
    client.post_form(edit, {"title": "Restauration scolaire", "description": ""})
    assert titles() == ["Restauration scolaire"] and issue.description == ""

    proposals = [make_proposal(consultation) for _ in range(2)]
    for proposal in proposals:
        proposal.issue_id = issue.id
    db.session.commit()
    delete = space(f"/enjeux/{issue.id}/supprimer")
    assert "Ses 2 propositions resteront publiées, sans grand enjeu." in text_of(client.get(delete))
    assert titles() == ["Restauration scolaire"]  # asking is not deleting
    response = client.post_form(delete)
    assert response.location == space() and titles() == []
    assert [proposal.issue_id for proposal in proposals] == [None, None]
    page = text_of(client.get(space()))
    assert "Grand enjeu « Restauration scolaire » supprimé." in page
    assert "2 propositions publiées ne sont dans aucun grand enjeu." in page


def test_the_home_page_lists_issues_in_order_with_their_counts_and_moves_them(client, consultation, member):
    first, second, third = (make_issue(consultation, title, position=position)
                            for position, title in enumerate(("Cantines", "Mobilités", "Cybersécurité")))
    for _ in range(2):
        make_proposal(consultation, issue_id=second.id)
    make_proposal(consultation, issue_id=second.id, state="withdrawn")  # counted nowhere
    make_proposal(consultation)
    page = text_of(client.get(space()))
    assert re.search(r"<td>1</td>\s*<th scope=\"row\"><a [^>]*>Cantines</a></th>\s*<td>0</td>", page)
    assert re.search(r"<td>2</td>\s*<th scope=\"row\"><a [^>]*>Mobilités</a></th>\s*<td>2</td>", page)
    assert "1 proposition publiée n'est dans aucun grand enjeu." in page
    assert f'/enjeux/{first.id}/monter"' not in page and f'/enjeux/{third.id}/descendre"' not in page
    assert 'Monter<span class="fr-sr-only"> « Mobilités »</span>' in page

    response = client.post_form(space(f"/enjeux/{third.id}/monter"))
    assert response.location == space() and titles() == ["Cantines", "Cybersécurité", "Mobilités"]
    assert "« Cybersécurité » est désormais au rang 2." in text_of(client.get(space()))
    client.post_form(space(f"/enjeux/{first.id}/monter"))
    assert titles() == ["Cantines", "Cybersécurité", "Mobilités"]
    assert "Ce grand enjeu est déjà le premier." in text_of(client.get(space()))


@pytest.fixture
def listed(consultation):
    """Two needs and a service, published; a draft and a hidden proposal, which the committee's list leaves out."""
    second_theme = consultation.themes[1]
    return {"canteen": make_proposal(consultation, title="Inscription à la cantine"),
            "portal": make_proposal(consultation, kind="service", title="Portail famille libre"),
            "bus": make_proposal(consultation, title="Transport à la demande", themes=[second_theme]),
            "draft": make_proposal(consultation, state="draft", title="Brouillon inachevé"),
            "hidden": make_proposal(consultation, title="Publicité masquée", hidden_at=consultation.created_at)}


def shown(page: str) -> list[str]:
    return re.findall(r'<label class="fr-label" for="proposition-\d+">([^<]+)</label>', page)


def test_the_list_shows_published_proposals_with_labelled_checkboxes_and_filters(client, consultation, member,
                                                                                 listed):
    issue = make_issue(consultation, "Cantines", proposals=[listed["canteen"]])
    page = text_of(client.get(space("/propositions")))
    assert "3 propositions" in page and sorted(shown(page)) == ["Inscription à la cantine", "Portail famille libre",
                                                                "Transport à la demande"]
    canteen = listed["canteen"].id
    assert re.search(f'<input type="checkbox" id="proposition-{canteen}" name="proposal_ids" value="{canteen}">'
                     f'\\s*<label class="fr-label" for="proposition-{canteen}">Inscription à la cantine</label>', page)
    assert "<caption>Propositions publiées et leur grand enjeu : cochez celles à ranger ou à retirer</caption>" in page
    assert re.search(r"Inscription à la cantine »</span></a>\s*</th>\s*<td>Besoin</td>\s*<td>[^<]+</td>\s*"
                     r"<td>Cantines</td>", page)

    def filtered(**query) -> list[str]:
        return sorted(shown(text_of(client.get(space("/propositions"), query_string=query))))

    assert filtered(kind="service") == ["Portail famille libre"]
    assert filtered(theme=str(consultation.themes[1].id)) == ["Transport à la demande"]
    assert filtered(issue=str(issue.id)) == ["Inscription à la cantine"]
    assert filtered(issue="aucun") == ["Portail famille libre", "Transport à la demande"]
    assert filtered(issue="aucun", kind="need") == ["Transport à la demande"]
    assert len(filtered(issue="999999")) == 3  # not one of the choices: told, and nothing filtered


def test_ticked_proposals_are_put_in_an_issue_or_taken_out_at_once(client, consultation, member, listed):
    canteens, mobility = make_issue(consultation, "Cantines"), make_issue(consultation, "Mobilités")
    ids = {name: str(proposal.id) for name, proposal in listed.items()}
    url = space("/propositions?issue=aucun&kind=need")
    response = client.post_form(url, {"proposal_ids": [ids["canteen"], ids["bus"], ids["portal"]],
                                      "issue_id": str(canteens.id), "action": "assign"})
    assert response.location == url
    assert [listed[name].issue_id for name in ("canteen", "bus", "portal")] == [canteens.id] * 3
    assert "Propositions rangées dans « Cantines »." in text_of(client.get(url))

    client.post_form(url, {"proposal_ids": [ids["bus"]], "issue_id": str(mobility.id), "action": "assign"})
    client.post_form(url, {"proposal_ids": [ids["portal"]], "issue_id": "", "action": "remove"})
    assert [listed[name].issue_id for name in ("canteen", "bus", "portal")] == [canteens.id, mobility.id, None]
    assert "Propositions retirées de leur grand enjeu." in text_of(client.get(url))


@pytest.mark.parametrize("form, message", [
    ({"issue_id": "", "action": "assign"}, "Choisissez le grand enjeu où ranger les propositions."),
    ({"issue_id": "999999", "action": "assign"}, "Choisissez le grand enjeu où ranger les propositions."),
    ({"proposal_ids": [], "action": "assign"}, "Cochez au moins une proposition."),
    ({"proposal_ids": ["12abc"], "action": "assign"}, "Sélection illisible : rechargez la page et recommencez."),
    ({"draft": True, "action": "assign"}, "Seules les propositions publiées de cette consultation se rangent dans un "
                                          "grand enjeu."),
    ({"action": "merge"}, "Choisissez : ranger ou retirer."),
])
def test_the_assignment_form_refuses_what_it_should_and_keeps_the_ticks(client, consultation, member, listed, form,
                                                                        message):
    issue = make_issue(consultation, "Cantines")
    ticked = [str(listed["canteen"].id), *([str(listed["draft"].id)] if form.pop("draft", False) else [])]
    response = client.post_form(space("/propositions"), {"proposal_ids": ticked, "issue_id": str(issue.id), **form})
    page = text_of(response)
    assert response.status_code == 200 and message in page and "<title>Erreur : " in page
    if form.get("proposal_ids") is None:
        assert f'value="{listed["canteen"].id}" checked>' in page
    assert listed["canteen"].issue_id is None and listed["draft"].issue_id is None


def test_outside_deliberation_and_selection_the_workspace_is_read_only_and_says_why(client, member):
    consultation = make_consultation(PhaseKind.SUPPORT, slug="soutiens-2027")
    seat(consultation, member)
    issue = make_issue(consultation, "Cantines")
    proposal = make_proposal(consultation, title="Inscription à la cantine")
    reason = "Les grands enjeux s'organisent pendant la délibération du comité et la sélection des lauréats."
    base = "/consultations/soutiens-2027/comite"
    page = text_of(client.get(base))
    assert reason in page and "Créer un grand enjeu" not in page and "/monter" not in page and "Modifier" not in page
    for url in (f"{base}/enjeux/nouveau", f"{base}/enjeux/{issue.id}/modifier", f"{base}/enjeux/{issue.id}/supprimer"):
        response = client.get(url)
        assert response.location == base
    page = text_of(client.get(f"{base}/propositions"))
    assert reason in page and 'type="checkbox"' not in page and "Inscription à la cantine" in page
    response = client.post_form(f"{base}/propositions", {"proposal_ids": [str(proposal.id)], "issue_id": str(issue.id),
                                                         "action": "assign"})
    assert response.status_code == 200 and reason in text_of(response) and proposal.issue_id is None
    client.post_form(f"{base}/enjeux/{issue.id}/supprimer")
    assert titles() == ["Cantines"]


def test_an_issue_page_shows_its_proposals_key_terms_and_supporting_organizations(client, consultation, member):
    issue = make_issue(consultation, "Restauration scolaire")
    canteen = make_proposal(consultation, title="Inscription en ligne à la cantine", issue_id=issue.id,
                            support_count=2)
    meals = make_proposal(consultation, title="Réservation des repas de la cantine", issue_id=issue.id,
                          support_count=1)
    portal = make_proposal(consultation, kind="service", title="Portail famille libre", issue_id=issue.id)
    canteen.summary = "Les familles inscrivent les enfants à la cantine."
    meals.summary = "Les familles réservent la veille."
    portal.summary = "Un portail pour les familles et la cantine."
    make_proposal(consultation, title="Transport à la demande")
    mauriac, aurillac = make_organization("Mauriac"), make_organization("Aurillac")
    for proposal in (canteen, meals, portal):
        make_support(proposal, mauriac)
    make_support(canteen, aurillac)
    page = text_of(client.get(space(f"/enjeux/{issue.id}")))
    assert "2 organisations soutiennent ce grand enjeu" in page
    assert re.findall(r'<li><a href="/collectivites/\d+">([^<]+)</a></li>', page) == ["Aurillac", "Mauriac"]
    assert re.findall(r'<li><p class="fr-tag">([^<]+)</p></li>', page)[:2] == ["cantine", "familles"]
    assert "<caption>Besoins de ce grand enjeu, les plus soutenus d'abord</caption>" in page
    assert re.findall(r'<th scope="row"><a href="/propositions/\d+">([^<]+)</a></th>', page) == [
        "Inscription en ligne à la cantine", "Réservation des repas de la cantine", "Portail famille libre"]
    assert "2 besoins" in page and "1 service numérique" in page and "Transport" not in page
    assert 'aria-current="page">Restauration scolaire</a>' in page and ">Espace du comité</a>" in page


def test_an_issue_page_is_the_committees_until_the_results_are_public(client, consultation):
    issue = make_issue(consultation, "Cantines")
    url = space(f"/enjeux/{issue.id}")
    assert "/compte/connexion" in client.get(url).location
    client.sign_in_as(make_member(role="elected").user)
    assert client.get(url).status_code == 403
    other = make_issue(make_consultation(PhaseKind.DELIBERATION))
    client.sign_in_as(make_user(is_admin=True))
    assert client.get(url).status_code == 200 and client.get(space(f"/enjeux/{other.id}")).status_code == 404


def test_from_the_results_on_an_issue_is_public_and_names_supporters_unless_the_consultation_hides_them(client):
    consultation = make_consultation(PhaseKind.RESULTS, slug="resultats-2027", supporters_hidden=True)
    issue = make_issue(consultation, "Cantines")
    make_support(make_proposal(consultation, issue_id=issue.id), make_organization("Mauriac"))
    page = text_of(client.get(f"/consultations/resultats-2027/comite/enjeux/{issue.id}"))
    assert "1 organisation soutient ce grand enjeu" in page and "Mauriac" not in page
    assert "Cette consultation ne nomme pas les organisations qui soutiennent." in page
    assert "Espace du comité" not in page and "Modifier" not in page
    listing = text_of(client.get("/consultations/resultats-2027"))
    assert f'<li><a href="/consultations/resultats-2027/comite/enjeux/{issue.id}">Cantines</a></li>' in listing
    client.sign_in_as(seat(consultation).user)
    assert "Mauriac" in text_of(client.get(f"/consultations/resultats-2027/comite/enjeux/{issue.id}"))


def test_the_menu_and_the_consultation_page_lead_committee_members_to_their_space(client, consultation):
    user = seat(consultation).user
    client.sign_in_as(user)
    link = '<a class="fr-nav__link" href="/consultations/besoins-2027/comite">Espace du comité</a>'
    assert link in text_of(client.get("/"))
    assert 'href="/consultations/besoins-2027/comite" aria-current="page">Espace du comité</a>' in text_of(
        client.get(space()))
    assert ">Espace du comité</a></li>" in text_of(client.get("/consultations/besoins-2027"))
    seat(make_consultation(PhaseKind.DELIBERATION, slug="autre"), user)
    page = text_of(client.get("/"))
    assert "Comité : Consultation" in page and link not in page
    client.sign_in_as(make_member(role="agent").user)
    assert "/comite" not in text_of(client.get("/")) + text_of(client.get("/consultations/besoins-2027"))
