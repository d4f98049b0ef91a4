"""'Mon compte' › Courriels, and the one-click unsubscribe link: it stops one kind of mail and reaches nothing else."""

import re
from datetime import timedelta

import sqlalchemy as sa

from app.accounts.models import UserSession
from app.consultations.models import PhaseKind
from app.core.audit import AuditEntry
from app.core import mail
from app.core.mail import OutboxMessage, queue_mail
from app.extensions import db
from app.notifications import services
from app.notifications.models import DeliveryMode, NotificationKind
from tests.factories import make_consultation, make_member, make_user
from tests.helpers import smtp_server, text_of


def modes(user) -> dict:
    return {kind.value: mode.value for kind, mode in services.preferences_of(user).items()}


def sessions() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(UserSession))


def test_account_page_links_to_the_choice_of_mails(client):
    user = make_user()
    page = text_of(client.sign_in_as(user).get("/compte/"))
    assert "Choisir les courriels que vous recevez" in page


def test_preferences_page_shows_each_kind_immediate_by_default(client):
    user = make_user()
    response = client.sign_in_as(user).get("/compte/courriels")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    for kind in NotificationKind:
        [checked] = re.findall(rf'<input[^>]*checked[^>]*name="{kind.value}"[^>]*>', page)
        assert 'value="immediate"' in checked
    assert "Un résumé quotidien" in text_of(response)


def test_choosing_modes_records_them_and_the_audit_log(client):
    user = make_user()
    client.sign_in_as(user)
    client.get("/compte/courriels")
    response = client.post_form("/compte/courriels", {"window_opens": "none", "window_closing": "daily",
                                                      "results": "immediate",
                                                      "followed_proposal_activity": "daily"})
    assert response.status_code == 302 and response.location.endswith("/compte/")
    assert modes(user) == {"window_opens": "none", "window_closing": "daily", "results": "immediate",
                           "followed_proposal_activity": "daily"}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)
                             .where(AuditEntry.action == "notifications.preference")) == 3
    assert "Vos choix de courriels sont enregistrés." in text_of(client.get("/compte/"))


def test_an_unknown_mode_is_refused_in_french_and_nothing_changes(client):
    user = make_user()
    client.sign_in_as(user)
    client.get("/compte/courriels")
    response = client.post_form("/compte/courriels", {"window_opens": "weekly", "window_closing": "daily",
                                                      "results": "immediate",
                                                      "followed_proposal_activity": "none"})
    assert response.status_code == 200
    page = text_of(response)
    assert "Le formulaire contient 1 erreur" in page and "N'est pas un choix valide." in page
    [kept] = re.findall(r'<input[^>]*checked[^>]*name="window_closing"[^>]*>', response.get_data(as_text=True))
    assert 'value="daily"' in kept  # what was typed is not lost
    assert set(modes(user).values()) == {"immediate"}


def test_the_link_in_a_reminder_stops_that_kind_only_and_opens_no_session(client):
    consultation = make_consultation(PhaseKind.SUPPORT)
    elected = make_member(role="elected").user
    services.run(consultation.phase(PhaseKind.SUPPORT).starts_at + timedelta(minutes=1))
    mail = db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.recipient == elected.email)).one()
    path = re.search(r"http://localhost(/courriels/desabonnement/\S+)", mail.body).group(1)
    before = sessions()

    shown = client.get(path)
    assert shown.status_code == 200 and "Ouverture des soutiens" in text_of(shown)
    assert set(modes(elected).values()) == {"immediate"}  # a GET (a mail scanner) changes nothing

    done = client.post(path)
    assert done.status_code == 200
    assert "Vous ne recevrez plus les courriels « Ouverture des soutiens »." in text_of(done)
    assert modes(elected) == {"window_opens": "none", "window_closing": "immediate", "results": "immediate",
                              "followed_proposal_activity": "immediate"}
    assert "Set-Cookie" not in shown.headers and "Set-Cookie" not in done.headers
    assert sessions() == before
    assert client.get("/compte/").status_code == 302  # still a visitor: the account asks to sign in
    assert client.get("/compte/courriels").location.startswith("/compte/connexion")


