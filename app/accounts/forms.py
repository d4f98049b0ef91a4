"""Account forms: the shape of the input only; rules live in services."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import Email, EqualTo, InputRequired, Length

EMAIL_MESSAGE = _l("Saisissez une adresse électronique valide, par exemple nom@commune.fr.")


EMAIL_LABEL = _l("Adresse électronique")


def email_field(label=EMAIL_LABEL) -> EmailField:
    return EmailField(label, validators=[InputRequired(EMAIL_MESSAGE), Email(EMAIL_MESSAGE), Length(max=254)],
                      render_kw={"autocomplete": "email"})


class SignUpForm(FlaskForm):
    name = StringField(_l("Nom et prénom"), validators=[InputRequired(_l("Indiquez votre nom.")),
                                                         Length(max=120)],
                       render_kw={"autocomplete": "name"})
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
    password = PasswordField(_l("Nouveau mot de passe"),
                             validators=[InputRequired(_l("Choisissez un mot de passe."))],
                             render_kw={"autocomplete": "new-password"})
    confirm = PasswordField(_l("Confirmez le mot de passe"),
                            validators=[EqualTo("password", _l("Les deux mots de passe diffèrent."))],
                            render_kw={"autocomplete": "new-password"})
