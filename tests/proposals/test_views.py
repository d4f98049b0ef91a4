"""Proposal pages and the proposals API through HTTP: what people see, and the database afterwards."""

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.accounts.models import User
from app.consultations.models import PhaseKind, Theme
from app.core import clock
from app.core.jobs import Job
from app.extensions import db
from app.organizations.models import MembershipStatus
from app.proposals import moderation, search, services
from app.proposals.models import (Comment, NeedServiceLink, Proposal, ProposalCosponsor, ProposalState,
                                  ProposalTerritoryTag, ProposalVector, ProposalVersion, Report)
from tests.factories import (CANTEEN, CYBER, make_comment, make_consultation, make_member, make_organization,
                             make_proposal, make_user, proposal_input, submit_proposal)
from tests.helpers import counted_statements, run_jobs, text_of

PREVIEW_PENDING = ("Les propositions proches de la vôtre sont en cours de recherche : rechargez la page dans "
                   "quelques instants pour les voir.")
NEEDS_PENDING = ("Les besoins proches de ce service sont en cours de recherche : rechargez la page dans quelques "
                 "instants pour en relier un.")


@pytest.fixture
def consultation():
    return make_consultation(PhaseKind.COLLECT)


@pytest.fixture
def agent():
    """A verified agent of Saint-Flour, a small commune of the Cantal."""
    saint_flour = make_organization("Saint-Flour", departement_code="15", population=3200)
    return make_member(make_user(name="Jeanne Martin"), saint_flour, role="agent")


def need_form(consultation, organization=None, **changes) -> dict:
    data = {"kind": "need", "title": "Réservation des repas de la cantine",
            "summary": "Réserver ou annuler les repas de la cantine la veille.",
            "body": "Permettre aux parents de **réserver** ou d'annuler la veille les repas de leurs enfants à "
                    "la cantine, depuis leur téléphone.\n\n- moins de gaspillage\n- moins d'appels en mairie",
            "theme_ids": [str(consultation.themes[0].id)], "territory_tags": ["rural"],
            "problem": "Les repas sont commandés trop tôt et jetés.", "affected": "Les familles et le cuisinier.",
            "workaround": "Un tableau papier affiché à l'école."}
    if organization is not None:
        data["organization_id"] = str(organization.id)
    data.update(changes)
    return data


def service_form(consultation, organization=None, **changes) -> dict:
    data = need_form(consultation, organization, kind="service", title="Portail famille libre et mutualisé",
                     problem="", maturity="production", carrier="association", licence="EUPL-1.2",
                     repository_url="https://code.example.org/portail-famille", deployments="12",
                     requested_budget="1500.50")
    data.update(changes)
    return data


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def only_proposal() -> Proposal:
    return db.session.scalars(sa.select(Proposal)).one()


def ids_shown(response) -> list[int]:
    """Proposal ids of the cards, in the order shown."""
    return [int(found) for found in re.findall(r'<h3 class="fr-h5"><a href="/propositions/(\d+)"',
                                               response.get_data(as_text=True))]


def index_url(consultation, query: str = "") -> str:
    return f"/consultations/{consultation.slug}/propositions{'?' + query if query else ''}"


def hidden_by_admin(proposal):
    moderation.hide(proposal, by=make_user(is_admin=True))
    db.session.commit()
    return proposal


# --- Submitting -----------------------------------------------------------------------------------

def test_an_agent_drafts_sees_similar_proposals_in_the_preview_then_publishes(client, consultation, agent):
    canteen = submit_proposal(consultation, make_member(organization=make_organization("Mauriac")), **CANTEEN)
    submit_proposal(consultation, **CYBER)
    client.sign_in_as(agent.user)
    new_url = f"/consultations/{consultation.slug}/propositions/nouvelle"
    assert "Déposer une contribution" in text_of(client.get(new_url))

    response = client.post_form(new_url, need_form(consultation, agent.organization))
    draft = db.session.scalar(sa.select(Proposal).filter_by(title="Réservation des repas de la cantine"))
    assert response.status_code == 302 and response.location.endswith(f"/propositions/{draft.id}")
    assert (draft.state, draft.organization, draft.author) == (ProposalState.DRAFT, agent.organization, agent.user)
    assert (draft.themes, draft.tags, draft.workaround) == (consultation.themes[:1], ["rural"],
                                                            "Un tableau papier affiché à l'école.")
    assert "<strong>réserver</strong>" in draft.body_html and len(draft.versions) == 1

    preview = text_of(client.get(response.location))
    assert "Brouillon enregistré. Relisez-le, vérifiez les propositions proches, puis publiez-le." in preview
    assert "Aperçu avant publication" in preview
    assert "Ce brouillon n'est visible que des membres de Saint-Flour." in preview
    # The requests embedded nothing: the draft's vector waits for the worker, and the page says so.
    assert db.session.get(ProposalVector, draft.id) is None
    assert {"proposal_id": draft.id} in db.session.scalars(sa.select(Job.payload).where(Job.done_at.is_(None)))
    assert PREVIEW_PENDING in preview and "Des propositions proches existent déjà" not in preview

    run_jobs()
    preview = text_of(client.get(f"/propositions/{draft.id}"))
    assert PREVIEW_PENDING not in preview and "Des propositions proches existent déjà" in preview
    similar_block = preview.split("Des propositions proches existent déjà")[1].split("</ul>")[0]
    assert canteen.title in similar_block and "Mauriac" in similar_block
    assert CYBER["title"] not in similar_block

    published = text_of(client.post_form(f"/propositions/{draft.id}/publier", follow_redirects=True))
    assert "Proposition publiée : elle est désormais visible de tous." in published
    assert "Aperçu avant publication" not in published
    db.session.refresh(draft)
    assert draft.state == ProposalState.PUBLISHED and draft.published_at is not None
    assert db.session.get(ProposalVector, draft.id) is not None
    client.post_form("/compte/deconnexion")
    assert draft.id in ids_shown(client.get(index_url(consultation)))


