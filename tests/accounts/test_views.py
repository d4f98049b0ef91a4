"""Sign-up, confirmation, sign-in, password reset and the changes "Mon compte" offers, through HTTP."""

import re
from datetime import timedelta

import sqlalchemy as sa
from argon2 import PasswordHasher

from app.accounts.models import User
from app.accounts.services import hasher
from app.consultations.models import PhaseKind
from app.core import clock
from app.core.mail import OutboxMessage
from app.core.web import paris_datetime as paris
from app.extensions import db
from app.organizations.models import MembershipStatus, Organization
from app.proposals.models import ProposalCosponsor
from tests.factories import (PASSWORD, make_consultation, make_member, make_organization, make_proposal,
                             make_user)
from tests.helpers import counted_statements, text_of


def last_mail_to(address: str) -> OutboxMessage:
    return db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.recipient == address)
                              .order_by(OutboxMessage.id.desc())).first()


def link_in(message: OutboxMessage) -> str:
    return re.search(r"http://localhost(/\S+)", message.body).group(1)


def test_sign_up_confirm_and_sign_in(client):
    response = client.post_form("/compte/inscription", {"name": "Marie Curie", "email": "Marie@Example.org",
                                                        "password": "une phrase assez longue"})
    assert response.status_code == 302 and response.location.endswith("/compte/verifiez-vos-courriels")
    user = db.session.scalar(sa.select(User).filter_by(email="marie@example.org"))
    assert user is not None and user.email_confirmed_at is None
    assert user.password_hash.startswith("$argon2id$")

    refused = client.post_form("/compte/connexion", {"email": "marie@example.org",
                                                     "password": "une phrase assez longue"})
    assert "Confirmez d'abord votre adresse" in text_of(refused)

    confirmed = client.get(link_in(last_mail_to("marie@example.org")), follow_redirects=True)
    assert "Votre adresse est confirmée" in text_of(confirmed)
    assert user.email_confirmed_at is not None

    signed_in = client.post_form("/compte/connexion", {"email": "MARIE@example.org",
                                                       "password": "une phrase assez longue"},
                                 follow_redirects=True)
    assert "Bienvenue, Marie Curie" in text_of(signed_in)
    assert "Se déconnecter" in text_of(signed_in)

    signed_out = client.post_form("/compte/deconnexion", follow_redirects=True)
    assert "Vous êtes déconnecté" in text_of(signed_out)
    assert client.get("/compte/").status_code == 302


def test_sign_up_with_a_known_email_reveals_nothing_and_mails_the_owner(client):
    owner = make_user("deja@example.org")
    response = client.post_form("/compte/inscription", {"name": "Autre", "email": "DEJA@example.org",
                                                        "password": "une phrase assez longue"})
    assert response.location.endswith("/compte/verifiez-vos-courriels")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)
                             .where(User.email == "deja@example.org")) == 1
    assert "existe déjà" in last_mail_to(owner.email).subject


def test_sign_up_rejects_bad_input_with_french_messages_and_saves_nothing(client):
    response = client.post_form("/compte/inscription", {"name": "", "email": "pas-une-adresse",
                                                        "password": "court"})
    page = text_of(response)
    assert response.status_code == 200
    assert "Le formulaire contient" in page
    assert "Saisissez une adresse électronique valide" in page
    assert "Indiquez votre nom" in page
    short = client.post_form("/compte/inscription", {"name": "A", "email": "a@example.org", "password": "court"})
    assert "au moins 12 caractères" in text_of(short)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0


def test_sign_in_failure_message_is_the_same_for_unknown_email_and_wrong_password(client):
    make_user("connu@example.org")
    unknown = client.post_form("/compte/connexion", {"email": "inconnu@example.org", "password": "x" * 12})
    wrong = client.post_form("/compte/connexion", {"email": "connu@example.org", "password": "x" * 12})
    message = "Adresse électronique ou mot de passe incorrect."
    assert message in text_of(unknown) and message in text_of(wrong)


def test_sign_in_is_rate_limited(client):
    make_user("cible@example.org")
    statuses = [client.post_form("/compte/connexion", {"email": "cible@example.org", "password": "x" * 12}).status_code
                for _ in range(11)]
    assert statuses[:10] == [200] * 10
    assert statuses[10] == 429
    blocked = client.post_form("/compte/connexion", {"email": "cible@example.org", "password": PASSWORD})
    assert blocked.status_code == 429
    assert "Trop de tentatives" in text_of(blocked)


