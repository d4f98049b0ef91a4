"""ANSM diagnostic requests: an eligible organization asks for the free tailored diagnostic, the admins triage it."""

import re
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext as _, lazy_gettext as _l
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from app.accounts.models import User
from app.core import audit, clock
from app.core.audit import AuditEntry
from app.core.errors import RuleViolation, refuse_if
from app.core.mail import queue_mail
from app.core.web import public_url
from app.extensions import db
from app.organizations import permissions
from app.organizations.models import DiagnosticRequest, DiagnosticStatus, Organization
from app.proposals.models import Proposal, ProposalKind
from app.proposals.search import is_listed

NEEDS_MAX_LENGTH = 4000
CONTACT_NAME_MAX_LENGTH = 120  # the columns'
EMAIL_MAX_LENGTH = 254
PHONE_MAX_LENGTH = 30
NOTE_MAX_LENGTH = 4000
# One @, something before it, a dot in the domain, no spaces: the mail server says the rest.
EMAIL_PATTERN = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
# Digits, spaces and the usual separators, an optional leading +: "04 71 60 00 00", "+33 4 71 60 00 00".
PHONE_PATTERN = re.compile(r"\+?[0-9 .()\-]{6,30}")


@dataclass(frozen=True)
class DiagnosticInput:
    needs: str
    contact_name: str = ""
    contact_email: str = ""
    contact_phone: str = ""


def _checked(data: DiagnosticInput) -> DiagnosticInput:
    """The input trimmed, or the first refusal, next to its field."""
    needs, name = data.needs.strip(), " ".join(data.contact_name.split())
    email, phone = data.contact_email.strip().lower(), " ".join(data.contact_phone.split())
    if not needs:
        raise RuleViolation(_("Décrivez vos besoins : ce que vous attendez du diagnostic."), field="needs")
    if len(needs) > NEEDS_MAX_LENGTH:
        raise RuleViolation(_("La description des besoins compte au plus %(count)d caractères.",
                              count=NEEDS_MAX_LENGTH), field="needs")
    if len(name) > CONTACT_NAME_MAX_LENGTH:
        raise RuleViolation(_("Le nom compte au plus %(count)d caractères.", count=CONTACT_NAME_MAX_LENGTH),
                            field="contact_name")
    if not email:
        raise RuleViolation(_("Indiquez l'adresse électronique à laquelle vous joindre."), field="contact_email")
    if len(email) > EMAIL_MAX_LENGTH or not EMAIL_PATTERN.fullmatch(email):
        raise RuleViolation(_("Saisissez une adresse électronique valide, par exemple nom@commune.fr."),
                            field="contact_email")
    if phone and not PHONE_PATTERN.fullmatch(phone):
        raise RuleViolation(_("Saisissez un numéro de téléphone, par exemple 04 71 60 00 00."), field="contact_phone")
    return DiagnosticInput(needs=needs, contact_name=name, contact_email=email, contact_phone=phone)


def request_diagnostic(organization: Organization, data: DiagnosticInput, *, by: User) -> DiagnosticRequest:
    """`by`, a verified member of the eligible `organization`, asks for the diagnostic; one open request per
    organization (permissions.why_not_request_diagnostic), held by a unique index when two ask at once."""
    refuse_if(permissions.why_not_request_diagnostic(by, organization))
    data = _checked(data)
    now = clock.now()
    diagnostic = DiagnosticRequest(organization=organization, requested_by=by, needs=data.needs,
                                   contact_name=data.contact_name, contact_email=data.contact_email,
                                   contact_phone=data.contact_phone, status=DiagnosticStatus.NEW, admin_note="",
                                   created_at=now, updated_at=now)
    try:
        with db.session.begin_nested():
            db.session.add(diagnostic)
    except IntegrityError:  # uq_diagnostic_requests_open_organization_id: a colleague asked at the same moment
        raise RuleViolation(_("Votre organisation a déjà une demande de diagnostic en cours : une nouvelle demande "
                              "sera possible une fois celle-ci close.")) from None
    audit.record("diagnostic.request", actor=by, subject=diagnostic,
                 data={"organization_id": organization.id, "organization": organization.name})
    return diagnostic