def test_a_service_is_submitted_with_its_own_fields(client, consultation, agent):
    client.sign_in_as(agent.user)
    response = client.post_form(f"/consultations/{consultation.slug}/propositions/nouvelle",
                                service_form(consultation, agent.organization), follow_redirects=True)
    service = only_proposal()
    assert (service.kind, service.maturity, service.carrier, service.licence, service.deployments,
            service.requested_budget_cents, service.problem) == (
        "service", "production", "association", "EUPL-1.2", 12, 150_050, None)
    page = text_of(response)
    assert "En production" in page and "Association" in page and "EUPL-1.2" in page
    assert re.search(r"Budget demandé</dt><dd>1\s500,5 €", page)
    assert 'href="https://code.example.org/portail-famille"' in page
    edit_page = text_of(client.get(f"/propositions/{service.id}/modifier"))
    assert 'value="1 500,50"' in edit_page and 'value="EUPL-1.2"' in edit_page


@pytest.mark.parametrize("who, message", [
    ("user", "Seuls les membres vérifiés d'une organisation vérifiée déposent des propositions en son nom."),
    ("pending", "Seuls les membres vérifiés d'une organisation vérifiée déposent des propositions en son nom."),
    ("unverified_organization",
     "Seuls les membres vérifiés d'une organisation vérifiée déposent des propositions en son nom."),
])
def test_only_verified_members_reach_the_submission_form(client, consultation, who, message):
    user = {"user": lambda: make_user(),
            "pending": lambda: make_member(status=MembershipStatus.PENDING).user,
            "unverified_organization": lambda: make_member(organization=make_organization(is_verified=False)).user,
            }[who]()
    client.sign_in_as(user)
    url = f"/consultations/{consultation.slug}/propositions/nouvelle"
    page = text_of(client.get(url, follow_redirects=True))
    assert message in page and "Déposer une contribution" not in page
    organization_id = user.memberships[0].organization_id if user.memberships else make_organization().id
    posted = text_of(client.post_form(url, need_form(consultation, organization_id=str(organization_id)),
                                      follow_redirects=True))
    assert message in posted
    assert count(Proposal) == 0


def test_submission_is_closed_after_the_collect_phase(client, agent):
    consultation = make_consultation(PhaseKind.SUPPORT)
    client.sign_in_as(agent.user)
    page = text_of(client.post_form(f"/consultations/{consultation.slug}/propositions/nouvelle",
                                    need_form(consultation, agent.organization), follow_redirects=True))
    assert "Le dépôt des contributions est terminé." in page
    assert count(Proposal) == 0


def test_an_agent_cannot_submit_for_an_organization_they_do_not_belong_to(client, consultation, agent):
    client.sign_in_as(agent.user)
    page = text_of(client.post_form(f"/consultations/{consultation.slug}/propositions/nouvelle",
                                    need_form(consultation, make_organization("Aurillac"))))
    assert "Le formulaire contient 1 erreur" in page and "Au nom de" in page
    assert count(Proposal) == 0


def other_consultation_theme(consultation) -> dict:
    return {"theme_ids": [str(make_consultation(PhaseKind.COLLECT).themes[0].id)]}


@pytest.mark.parametrize("form, changes, message", [
    (need_form, {"title": ""}, "Donnez un titre."),
    (need_form, {"title": "Cantine"}, "Le titre doit compter entre 10 et 150 caractères."),
    (need_form, {"title": "x" * 151}, "Le titre doit compter entre 10 et 150 caractères."),
    (need_form, {"title": "          "}, "Le titre doit compter entre 10 et 150 caractères."),
    (need_form, {"summary": "s" * 501}, "500 caractères au plus."),
    (need_form, {"body": ""}, "Décrivez la contribution."),
    (need_form, {"theme_ids": []}, "Choisissez au moins un thème."),
    (need_form, other_consultation_theme, "n'est pas un choix valide pour ce champ"),
    (need_form, {"theme_ids": ["abc"]}, "Choix incorrect, une ou plusieurs saisies ne peuvent pas être"),
    (need_form, {"territory_tags": ["banlieue"]}, "n'est pas un choix valide pour ce champ"),
    (need_form, {"kind": "idee"}, "N'est pas un choix valide"),
    (need_form, {"kind": ""}, "Choisissez : besoin ou service."),
    (need_form, {"problem": ""}, "Décrivez le problème rencontré."),
    *[(service_form, {"requested_budget": amount}, "Indiquez un montant en euros positif ou nul")
      for amount in ("-5", "beaucoup", "sNaN", "NaN", "Infinity", "1e400", "12,345")],
    (service_form, {"requested_budget": "10 000 000 001"}, "Le montant ne peut pas dépasser 10 000 000 000 €."),
    (service_form, {"deployments": "-1"}, "Nombre entier positif ou nul."),
    (service_form, {"deployments": "douze"}, "N'est pas un entier valide"),
    (service_form, {"maturity": ""}, "Indiquez la maturité du service."),
    (service_form, {"maturity": "ancien"}, "N'est pas un choix valide"),
    (service_form, {"carrier": ""}, "Indiquez qui porte le service."),
    (service_form, {"repository_url": "javascript:alert(1)"},
     "L'adresse du dépôt de code doit commencer par https:// ou http://."),
])
def test_bad_input_is_explained_in_french_and_saves_nothing(client, consultation, agent, form, changes, message):
    client.sign_in_as(agent.user)
    data = form(consultation, agent.organization, **(changes(consultation) if callable(changes) else changes))
    response = client.post_form(f"/consultations/{consultation.slug}/propositions/nouvelle", data)
    assert response.status_code == 200
    page = text_of(response)
    assert message in page
    assert "Le formulaire contient 1 erreur" in page or 'aria-invalid="true"' in page
    assert count(Proposal) == 0


def test_a_rejected_edit_changes_nothing(client, consultation, agent):
    proposal = submit_proposal(consultation, agent, title="Titre d'origine bien choisi")
    client.sign_in_as(agent.user)
    page = text_of(client.post_form(f"/propositions/{proposal.id}/modifier",
                                    need_form(consultation, title="Court", problem="")))
    assert "Le titre doit compter entre 10 et 150 caractères." in page
    db.session.expire_all()
    assert proposal.title == "Titre d'origine bien choisi" and len(proposal.versions) == 1


