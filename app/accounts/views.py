"""Sign-up, confirmation, sign-in and out, password reset, the account page and its changes, one's own data and
the account's deletion."""

import json

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale, gettext as _
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required, login_user, logout_user

from app.accounts import personal_data, proconnect, services, sessions
from app.accounts.forms import (AccountDeletionForm, EmailChangeForm, EmailForm, NameForm, NewPasswordForm,
                                PasswordChangeForm, SignInForm, SignUpForm)
from app.core import security
from app.core.web import attempt, public_url, safe_next_url
from app.extensions import db, limiter

bp = Blueprint("accounts", __name__, url_prefix="/compte")
bp.cli.add_command(personal_data.purge_command)  # flask --app wsgi accounts purge [--dry-run]
bp.cli.add_command(services.admin_command)  # flask --app wsgi accounts admin EMAIL [--retirer]
bp.add_app_template_global(personal_data.retention_periods)  # stated on the personal-data page
bp.add_app_template_global(proconnect.is_enabled, "proconnect_enabled")
# Signing out of an account opened through ProConnect ends that session too, at the provider.
bp.record_once(lambda state: security.allow_form_action(state.app, proconnect.origin))


def _sign_in_limit() -> str:
    return current_app.config["SIGN_IN_RATE_LIMIT"]


def _submitted_email() -> str:
    return request.form.get("email", "").strip().lower()


def _signed_in_account() -> str:
    """Per account too, so that a session left open cannot try passwords from many addresses. (Limits
    are checked before login_required refuses visitors: they count per address.)"""
    return f"account:{current_user.id}" if current_user.is_authenticated else get_remote_address()


def password_entry_limits(view):
    """Pages where a signed-in person types their password again (account changes, publishing results): limited
    as sign-in is, one count for all of them."""
    view = limiter.shared_limit(_sign_in_limit, "account-change", methods=["POST"], key_func=_signed_in_account)(view)
    return limiter.shared_limit(_sign_in_limit, "account-change-by-address", methods=["POST"])(view)


@bp.route("/inscription", methods=["GET", "POST"])
@limiter.limit(_sign_in_limit, methods=["POST"])
def sign_up():
    form = SignUpForm()
    if form.validate_on_submit() and attempt(
            lambda: services.sign_up(form.email.data, form.name.data, form.password.data, str(get_locale())),
            form=form)[0]:
        return redirect(url_for("accounts.check_email"))
    return render_template("accounts/sign_up.html", form=form)


@bp.route("/verifiez-vos-courriels", methods=["GET", "POST"])
@limiter.limit(_sign_in_limit, methods=["POST"])
def check_email():
    form = EmailForm()
    if form.validate_on_submit():
        services.resend_confirmation(form.email.data)
        db.session.commit()
        flash(_("Si un compte non confirmé existe pour cette adresse, un nouveau lien vient d'y être envoyé."),
              "success")
        return redirect(url_for("accounts.check_email"))
    return render_template("accounts/check_email.html", form=form)


@bp.get("/confirmer/<token>")
def confirm_email(token: str):
    done, _user = attempt(lambda: services.confirm_email(token),
                          success=_("Votre adresse est confirmée. Vous pouvez vous connecter."))
    return redirect(url_for("accounts.sign_in" if done else "accounts.check_email"))


@bp.route("/connexion", methods=["GET", "POST"])
@limiter.limit(_sign_in_limit, methods=["POST"])
@limiter.limit(_sign_in_limit, methods=["POST"], key_func=_submitted_email)
def sign_in():
    if current_user.is_authenticated:
        return redirect(safe_next_url() or url_for("consultations.home"))
    form = SignInForm()
    if form.validate_on_submit():
        done, user = attempt(lambda: services.sign_in(form.email.data, form.password.data))
        if done:
            login_user(user)
            flash(_("Bienvenue, %(name)s.", name=user.name), "success")
            return redirect(safe_next_url() or url_for("consultations.home"))
    return render_template("accounts/sign_in.html", form=form, next=safe_next_url())


def _proconnect_or_404() -> None:
    if not proconnect.is_enabled():
        abort(404)


@bp.get("/proconnect")
@limiter.limit(_sign_in_limit)
def proconnect_start():
    """To ProConnect, which sends the person back to `proconnect_callback`."""
    _proconnect_or_404()
    if current_user.is_authenticated:
        return redirect(safe_next_url() or url_for("consultations.home"))
    done, url = attempt(lambda: proconnect.authorization_url(public_url("accounts.proconnect_callback"),
                                                             safe_next_url()))
    return redirect(url if done else url_for("accounts.sign_in"))


@bp.get("/proconnect/retour")
@limiter.limit(_sign_in_limit)
def proconnect_callback():
    """Back from ProConnect: signed in as the sign-in form does, or back to the sign-in page, saying why."""
    _proconnect_or_404()
    if current_user.is_authenticated:
        return redirect(url_for("consultations.home"))
    next_url = proconnect.pending_next_url()

    def sign_in():
        identity = proconnect.identity_from_callback(request.args, public_url("accounts.proconnect_callback"))
        return identity, services.sign_in_with_proconnect(identity, str(get_locale()))

    done, signed_in = attempt(sign_in)
    if not done:
        return redirect(url_for("accounts.sign_in"))
    identity, user = signed_in
    login_user(user)
    proconnect.remember_for_sign_out(identity)
    flash(_("Bienvenue, %(name)s.", name=user.name), "success")
    return redirect(next_url or url_for("consultations.home"))


