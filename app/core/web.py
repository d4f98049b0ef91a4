"""What every page shares: error pages, template helpers, DSFR assets, language, safe redirects."""

from datetime import datetime
from urllib.parse import urlsplit

from flask import (Flask, abort, current_app, flash, jsonify, redirect, render_template, request,
                   send_from_directory, session)
from flask_babel import format_datetime, format_decimal, get_locale, gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from app.core import clock
from app.core.db import MAX_ID
from app.core.errors import RuleViolation
from app.extensions import csrf, db
from config import LANGUAGES

DSFR_PACKAGE = "@gouvfr/dsfr/dist"
# Only what the pages use is served out of the 88 MB distribution.
DSFR_ALLOWED = ("dsfr.min.css", "dsfr.module.min.js", "dsfr.nomodule.min.js", "fonts/", "icons/",
                "favicon/", "utility/icons/icons.min.css")


def init_app(app: Flask) -> None:
    app.add_url_rule("/dsfr/<path:filename>", "dsfr", serve_dsfr)
    app.add_url_rule("/langue", "set_language", set_language, methods=["POST"])
    # The switcher is in every page's footer: with a CSRF token, every visitor would get a session
    # cookie on their first page. set_language checks where the form comes from instead.
    csrf.exempt(set_language)
    app.before_request(refuse_nul_characters)
    app.register_error_handler(CSRFError, handle_csrf_error)
    app.register_error_handler(HTTPException, handle_http_error)
    app.jinja_env.filters["paris"] = paris_datetime
    app.jinja_env.filters["euros"] = euros
    app.jinja_env.filters["number"] = format_decimal
    app.jinja_env.globals.update(current_path=current_path, get_locale=get_locale)  # also inside imported macros
    app.context_processor(lambda: {"site": site_identity()})


def serve_dsfr(filename: str):
    if not filename.startswith(DSFR_ALLOWED):
        abort(404)
    response = send_from_directory(current_app.config["NODE_MODULES"] / DSFR_PACKAGE, filename,
                                   max_age=7 * 24 * 3600)
    return response


def set_language():
    """The visitor's language, kept for their session and, once signed in, for the mails they receive."""
    # Browsers say where a form was sent from. Another site's form would not carry the session cookie
    # (SameSite=Lax), but its answer would replace it, signing the visitor out: refused.
    if request.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
        abort(400)
    language = request.form.get("language")
    if language in LANGUAGES:
        session["locale"] = language
        if current_user.is_authenticated:
            current_user.locale = language
            db.session.commit()
    return redirect(safe_next_url() or "/")


def refuse_nul_characters() -> None:
    """PostgreSQL cannot store a NUL character: a request carrying one is refused whole (400),
    here, rather than failing half-way on one database and not the other."""
    for values in (request.args, request.form):
        if any("\x00" in key or "\x00" in value for key, value in values.items(multi=True)):
            abort(400)


def page_argument() -> int:
    """The `page` parameter of a list: 1 when absent, a 400 when it is not a page number."""
    value = request.args.get("page", "1")
    if not (value.isascii() and value.isdigit() and len(value) <= 6 and int(value) >= 1):
        abort(400)
    return int(value)


def form_id(name: str) -> int | None:
    """The id posted in a form field, or None when the value cannot be an id."""
    return parse_id(request.form.get(name, ""))


def parse_id(value: str) -> int | None:
    """`value` as an id, or None when it cannot be one (too large for the database, not a plain number)."""
    if value.isascii() and value.isdigit() and len(value) <= 10 and 0 < int(value) <= MAX_ID:
        return int(value)
    return None


def public_url(endpoint: str, **values) -> str:
    """An absolute address on the site's configured PUBLIC_URL, for links in mails and in the API: never
    on the request's Host header, which the client chooses. Built from the URL map, not the request, so
    that commands and workers build the same links."""
    base = urlsplit(current_app.config["PUBLIC_URL"])
    adapter = current_app.url_map.bind(base.netloc, base.path or "/", url_scheme=base.scheme)
    return adapter.build(endpoint, values, force_external=True)


def current_path() -> str:
    """This page's path and query string, to come back to after a form (no dangling "?")."""
    return request.full_path.rstrip("?")


def safe_next_url() -> str | None:
    """The `next` field or parameter if it points inside this site, else None (no open redirect)."""
    target = request.form.get("next") or request.args.get("next")
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


def attempt(action, *, success: str | None = None, form=None) -> tuple[bool, object]:
    """Run one service call for a request: commit and flash `success`, or roll back and show the
    refusal (next to its field when a form is given). Returns (done, what the service returned)."""
    try:
        result = action()
    except RuleViolation as refusal:
        db.session.rollback()
        if form is not None:
            show_refusal(form, refusal)
        else:
            flash(str(refusal), "error")
        return False, None
    db.session.commit()
    if success:
        flash(success, "success")
    return True, result


def show_refusal(form, refusal) -> None:
    """Show a service's refusal next to the field it concerns, or as a message above the form."""
    if refusal.field and refusal.field in form:
        form[refusal.field].errors = [*form[refusal.field].errors, str(refusal)]
    else:
        flash(str(refusal), "error")


def site_identity() -> dict:
    config = current_app.config
    return {"name": config["SITE_NAME"],
            "tagline": config["SITE_TAGLINE"] or _("Consultations des collectivités territoriales"),
            "operator": config["OPERATOR_NAME"], "is_state": config["OPERATOR_IS_STATE"]}


def paris_datetime(moment: datetime | None, pattern: str | None = None) -> str:
    """Show a stored UTC instant as Paris wall-clock time, by default in the visitor's language."""
    if moment is None:
        return ""
    local = clock.to_paris(moment)
    # Translators: a Babel (CLDR) date pattern; words that are not pattern letters go between single quotes.
    pattern = pattern or _("d MMMM y 'à' HH'h'mm")
    if local.day == 1 and get_locale().language == "fr":
        pattern = pattern.replace("d ", "d'er' ", 1)  # French writes the first of the month "1er décembre"
    return format_datetime(local, pattern)


def euros(cents: int | None) -> str:
    if cents is None:
        return ""
    return format_decimal(cents / 100, format="#,##0.##") + " €"


def error_messages() -> dict[int, tuple[str, str]]:
    return {
        400: (_("Requête invalide"), _("La demande envoyée n'est pas valide.")),
        403: (_("Accès refusé"), _("Vous n'avez pas accès à cette page.")),
        404: (_("Page introuvable"), _("La page demandée n'existe pas ou a été déplacée.")),
        405: (_("Action impossible"), _("Cette adresse ne permet pas cette action.")),
        413: (_("Envoi trop volumineux"), _("Le contenu envoyé dépasse la taille permise.")),
        429: (_("Trop de tentatives"), _("Trop de tentatives en peu de temps : réessayez dans quelques minutes.")),
    }


def handle_http_error(error: HTTPException):
    title, message = error_messages().get(
        error.code, (_("Erreur inattendue"), _("Une erreur est survenue. Réessayez plus tard.")))
    if request.path.startswith("/api/"):
        return jsonify({"error": {"status": error.code, "message": message}}), error.code
    return render_template("errors/error.html", code=error.code, title=title, message=message), error.code


def handle_csrf_error(error: CSRFError):
    message = _("Le formulaire a expiré ou n'est pas valide : rien n'a été enregistré. "
                "Revenez à la page précédente, rechargez-la et recommencez.")
    if request.path.startswith("/api/"):
        return jsonify({"error": {"status": 400, "message": message}}), 400
    return render_template("errors/error.html", code=400, title=_("Formulaire expiré"), message=message), 400