# --- Who sees and does what -----------------------------------------------------------------------

def test_a_draft_is_seen_only_by_its_organization_and_the_admins(client, consultation, agent):
    draft = submit_proposal(consultation, agent, publish=False, title="Brouillon confidentiel")
    url = f"/propositions/{draft.id}"
    assert client.get(url).status_code == 404
    assert client.get(f"/api/v1/proposals/{draft.id}").get_json()["error"]["status"] == 404
    assert "Brouillon confidentiel" not in text_of(client.get(index_url(consultation)))
    outsider = make_member().user
    client.sign_in_as(outsider)
    assert client.get(url).status_code == 404
    assert client.post_form(f"{url}/publier").status_code == 404
    assert client.get(f"{url}/modifier").status_code == 404
    assert "Brouillon confidentiel" not in text_of(client.get(index_url(consultation)))
    assert db.session.get(Proposal, draft.id).state == ProposalState.DRAFT

    colleague = make_member(organization=agent.organization, role="elected").user
    client.sign_in_as(colleague)
    assert "Aperçu avant publication" in text_of(client.get(url))
    index = text_of(client.get(index_url(consultation)))
    assert "Brouillons de vos organisations" in index and "Brouillon confidentiel" in index
    assert draft.id not in ids_shown(client.get(index_url(consultation)))
    client.sign_in_as(make_user(is_admin=True))
    assert client.get(url).status_code == 200


def test_another_organization_is_told_why_it_cannot_edit_or_withdraw(client, consultation, agent):
    proposal = submit_proposal(consultation, agent, title="Proposition de Saint-Flour")
    client.sign_in_as(make_member().user)
    edit = text_of(client.post_form(f"/propositions/{proposal.id}/modifier",
                                    need_form(consultation, title="Réécrite par une autre commune"),
                                    follow_redirects=True))
    assert "Seuls les membres de l'organisation qui l'a déposée modifient une proposition." in edit
    withdraw = text_of(client.post_form(f"/propositions/{proposal.id}/retirer", {"reason": "Je n'en veux pas."},
                                        follow_redirects=True))
    assert "Seuls les membres de l'organisation qui l'a déposée retirent une proposition." in withdraw
    db.session.expire_all()
    assert (proposal.title, proposal.state, len(proposal.versions)) == (
        "Proposition de Saint-Flour", ProposalState.PUBLISHED, 1)


def test_a_colleague_edits_and_the_page_shows_every_version(client, consultation, agent):
    proposal = submit_proposal(consultation, agent, title="Cantine : inscription en ligne")
    mayor = make_member(make_user(name="Paul Durand"), agent.organization, role="elected").user
    client.sign_in_as(mayor)
    response = client.post_form(f"/propositions/{proposal.id}/modifier", need_form(
        consultation, title="Cantine : inscription et paiement en ligne", summary=proposal.summary,
        body=proposal.body, problem=proposal.problem, affected="", workaround="", territory_tags=[]),
        follow_redirects=True)
    page = text_of(response)
    assert "Modifications enregistrées." in page and "Cantine : inscription et paiement en ligne" in page
    assert re.search(r"Version 2, le \d+(er)? \w+ \d{4} à \d\dh\d\d, par Paul Durand", page)
    assert "Modifié : titre</span>" in page
    assert re.search(r"Version 1, le \d+(er)? \w+ \d{4} à \d\dh\d\d, par Jeanne Martin", page)
    versions = db.session.scalars(sa.select(ProposalVersion).filter_by(proposal_id=proposal.id)
                                  .order_by(ProposalVersion.number)).all()
    assert [(v.number, v.author_id) for v in versions] == [(1, agent.user_id), (2, mayor.id)]
    assert "title" in versions[1].changed_fields and "kind" not in versions[1].changed_fields


def test_after_the_collect_phase_the_page_offers_withdrawal_but_no_more_editing(client, agent):
    consultation = make_consultation(PhaseKind.SUPPORT)
    collect = consultation.phase(PhaseKind.COLLECT)
    proposal = submit_proposal(consultation, agent, title="Déposée pendant la collecte",
                               now=collect.starts_at + (collect.ends_at - collect.starts_at) / 2)
    client.sign_in_as(agent.user)
    page = text_of(client.get(f"/propositions/{proposal.id}"))
    assert "Retirer la proposition" in page and f'href="/propositions/{proposal.id}/modifier"' not in page
    refused = text_of(client.post_form(f"/propositions/{proposal.id}/modifier",
                                       need_form(consultation, title="Modifiée après la collecte"),
                                       follow_redirects=True))
    assert "Les propositions ne sont plus modifiables après la phase de dépôt." in refused
    db.session.expire_all()
    assert proposal.title == "Déposée pendant la collecte" and len(proposal.versions) == 1


def test_withdrawing_asks_for_a_reason_and_shows_it(client, consultation, agent):
    proposal = submit_proposal(consultation, agent, title="Proposition bientôt retirée")
    client.sign_in_as(agent.user)
    url = f"/propositions/{proposal.id}/retirer"
    assert "Pourquoi retirer cette proposition ?" in text_of(client.get(url))
    empty = text_of(client.post_form(url, {"reason": ""}))
    assert "Expliquez pourquoi la proposition est retirée." in empty
    assert db.session.get(Proposal, proposal.id).state == ProposalState.PUBLISHED
    page = text_of(client.post_form(url, {"reason": "Le département finance déjà ce projet."},
                                    follow_redirects=True))
    assert "Proposition retirée." in page and "Proposition retirée le" in page
    assert "Le département finance déjà ce projet." in page
    assert db.session.get(Proposal, proposal.id).state == ProposalState.WITHDRAWN
    assert proposal.id not in ids_shown(client.get(index_url(consultation)))


