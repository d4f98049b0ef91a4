"""Account rules: sign-up, email confirmation, authentication, password reset, changes to one's
account, one's organizations' contributions.

Answers never tell whether an email address has an account: sign-up, reset and address-change
requests for a known address send a mail to that address instead of saying so on screen, and cost
the same work as for an unknown one.
"""

import secrets
from dataclasses import dataclass, field
from datetime import datetime

import click
import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import gettext as _, lazy_gettext as _l
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from app.accounts.models import User, UserIdentity
from app.accounts.proconnect import PROVIDER as PROCONNECT, Identity
from app.accounts.sessions import end_every_session, start_session
from app.core import audit, clock
from app.core.errors import RuleViolation, refuse_if
from app.core.mail import queue_mail
from app.core.web import public_url
from app.extensions import db
from app.organizations.models import Organization
from app.proposals.models import Proposal, ProposalCosponsor
from app.proposals.permissions import acting_organizations

NAME_MAX_LENGTH = 120
PASSWORD_MIN_LENGTH = 12
PASSWORD_MAX_LENGTH = 200
CONFIRMATION_MAX_AGE = 7 * 24 * 3600
RESET_MAX_AGE = 2 * 3600

hasher = PasswordHasher()
# Verified against when the email is unknown, so that both answers take the same time.
_UNKNOWN_USER_HASH = hasher.hash("unknown user")


@dataclass(frozen=True)
class Mailbox:
    """An address that is not, or no longer, its account's own, written to in the account's language."""

    email: str
    locale: str


def normalize_email(email: str) -> str:
    return email.strip().lower()


def clean_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise RuleViolation(_("Indiquez votre nom."), field="name")
    if len(name) > NAME_MAX_LENGTH:
        raise RuleViolation(_("Le nom compte au plus %(count)d caractères.", count=NAME_MAX_LENGTH), field="name")
    return name


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.email == normalize_email(email)))


# Not an Argon2 hash: verifying any password against it raises InvalidHashError, which `authenticate`
# answers as a wrong password; so no password opens the account.
UNUSABLE_PASSWORD_HASH = "!"


def system_account(email: str, name: str) -> User:
    """The account under which the platform signs what it does itself (imported contributions), found by
    its address or created: no password opens it, and its address, to be taken in the reserved .invalid
    domain (RFC 2606), receives no mail."""
    user = find_user_by_email(email)
    if user is None:
        user = User(email=normalize_email(email), name=clean_name(name), password_hash=UNUSABLE_PASSWORD_HASH)
        db.session.add(user)
        db.session.flush()
    return user


def check_current_password(user: User, password: str) -> None:
    """Changes to an account ask for its password: a session left open is not enough to take it over."""
    try:
        hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        raise RuleViolation(_("Ce n'est pas votre mot de passe actuel."), field="current_password") from None


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


def sign_up(email: str, name: str, password: str, locale: str = "fr") -> User | None:
    """Create an unconfirmed account, whose mails are in `locale`, and mail a confirmation link.

    For an address that already has an account, mail its owner instead and create nothing. Both
    ways hash the password and queue one mail: the time taken does not tell them apart either.
    """
    name = clean_name(name)
    check_password_rules(password)
    password_hash = hasher.hash(password)
    existing = find_user_by_email(email)
    if existing is not None:
        queue_mail(existing, _l("Votre compte Agora existe déjà"), "account_exists",
                   user=existing, reset_url=public_url("accounts.forgot_password"))
        return None
    user = User(email=normalize_email(email), name=name, password_hash=password_hash, locale=locale)
    db.session.add(user)
    db.session.flush()
    send_confirmation(user)
    return user


def send_confirmation(user: User) -> None:
    token = _serializer("confirm-email").dumps(user.id)
    queue_mail(user, _l("Confirmez votre adresse électronique"), "confirm_email",
               user=user, confirm_url=public_url("accounts.confirm_email", token=token))


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
    refuse_if(why_not_sign_in(user))
    if not user.is_confirmed:
        raise RuleViolation(_("Confirmez d'abord votre adresse électronique : "
                              "le lien vous a été envoyé par courriel."))
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(password)
    return user


