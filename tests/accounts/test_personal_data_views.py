"""Each person's own data through HTTP: "Mon compte" downloads it and deletes the account; the pages that
showed the name show the role instead; the personal-data page states the retention settings."""

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.accounts.models import User
from app.committee.models import CommitteeNote
from app.consultations.models import PhaseKind
from app.core import audit, clock
from app.extensions import db
from app.votes import services as votes
from app.votes.models import Support
from tests.factories import (PASSWORD, make_comment, make_consultation, make_member, make_organization,
                             make_proposal, make_user, seat, submit_proposal)
from tests.helpers import text_of

NAME, EMAIL = "Jeanne Barret", "jeanne@saint-flour.fr"


@pytest.fixture
def jeanne():
    return make_member(make_user(EMAIL, NAME), make_organization("Saint-Flour"), role="elected")


def quota(consultation, organization) -> int:
    return votes.quota_used(consultation, [organization.id]).get(organization.id, 0)


def test_my_account_offers_the_download_and_the_deletion(client, jeanne):
    page = text_of(client.sign_in_as(jeanne.user).get("/compte/"))
    assert 'href="/compte/mes-donnees.json"' in page and 'href="/compte/supprimer"' in page


def test_the_download_is_my_data_and_nobody_elses(client, jeanne):
    proposal = make_proposal(title="Cantine en ligne")
    make_comment(proposal, jeanne, body="Mon avis sur la cantine.")
    make_comment(proposal, make_member(make_user("paul@murat.fr", "Paul Murat")), body="L'avis de Paul.")
    response = client.sign_in_as(jeanne.user).get("/compte/mes-donnees.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.headers["Content-Disposition"] == 'attachment; filename="agora-mes-donnees.json"'
    assert response.headers["Cache-Control"] == "no-store"
    data = json.loads(response.get_data(as_text=True))
    assert data["account"]["email"] == EMAIL and len(data["sessions"]) == 1
    assert [comment["body"] for comment in data["comments"]] == ["Mon avis sur la cantine."]
    for someone_else in ("paul@murat.fr", "Paul Murat", "L'avis de Paul."):
        assert someone_else not in response.get_data(as_text=True)


def test_the_deletion_page_says_what_goes_and_what_stays(client, jeanne):
    consultation = make_consultation(PhaseKind.SUPPORT)
    votes.cast_support(make_proposal(consultation), jeanne.organization, by=jeanne.user)
    page = text_of(client.sign_in_as(jeanne.user).get("/compte/supprimer"))
    assert "Cette suppression est définitive." in page
    assert "pendant une période de soutiens encore ouverte sera retiré" in page
    assert "Mot de passe actuel" in page


def test_deleting_inside_the_window_withdraws_the_supports_and_a_colleague_casts_them_again(client, jeanne):
    consultation = make_consultation(PhaseKind.SUPPORT, vote_limit=1)
    colleague = make_member(organization=jeanne.organization, role="elected").user
    proposal = make_proposal(consultation)
    votes.cast_support(proposal, jeanne.organization, by=jeanne.user)
    db.session.commit()

    response = client.sign_in_as(jeanne.user).post_form("/compte/supprimer", {"current_password": PASSWORD},
                                                        follow_redirects=True)
    assert "Votre compte est supprimé." in text_of(response)
    assert "Se déconnecter" not in text_of(response)
    assert client.get("/compte/").status_code == 302  # signed out
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Support)) == 0
    assert quota(consultation, jeanne.organization) == 0

    client.post_form("/compte/deconnexion")
    again = client.sign_in_as(colleague).post_form(f"/propositions/{proposal.id}/soutenir",
                                                   {"organization_id": jeanne.organization.id},
                                                   follow_redirects=True)
    assert "Soutien enregistré" in text_of(again)
    db.session.refresh(proposal)
    assert proposal.support_count == 1 and quota(consultation, jeanne.organization) == 1


