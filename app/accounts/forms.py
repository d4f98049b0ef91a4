"""Account forms: the shape of the input only; rules live in services."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import Email, EqualTo, InputRequired, Length

EMAIL_MESSAGE = _l("Saisissez une adresse électronique valide, par exemple nom@commune.fr.")


EMAIL_LABEL = _l("Adresse électronique")


def email_field(label=EMAIL_LABEL, description: str = "") -> EmailField:
    return EmailField(label, validators=[InputRequired(EMAIL_MESSAGE), Email(EMAIL_MESSAGE), Length(max=254)],
                      description=description, render_kw={"autocomplete": "email"})


def name_field() -> StringField:
    return StringField(_l("Nom et prénom"), validators=[InputRequired(_l("Indiquez votre nom.")), Length(max=120)],
                       render_kw={"autocomplete": "name"})


def current_password_field() -> PasswordField:
    return PasswordField(_l("Mot de passe actuel"),
                         validators=[InputRequired(_l("Saisissez votre mot de passe actuel."))],
                         render_kw={"autocomplete": "current-password"})


def new_password_field() -> PasswordField:
    return PasswordField(_l("Nouveau mot de passe"), validators=[InputRequired(_l("Choisissez un mot de passe."))],
                         description=_l("Au moins 12 caractères."), render_kw={"autocomplete": "new-password"})


def confirm_password_field() -> PasswordField:
    return PasswordField(_l("Confirmez le mot de passe"),
                         validators=[EqualTo("password", _l("Les deux mots de passe diffèrent."))],
                         render_kw={"autocomplete": "new-password"})


class SignUpForm(FlaskForm):
    name = name_field()
    email = email_field()
    password = PasswordField(_l("Mot de passe"), validators=[InputRequired(_l("Choisissez un mot de passe."))],
                             render_kw={"autocomplete": "new-password"})


class SignInForm(FlaskForm):
    email = email_field()
    password = PasswordField(_l("Mot de passe"), validators=[InputRequired(_l("Saisissez votre mot de passe."))],
                             render_kw={"autocomplete": "current-password"})


class EmailForm(FlaskForm):
    email = email_field()


class NewPasswordForm(FlaskForm):
    password = new_password_field()
    confirm = confirm_password_field()


# The forms of "Mon compte", each rendered field after field by accounts/change.html.

class NameForm(FlaskForm):
    name = name_field()


class EmailChangeForm(FlaskForm):
    email = email_field(_l("Nouvelle adresse électronique"),
                        _l("Un lien de confirmation y sera envoyé : votre adresse changera quand vous l'aurez suivi."))
    current_password = current_password_field()


class PasswordChangeForm(FlaskForm):
    current_password = current_password_field()
    password = new_password_field()
    confirm = confirm_password_field()


class AccountDeletionForm(FlaskForm):
    current_password = current_password_field()