def why_not_sign_in(user: User) -> str | None:
    """A suspended or deleted account opens no session, whatever the way in."""
    if not user.is_active:
        return _("Ce compte est suspendu. Contactez l'équipe d'Agora.")
    return None


def sign_in(email: str, password: str) -> User:
    """Authenticate, and open a session whose token `user.get_id()` gives for the cookie."""
    user = authenticate(email, password)
    _open_session(user)
    return user


def _open_session(user: User) -> None:
    start_session(user)
    user.last_seen_at = clock.now()  # retention counts inactivity from here (app/accounts/personal_data.py)


def sign_in_with_proconnect(identity: Identity, locale: str = "fr") -> User:
    """Open a session for the person ProConnect vouches for, and return their account.

    The account linked to their ProConnect subject; else the account of their address, linked now, only if that
    address is confirmed on our side and the account has no other ProConnect identity (never merged with an
    account whose owner has not proven the address); else a new account, its address confirmed since ProConnect
    vouches for it, under a random password nobody knows (a reset gives one).
    """
    link = db.session.scalar(sa.select(UserIdentity).where(UserIdentity.provider == PROCONNECT,
                                                           UserIdentity.subject == identity.subject))
    if link is not None:
        user = link.user
        refuse_if(why_not_sign_in(user))
    else:
        email = normalize_email(identity.email)
        if not (0 < len(identity.subject) <= 255 and "@" in email and len(email) <= 254):
            raise RuleViolation(_("ProConnect ne nous a pas transmis d'identité utilisable (une adresse "
                                  "électronique valable) : la connexion est impossible."))
        user = find_user_by_email(email)
        if user is None:
            user = _proconnect_account(identity, email, locale)
        else:
            refuse_if(why_not_sign_in(user) or why_not_link_proconnect(user))
        try:
            with db.session.begin_nested():
                db.session.add(UserIdentity(provider=PROCONNECT, subject=identity.subject, user_id=user.id))
        except IntegrityError:  # the same person's other sign-in, at the same moment
            raise RuleViolation(_("Une autre connexion avec ProConnect est en cours : recommencez.")) from None
        audit.record("account.proconnect_link", actor=user, subject=audit.subject_of(user),
                     data={"provider": PROCONNECT, "siret": identity.siret})
    _open_session(user)
    return user


def why_not_link_proconnect(user: User) -> str | None:
    """Why an existing account of the same address cannot be opened through ProConnect, or None."""
    if not user.is_confirmed:
        return _("Un compte existe déjà pour l'adresse %(email)s, mais elle n'est pas encore confirmée : nous ne "
                 "pouvons pas le relier à ProConnect. Confirmez-la avec le lien reçu par courriel (ou connectez-vous "
                 "avec votre mot de passe pour en demander un nouveau), puis utilisez de nouveau ProConnect.",
                 email=user.email)
    if db.session.scalar(sa.select(UserIdentity.id).where(UserIdentity.user_id == user.id,
                                                          UserIdentity.provider == PROCONNECT).limit(1)):
        return _("Le compte de l'adresse %(email)s est déjà relié à une autre identité ProConnect : connectez-vous "
                 "avec celle-ci, ou avec votre mot de passe.", email=user.email)
    return None


def _proconnect_account(identity: Identity, email: str, locale: str) -> User:
    name = " ".join(part.strip() for part in (identity.given_name, identity.usual_name) if part.strip())
    user = User(email=email, name=name[:NAME_MAX_LENGTH] or email.split("@")[0][:NAME_MAX_LENGTH],
                password_hash=hasher.hash(secrets.token_urlsafe(32)), email_confirmed_at=clock.now(), locale=locale)
    try:
        with db.session.begin_nested():
            db.session.add(user)
    except IntegrityError:  # the same address signed up at the same moment
        raise RuleViolation(_("Une autre connexion avec ProConnect est en cours : recommencez.")) from None
    audit.record("account.proconnect_create", actor=user, subject=audit.subject_of(user),
                 data={"provider": PROCONNECT})
    return user


