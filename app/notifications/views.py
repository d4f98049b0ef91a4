"""'Mon compte' › Courriels (what one receives), and the one-click unsubscribe page reached from a mail.

The unsubscribe page is its token's only door: it signs nobody in, writes no session, and the token means
nothing anywhere else (its own salt; no other route reads it).
"""

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.core.errors import RuleViolation
from app.core.web import attempt
from app.extensions import csrf, db
from app.notifications import services
from app.notifications.forms import preferences_form
from app.notifications.models import NotificationKind

bp = Blueprint("notifications", __name__)


@bp.route("/compte/courriels", methods=["GET", "POST"])
@login_required
def preferences():
    user = current_user._get_current_object()
    form = preferences_form(services.preferences_of(user))
    if form.validate_on_submit() and attempt(
            lambda: services.set_preferences(user, {kind: form[kind.value].data for kind in NotificationKind}),
            form=form, success=_("Vos choix de courriels sont enregistrés."))[0]:
        return redirect(url_for("accounts.account"))
    return render_template("notifications/preferences.html", form=form)


@bp.route("/courriels/desabonnement/<token>", methods=["GET", "POST"])
@csrf.exempt  # the signed token is the proof; a CSRF token would need a session, which this page never writes
def unsubscribe(token: str):
    """GET asks for confirmation (mail scanners follow links; they must not unsubscribe anyone), POST stops that
    one kind of mail. Answers with a page, never a flash message or a redirect: both would need a session."""
    try:
        if request.method == "POST":
            _user, kind = services.unsubscribe(token)
            db.session.commit()
            return render_template("notifications/unsubscribed.html", kind=kind)
        user, kind = services.read_unsubscribe_token(token)
    except RuleViolation as refusal:
        db.session.rollback()
        return render_template("notifications/unsubscribe.html", refusal=str(refusal)), 404
    return render_template("notifications/unsubscribe.html", kind=kind, email=_masked(user.email))


def _masked(email: str) -> str:
    """Enough of the address for its owner to recognise it, not enough to learn it from a forwarded link."""
    name, _at, domain = email.partition("@")
    return f"{name[:2]}…@{domain}"
