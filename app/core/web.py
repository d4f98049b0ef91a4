"""What every page shares: error pages (the database away included), template helpers, DSFR assets, language,
safe redirects."""

from datetime import datetime
from urllib.parse import urlsplit

from flask import (Flask, abort, current_app, flash, jsonify, redirect, render_template, request,
                   send_from_directory, session)
from flask_babel import format_datetime, format_decimal, get_locale, gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException

from app.core import clock
from app.core.db import MAX_ID, database_unreachable
from app.core.errors import RuleViolation
from app.extensions import csrf, db, login_manager
from config import LANGUAGES

DSFR_PACKAGE = "@gouvfr/dsfr/dist"
# Only what the pages use is served out of the 88 MB distribution.
DSFR_ALLOWED = ("dsfr.min.css", "dsfr.module.min.js", "dsfr.nomodule.min.js", "fonts/", "icons/",
                "favicon/", "utility/icons/icons.min.css")
# A PostgreSQL restart takes a few seconds: when to come back, told to browsers and API clients.
DATABASE_RETRY_SECONDS = 10


def init_app(app: Flask) -> None:
    app.add_url_rule("/dsfr/<path:filename>", "dsfr", serve_dsfr)
    app.add_url_rule("/langue", "set_language", set_language, methods=["POST"])
    # The switcher is in every page's footer: with a CSRF token, every visitor would get a session
    # cookie on their first page. set_language checks where the form comes from instead.
    csrf.exempt(set_language)
    app.before_request(refuse_nul_characters)
    app.register_error_handler(CSRFError, handle_csrf_error)
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(DBAPIError, handle_database_error)
    app.teardown_request(close_session_despite_a_lost_database)  # before Flask-SQLAlchemy's own teardown
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


def error_response(code: int, title: str, message: str):
    """The error page, or for the API the JSON error its clients read."""
    if request.path.startswith("/api/"):
        return jsonify({"error": {"status": code, "message": message}}), code
    return render_template("errors/error.html", code=code, title=title, message=message), code


def handle_http_error(error: HTTPException):
    title, message = error_messages().get(
        error.code, (_("Erreur inattendue"), _("Une erreur est survenue. Réessayez plus tard.")))
    return error_response(error.code, title, message)


def handle_csrf_error(error: CSRFError):
    message = _("Le formulaire a expiré ou n'est pas valide : rien n'a été enregistré. "
                "Revenez à la page précédente, rechargez-la et recommencez.")
    return error_response(400, _("Formulaire expiré"), message)


def handle_database_error(error: DBAPIError):
    """The database cannot be reached (PostgreSQL restarting, stopped, the connection cut): a 503 asking to come
    back in a few seconds rather than a 500. The pool tests connections before lending them (pool_pre_ping), so
    the next request reconnects by itself once the database is back."""
    if not database_unreachable(error):
        raise error  # a bug or a broken constraint: the usual 500, logged with its traceback
    # One line, no traceback: a restart fails every request of those few seconds. The statement and its
    # parameters (personal data) stay out of the log.
    current_app.logger.warning("Database unreachable, 503 for %s %s: %s: %s", request.method, request.path,
                               type(error.orig).__name__, str(error.orig).strip().partition("\n")[0])
    forget_request_state()
    body, code = error_response(503, _("Service momentanément indisponible"),
                                _("Le site ne parvient pas à joindre sa base de données pendant quelques instants. "
                                  "Rien n'a été enregistré pour cette demande : réessayez dans quelques secondes."))
    return body, code, {"Retry-After": str(DATABASE_RETRY_SECONDS)}


def close_session_despite_a_lost_database(_error) -> None:
    """Close the request's session before Flask-SQLAlchemy's teardown would: if the database went away once the
    page was made (PostgreSQL restarting), closing fails outside every error handler, and the page already made
    would be lost to a bare 500. Nothing is left to undo: the server ended the transaction with the connection."""
    try:
        db.session.remove()
    except DBAPIError as error:
        if not database_unreachable(error):
            raise
        current_app.logger.warning("Database unreachable while closing the session of %s %s: %s", request.method,
                                   request.path, type(error.orig).__name__)
        db.session.registry.clear()


def forget_request_state() -> None:
    """Whatever the request began is rolled back, and its session dropped: the next request starts on a fresh
    one. The error page then asks the database nothing: it is shown as to a visitor (who is signed in is
    read from the database)."""
    db.session.rollback()
    db.session.remove()
    # What login_user and logout_user call: anonymous for this request only, the session cookie kept.
    login_manager._update_request_context_with_user()