def test_another_organization_cosponsors_and_is_listed(client, consultation, agent):
    proposal = submit_proposal(consultation, agent)
    partner = make_member(organization=make_organization("Murat"), role="elected")
    client.sign_in_as(partner.user)
    page = text_of(client.get(f"/propositions/{proposal.id}"))
    assert "Aucun coporteur." in page and "Coporter" in page
    done = text_of(client.post_form(f"/propositions/{proposal.id}/coporter",
                                    {"organization_id": str(partner.organization_id)}, follow_redirects=True))
    assert "Votre organisation coporte désormais cette proposition." in done
    assert re.search(r"Coporteurs</h2>\s*<ul><li>Murat</li></ul>", done)
    again = text_of(client.post_form(f"/propositions/{proposal.id}/coporter",
                                     {"organization_id": str(partner.organization_id)}, follow_redirects=True))
    assert "Votre organisation coporte déjà cette proposition." in again
    client.sign_in_as(agent.user)
    own = text_of(client.post_form(f"/propositions/{proposal.id}/coporter",
                                   {"organization_id": str(agent.organization_id)}, follow_redirects=True))
    assert "Votre organisation a déposé cette proposition." in own
    assert count(ProposalCosponsor) == 1


def test_a_service_is_linked_to_a_need_and_both_pages_show_it(client, consultation, agent):
    need = submit_proposal(consultation, make_member(organization=make_organization("Mauriac")), **CANTEEN)
    service = submit_proposal(consultation, agent, kind="service", title="Portail famille : cantine et périscolaire",
                              summary="Inscriptions et paiement de la cantine en ligne.",
                              body="Un portail libre pour inscrire les enfants à la cantine et payer les repas.")
    draft_need = submit_proposal(consultation, publish=False, title="Un besoin encore en brouillon")
    client.sign_in_as(agent.user)
    page = text_of(client.get(f"/propositions/{service.id}"))
    assert NEEDS_PENDING in page and f'<option value="{need.id}">' not in page
    run_jobs()
    page = text_of(client.get(f"/propositions/{service.id}"))
    assert "Besoin auquel ce service répond" in page and f'<option value="{need.id}">{need.title}</option>' in page
    assert NEEDS_PENDING not in page
    refused = text_of(client.post_form(f"/propositions/{service.id}/relier", {"need_id": str(draft_need.id)},
                                       follow_redirects=True))
    assert "Choisissez un besoin publié de la consultation." in refused
    done = text_of(client.post_form(f"/propositions/{service.id}/relier", {"need_id": str(need.id)},
                                    follow_redirects=True))
    assert f"Le service est relié au besoin « {need.title} »." in done
    assert count(NeedServiceLink) == 1
    client.post_form("/compte/deconnexion")
    need_page = text_of(client.get(f"/propositions/{need.id}"))
    assert re.search(rf"Services reliés</h2>\s*<ul><li><a href=\"/propositions/{service.id}\">{service.title}</a>"
                     r" — Saint-Flour</li>", need_page)
    service_page = text_of(client.get(f"/propositions/{service.id}"))
    assert re.search(rf"Besoins auxquels ce service répond</h2>\s*<ul><li><a href=\"/propositions/{need.id}\">",
                     service_page)


def test_the_page_shows_every_field_of_a_proposal(client, consultation, agent):
    proposal = submit_proposal(consultation, agent, title="Réservation des repas de la cantine",
                               summary="Réserver les repas la veille.", body="Avec **confirmation** par SMS.",
                               problem="Trop de repas jetés.", affected="Les familles.", workaround="Un cahier.",
                               theme_ids=[theme.id for theme in consultation.themes], territory_tags=["rural",
                                                                                                        "montagne"])
    proposal.support_count = 7
    partner = make_member(organization=make_organization("Murat"))
    services.cosponsor_proposal(proposal, partner.organization, by=partner.user)
    db.session.commit()
    page = text_of(client.get(f"/propositions/{proposal.id}"))
    for shown in ("Besoin", "Réserver les repas la veille.", "Trop de repas jetés.", "Les familles.", "Un cahier.",
                  "<strong>confirmation</strong>", "Saint-Flour", "Commune, département 15", "Éligible ANSM",
                  "Démarches en ligne", "Inclusion numérique", "Rural", "Montagne", "7 soutiens", "Murat",
                  "Publiée le", "Version 1"):
        assert shown in page, shown
    assert "7 soutiens" in text_of(client.get(index_url(consultation)))
    consultation.votes_hidden = True
    db.session.commit()
    page = text_of(client.get(f"/propositions/{proposal.id}"))
    assert "7 soutiens" not in page
    assert "Les décomptes sont masqués jusqu'à la fin de la période de soutiens." in page
    assert "7 soutiens" not in text_of(client.get(index_url(consultation)))


def test_a_large_commune_is_not_shown_as_eligible_to_ansm(client, consultation):
    aurillac = make_member(organization=make_organization("Aurillac", population=25_000))
    proposal = submit_proposal(consultation, aurillac)
    assert "Éligible ANSM" not in text_of(client.get(f"/propositions/{proposal.id}"))


def test_scripts_in_the_body_are_shown_as_text_never_run(client, consultation, agent):
    proposal = submit_proposal(consultation, agent, body="Bonjour <script>alert(1)</script> "
                                                         "[clic](javascript:alert(2)) <img src=x onerror=alert(3)>")
    raw = client.get(f"/propositions/{proposal.id}").get_data(as_text=True)
    body = raw.split('<div class="agora-body">')[1].split("</div>")[0]
    assert "<script" not in body and "<img" not in body and "href" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body


# --- Comments, reports, moderation ----------------------------------------------------------------