def test_after_the_window_every_page_that_showed_the_name_shows_the_role(client, jeanne):
    """The comment and the versions on the proposal's page, the organization's support dashboard, the
    committee on the consultation's page and its evaluation page, the support journal and the audit log."""
    moment = clock.now() - timedelta(days=20)
    consultation = make_consultation(PhaseKind.SUPPORT, now=moment)  # its window closed five days ago
    colleague = make_member(organization=jeanne.organization, role="elected").user
    own = submit_proposal(consultation, jeanne, now=moment - timedelta(days=40))
    other = make_proposal(consultation)
    make_comment(other, jeanne, body="Un avis qui reste publié.")
    votes.cast_support(other, jeanne.organization, by=jeanne.user, now=moment)
    seat(consultation, jeanne.user, affiliation="Association des maires ruraux")
    db.session.add(CommitteeNote(proposal_id=other.id, author_id=jeanne.user.id, body="Une note du comité."))
    audit.record("evaluation.note", actor=jeanne.user, subject=other)
    tally = votes.frozen_tally(consultation)
    db.session.commit()
    pages = {"comment": f"/propositions/{other.id}", "versions": f"/propositions/{own.id}",
             "dashboard": f"/consultations/{consultation.slug}/collectivites/{jeanne.organization.id}/soutiens",
             "committee": f"/consultations/{consultation.slug}",
             "notes": f"/consultations/{consultation.slug}/comite/evaluation/propositions/{other.id}",
             "journal": f"/admin/consultations/{consultation.id}/soutiens", "audit": "/admin/journal"}
    admin = make_user(is_admin=True)
    viewers = {"dashboard": colleague, "notes": seat(consultation).user, "journal": admin, "audit": admin}

    def read(page):
        client.post_form("/compte/deconnexion")
        if page in viewers:
            client.sign_in_as(viewers[page])
        response = client.get(pages[page])
        assert response.status_code == 200, page
        return text_of(response)

    assert all(NAME in read(page) for page in pages)
    client.sign_in_as(jeanne.user).post_form("/compte/supprimer", {"current_password": PASSWORD})

    for page in pages:
        shown = read(page)
        assert NAME not in shown and "Élu·e de Saint-Flour" in shown, page
    assert "Un avis qui reste publié." in read("comment")
    journal = read("audit")
    assert "Élu·e de Saint-Flour a supprimé" in journal and "Cause : à la demande de la personne" in journal
    assert "Soutiens conservés dans le décompte : 1" in journal
    assert votes.digest_of(votes.tally_file(votes.tally_rows(consultation))) == tally.digest
    assert client.get(f"/consultations/{consultation.slug}/decompte.csv").get_data(as_text=True) == tally.content


def test_a_deleted_account_cannot_sign_in_and_its_address_signs_up_anew(client, jeanne):
    make_comment(make_proposal(), jeanne)  # so that the row stays
    client.sign_in_as(jeanne.user).post_form("/compte/supprimer", {"current_password": PASSWORD})
    refused = client.post_form("/compte/connexion", {"email": EMAIL, "password": PASSWORD})
    assert "Adresse électronique ou mot de passe incorrect." in text_of(refused)
    client.post_form("/compte/inscription", {"name": NAME, "email": EMAIL, "password": "une phrase assez longue"})
    assert db.session.scalar(sa.select(User).where(User.email == EMAIL)).id != jeanne.user_id


def test_a_wrong_password_changes_nothing(client, jeanne):
    consultation = make_consultation(PhaseKind.SUPPORT)
    votes.cast_support(make_proposal(consultation), jeanne.organization, by=jeanne.user)
    db.session.commit()
    response = client.sign_in_as(jeanne.user).post_form("/compte/supprimer", {"current_password": "pas le bon"})
    assert response.status_code == 200 and "Ce n'est pas votre mot de passe actuel." in text_of(response)
    db.session.expire_all()
    user = db.session.get(User, jeanne.user_id)
    assert (user.name, user.email, user.deleted_at) == (NAME, EMAIL, None)
    assert quota(consultation, jeanne.organization) == 1
    assert client.get("/compte/").status_code == 200  # still signed in


def test_the_personal_data_page_states_the_retention_settings_and_the_contact(client, app, monkeypatch):
    page = text_of(client.get("/donnees-personnelles"))
    assert "sans connexion pendant 3 ans" in page and "supprimée après 7 jours" in page
    assert "dure 12 heures au plus" in page and 'href="/compte/"' in page
    monkeypatch.setitem(app.config, "INACTIVE_ACCOUNT_RETENTION_DAYS", 400)
    monkeypatch.setitem(app.config, "UNCONFIRMED_ACCOUNT_RETENTION_DAYS", 14)
    monkeypatch.setitem(app.config, "PERSONAL_DATA_CONTACT", "Délégué à la protection des données, dpo@cantal.fr")
    page = text_of(client.get("/donnees-personnelles"))
    assert "sans connexion pendant 400 jours" in page and "supprimée après 14 jours" in page
    assert "Délégué à la protection des données, dpo@cantal.fr" in page
