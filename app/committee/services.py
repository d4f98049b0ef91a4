"""Committee rules: seating members and the chair. Admin only."""

from flask_babel import gettext as _

from app.accounts.models import User
from app.committee.models import CommitteeSeat
from app.consultations.models import Consultation
from app.core import audit
from app.core.errors import RuleViolation
from app.extensions import db


def add_committee_member(consultation: Consultation, user: User, *, affiliation: str, is_chair: bool,
                         by: User) -> CommitteeSeat:
    """Seat `user` on the committee; naming a new chair takes the chair from the previous one."""
    if not by.is_admin:
        raise RuleViolation(_("Seule l'équipe d'administration peut composer le comité."))
    if not affiliation.strip():
        raise RuleViolation(_("Indiquez l'affiliation du membre (association, administration…)."),
                            field="affiliation")
    if any(seat.user_id == user.id for seat in consultation.committee_seats):
        raise RuleViolation(_("Cette personne siège déjà au comité."), field="email")
    if is_chair:
        _clear_chair(consultation)
    seat = CommitteeSeat(user=user, affiliation=affiliation.strip(), is_chair=is_chair)
    consultation.committee_seats.append(seat)
    db.session.flush()
    audit.record("committee.add", actor=by, subject=consultation,
                 data={"user_id": user.id, "affiliation": seat.affiliation, "is_chair": is_chair})
    return seat


def _clear_chair(consultation: Consultation) -> None:
    for seat in consultation.committee_seats:
        seat.is_chair = False
    db.session.flush()  # the unique chair index must see the old chair gone first


def remove_committee_member(seat: CommitteeSeat, *, by: User) -> None:
    if not by.is_admin:
        raise RuleViolation(_("Seule l'équipe d'administration peut composer le comité."))
    consultation = seat.consultation
    consultation.committee_seats.remove(seat)
    db.session.flush()
    audit.record("committee.remove", actor=by, subject=consultation, data={"user_id": seat.user_id})
