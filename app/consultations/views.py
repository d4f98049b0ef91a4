"""Public pages of consultations: the home page and a consultation's page."""

import sqlalchemy as sa
from flask import Blueprint, render_template
from flask_login import current_user

from app.consultations import permissions
from app.consultations.models import Consultation, Phase
from app.consultations.phases import current_phase, next_phase
from app.core import clock
from app.core.page_cache import same_for_visitors
from app.extensions import db

bp = Blueprint("consultations", __name__)


def featured_consultation(now) -> Consultation | None:
    """The consultation running now, else the next to start, else the latest to have run."""
    running = sa.select(Phase.consultation_id).where(Phase.starts_at <= now, Phase.ends_at > now)
    upcoming = sa.select(Phase.consultation_id).where(Phase.starts_at > now)
    for candidates in (running, upcoming):
        consultation = db.session.scalar(sa.select(Consultation).where(Consultation.id.in_(candidates))
                                         .order_by(Consultation.created_at.desc()).limit(1))
        if consultation is not None:
            return consultation
    return db.session.scalar(sa.select(Consultation).order_by(Consultation.created_at.desc()).limit(1))


@bp.get("/")
@same_for_visitors
def home():
    now = clock.now()
    consultation = featured_consultation(now)
    situation = permissions.user_situation(current_user, consultation, now) if consultation else None
    return render_template("consultations/home.html", consultation=consultation, situation=situation,
                           phase=current_phase(consultation, now) if consultation else None,
                           upcoming=next_phase(consultation, now) if consultation else None)


@bp.get("/consultations/<slug>")
@same_for_visitors
def detail(slug: str):
    now = clock.now()
    consultation = db.first_or_404(sa.select(Consultation).where(Consultation.slug == slug))
    return render_template("consultations/detail.html", consultation=consultation,
                           phase=current_phase(consultation, now), now=now)