def test_members_comment_reply_and_edit_their_own_comment(client, consultation, agent):
    proposal = submit_proposal(consultation, agent)
    neighbour = make_member(make_user(name="Luc Bernard"), make_organization("Murat"))
    client.sign_in_as(neighbour.user)
    page = text_of(client.post_form(f"/propositions/{proposal.id}/commentaires",
                                    {"body": "Nous avons le même besoin <b>urgent</b>.",
                                     "organization_id": str(neighbour.organization_id)}, follow_redirects=True))
    assert "Commentaire publié." in page and "1 commentaire" in page
    assert "Luc Bernard</strong>, Murat" in page and "Nous avons le même besoin <b>urgent</b>." in page
    comment = db.session.scalars(sa.select(Comment)).one()
    assert "<b>urgent</b>" not in client.get(f"/propositions/{proposal.id}").get_data(as_text=True)
    empty = text_of(client.post_form(f"/propositions/{proposal.id}/commentaires", {
        "body": "  ", "organization_id": str(neighbour.organization_id)}, follow_redirects=True))
    assert "Le commentaire est vide." in empty  # a form's (lazily translated) error, flashed

    client.sign_in_as(agent.user)
    client.post_form(f"/propositions/{proposal.id}/commentaires", {
        "body": "Merci, écrivons-nous.", "organization_id": str(agent.organization_id), "parent_id": str(comment.id)})
    reply = db.session.scalar(sa.select(Comment).filter_by(parent_id=comment.id))
    assert reply.body == "Merci, écrivons-nous."
    page = text_of(client.post_form(f"/propositions/{proposal.id}/commentaires", {
        "body": "Réponse à la réponse.", "organization_id": str(agent.organization_id), "parent_id": str(reply.id)},
        follow_redirects=True))
    assert "On ne peut répondre qu'à un commentaire visible de cette proposition." in page
    assert client.get(f"/commentaires/{comment.id}/modifier").status_code == 403

    client.sign_in_as(neighbour.user)
    page = text_of(client.post_form(f"/commentaires/{comment.id}/modifier", {"body": "Même besoin, précisé."},
                                    follow_redirects=True))
    assert "Commentaire modifié." in page and "Même besoin, précisé." in page and "(modifié)" in page
    assert db.session.get(Proposal, proposal.id).comment_count == 2 and count(Comment) == 2


def test_people_without_a_verified_organization_cannot_comment(client, consultation, agent):
    proposal = submit_proposal(consultation, agent)
    client.sign_in_as(make_user())
    page = text_of(client.get(f"/propositions/{proposal.id}"))
    assert "Seuls les membres vérifiés d'une organisation vérifiée peuvent commenter." in page
    forged = text_of(client.post_form(f"/propositions/{proposal.id}/commentaires", {"body": "Bonjour."},
                                      follow_redirects=True))
    assert re.search(r'role="alert">\s*<p>', forged) and "Bonjour." not in forged
    assert count(Comment) == 0


def test_three_reports_hide_a_proposal_from_every_public_view(client, consultation, agent):
    proposal = submit_proposal(consultation, agent, title="Achetez notre logiciel miracle")
    for _ in range(3):
        client.sign_in_as(make_member().user)
        page = text_of(client.post_form(f"/signaler/proposal/{proposal.id}", {"reason": "spam"},
                                        follow_redirects=True))
        assert "Merci : votre signalement a été transmis à l'équipe de modération." in page
    # The third reporter lands on the page that says why the contribution is gone, not on a 404.
    assert "Contribution en cours de modération" in page and "Achetez notre logiciel miracle" not in page
    assert count(Report) == 3 and db.session.get(Proposal, proposal.id).is_hidden
    assert client.get(f"/signaler/proposal/{proposal.id}").status_code == 404

    client.post_form("/compte/deconnexion")
    followed = client.get(f"/propositions/{proposal.id}")  # a visitor following a link to it
    assert "Cette contribution a été signalée par plusieurs membres" in text_of(followed)
    assert "Achetez notre logiciel miracle" not in text_of(followed)
    assert proposal.id not in ids_shown(client.get(index_url(consultation, "q=logiciel")))
    assert proposal.id not in ids_shown(client.get(index_url(consultation)))
    api = client.get(f"/api/v1/consultations/{consultation.slug}/proposals?q=logiciel").get_json()
    assert api["total"] == 0 and api["items"] == []
    response = client.get(f"/api/v1/proposals/{proposal.id}")
    assert response.status_code == 404 and response.get_json()["error"]["status"] == 404

    client.sign_in_as(agent.user)
    assert "masquée en attente de modération" in text_of(client.get(f"/propositions/{proposal.id}"))


def test_the_same_member_cannot_report_twice(client, consultation, agent):
    proposal = submit_proposal(consultation, agent)
    client.sign_in_as(make_member().user)
    client.post_form(f"/signaler/proposal/{proposal.id}", {"reason": "spam"})
    page = text_of(client.post_form(f"/signaler/proposal/{proposal.id}", {"reason": "offensive"},
                                    follow_redirects=True))
    assert "Vous avez déjà signalé ce contenu." in page
    unknown = text_of(client.post_form(f"/signaler/proposal/{proposal.id}", {"reason": "ennuyeux"}))
    assert "N'est pas un choix valide" in unknown
    assert count(Report) == 1


def test_a_hidden_comment_disappears_from_the_page(client, consultation, agent):
    proposal = submit_proposal(consultation, agent)
    comment = make_comment(proposal, body="Un commentaire injurieux.")
    for _ in range(3):
        moderation.report(comment, "offensive", by=make_member().user)
    db.session.commit()
    page = text_of(client.get(f"/propositions/{proposal.id}"))
    assert "Un commentaire injurieux." not in page and "Aucun commentaire pour l'instant." in page


def test_admins_review_the_moderation_queue_restore_hide_and_block(client, consultation, agent):
    proposal = submit_proposal(consultation, agent, title="Proposition signalée à tort")
    for _ in range(3):
        moderation.report(proposal, "off_topic", by=make_member().user)
    db.session.commit()
    admin = make_user(is_admin=True)
    client.sign_in_as(admin)
    queue = text_of(client.get("/admin/moderation"))
    assert "Proposition : Proposition signalée à tort" in queue and "3 signalements en cours" in queue
    assert "Hors sujet" in queue and "Masqué" in queue

    restored = text_of(client.post_form(f"/admin/moderation/proposal/{proposal.id}/restore", follow_redirects=True))
    assert "Contenu rétabli." in restored
    assert client.get(f"/propositions/{proposal.id}").status_code == 200
    hidden = text_of(client.post_form(f"/admin/moderation/proposal/{proposal.id}/hide", follow_redirects=True))
    assert "Contenu masqué." in hidden and db.session.get(Proposal, proposal.id).is_hidden

    blocked = text_of(client.post_form(f"/admin/comptes/{agent.user_id}/suspendre", follow_redirects=True))
    assert "Le compte de Jeanne Martin est suspendu." in blocked
    assert db.session.get(User, agent.user_id).blocked_at is not None
    client.sign_in_as(agent.user)
    assert "/compte/connexion" in client.get("/compte/").location


