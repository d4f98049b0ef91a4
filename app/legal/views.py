"""Legal notice, personal data, accessibility statement: our French defaults filled with the operator's
settings, or the operator's own text in Markdown; and the site map."""

from pathlib import Path

import sqlalchemy as sa
from flask import Blueprint, current_app, render_template
from flask_babel import gettext as _, lazy_gettext as _l
from markupsafe import Markup

from app.consultations.models import Consultation
from app.core.markdown import render_markdown
from app.extensions import db

bp = Blueprint("legal", __name__)

# What the last RGAA audit found (ACCESSIBILITY_CONFORMITY): until an audit, the RGAA calls a site
# "non conforme", whatever automated checks say.
CONFORMITY = {"non": _l("non conforme"), "partielle": _l("partiellement conforme"),
              "totale": _l("totalement conforme")}


@bp.app_context_processor
def conformity_context():
    """The conformity every page's footer states, as the accessibility statement does."""
    level = current_app.config["ACCESSIBILITY_CONFORMITY"] if current_app.config["ACCESSIBILITY_AUDIT_DATE"] else "non"
    return {"accessibility_conformity": str(CONFORMITY.get(level, CONFORMITY["non"]))}


@bp.get("/mentions-legales")
def legal_notice():
    return legal_page("mentions-legales", _("Mentions légales"))


@bp.get("/donnees-personnelles")
def personal_data():
    return legal_page("donnees-personnelles", _("Données personnelles"))


@bp.get("/accessibilite")
def accessibility():
    return legal_page("accessibilite", _("Déclaration d'accessibilité"))


@bp.get("/plan-du-site")
def sitemap():
    consultations = db.session.scalars(sa.select(Consultation).order_by(Consultation.created_at.desc())).all()
    return render_template("legal/sitemap.html", consultations=consultations)


def legal_page(name: str, title: str):
    return render_template("legal/page.html", name=name, title=title, operator_text=operator_text(name))


def operator_text(name: str) -> Markup | None:
    """The operator's `<name>.md` from LEGAL_PAGES_DIR, rendered, or None to show our default. Read on
    each request: the file can be edited without restarting, and web processes keep nothing."""
    folder = current_app.config["LEGAL_PAGES_DIR"]
    path = Path(folder, f"{name}.md") if folder else None
    if path is None or not path.is_file():
        return None
    # The page's h1 is its title: the operator's `#` sections become its h2.
    return Markup(render_markdown(path.read_text(encoding="utf-8"), top_heading=2))
