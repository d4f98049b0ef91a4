"""Account rules: sign-up, email confirmation, authentication, password reset.

Answers never tell whether an email address has an account: sign-up and reset requests for a
known address send a mail to that address instead of saying so on screen.
"""

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

import sqlalchemy as sa

from app.accounts.models import User
from app.core import clock
from app.core.errors import RuleViolation
from app.core.mail import queue_mail
from app.extensions import db

PASSWORD_MIN_LENGTH = 12
PASSWORD_MAX_LENGTH = 200
CONFIRMATION_MAX_AGE = 7 * 24 * 3600
RESET_MAX_AGE = 2 * 3600

hasher = PasswordHasher()
# Verified against when the email is unknown, so that both answers take the same time.
_UNKNOWN_USER_HASH = hasher.hash("unknown user")


def normalize_email(email: str) -> str:
    return email.strip().lower()


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.email == normalize_email(email)))


def check_password_rules(password: str) -> None:
    if len(password) < PASSWORD_MIN_LENGTH:
        raise RuleViolation(
            _("Le mot de passe doit comporter au moins %(count)d caractères.", count=PASSWORD_MIN_LENGTH),
            field="password")
    if len(password) > PASSWORD_MAX_LENGTH:
        raise RuleViolation(
            _("Le mot de passe doit comporter au plus %(count)d caractères.", count=PASSWORD_MAX_LENGTH),
            field="password")


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=purpose)


def _link(endpoint: str, **values) -> str:
    return current_app.config["PUBLIC_URL"].rstrip("/") + url_for(endpoint, **values)


def sign_up(email: str, name: str, password: str, locale: str = "fr") -> User | None:
    """Create an unconfirmed account, whose mails are in `locale`, and mail a confirmation link.

    For an address that already has an account, mail its owner instead and create nothing.
    """
    check_password_rules(password)
    existing = find_user_by_email(email)
    if existing is not None:
        queue_mail(existing, _l("Votre compte Agora existe déjà"), "account_exists",
                   user=existing, reset_url=_link("accounts.forgot_password"))
        return None
    user = User(email=normalize_email(email), name=name.strip(), password_hash=hasher.hash(password),
                locale=locale)
    db.session.add(user)
    db.session.flush()
    send_confirmation(user)
    return user


def send_confirmation(user: User) -> None:
    token = _serializer("confirm-email").dumps(user.id)
    queue_mail(user, _l("Confirmez votre adresse électronique"), "confirm_email",
               user=user, confirm_url=_link("accounts.confirm_email", token=token))


def confirm_email(token: str) -> User:
    try:
        user_id = _serializer("confirm-email").loads(token, max_age=CONFIRMATION_MAX_AGE)
    except SignatureExpired:
        raise RuleViolation(_("Ce lien de confirmation a expiré. Demandez-en un nouveau.")) from None
    except BadSignature:
        raise RuleViolation(_("Ce lien de confirmation n'est pas valide.")) from None
    user = db.session.get(User, user_id)
    if user is None:
        raise RuleViolation(_("Ce lien de confirmation n'est pas valide."))
    if user.email_confirmed_at is None:
        user.email_confirmed_at = clock.now()
    return user


def authenticate(email: str, password: str) -> User:
    """Return the user if the password matches; one message for every kind of failure."""
    user = find_user_by_email(email)
    refusal = RuleViolation(_("Adresse électronique ou mot de passe incorrect."))
    try:
        hasher.verify(user.password_hash if user else _UNKNOWN_USER_HASH, password)
    except (VerificationError, InvalidHashError):
        raise refusal from None
    if user is None:
        raise refusal
    if not user.is_active:
        raise RuleViolation(_("Ce compte est suspendu. Contactez l'équipe d'Agora."))
    if not user.is_confirmed:
        raise RuleViolation(_("Confirmez d'abord votre adresse électronique : "
                              "le lien vous a été envoyé par courriel."))
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(password)
    return user


def request_password_reset(email: str) -> None:
    """Mail a reset link if the address has an account; do nothing visible otherwise."""
    user = find_user_by_email(email)
    if user is None:
        return
    # The current hash is part of the token, so a link works once: it dies with the password.
    token = _serializer("reset-password").dumps([user.id, user.password_hash[-16:]])
    queue_mail(user, _l("Réinitialisation de votre mot de passe"), "reset_password",
               user=user, reset_url=_link("accounts.reset_password", token=token))


def reset_password(token: str, new_password: str) -> User:
    invalid = RuleViolation(_("Ce lien de réinitialisation n'est pas valide ou a déjà servi."))
    try:
        user_id, fingerprint = _serializer("reset-password").loads(token, max_age=RESET_MAX_AGE)
    except SignatureExpired:
        raise RuleViolation(_("Ce lien de réinitialisation a expiré. Demandez-en un nouveau.")) from None
    except (BadSignature, ValueError, TypeError):
        raise invalid from None
    user = db.session.get(User, user_id)
    if user is None or user.password_hash[-16:] != fingerprint:
        raise invalid
    check_password_rules(new_password)
    user.password_hash = hasher.hash(new_password)
    # Following a link sent to the address proves it, as confirmation does.
    user.email_confirmed_at = user.email_confirmed_at or clock.now()
    return user


def resend_confirmation(email: str) -> None:
    """Mail a new confirmation link if the address has an unconfirmed account; say nothing otherwise."""
    user = find_user_by_email(email)
    if user is not None and not user.is_confirmed:
        send_confirmation(user)