# --- Index: filters in the URL, seed, errors ------------------------------------------------------

def test_filters_stay_in_the_url_and_in_the_pagination_links(client, consultation):
    online = consultation.themes[0]
    for number in range(23):
        make_proposal(consultation, title=f"Besoin de la cantine numéro {number}", themes=[online])
    make_proposal(consultation, kind="service", title="Service de la cantine", themes=[online])
    response = client.get(index_url(consultation, f"q=cantine&kind=need&theme={online.id}&sort=newest"))
    page = text_of(response)
    assert "23 contributions" in page and len(ids_shown(response)) == 20
    assert '<option selected value="need">' in page and f'<option selected value="{online.id}">' in page
    assert '<option selected value="newest">' in page and 'value="cantine"' in page
    next_link = re.search(r'fr-pagination__link--next[^"]*" href="([^"]+)"', page).group(1)
    assert all(part in next_link for part in ("q=cantine", "kind=need", f"theme={online.id}", "sort=newest",
                                              "page=2"))
    second = client.get(next_link)
    assert len(ids_shown(second)) == 3 and "23 contributions" in text_of(second)
    assert set(ids_shown(second)).isdisjoint(ids_shown(response))
    assert "Effacer les filtres" in page


def test_the_random_order_travels_in_the_links_and_changes_for_new_visitors_each_minute(client, consultation,
                                                                                        monkeypatch):
    proposals = [make_proposal(consultation, title=f"Proposition aléatoire {number}") for number in range(25)]
    moment = clock.now().replace(second=30)
    monkeypatch.setattr(clock, "now", lambda: moment)
    first = client.get(index_url(consultation))
    seed = search.shuffle_of_the_moment()
    page = text_of(first)
    assert f'name="seed" type="hidden" value="{seed}"' in page  # the filters keep the order
    next_link = re.search(r'fr-pagination__link--next[^"]*" href="([^"]+)"', page).group(1)
    assert f"seed={seed}" in next_link and "Set-Cookie" not in first.headers  # nothing kept in a session
    monkeypatch.setattr(clock, "now", lambda: moment + timedelta(minutes=7))
    second_page = ids_shown(client.get(next_link))  # minutes later, the visitor's order has not moved
    assert sorted(ids_shown(first) + second_page) == sorted(p.id for p in proposals)
    assert ids_shown(client.get(index_url(consultation, f"seed={seed}&sort=random"))) == ids_shown(first)
    assert ids_shown(client.get(index_url(consultation))) != ids_shown(first)  # a new visitor, a new order


@pytest.mark.parametrize("query, messages", [
    ("page=abc&theme=zzz&sort=nope&departement=999",
     ["Le formulaire contient 4 erreurs", "N'est pas un entier valide", "N'est pas un choix valide",
      "Code de département inconnu, par exemple 15 ou 2A."]),
    ("page=0", ["Le numéro de page doit être un entier positif."]),
    ("page=-1", ["Le numéro de page doit être un entier positif."]),
    ("page=99999999999999999999", ["Le numéro de page doit être un entier positif."]),
    ("kind=idee", ["N'est pas un choix valide"]),
    ("territory=banlieue", ["N'est pas un choix valide"]),
    ("organization_kind=planete", ["N'est pas un choix valide"]),
    ("answer_state=peut-etre", ["N'est pas un choix valide"]),
    ("q=" + "x" * 201, ["Le formulaire contient 1 erreur"]),
    ("theme=1.5", ["N'est pas un choix valide"]),
])
def test_malformed_index_parameters_are_explained_never_a_server_error(client, consultation, query, messages):
    make_proposal(consultation, title="Une proposition toujours listée")
    response = client.get(index_url(consultation, query))
    assert response.status_code == 200
    page = text_of(response)
    for message in messages:
        assert message in page
    assert "1 contribution" in page and "Une proposition toujours listée" in page


def test_a_theme_of_another_consultation_is_not_a_valid_filter(client, consultation):
    other_theme = make_consultation().themes[0]
    page = text_of(client.get(index_url(consultation, f"theme={other_theme.id}")))
    assert "N'est pas un choix valide" in page


def test_a_page_after_the_last_one_says_nothing_matches(client, consultation):
    make_proposal(consultation)
    page = text_of(client.get(index_url(consultation, "page=7")))
    assert "Aucune contribution ne correspond à ces critères." in page


def test_search_with_odd_characters_is_never_a_server_error(client, consultation):
    make_proposal(consultation, title="Inscription à la cantine scolaire")
    for query in ('q="cantines', "q=cantine*%20OR%20", "q=%27%3B%20DROP%20TABLE%20proposals%3B%20--", "q=(((",
                  "q=%F0%9F%8D%BD%EF%B8%8F"):
        assert client.get(index_url(consultation, query)).status_code == 200
        assert client.get(f"/api/v1/consultations/{consultation.slug}/proposals?{query}").status_code == 200
    assert "1 contribution" in text_of(client.get(index_url(consultation, "q=cantines")))
    # A NUL character, which PostgreSQL cannot store, is refused with an explanation.
    page = client.get(index_url(consultation, "q=can%00tine"))
    assert page.status_code == 400 and "La demande envoyée n'est pas valide" in text_of(page)
    api = client.get(f"/api/v1/consultations/{consultation.slug}/proposals?q=can%00tine")
    assert api.status_code == 400 and api.get_json()["error"]["status"] == 400


def test_nul_characters_typed_in_a_form_are_refused_and_nothing_is_saved(client, consultation, agent):
    # PostgreSQL refuses NUL in text: such input is turned away before it reaches the database.
    client.sign_in_as(agent.user)
    response = client.post_form(f"/consultations/{consultation.slug}/propositions/nouvelle",
                                need_form(consultation, agent.organization, title="Cantine\x00 scolaire en ligne",
                                          body="Une\x00 description."))
    assert response.status_code == 400 and "La demande envoyée n'est pas valide" in text_of(response)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Proposal)) == 0