def test_the_mail_clients_own_button_stops_that_kind_with_one_post(client, smtp_port):
    """RFC 8058: the reminder carries its unsubscribe address in List-Unsubscribe, and the client's POST,
    with no cookie and no form token, stops that kind; a digest about several kinds has no such header."""
    consultation = make_consultation(PhaseKind.SUPPORT)
    elected = make_member(role="elected").user
    services.run(consultation.phase(PhaseKind.SUPPORT).starts_at + timedelta(minutes=1))
    db.session.commit()
    with smtp_server(smtp_port) as inbox:
        assert mail.send_pending() == 1
    [(_recipients, received)] = inbox.received
    assert received["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    path = re.fullmatch(r"<http://localhost(/courriels/desabonnement/\S+)>", received["List-Unsubscribe"]).group(1)
    assert path in received.get_payload(decode=True).decode()  # the same link as the mail's own
    done = client.post(path, data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200 and "Set-Cookie" not in done.headers
    assert modes(elected)["window_opens"] == "none" and modes(elected)["results"] == "immediate"


def test_a_digest_about_several_kinds_carries_no_one_click_header(app):
    user = make_user()
    with app.test_request_context():
        digest = queue_mail(user, "Résumé", "confirm_email", user=user, confirm_url="x",
                            **services.mail_footer(user, NotificationKind.RESULTS, NotificationKind.WINDOW_OPENS))
        single = queue_mail(user, "Un seul", "confirm_email", user=user, confirm_url="x",
                            **services.mail_footer(user, NotificationKind.RESULTS))
    assert digest.list_unsubscribe is None
    assert single.list_unsubscribe.startswith("http://localhost/courriels/desabonnement/")


def test_a_tampered_or_foreign_token_is_refused(client):
    user = make_user()
    token = services.unsubscribe_token(user, NotificationKind.RESULTS)
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    from itsdangerous import URLSafeSerializer
    other_salt = URLSafeSerializer(client.application.config["SECRET_KEY"], salt="confirm-email").dumps(
        [user.id, "results"])
    unknown_kind = URLSafeSerializer(client.application.config["SECRET_KEY"],
                                     salt=services.UNSUBSCRIBE_SALT).dumps([user.id, "everything"])
    for bad in (forged, other_salt, unknown_kind, "jeton"):
        response = client.post(f"/courriels/desabonnement/{bad}")
        assert response.status_code == 404
        assert "Ce lien de désabonnement n'est pas valide." in text_of(response)
    assert set(modes(user).values()) == {"immediate"}


def test_the_token_means_nothing_on_other_pages(client):
    user = make_user(confirmed=False)
    token = services.unsubscribe_token(user, NotificationKind.RESULTS)
    before = sessions()
    confirm = client.get(f"/compte/confirmer/{token}")
    assert confirm.location.endswith("/compte/verifiez-vos-courriels")  # refused: not a confirmation token
    reset = client.get(f"/compte/reinitialiser/{token}")
    assert "Adresse de confirmation" not in text_of(reset)
    db.session.refresh(user)
    assert user.email_confirmed_at is None
    assert client.get(f"/compte/adresse/confirmer/{token}").location.endswith("/compte/connexion")
    assert client.get("/compte/", headers={"Authorization": f"Bearer {token}"}).status_code == 302
    assert sessions() == before
    assert set(modes(user).values()) == {"immediate"}


def test_unsubscribing_twice_is_harmless(client):
    user = make_user()
    token = services.unsubscribe_token(user, NotificationKind.WINDOW_CLOSING)
    assert client.post(f"/courriels/desabonnement/{token}").status_code == 200
    assert client.post(f"/courriels/desabonnement/{token}").status_code == 200
    assert modes(user)["window_closing"] == DeliveryMode.NONE.value


def test_the_audit_log_tells_who_changed_whose_mails(client):
    user = make_user(name="Jeanne Vidal")
    token = services.unsubscribe_token(user, NotificationKind.RESULTS)
    client.post(f"/courriels/desabonnement/{token}")
    page = text_of(client.sign_in_as(make_user(is_admin=True)).get("/admin/journal"))
    assert "Jeanne Vidal a changé les courriels que reçoit" in page
    assert "unsubscribe_link" in page