def test_blocked_user_cannot_sign_in_nor_keep_a_session(client):
    from app.core import clock
    user = make_user("bloque@example.org")
    client.sign_in_as(user)
    user.blocked_at = clock.now()
    db.session.commit()
    assert client.get("/compte/").status_code == 302
    response = client.post_form("/compte/connexion", {"email": "bloque@example.org", "password": PASSWORD})
    assert "Ce compte est suspendu" in text_of(response)


def test_password_reset_works_once_and_says_the_same_for_unknown_addresses(client):
    user = make_user("oubli@example.org")
    for address in ("oubli@example.org", "personne@example.org"):
        response = client.post_form("/compte/mot-de-passe-oublie", {"email": address}, follow_redirects=True)
        assert "Si un compte existe pour cette adresse" in text_of(response)
    assert last_mail_to("personne@example.org") is None
    link = link_in(last_mail_to(user.email))

    mismatch = client.post_form(link, {"password": "nouvelle phrase secrète", "confirm": "autre chose"})
    assert "Les deux mots de passe diffèrent" in text_of(mismatch)
    done = client.post_form(link, {"password": "nouvelle phrase secrète", "confirm": "nouvelle phrase secrète"},
                            follow_redirects=True)
    assert "Votre mot de passe a été changé" in text_of(done)
    again = client.post_form(link, {"password": "encore une autre phrase", "confirm": "encore une autre phrase"})
    assert "n'est pas valide ou a déjà servi" in text_of(again)
    signed_in = client.post_form("/compte/connexion", {"email": user.email, "password": "nouvelle phrase secrète"})
    assert signed_in.status_code == 302


def test_tampered_confirmation_link_is_refused(client):
    response = client.get("/compte/confirmer/nimportequoi", follow_redirects=True)
    assert "Ce lien de confirmation n'est pas valide" in text_of(response)


def test_form_without_csrf_token_changes_nothing(client):
    response = client.post("/compte/inscription", data={"name": "Sans Jeton", "email": "jeton@example.org",
                                                         "password": "une phrase assez longue"})
    assert response.status_code == 400
    assert "Le formulaire a expiré" in text_of(response)
    assert db.session.scalar(sa.select(User).filter_by(email="jeton@example.org")) is None


def test_next_parameter_cannot_redirect_elsewhere(client):
    make_user("suivant@example.org")
    response = client.post_form("/compte/connexion", {"email": "suivant@example.org", "password": PASSWORD,
                                                      "next": "//evil.example.com/"})
    assert response.location == "/"


def test_the_account_keeps_the_language_chosen_for_its_mails(client):
    client.post("/langue", data={"language": "en"})
    client.post_form("/compte/inscription", {"name": "Ada King", "email": "ada@example.org",
                                             "password": "une phrase assez longue"})
    user = db.session.scalar(sa.select(User).filter_by(email="ada@example.org"))
    assert user.locale == "en"
    mail = last_mail_to("ada@example.org")
    assert mail.subject == "Confirm your email address" and "Confirmez" not in mail.body

    french = make_user()
    client.sign_in_as(french)
    client.post("/langue", data={"language": "en"})
    assert french.locale == "en"
    client.post("/langue", data={"language": "de"})
    assert french.locale == "en"


# --- Sign-up tells nothing, not even by its timing ------------------------------------------------------

CSRF_VALUE = re.compile(r'name="csrf_token" value="[^"]+"')


def outbox_size() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage))


def test_sign_up_answers_and_works_the_same_for_a_known_and_a_new_address(app, monkeypatch):
    make_user("deja.inscrite@example.org")
    hashes = []
    original_hash = PasswordHasher.hash

    def counted_hash(hasher, *args, **kwargs):
        hashes.append(1)
        return original_hash(hasher, *args, **kwargs)

    monkeypatch.setattr(PasswordHasher, "hash", counted_hash)
    answers = []
    for address in ("deja.inscrite@example.org", "nouvelle.venue@example.org"):
        browser = app.test_client()
        browser.csrf_token()
        hashes.clear()
        mails_before = outbox_size()
        response = browser.post_form("/compte/inscription", {"name": "Camille Dupont", "email": address,
                                                             "password": "une phrase assez longue"})
        work = (len(hashes), outbox_size() - mails_before)
        page = CSRF_VALUE.sub("", text_of(browser.get(response.location)))
        answers.append(((response.status_code, response.location, text_of(response), page), work))
    assert answers[0][0] == answers[1][0]
    assert answers[0][1] == answers[1][1] == (1, 1)  # one Argon2 hash, one mail


# --- Mon compte: name, address, password ---------------------------------------------------------------

NEW_PASSWORD = "une toute nouvelle phrase"