@bp.post("/deconnexion")
def sign_out():
    token = current_user.get_id()  # ends this browser's session only: the others stay signed in
    at_proconnect = proconnect.sign_out_url(public_url("consultations.home"))
    logout_user()
    attempt(lambda: sessions.end_session(token), success=_("Vous êtes déconnecté."))
    return redirect(at_proconnect or url_for("consultations.home"))


@bp.route("/mot-de-passe-oublie", methods=["GET", "POST"])
@limiter.limit(_sign_in_limit, methods=["POST"])
def forgot_password():
    form = EmailForm()
    if form.validate_on_submit():
        services.request_password_reset(form.email.data)
        db.session.commit()
        flash(_("Si un compte existe pour cette adresse, un lien de réinitialisation vient d'y être envoyé. "
                "Il reste valable deux heures."), "success")
        return redirect(url_for("accounts.sign_in"))
    return render_template("accounts/forgot_password.html", form=form)


@bp.route("/reinitialiser/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    form = NewPasswordForm()
    if form.validate_on_submit() and attempt(
            lambda: services.reset_password(token, form.password.data), form=form,
            success=_("Votre mot de passe a été changé. Vous pouvez vous connecter."))[0]:
        return redirect(url_for("accounts.sign_in"))
    return render_template("accounts/reset_password.html", form=form)


@bp.get("/")
@login_required
def account():
    return render_template("accounts/account.html")


def _change_page(form, title: str, button: str):
    return render_template("accounts/change.html", form=form, title=title, button=button)


@bp.route("/nom", methods=["GET", "POST"])
@login_required
@password_entry_limits
def change_name():
    form = NameForm(obj=current_user)
    if form.validate_on_submit() and attempt(lambda: services.rename(current_user, form.name.data), form=form,
                                             success=_("Votre nom est modifié."))[0]:
        return redirect(url_for("accounts.account"))
    return _change_page(form, _("Modifier votre nom"), _("Enregistrer"))


@bp.route("/adresse", methods=["GET", "POST"])
@login_required
@password_entry_limits
def change_email():
    form = EmailChangeForm()
    # The same answer whether or not the address is another account's (see the service).
    if form.validate_on_submit() and attempt(
            lambda: services.request_email_change(current_user, form.email.data, form.current_password.data),
            form=form, success=_("Un lien de confirmation vient d'être envoyé à %(email)s : votre adresse changera "
                                 "quand vous l'aurez suivi.", email=services.normalize_email(form.email.data)))[0]:
        return redirect(url_for("accounts.account"))
    return _change_page(form, _("Changer d'adresse électronique"), _("Envoyer le lien de confirmation"))


@bp.get("/adresse/confirmer/<token>")
def confirm_new_email(token: str):
    """Followed from the new address's mailbox, maybe in another browser: the link is the proof."""
    done, user = attempt(lambda: services.confirm_new_email(token))
    if done:
        flash(_("L'adresse de votre compte est désormais %(email)s.", email=user.email), "success")
    return redirect(url_for("accounts.account" if current_user.is_authenticated else "accounts.sign_in"))


@bp.route("/mot-de-passe", methods=["GET", "POST"])
@login_required
@password_entry_limits
def change_password():
    form = PasswordChangeForm()
    user = current_user._get_current_object()
    if form.validate_on_submit() and attempt(
            lambda: services.change_password(user, form.current_password.data, form.password.data), form=form,
            success=_("Votre mot de passe a été changé. Vos autres sessions sont fermées."))[0]:
        login_user(user)  # the session the service opened in place of this browser's, which it ended
        return redirect(url_for("accounts.account"))
    return _change_page(form, _("Changer de mot de passe"), _("Changer le mot de passe"))


@bp.get("/contributions")
@login_required
def contributions():
    return render_template("accounts/contributions.html", groups=services.contributions_of(current_user),
                           last_change=services.last_change)


@bp.get("/mes-donnees.json")
@login_required
def download_personal_data():
    content = json.dumps(personal_data.personal_data_of(current_user), ensure_ascii=False, indent=2)
    return Response(content, mimetype="application/json",
                    headers={"Content-Disposition": 'attachment; filename="agora-mes-donnees.json"',
                             "Cache-Control": "no-store"})


@bp.route("/supprimer", methods=["GET", "POST"])
@login_required
@password_entry_limits
def delete_account():
    form = AccountDeletionForm()
    user = current_user._get_current_object()
    if form.validate_on_submit() and attempt(
            lambda: personal_data.delete_own_account(user, form.current_password.data, source=request.path),
            form=form, success=_("Votre compte est supprimé."))[0]:
        logout_user()  # its sessions are gone: this browser's cookie is cleared too
        return redirect(url_for("consultations.home"))
    return render_template("accounts/delete.html", form=form, title=_("Supprimer mon compte"),
                           button=_("Supprimer définitivement mon compte"),
                           supports=personal_data.supports_at_deletion(user))
