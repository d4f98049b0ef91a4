"""Sign-in sessions the server ends: a copied cookie opens nothing after sign-out, a password reset or
change, a block, or once the session's maximum age has passed; the signed-in user costs one query."""

import hashlib
import re
from datetime import timedelta

import sqlalchemy as sa

from app.accounts.models import UserSession
from app.accounts.sessions import start_session
from app.core import clock
from app.extensions import db
from tests.accounts.test_views import last_mail_to, link_in
from app.consultations.models import PhaseKind
from tests.factories import PASSWORD, make_consultation, make_member, make_proposal, make_user
from tests.helpers import counted_statements, text_of


def browser(app):
    """A test client with a cookie jar of its own, as a second browser or computer would have."""
    return app.test_client()


def signed_in(app, user, password: str = PASSWORD):
    """A browser signed in through the sign-in form."""
    client = browser(app)
    response = client.post_form("/compte/connexion", {"email": user.email, "password": password})
    assert response.status_code == 302 and response.location == "/"
    return client


def copy_of(client, app):
    """Another browser holding the same session cookie, as one stolen or copied would be."""
    copy = browser(app)
    copy.set_cookie("session", client.get_cookie("session").value)
    return copy


def opens_account(client) -> bool:
    response = client.get("/compte/")
    assert response.status_code == 200 or response.location.startswith("/compte/connexion")
    return response.status_code == 200


def sessions_of(user) -> list[UserSession]:
    return list(db.session.scalars(sa.select(UserSession).filter_by(user_id=user.id)))


def test_the_cookie_carries_a_token_whose_hash_only_is_stored(app, client):
    user = make_user()
    client.sign_in_as(user)
    with client.session_transaction() as session:
        token = session["_user_id"]
    assert token != str(user.id) and len(token) >= 32
    [stored] = sessions_of(user)
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert opens_account(client)


def test_a_copied_cookie_opens_nothing_after_sign_out_while_other_sessions_survive(app):
    user = make_user("deux.postes@example.org")
    office, home = signed_in(app, user), signed_in(app, user)
    copy = copy_of(office, app)
    assert opens_account(copy) and len(sessions_of(user)) == 2

    signed_out = office.post_form("/compte/deconnexion", follow_redirects=True)
    assert "Vous êtes déconnecté" in text_of(signed_out)
    assert not opens_account(office)
    assert not opens_account(copy)
    assert opens_account(home)
    assert len(sessions_of(user)) == 1


def test_a_password_reset_from_another_browser_ends_every_session(app):
    user = make_user("reinitialise@example.org")
    office = signed_in(app, user)
    copy = copy_of(office, app)

    elsewhere = browser(app)
    elsewhere.post_form("/compte/mot-de-passe-oublie", {"email": user.email})
    link = link_in(last_mail_to(user.email))
    done = elsewhere.post_form(link, {"password": "une toute nouvelle phrase", "confirm": "une toute nouvelle phrase"})
    assert done.location.endswith("/compte/connexion")

    assert not opens_account(copy)
    assert not opens_account(office)
    assert sessions_of(user) == []


def test_a_password_change_keeps_its_author_signed_in_and_ends_the_other_sessions(app):
    user = make_user("change@example.org")
    office, home = signed_in(app, user), signed_in(app, user)
    copy = copy_of(office, app)

    changed = office.post_form("/compte/mot-de-passe", {
        "current_password": PASSWORD, "password": "une toute nouvelle phrase",
        "confirm": "une toute nouvelle phrase"}, follow_redirects=True)
    assert "Votre mot de passe a été changé. Vos autres sessions sont fermées." in text_of(changed)

    assert opens_account(office)
    assert not opens_account(copy)
    assert not opens_account(home)
    assert len(sessions_of(user)) == 1
    assert signed_in(app, user, "une toute nouvelle phrase")


def test_blocking_a_user_ends_their_sessions(app, client):
    user = make_user("suspendu@example.org")
    theirs = signed_in(app, user)
    client.sign_in_as(make_user(is_admin=True))
    client.post_form(f"/admin/comptes/{user.id}/suspendre")
    assert user.blocked_at is not None
    assert sessions_of(user) == []
    assert not opens_account(theirs)


def test_a_session_ends_after_its_maximum_age(app, client):
    user = make_user()
    opened_at = clock.now() - timedelta(seconds=app.config["SESSION_MAX_AGE"] + 1)
    token = start_session(user, now=opened_at)
    db.session.commit()
    with client.session_transaction() as session:
        session["_user_id"] = token
    assert not opens_account(client)
    # Signing in again clears the expired session away.
    assert signed_in(app, user)
    assert [stored.created_at > opened_at for stored in sessions_of(user)] == [True]


def test_a_cookie_from_before_sessions_holding_a_user_id_opens_nothing(app, client):
    user = make_user()
    with client.session_transaction() as session:
        session["_user_id"] = str(user.id)
    assert not opens_account(client)


def test_the_signed_in_user_comes_with_their_organizations_in_one_query(app, client):
    member = make_member()
    client.sign_in_as(member.user)
    name = member.organization.name
    db.session.expunge_all()  # each request starts with an empty session, as in production
    with counted_statements() as statements:
        page = client.get("/compte/")
    assert name in text_of(page)
    # The page itself counts the membership requests its reader may decide: that one reads no user.
    loads = [statement for statement in statements if re.search(r"\b(users|user_sessions)\b", statement)]
    assert len(loads) == 1, statements
    assert all(re.search(rf"\b{table}\b", loads[0]) for table in ("users", "user_sessions", "memberships",
                                                                   "organizations"))


def test_a_form_sent_after_the_session_ended_leads_back_to_its_page_after_signing_in(app):
    """Pressing "Soutenir" on a page left open past the session's end: sign in, then the proposal again,
    not the support's POST-only address (a 405)."""
    consultation = make_consultation(PhaseKind.SUPPORT)
    proposal = make_proposal(consultation)
    member = make_member(role="elected")
    client = browser(app)
    sent = client.post_form(f"/propositions/{proposal.id}/soutenir", {
        "organization_id": member.organization_id, "next": f"/propositions/{proposal.id}#proposition-{proposal.id}"})
    assert sent.status_code == 302 and sent.location.startswith("/compte/connexion?next=")
    page = client.get(sent.location)
    back = client.post_form(sent.location, {"email": member.user.email, "password": PASSWORD}, follow_redirects=True)
    assert page.status_code == 200 and back.status_code == 200
    assert back.request.path == f"/propositions/{proposal.id}" and proposal.title in text_of(back)


def test_without_a_next_field_the_form_leads_back_to_the_page_it_was_sent_from(app):
    proposal = make_proposal()
    client = browser(app)
    sent = client.post_form(f"/propositions/{proposal.id}/commentaires", {"body": "Bonjour"},
                            headers={"Referer": f"http://localhost/propositions/{proposal.id}?onglet=1"})
    assert sent.location == f"/compte/connexion?next=/propositions/{proposal.id}?onglet%3D1"
    elsewhere = client.post_form(f"/propositions/{proposal.id}/commentaires", {"body": "Bonjour"},
                                 headers={"Referer": "https://evil.example/piege"})
    assert elsewhere.location == "/compte/connexion"