def test_the_account_page_links_to_each_change_and_to_the_contributions(client):
    client.sign_in_as(make_user("lien@example.org", "Léa Lien"))
    page = text_of(client.get("/compte/"))
    for link in ("/compte/nom", "/compte/adresse", "/compte/mot-de-passe", "/compte/contributions"):
        assert f'href="{link}"' in page
    assert "Léa Lien" in page and "lien@example.org" in page


def test_a_person_changes_their_name(client):
    user = make_user(name="Ancien Nom")
    client.sign_in_as(user)
    assert 'value="Ancien Nom"' in text_of(client.get("/compte/nom"))
    empty = client.post_form("/compte/nom", {"name": "   "})
    assert "Indiquez votre nom." in text_of(empty) and user.name == "Ancien Nom"
    done = client.post_form("/compte/nom", {"name": "  Nouveau Nom "}, follow_redirects=True)
    assert "Votre nom est modifié." in text_of(done) and "Nouveau Nom" in text_of(done)
    assert user.name == "Nouveau Nom"


def test_a_new_address_is_confirmed_by_mail_before_it_replaces_the_old_one(app, client):
    user = make_user("ancienne@example.org", "Paul Adresse")
    client.sign_in_as(user)
    wrong = client.post_form("/compte/adresse", {"email": "nouvelle@example.org", "current_password": "pas le bon"})
    assert "Ce n'est pas votre mot de passe actuel." in text_of(wrong)
    assert last_mail_to("nouvelle@example.org") is None

    asked = client.post_form("/compte/adresse", {"email": "Nouvelle@Example.org", "current_password": PASSWORD},
                             follow_redirects=True)
    assert "Un lien de confirmation vient d'être envoyé à nouvelle@example.org" in text_of(asked)
    assert user.email == "ancienne@example.org"
    mail = last_mail_to("nouvelle@example.org")
    assert "Bonjour Paul Adresse" in mail.body

    # Followed from the new mailbox, in another browser.
    confirmed = app.test_client().get(link_in(mail), follow_redirects=True)
    assert "L'adresse de votre compte est désormais nouvelle@example.org." in text_of(confirmed)
    assert user.email == "nouvelle@example.org"
    told = last_mail_to("ancienne@example.org")
    assert "L'adresse de votre compte Agora a changé" == told.subject and "nouvelle@example.org" in told.body
    again = client.get(link_in(mail), follow_redirects=True)
    assert "Ce lien de changement d'adresse n'est pas valide ou a déjà servi." in text_of(again)
    signed_in = app.test_client().post_form("/compte/connexion", {"email": "nouvelle@example.org",
                                                                   "password": PASSWORD})
    assert signed_in.status_code == 302


def test_an_address_already_taken_is_refused_without_saying_so_and_its_owner_is_told(client):
    owner = make_user("prise@example.org", locale="en")
    user = make_user("libre@example.org")
    client.sign_in_as(user)
    answers = []
    for address in ("prise@example.org", "libre.aussi@example.org"):
        response = client.post_form("/compte/adresse", {"email": address, "current_password": PASSWORD})
        page = CSRF_VALUE.sub("", text_of(client.get(response.location))).replace(address, "ADRESSE")
        answers.append((response.status_code, response.location, page))
    assert answers[0] == answers[1]
    told = last_mail_to(owner.email)  # in its owner's language, with no link that would change anything
    assert told.subject == "Your address is already an Agora account's"
    assert "/compte/mot-de-passe-oublie" in told.body and "/compte/adresse/confirmer/" not in told.body
    assert "/compte/adresse/confirmer/" in last_mail_to("libre.aussi@example.org").body
    assert user.email == "libre@example.org" and owner.email == "prise@example.org"


def test_a_password_change_needs_the_current_password_and_the_rules(client):
    user = make_user()
    client.sign_in_as(user)
    wrong = client.post_form("/compte/mot-de-passe", {"current_password": "pas le bon", "password": NEW_PASSWORD,
                                                      "confirm": NEW_PASSWORD})
    assert "Ce n'est pas votre mot de passe actuel." in text_of(wrong)
    short = client.post_form("/compte/mot-de-passe", {"current_password": PASSWORD, "password": "court",
                                                      "confirm": "court"})
    assert "au moins 12 caractères" in text_of(short)
    mismatch = client.post_form("/compte/mot-de-passe", {"current_password": PASSWORD, "password": NEW_PASSWORD,
                                                         "confirm": "autre chose"})
    assert "Les deux mots de passe diffèrent" in text_of(mismatch)
    assert hasher.verify(user.password_hash, PASSWORD)


