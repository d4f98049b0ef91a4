"""Sign-up, confirmation, sign-in and password reset through HTTP."""

import re

import sqlalchemy as sa

from app.accounts.models import User
from app.core.mail import OutboxMessage
from app.extensions import db
from tests.helpers import text_of
from tests.factories import PASSWORD, make_user


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
