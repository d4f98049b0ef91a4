"""The people who use Agora, and their sign-in sessions."""

from datetime import datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core import clock
from app.core.db import UTCDateTime
from app.extensions import db


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stored lower-cased by the services, so uniqueness is case-insensitive on every database.
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    email_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    is_admin: Mapped[bool] = mapped_column(default=False)
    blocked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    # The language of the mails they receive: the one they last chose on the site.
    locale: Mapped[str] = mapped_column(sa.String(5), default="fr", server_default="fr")
    # The last sign-in (None: none since sign-up), from which the retention command counts inactivity.
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set when the account is deleted (app/accounts/personal_data.py): the row stays only while other rows point
    # to it (contributions, supports, journals), under a name that says the person's role, not who they were.
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    memberships = relationship("Membership", back_populates="user", foreign_keys="Membership.user_id")

    # The token of the sign-in session this object was loaded through or just opened (app/accounts/
    # sessions.py); never stored, only its hash is.
    session_token = None

    def get_id(self) -> str | None:
        """What the session cookie holds for Flask-Login: the session's token, not the user's id, so
        that the server can end the session by deleting its row."""
        return self.session_token

    def __eq__(self, other) -> bool:  # UserMixin compares get_id(), which differs per session
        return self is other or (isinstance(other, User) and self.id is not None and self.id == other.id)

    __hash__ = object.__hash__

    @property
    def is_active(self) -> bool:  # Flask-Login refuses sessions of blocked and deleted users
        return self.blocked_at is None and self.deleted_at is None

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def is_confirmed(self) -> bool:
        return self.email_confirmed_at is not None

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email}>"


class UserSession(db.Model):
    """A sign-in session: the cookie carries its random token, the database only the token's SHA-256,
    so that reading the table gives no usable cookie. Deleting the row ends the session."""

    __tablename__ = "user_sessions"

    token_hash: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class UserIdentity(db.Model):
    """An account's identity at an OpenID Connect provider (ProConnect): the provider's subject (`sub`) opens
    that account, and no other, whatever the address the provider gives later."""

    __tablename__ = "user_identities"
    __table_args__ = (sa.UniqueConstraint("provider", "subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(sa.String(40))
    subject: Mapped[str] = mapped_column(sa.String(255))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    user = relationship("User")
