"""Sign-up, confirmation, sign-in and out, password reset, the account page."""

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale, gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from app.accounts import services
from app.accounts.forms import EmailForm, NewPasswordForm, SignInForm, SignUpForm
from app.core.web import attempt, safe_next_url
from app.extensions import db, limiter

bp = Blueprint("accounts", __name__, url_prefix="/compte")


def _sign_in_limit() -> str:
    return current_app.config["SIGN_IN_RATE_LIMIT"]


def _submitted_email() -> str:
    return request.form.get("email", "").strip().lower()


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
        done, user = attempt(lambda: services.authenticate(form.email.data, form.password.data))
        if done:
            login_user(user)
            flash(_("Bienvenue, %(name)s.", name=user.name), "success")
            return redirect(safe_next_url() or url_for("consultations.home"))
    return render_template("accounts/sign_in.html", form=form, next=safe_next_url())


@bp.post("/deconnexion")
def sign_out():
    logout_user()
    flash(_("Vous êtes déconnecté."), "success")
    return redirect(url_for("consultations.home"))


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
