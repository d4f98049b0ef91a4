"""Sign-in sessions the server can end, and the signed-in user loaded through them on every request.

The session cookie (Flask's, signed) carries a random token as Flask-Login's `_user_id`; the
`user_sessions` table holds its SHA-256 only. A cookie copied before a sign-out or a password
change opens nothing afterwards: its row is gone.
"""

import hashlib
import secrets
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import Flask, current_app, redirect, request, url_for
from sqlalchemy.orm import joinedload

from app.accounts.models import User, UserSession
from app.core import clock
from app.core.db import UTCDateTime
from app.core.web import safe_next_url
from app.extensions import db, login_manager
from app.organizations.models import Membership


def init_app(app: Flask) -> None:
    login_manager.user_loader(load_user)
    login_manager.unauthorized_handler(ask_to_sign_in)


def ask_to_sign_in():
    """To the sign-in page, which says why on its own, then back. A form sent without a session (one that
    ended) leads back to the page it was sent from: its own address only takes a POST."""
    if request.method == "GET":
        back = request.full_path.rstrip("?")
    else:
        back = safe_next_url() or _same_site_referrer()
    return redirect(url_for("accounts.sign_in", next=back))


def _same_site_referrer() -> str | None:
    referrer = urlsplit(request.referrer or "")
    if referrer.netloc != request.host or not referrer.path.startswith("/"):
        return None
    return referrer.path + (f"?{referrer.query}" if referrer.query else "")


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(user: User, *, now: datetime | None = None) -> str:
    """Open a session for `user`, lasting SESSION_MAX_AGE; return its token for the cookie, which
    `user.get_id()` gives from now on. The user's expired sessions are cleared on the way."""
    now = now or clock.now()
    db.session.execute(sa.delete(UserSession).where(UserSession.user_id == user.id, UserSession.expires_at <= now))
    token = secrets.token_urlsafe(32)
    db.session.add(UserSession(token_hash=_hash(token), user_id=user.id, created_at=now,
                               expires_at=now + timedelta(seconds=current_app.config["SESSION_MAX_AGE"])))
    db.session.flush()
    user.session_token = token
    return token


def end_session(token: str | None) -> None:
    """End the session this token opened (signing out); an unknown token ends nothing."""
    if token:
        db.session.execute(sa.delete(UserSession).where(UserSession.token_hash == _hash(token)))


def end_every_session(user: User) -> None:
    """End all the sessions of `user`, on every browser: after a password change or a block."""
    db.session.execute(sa.delete(UserSession).where(UserSession.user_id == user.id))
    user.session_token = None


# Memberships and their organizations decide what almost every page offers: loaded with the user,
# in the same query as the session. Built once, like its cache key, since every signed-in request runs it.
USER_OF_SESSION = (sa.select(User).join(UserSession, UserSession.user_id == User.id)
                   .where(UserSession.token_hash == sa.bindparam("token_hash"),
                          UserSession.expires_at > sa.bindparam("now", type_=UTCDateTime))
                   .options(joinedload(User.memberships).joinedload(Membership.organization)))


def load_user(token: str) -> User | None:
    """Flask-Login's user loader: the active user whose unexpired session this token opened."""
    user = db.session.scalars(USER_OF_SESSION, {"token_hash": _hash(token), "now": clock.now()}).unique() \
        .one_or_none()
    if user is None or not user.is_active:
        return None
    user.session_token = token
    return user