def test_account_changes_are_rate_limited_like_sign_in(client):
    client.sign_in_as(make_user())
    statuses = [client.post_form("/compte/mot-de-passe", {"current_password": "x" * 12, "password": NEW_PASSWORD,
                                                          "confirm": NEW_PASSWORD}).status_code for _ in range(11)]
    assert statuses == [200] * 10 + [429]
    # One count for every change that asks for the password: another form gives no more tries.
    blocked = client.post_form("/compte/adresse", {"email": "a@example.org", "current_password": PASSWORD})
    assert blocked.status_code == 429 and "Trop de tentatives" in text_of(blocked)


# --- Mes contributions ---------------------------------------------------------------------------------

def rows(page: str, caption: str) -> list[str]:
    """The rows of the table with this caption, each as the words it shows."""
    table = re.search(rf"<caption>{re.escape(caption)}</caption>(.*?)</table>", page, re.S)
    assert table is not None, caption
    return [" ".join(re.sub(r"<[^>]+>", " ", row).split())
            for row in re.findall(r"<tr>(.*?)</tr>", table.group(1), re.S)][1:]


def test_an_agent_finds_their_organizations_drafts_proposals_and_cosponsorships_in_one_place(client):
    agent = make_member(organization=make_organization("Saint-Flour"))
    user = agent.user
    make_member(user, make_organization("Murat"))
    pending = make_member(user, make_organization("Riom"), status=MembershipStatus.PENDING)
    collect, support = make_consultation(PhaseKind.COLLECT), make_consultation(PhaseKind.SUPPORT)
    now = clock.now()
    draft = make_proposal(collect, agent.organization, state="draft", title="Brouillon de cantine",
                          updated_at=now - timedelta(days=1))
    published = make_proposal(support, agent.organization, title="Guichet publié",
                              published_at=now - timedelta(days=3), updated_at=now - timedelta(days=5))
    make_proposal(support, agent.organization, state="withdrawn", title="Idée retirée",
                  published_at=now - timedelta(days=9), withdrawn_at=now - timedelta(days=2),
                  updated_at=now - timedelta(days=9))
    elsewhere = make_proposal(support, make_organization("Aurillac"), title="Portée par Aurillac")
    hidden = make_proposal(support, make_organization("Mauriac"), title="Masquée ailleurs", hidden_at=now)
    for proposal in (elsewhere, hidden):
        db.session.add(ProposalCosponsor(proposal=proposal, organization=agent.organization, added_by_id=user.id))
    make_proposal(support, pending.organization, state="draft", title="Brouillon de Riom")
    make_proposal(support, make_organization("Aurillac"), state="draft", title="Brouillon d'un autre")
    db.session.commit()
    client.sign_in_as(user)

    response = client.get("/compte/contributions")
    page = text_of(response)
    assert [heading for heading in re.findall(r"<h2>(.*?)</h2>", page)] == ["Murat", "Saint-Flour"]
    assert rows(page, "Contributions déposées par Saint-Flour") == [
        f"Brouillon de cantine {collect.title} Brouillon {paris(draft.updated_at)}",
        f"Idée retirée {support.title} Retirée {paris(now - timedelta(days=2))}",
        f"Guichet publié {support.title} Publiée {paris(published.published_at)}",
    ]
    assert rows(page, "Contributions coportées par Saint-Flour") == [
        f"Portée par Aurillac Aurillac {support.title} Publiée {paris(elsewhere.published_at)}"]
    assert f'href="/propositions/{draft.id}"' in page and f'href="/consultations/{collect.slug}"' in page
    assert "Murat n'a encore déposé aucune contribution." in page
    assert "Riom" not in page and "Brouillon d'un autre" not in page and "Masquée ailleurs" not in page


def test_the_contributions_page_costs_the_same_queries_whatever_their_number(client):
    agent = make_member()
    client.sign_in_as(agent.user)
    organization_id, user_id = agent.organization_id, agent.user_id

    def add_contributions(number: int) -> None:
        organization = db.session.get(Organization, organization_id)
        for _ in range(number):
            consultation = make_consultation()
            make_proposal(consultation, organization)
            db.session.add(ProposalCosponsor(proposal=make_proposal(consultation), organization=organization,
                                             added_by_id=user_id))
        db.session.commit()

    def statements_for_page() -> int:
        db.session.expunge_all()  # each request starts with an empty session, as in production
        with counted_statements() as statements:
            assert client.get("/compte/contributions").status_code == 200
        return len(statements)

    add_contributions(1)
    one = statements_for_page()
    add_contributions(4)
    assert statements_for_page() == one


def test_someone_without_a_verified_organization_is_told_where_contributions_come_from(client):
    client.sign_in_as(make_user())
    page = text_of(client.get("/compte/contributions"))
    assert "Vous n'êtes membre vérifié d'aucune organisation vérifiée" in page