def test_unknown_consultation_or_proposal_is_a_404(client):
    assert client.get("/consultations/inconnue/propositions").status_code == 404
    assert client.get("/propositions/999999").status_code == 404


# --- Query counts ---------------------------------------------------------------------------------

def statements_for(client, url: str) -> int:
    db.session.expunge_all()  # each request starts with an empty session, as in production
    with counted_statements() as statements:
        response = client.get(url)
    assert response.status_code == 200
    return len(statements)


def many_proposals(consultation, number: int) -> None:
    """`number` proposals, each from an organization of its own, with themes, tags and a comment."""
    for _ in range(number):
        proposal = make_proposal(consultation, make_organization(), themes=list(consultation.themes))
        proposal.territory_tags = [ProposalTerritoryTag(tag="rural"), ProposalTerritoryTag(tag="montagne")]
        make_comment(proposal)


VIEWERS = [(PhaseKind.COLLECT, "visitor"), (PhaseKind.COLLECT, "agent"), (PhaseKind.SUPPORT, "elected")]


def collecting(consultation):
    """A moment of the consultation's collect phase, to build what its pages show in later phases."""
    collect = consultation.phase(PhaseKind.COLLECT)
    return collect.starts_at + (collect.ends_at - collect.starts_at) / 2


@pytest.mark.parametrize("phase, viewer", VIEWERS)
def test_the_index_costs_the_same_number_of_queries_for_5_or_20_proposals(client, phase, viewer):
    few, many = make_consultation(phase, vote_limit=10), make_consultation(phase, vote_limit=10)
    many_proposals(few, 5)
    many_proposals(many, 30)
    if viewer != "visitor":
        member = make_member(role=viewer)  # an agent sees their drafts; an elected official, support buttons
        for consultation in (few, many):
            submit_proposal(consultation, member, publish=False, now=collecting(consultation))
        client.sign_in_as(member.user)
    client.get("/")  # the session's seed and CSRF token exist before counting
    page = client.get(index_url(many))
    assert len(ids_shown(page)) == 20
    assert ("Soutenir" in text_of(page)) == (viewer == "elected")
    assert statements_for(client, index_url(few)) == statements_for(client, index_url(many))


def test_the_api_list_costs_the_same_number_of_queries_for_5_or_30_proposals(client):
    few, many = make_consultation(PhaseKind.COLLECT), make_consultation(PhaseKind.COLLECT)
    many_proposals(few, 5)
    many_proposals(many, 30)
    url = "/api/v1/consultations/{}/proposals?per_page=30"
    assert len(client.get(url.format(many.slug)).get_json()["items"]) == 30
    assert statements_for(client, url.format(few.slug)) == statements_for(client, url.format(many.slug))


def rich_proposal(consultation, size: int) -> Proposal:
    """A published service with `size` comments, co-sponsors, themes, versions and linked needs, each
    from people and organizations of their own, written during the collect phase."""
    consultation.themes = [Theme(name=f"Thème {number}", position=number) for number in range(size)]
    db.session.commit()
    now = collecting(consultation)
    author = make_member()
    all_themes = [theme.id for theme in consultation.themes]
    proposal = submit_proposal(consultation, author, kind="service", theme_ids=all_themes, now=now)
    for number in range(1, size):
        colleague = make_member(organization=author.organization)
        edited = proposal_input(consultation, kind="service", title=f"Titre numéro {number}", theme_ids=all_themes)
        services.update_proposal(proposal, edited, by=colleague.user, now=now)
    for _ in range(size):
        partner = make_member()
        services.cosponsor_proposal(proposal, partner.organization, by=partner.user, now=now)
        commenter = make_member()
        moderation.add_comment(proposal, "Un avis.", by=commenter.user, organization=commenter.organization,
                               now=now)
        services.link_service_to_need(proposal, make_proposal(consultation), by=author.user)
    db.session.commit()
    assert (len(proposal.versions), len(proposal.cosponsors), len(proposal.themes)) == (size, size, size)
    return proposal


@pytest.mark.parametrize("phase, viewer", [*VIEWERS, (PhaseKind.COLLECT, "author")])
def test_the_proposal_page_costs_the_same_number_of_queries_for_1_or_20_of_everything(client, phase, viewer):
    small = rich_proposal(make_consultation(phase), 1)
    large = rich_proposal(make_consultation(phase), 20)
    if viewer == "author":
        # a colleague of both authors sees the edit, withdraw and link forms on both pages
        user = make_user()
        make_member(user, small.organization)
        make_member(user, large.organization)
        client.sign_in_as(user)
    elif viewer != "visitor":
        client.sign_in_as(make_member(role=viewer).user)
    client.get("/")
    page = text_of(client.get(f"/propositions/{large.id}"))
    assert "20 commentaires" in page and "Version 20" in page and "Thème 19" in page
    assert ("Soutenir" in page) == (viewer == "elected")
    assert statements_for(client, f"/propositions/{small.id}") == statements_for(client, f"/propositions/{large.id}")


def test_the_draft_preview_costs_the_same_number_of_queries_for_1_or_5_similar_proposals(client, agent):
    drafts = []
    for similar in (1, 5):
        consultation = make_consultation(PhaseKind.COLLECT)
        for _ in range(similar):
            submit_proposal(consultation, **CANTEEN)  # each from an organization of its own
        drafts.append(submit_proposal(consultation, agent, publish=False, title="Réservation des repas de la cantine",
                                      body="Réserver les repas de la cantine scolaire en ligne."))
    run_jobs()
    client.sign_in_as(agent.user)
    client.get("/")
    page = text_of(client.get(f"/propositions/{drafts[1].id}"))
    assert page.count(CANTEEN["title"]) == 5
    assert statements_for(client, f"/propositions/{drafts[0].id}") == statements_for(client,
                                                                                    f"/propositions/{drafts[1].id}")


# --- JSON API -------------------------------------------------------------------------------------