def change_diagnostic_status(diagnostic: DiagnosticRequest, status: str, note: str = "", *,
                             by: User) -> DiagnosticRequest:
    """An admin moves a request to `status`, with a note kept in the back office; the change is audited and
    mailed to the person who asked. A closed request reopens only while its organization has no other open."""
    if not by.is_admin:
        raise RuleViolation(_("Seule l'équipe d'administration peut traiter les demandes de diagnostic."))
    if status not in set(DiagnosticStatus):
        raise RuleViolation(_("Choisissez un statut."), field="status")
    note = note.strip()
    if len(note) > NOTE_MAX_LENGTH:
        raise RuleViolation(_("La note compte au plus %(count)d caractères.", count=NOTE_MAX_LENGTH), field="note")
    previous = diagnostic.status
    if status == previous and note == diagnostic.admin_note:
        raise RuleViolation(_("Rien n'a changé : choisissez un autre statut ou modifiez la note."), field="status")
    try:
        with db.session.begin_nested():
            diagnostic.status, diagnostic.admin_note, diagnostic.updated_at = status, note, clock.now()
    except IntegrityError:  # reopening while another request of the organization is open
        db.session.refresh(diagnostic)
        raise RuleViolation(_("Cette organisation a déjà une autre demande en cours : celle-ci ne peut pas être "
                              "rouverte."), field="status") from None
    audit.record("diagnostic.status", actor=by, subject=diagnostic,
                 data={"from": previous, "to": status, "note": note})
    requester = diagnostic.requested_by
    if status != previous and requester.is_active:
        queue_mail(requester, _l("Votre demande de diagnostic sur mesure a avancé"), "diagnostic_status",
                   user=requester, diagnostic=diagnostic,
                   organization_url=public_url("organizations.detail", organization_id=diagnostic.organization_id))
    return diagnostic


def latest_request(organization: Organization) -> DiagnosticRequest | None:
    """The organization's last request, open or closed, as its page shows it to its members."""
    return db.session.scalar(sa.select(DiagnosticRequest).where(DiagnosticRequest.organization_id == organization.id)
                             .order_by(DiagnosticRequest.created_at.desc(), DiagnosticRequest.id.desc()).limit(1))


def requests_by_status(status: str | None = None):
    """The select of the requests in `status` (all when None), newest first, for the back office."""
    statement = sa.select(DiagnosticRequest).options(joinedload(DiagnosticRequest.organization))
    if status:
        statement = statement.where(DiagnosticRequest.status == status)
    return statement.order_by(DiagnosticRequest.created_at.desc(), DiagnosticRequest.id.desc())


def count_new_requests() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(DiagnosticRequest)
                             .where(DiagnosticRequest.status == DiagnosticStatus.NEW))


def published_needs_of(organization: Organization) -> list[Proposal]:
    """The needs the organization published in the consultations, as the public lists show them (is_listed):
    what the diagnostic starts from. Newest first, with their consultation."""
    return db.session.scalars(
        sa.select(Proposal).where(Proposal.organization_id == organization.id, Proposal.kind == ProposalKind.NEED,
                                  is_listed())
        .options(joinedload(Proposal.consultation))
        .order_by(Proposal.published_at.desc(), Proposal.id.desc())).all()


def status_history(diagnostic: DiagnosticRequest) -> list[AuditEntry]:
    """Who asked, then who changed the status to what and when: the request's entries of the audit log."""
    return db.session.scalars(sa.select(AuditEntry).where(AuditEntry.subject == audit.subject_of(diagnostic))
                              .options(joinedload(AuditEntry.actor)).order_by(AuditEntry.id)).all()