def request_password_reset(email: str) -> None:
    """Mail a reset link if the address has an account; do nothing visible otherwise."""
    user = find_user_by_email(email)
    if user is None:
        return
    # The current hash is part of the token, so a link works once: it dies with the password.
    token = _serializer("reset-password").dumps([user.id, user.password_hash[-16:]])
    queue_mail(user, _l("Réinitialisation de votre mot de passe"), "reset_password",
               user=user, reset_url=public_url("accounts.reset_password", token=token))


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
    # Whoever knew the old password may have signed in somewhere: every session ends.
    end_every_session(user)
    # Following a link sent to the address proves it, as confirmation does.
    user.email_confirmed_at = user.email_confirmed_at or clock.now()
    return user


def resend_confirmation(email: str) -> None:
    """Mail a new confirmation link if the address has an unconfirmed account; say nothing otherwise."""
    user = find_user_by_email(email)
    if user is not None and not user.is_confirmed:
        send_confirmation(user)


def rename(user: User, name: str) -> User:
    user.name = clean_name(name)
    return user


def change_password(user: User, current_password: str, new_password: str) -> User:
    """Replace the password of `user`, who types the current one. Every session of the account ends,
    as after a reset, and a fresh one opens for the person who changed it (`user.get_id()`)."""
    check_current_password(user, current_password)
    check_password_rules(new_password)
    user.password_hash = hasher.hash(new_password)
    end_every_session(user)
    start_session(user)
    return user


def request_email_change(user: User, new_email: str, current_password: str) -> None:
    """Mail a link to `new_email`; the account's address changes only once it is followed.

    An address that is already another account's is not revealed: its owner gets a mail saying so,
    and the answer and the work done are the same.
    """
    check_current_password(user, current_password)
    new_email = normalize_email(new_email)
    if new_email == user.email:
        raise RuleViolation(_("C'est déjà l'adresse de votre compte."), field="email")
    owner = find_user_by_email(new_email)
    if owner is not None:
        queue_mail(owner, _l("Votre adresse est déjà celle d'un compte Agora"), "email_taken",
                   user=owner, reset_url=public_url("accounts.forgot_password"))
        return
    # The old address is part of the token: a link works once, and dies if the address changes otherwise.
    token = _serializer("change-email").dumps([user.id, user.email, new_email])
    queue_mail(Mailbox(new_email, user.locale), _l("Confirmez votre nouvelle adresse électronique"),
               "confirm_new_email", user=user, confirm_url=public_url("accounts.confirm_new_email", token=token))


def confirm_new_email(token: str) -> User:
    """Give the account the address the link was sent to, and tell its previous address."""
    invalid = RuleViolation(_("Ce lien de changement d'adresse n'est pas valide ou a déjà servi."))
    try:
        user_id, old_email, new_email = _serializer("change-email").loads(token, max_age=CONFIRMATION_MAX_AGE)
    except SignatureExpired:
        raise RuleViolation(_("Ce lien de changement d'adresse a expiré. "
                              "Demandez-en un nouveau depuis votre compte.")) from None
    except (BadSignature, ValueError, TypeError):
        raise invalid from None
    user = db.session.get(User, user_id)
    if user is None or user.email != old_email:
        raise invalid
    try:
        with db.session.begin_nested():
            user.email = new_email
    except IntegrityError:  # unique email: an account was created with it since the request
        # Only whoever reads the new address's mail holds this link: telling them reveals nothing.
        raise RuleViolation(_("Cette adresse est devenue celle d'un autre compte entre-temps.")) from None
    # Following a link sent to the address proves it, as confirmation does.
    user.email_confirmed_at = clock.now()
    queue_mail(Mailbox(old_email, user.locale), _l("L'adresse de votre compte Agora a changé"),
               "email_changed", user=user)
    return user