def test_api_lists_consultations_and_details_one_with_phases_and_support_settings(client):
    consultation = make_consultation(PhaseKind.COLLECT, vote_limit=5, votes_hidden=True)
    listing = client.get("/api/v1/consultations").get_json()
    assert listing["total"] == 1 and listing["items"][0]["slug"] == consultation.slug
    assert set(listing["items"][0]) == {"slug", "title", "url"}
    detail = client.get(f"/api/v1/consultations/{consultation.slug}").get_json()
    assert [phase["kind"] for phase in detail["phases"]] == ["collect", "support", "deliberation", "selection",
                                                             "results"]
    collect = consultation.phase(PhaseKind.COLLECT)
    assert detail["phases"][0] == {"kind": "collect", "starts_at": collect.starts_at.isoformat(),
                                   "ends_at": collect.ends_at.isoformat()}
    assert detail["support_settings"]["vote_limit"] == 5 and detail["support_settings"]["votes_hidden"] is True
    assert [theme["name"] for theme in detail["themes"]] == ["Démarches en ligne", "Inclusion numérique"]
    missing = client.get("/api/v1/consultations/inconnue")
    assert missing.status_code == 404 and missing.get_json()["error"]["status"] == 404


def test_api_proposals_filter_sort_and_paginate_with_a_total(client, consultation):
    online, inclusion = consultation.themes
    cantal = make_organization("Cantal", kind="departement", departement_code="15")
    for number in range(5):
        make_proposal(consultation, title=f"Besoin {number} sur la cantine", themes=[online], support_count=number)
    make_proposal(consultation, cantal, kind="service", title="Service de réservation", themes=[inclusion])
    make_proposal(consultation, title="Un brouillon sur la cantine", state="draft")
    make_proposal(consultation, title="Une cantine retirée", state="withdrawn")
    url = f"/api/v1/consultations/{consultation.slug}/proposals"

    body = client.get(f"{url}?per_page=2&page=2&sort=most_supported").get_json()
    assert (body["total"], body["pages"], body["page"], body["per_page"]) == (6, 3, 2, 2)
    assert [item["title"] for item in body["items"]] == ["Besoin 2 sur la cantine", "Besoin 1 sur la cantine"]
    assert {item["title"] for item in client.get(f"{url}?q=cantines").get_json()["items"]} == {
        f"Besoin {number} sur la cantine" for number in range(5)}
    services_only = client.get(f"{url}?kind=service&departement=15&organization_kind=departement"
                               f"&theme={inclusion.id}").get_json()
    assert [item["title"] for item in services_only["items"]] == ["Service de réservation"]
    first = client.get(f"{url}?seed=2024").get_json()["items"]
    assert client.get(f"{url}?seed=2024").get_json()["items"] == first and len(first) == 6


def test_api_proposal_shape(client, consultation, agent):
    need = submit_proposal(consultation, agent, title="Réservation des repas de la cantine", territory_tags=["rural"])
    need.support_count = 4
    db.session.commit()
    body = client.get(f"/api/v1/proposals/{need.id}").get_json()
    assert body["id"] == need.id and body["consultation"] == consultation.slug and body["kind"] == "need"
    assert body["organization"] == {"id": agent.organization_id, "name": "Saint-Flour", "kind": "commune",
                                    "departement": "15", "is_ansm_eligible": True}
    assert body["themes"] == ["Démarches en ligne"] and body["territory_tags"] == ["rural"]
    assert body["support_count"] == 4 and body["problem"] == "Un problème concret."
    assert body["url"].endswith(f"/propositions/{need.id}") and "maturity" not in body
    service = submit_proposal(consultation, agent, kind="service", requested_budget_cents=120_000)
    assert client.get(f"/api/v1/proposals/{service.id}").get_json()["requested_budget_cents"] == 120_000
    consultation.votes_hidden = True
    db.session.commit()
    assert client.get(f"/api/v1/proposals/{need.id}").get_json()["support_count"] is None
    assert client.get("/api/v1/proposals/999999").status_code == 404


def test_api_hides_drafts_and_hidden_proposals(client, consultation):
    draft = make_proposal(consultation, state="draft")
    hidden = hidden_by_admin(make_proposal(consultation))
    visible = make_proposal(consultation)
    for proposal in (draft, hidden):
        response = client.get(f"/api/v1/proposals/{proposal.id}")
        assert response.status_code == 404 and response.get_json()["error"]["status"] == 404
    listing = client.get(f"/api/v1/consultations/{consultation.slug}/proposals").get_json()
    assert [item["id"] for item in listing["items"]] == [visible.id] and listing["total"] == 1


@pytest.mark.parametrize("query, field", [
    ("seed=-1", "seed"),
    ("seed=abc", "seed"),
    ("seed=2147483647", "seed"),
    ("per_page=0", "per_page"),
    ("per_page=101", "per_page"),
    ("per_page=2.5", "per_page"),
    ("page=abc", "page"),
    ("page=0", "page"),
    ("sort=nope", "sort"),
    ("kind=idee", "kind"),
    ("theme=zzz", "theme"),
    ("departement=999", "departement"),
    ("territory=banlieue", "territory"),
    ("answer_state=peut-etre", "answer_state"),
    ("organization_kind=planete", "organization_kind"),
    ("tri=nom", "tri"),
    ("q=" + "x" * 201, "q"),
])
def test_api_malformed_parameters_get_a_400_json_error(client, consultation, query, field):
    response = client.get(f"/api/v1/consultations/{consultation.slug}/proposals?{query}")
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["status"] == 400 and error["message"] == "Paramètres invalides." and field in error["fields"]


def test_api_refuses_a_theme_of_another_consultation(client, consultation):
    other_theme = make_consultation().themes[0]
    response = client.get(f"/api/v1/consultations/{consultation.slug}/proposals?theme={other_theme.id}")
    assert response.status_code == 400 and "theme" in response.get_json()["error"]["fields"]


def test_a_comment_forged_by_someone_without_a_verified_organization_is_refused_with_the_reason(client, consultation):
    proposal = make_proposal(consultation)
    client.sign_in_as(make_user())
    response = client.post_form(f"/propositions/{proposal.id}/commentaires",
                                {"body": "Bonjour", "organization_id": "1"}, follow_redirects=True)
    assert "Seuls les membres vérifiés d'une organisation vérifiée peuvent commenter." in text_of(response)
    assert count(Comment) == 0