@dataclass
class OrganizationContributions:
    """What one organization drafted, published or withdrew, and the proposals it co-sponsors."""

    organization: Organization
    own: list[Proposal] = field(default_factory=list)
    cosponsored: list[Proposal] = field(default_factory=list)


def last_change(proposal: Proposal) -> datetime:
    """Edits move `updated_at`; publishing and withdrawing keep dates of their own."""
    return max(moment for moment in (proposal.updated_at, proposal.published_at, proposal.withdrawn_at) if moment)


def contributions_of(user: User) -> list[OrganizationContributions]:
    """For each verified organization `user` acts for, by name: its proposals in every state and
    consultation, and those it co-sponsors that anyone may see, last changed first. Two queries."""
    groups = {organization.id: OrganizationContributions(organization)
              for organization in sorted(acting_organizations(user), key=lambda organization: organization.name)}
    own = db.session.scalars(sa.select(Proposal).where(Proposal.organization_id.in_(list(groups)))
                             .options(joinedload(Proposal.consultation)))
    for proposal in own:
        groups[proposal.organization_id].own.append(proposal)
    # A hidden proposal is shown to its own organization's members only (proposals.permissions.can_see).
    cosponsored = db.session.execute(
        sa.select(ProposalCosponsor.organization_id, Proposal).join(ProposalCosponsor.proposal)
        .where(ProposalCosponsor.organization_id.in_(list(groups)), Proposal.hidden_at.is_(None))
        .options(joinedload(Proposal.consultation), joinedload(Proposal.organization)))
    for organization_id, proposal in cosponsored:
        groups[organization_id].cosponsored.append(proposal)
    for group in groups.values():
        group.own.sort(key=last_change, reverse=True)
        group.cosponsored.sort(key=last_change, reverse=True)
    return list(groups.values())


# --- The admin role -----------------------------------------------------------------------------------

def why_not_leave_admins(user: User) -> str | None:
    """Agora always keeps someone to administer it: the last active admin neither stops being one nor goes."""
    others = db.session.scalar(sa.select(sa.func.count()).select_from(User).where(
        User.is_admin, User.id != user.id, User.deleted_at.is_(None), User.blocked_at.is_(None)))
    if user.is_admin and not others:
        return _("Agora n'aurait plus personne pour l'administrer : confiez d'abord ce rôle à un autre compte.")
    return None


def set_admin(user: User | None, admin: bool) -> User:
    """Give or take the admin role (from the command line: the first admin of a new site has nobody to ask)."""
    if user is None or user.deleted_at is not None:
        raise RuleViolation(_("Aucun compte n'a cette adresse."))
    if admin:
        refuse_if(why_not_sign_in(user))
        if not user.is_confirmed:
            raise RuleViolation(_("Ce compte n'a pas encore confirmé son adresse électronique."))
    else:
        refuse_if(why_not_leave_admins(user))
    if user.is_admin != admin:
        user.is_admin = admin
        audit.record("account.admin", actor=None, subject=user, data={"admin": admin})
    return user


@click.command("admin")
@click.argument("email")
@click.option("--retirer", "remove", is_flag=True, help="Retire le rôle au lieu de le donner.")
def admin_command(email: str, remove: bool) -> None:
    """Donne (ou retire) le rôle d'administration au compte de cette adresse."""
    try:
        user = set_admin(find_user_by_email(email), not remove)
    except RuleViolation as refusal:
        db.session.rollback()
        raise click.ClickException(str(refusal)) from None
    db.session.commit()
    click.echo(_("%(name)s administre Agora.", name=user.name) if user.is_admin
               else _("%(name)s n'administre plus Agora.", name=user.name))
