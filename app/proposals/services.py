"""Proposal rules: drafting, publishing, editing with versions, withdrawal, co-sponsors, links.

Services take the actor, re-check every rule, raise RuleViolation with a message for people, and
flush without committing: the caller commits once.
"""

import re
from collections import defaultdict
from dataclasses import dataclass, field, fields
from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value

from app.accounts.models import User
from app.consultations.models import Consultation, Theme
from app.core import clock
from app.core.errors import RuleViolation, refuse_if
from app.core.markdown import render_markdown
from app.extensions import db
from app.organizations.models import Organization
from app.proposals import permissions
from app.proposals.models import (
    Carrier, Maturity, NeedServiceLink, Proposal, ProposalCosponsor, ProposalKind, ProposalState,
    ProposalTerritoryTag, ProposalVersion, TerritoryTag, proposal_themes,
)
from app.proposals.search import is_listed
from app.proposals.vectors import queue_vectors

TITLE_LENGTH = (10, 150)
SUMMARY_MAX = 500
BODY_MAX = 20_000
URL_PATTERN = re.compile(r"https?://[^\s/$.?#][^\s]*", re.IGNORECASE)


@dataclass
class ProposalInput:
    """What an author writes; which fields apply depends on the kind."""

    kind: str
    title: str
    summary: str
    body: str
    theme_ids: list[int] = field(default_factory=list)
    territory_tags: list[str] = field(default_factory=list)
    problem: str | None = None
    affected: str | None = None
    workaround: str | None = None
    maturity: str | None = None
    licence: str | None = None
    repository_url: str | None = None
    carrier: str | None = None
    deployments: int | None = None
    requested_budget_cents: int | None = None

    NEED_FIELDS = ("problem", "affected", "workaround")
    SERVICE_FIELDS = ("maturity", "licence", "repository_url", "carrier", "deployments", "requested_budget_cents")


def _fail(message: str, field_name: str | None = None):
    raise RuleViolation(message, field=field_name)


def _clean(data: ProposalInput) -> ProposalInput:
    """Trim text; empty optional fields become None, and the other kind's fields are dropped."""
    values = {}
    for item in fields(data):
        value = getattr(data, item.name)
        values[item.name] = value.strip() if isinstance(value, str) else value
    for name in (*ProposalInput.NEED_FIELDS, *ProposalInput.SERVICE_FIELDS):
        if values[name] == "":
            values[name] = None
    other = ProposalInput.SERVICE_FIELDS if data.kind == ProposalKind.NEED else ProposalInput.NEED_FIELDS
    values.update(dict.fromkeys(other))
    return ProposalInput(**values)


def check_input(data: ProposalInput, consultation: Consultation) -> None:
    """The form's rules: what an author writing here must give, within the form's lengths; then what
    any proposal holds (check_content)."""
    _check_kind(data)
    check_text(data)
    if not data.theme_ids:
        _fail(_("Choisissez au moins un thème de la consultation."), "theme_ids")
    if data.kind == ProposalKind.NEED and not data.problem:
        _fail(_("Décrivez le problème rencontré."), "problem")
    if data.kind == ProposalKind.SERVICE and data.maturity not in set(Maturity):
        _fail(_("Indiquez la maturité du service."), "maturity")
    if data.kind == ProposalKind.SERVICE and data.carrier not in set(Carrier):
        _fail(_("Indiquez qui porte le service."), "carrier")
    check_content(data, consultation)


def check_text(data: ProposalInput) -> None:
    """A title, a summary and a text within the form's lengths: what a person writing here must give."""
    if not TITLE_LENGTH[0] <= len(data.title) <= TITLE_LENGTH[1]:
        _fail(_("Le titre doit compter entre %(min)d et %(max)d caractères.", min=TITLE_LENGTH[0],
                max=TITLE_LENGTH[1]), "title")
    if not data.summary or len(data.summary) > SUMMARY_MAX:
        _fail(_("Résumez la contribution en %(max)d caractères au plus.", max=SUMMARY_MAX), "summary")
    if not data.body or len(data.body) > BODY_MAX:
        _fail(_("Décrivez la contribution (%(max)d caractères au plus).", max=BODY_MAX), "body")


def check_content(data: ProposalInput, consultation: Consultation) -> None:
    """What any proposal holds, written here or brought in from elsewhere: a known kind, a title that
    fits its column, themes of its own consultation, known territories, and sound service facts when
    given. Imports ask only this: what another platform accepted is not refused for the form's lengths."""
    _check_kind(data)
    if not data.title or len(data.title) > TITLE_LENGTH[1]:
        _fail(_("Le titre est vide ou dépasse %(max)d caractères.", max=TITLE_LENGTH[1]), "title")
    if len(data.summary) > SUMMARY_MAX:
        _fail(_("Résumez la contribution en %(max)d caractères au plus.", max=SUMMARY_MAX), "summary")
    if not set(data.theme_ids) <= {theme.id for theme in consultation.themes}:
        _fail(_("Choisissez au moins un thème de la consultation."), "theme_ids")
    if not set(data.territory_tags) <= set(TerritoryTag):
        _fail(_("Territoire inconnu."), "territory_tags")
    if data.maturity is not None and data.maturity not in set(Maturity):
        _fail(_("Indiquez la maturité du service."), "maturity")
    if data.carrier is not None and data.carrier not in set(Carrier):
        _fail(_("Indiquez qui porte le service."), "carrier")
    if data.repository_url and not URL_PATTERN.fullmatch(data.repository_url):
        _fail(_("L'adresse du dépôt de code doit commencer par https:// ou http://."), "repository_url")
    if data.deployments is not None and data.deployments < 0:
        _fail(_("Le nombre de déploiements ne peut pas être négatif."), "deployments")
    if data.requested_budget_cents is not None and data.requested_budget_cents < 0:
        _fail(_("Le budget demandé ne peut pas être négatif."), "requested_budget_cents")


def _check_kind(data: ProposalInput) -> None:
    if data.kind not in set(ProposalKind):
        _fail(_("Choisissez le type de contribution : besoin ou service."), "kind")


def _apply(proposal: Proposal, data: ProposalInput) -> None:
    for name in ("kind", "title", "summary", "body", *ProposalInput.NEED_FIELDS, *ProposalInput.SERVICE_FIELDS):
        setattr(proposal, name, getattr(data, name))
    proposal.body_html = render_markdown(data.body)
    proposal.themes = list(db.session.scalars(sa.select(Theme).where(Theme.id.in_(data.theme_ids))))
    wanted = sorted(set(data.territory_tags))
    if proposal.tags != wanted:
        proposal.territory_tags = [ProposalTerritoryTag(tag=tag) for tag in wanted]


def snapshot(proposal: Proposal) -> dict:
    content = {name: getattr(proposal, name) for name in (
        "kind", "title", "summary", "body", *ProposalInput.NEED_FIELDS, *ProposalInput.SERVICE_FIELDS)}
    content["themes"] = [theme.name for theme in proposal.themes]
    content["territory_tags"] = proposal.tags
    return content


def _record_version(proposal: Proposal, by: User, now: datetime) -> ProposalVersion | None:
    """Keep a snapshot if the content changed."""
    content = snapshot(proposal)
    previous = proposal.versions[-1] if proposal.versions else None
    if previous is not None and previous.snapshot == content:
        return None
    changed = [name for name in content if previous is None or previous.snapshot.get(name) != content[name]]
    version = ProposalVersion(number=len(proposal.versions) + 1, author=by, created_at=now, snapshot=content,
                              changed_fields=changed)
    proposal.versions.append(version)
    proposal.updated_at = now
    queue_vectors([proposal])  # each version's text vector, computed by the worker, not in the request
    return version


def themes_in_use(theme_ids: list[int]) -> list[Theme]:
    """The themes among these that some proposal was filed under, by position."""
    if not theme_ids:
        return []
    return list(db.session.scalars(sa.select(Theme).where(Theme.id.in_(theme_ids), Theme.id.in_(
        sa.select(proposal_themes.c.theme_id))).order_by(Theme.position)))


def create_draft(consultation: Consultation, organization: Organization, data: ProposalInput, *, by: User,
                 now: datetime | None = None) -> Proposal:
    """Start a proposal as a draft that only the organization's members see."""
    now = now or clock.now()
    refuse_if(permissions.why_not_submit(by, organization, consultation, now))
    data = _clean(data)
    check_input(data, consultation)
    proposal = Proposal(consultation=consultation, organization=organization, author=by,
                        state=ProposalState.DRAFT, created_at=now)
    _apply(proposal, data)
    db.session.add(proposal)
    db.session.flush()
    _record_version(proposal, by, now)
    db.session.flush()
    return proposal


@dataclass
class Provenance:
    """How a proposal written elsewhere (demo, past consultation) stood there, which importing keeps:
    its dates and state and, from Decidim, its id, address and vote count."""

    published_at: datetime | None
    created_at: datetime | None = None
    state: str = ProposalState.PUBLISHED
    withdrawn_at: datetime | None = None
    withdrawal_reason: str | None = None
    is_hidden: bool = False
    decidim_id: int | None = None
    decidim_url: str | None = None
    imported_vote_count: int | None = None

    # What an import sets beside the content, compared to tell whether importing again changed anything.
    FIELDS = ("state", "published_at", "created_at", "withdrawn_at", "withdrawal_reason", "hidden_at",
              "decidim_id", "decidim_url", "imported_vote_count")


def import_proposal(consultation: Consultation, organization: Organization, data: ProposalInput,
                    provenance: Provenance, *, author: User, now: datetime | None = None) -> Proposal:
    """Bring in a proposal written elsewhere, with its own dates and state.

    What any proposal holds is checked (check_content); the form's lengths, the phase and membership
    rules are not, since it was not written here. Its first version is dated when it was published.
    Its text vector is queued with its version, as for any version (_record_version).
    """
    now = now or clock.now()
    data = _clean(data)
    check_content(data, consultation)
    proposal = Proposal(consultation=consultation, organization=organization, author=author)
    _apply(proposal, data)
    _apply_provenance(proposal, provenance, now)
    db.session.add(proposal)
    db.session.flush()
    _record_version(proposal, author, proposal.published_at or proposal.created_at)
    db.session.flush()
    return proposal


def reimport_proposal(proposal: Proposal, data: ProposalInput, provenance: Provenance, *, author: User,
                      now: datetime | None = None) -> bool:
    """Bring a proposal imported before in line with its source; a changed content is a new version.

    Return whether anything changed: importing the same source again changes nothing.
    """
    now = now or clock.now()
    data = _clean(data)
    check_content(data, proposal.consultation)
    before = [getattr(proposal, name) for name in Provenance.FIELDS]
    _apply(proposal, data)
    _apply_provenance(proposal, provenance, now)
    content_changed = _record_version(proposal, author, now) is not None
    db.session.flush()
    return content_changed or before != [getattr(proposal, name) for name in Provenance.FIELDS]


def _apply_provenance(proposal: Proposal, provenance: Provenance, now: datetime) -> None:
    """Dates the source does not give are kept from a previous import, or taken from the publication.

    An import hides what the source hid but never shows again what is hidden here: our moderation may
    have hidden it since.
    """
    published = provenance.state != ProposalState.DRAFT
    proposal.state = provenance.state
    proposal.published_at = (provenance.published_at or proposal.published_at or now) if published else None
    proposal.created_at = provenance.created_at or proposal.created_at or proposal.published_at or now
    withdrawn = provenance.state == ProposalState.WITHDRAWN
    proposal.withdrawn_at = (provenance.withdrawn_at or proposal.withdrawn_at or proposal.published_at
                             if withdrawn else None)
    proposal.withdrawal_reason = provenance.withdrawal_reason if withdrawn else None
    if provenance.is_hidden:
        proposal.hidden_at = proposal.hidden_at or now
    proposal.decidim_id = provenance.decidim_id
    proposal.decidim_url = provenance.decidim_url
    proposal.imported_vote_count = provenance.imported_vote_count


def update_proposal(proposal: Proposal, data: ProposalInput, *, by: User, now: datetime | None = None) -> Proposal:
    """Edit a proposal until the collect phase ends; every change is kept as a version."""
    now = now or clock.now()
    refuse_if(permissions.why_not_edit(by, proposal, now))
    data = _clean(data)
    if proposal.is_published and data.kind != proposal.kind:
        # Co-sponsors, supports and links were given to a need or to a service, not to either.
        raise RuleViolation(_("Une proposition publiée ne change plus de type."), field="kind")
    check_input(data, proposal.consultation)
    _apply(proposal, data)
    _record_version(proposal, by, now)
    db.session.flush()
    return proposal


def publish_proposal(proposal: Proposal, *, by: User, now: datetime | None = None) -> Proposal:
    """Publish a draft, during the collect phase only."""
    now = now or clock.now()
    refuse_if(permissions.why_not_publish(by, proposal, now))
    proposal.state = ProposalState.PUBLISHED
    proposal.published_at = now
    # Its version was queued when the draft was saved; this covers drafts saved before jobs existed,
    # and costs the worker one query when the vector is there.
    queue_vectors([proposal])
    db.session.flush()
    return proposal


def withdraw_proposal(proposal: Proposal, reason_text: str, *, by: User, now: datetime | None = None) -> Proposal:
    """Withdraw a published proposal, with a reason, at any time before results."""
    now = now or clock.now()
    refuse_if(permissions.why_not_withdraw(by, proposal, now))
    if not reason_text.strip():
        raise RuleViolation(_("Expliquez pourquoi la proposition est retirée."), field="reason")
    proposal.state = ProposalState.WITHDRAWN
    proposal.withdrawn_at = now
    proposal.withdrawal_reason = reason_text.strip()
    db.session.flush()
    return proposal


def cosponsor_proposal(proposal: Proposal, organization: Organization, *, by: User,
                       now: datetime | None = None) -> ProposalCosponsor:
    now = now or clock.now()
    refuse_if(permissions.why_not_cosponsor(by, organization, proposal, now))
    try:
        with db.session.begin_nested():
            cosponsor = ProposalCosponsor(proposal=proposal, organization=organization, added_by_id=by.id,
                                          created_at=now)
            db.session.add(cosponsor)
    except IntegrityError:  # unique (proposal, organization): a colleague pressed at the same time
        raise RuleViolation(_("Votre organisation coporte déjà cette proposition.")) from None
    return cosponsor


def link_service_to_need(service: Proposal, need: Proposal, *, by: User) -> NeedServiceLink:
    refuse_if(permissions.why_not_link(by, service, need))
    existing = db.session.scalar(sa.select(NeedServiceLink).filter_by(need_id=need.id, service_id=service.id))
    if existing is not None:
        raise RuleViolation(_("Ce service est déjà relié à ce besoin."))
    link = NeedServiceLink(need=need, service=service, created_by_id=by.id)
    db.session.add(link)
    db.session.flush()
    return link


def load_cosponsors(proposals: list[Proposal]) -> None:
    """Load the co-sponsors of a page of proposals in one query, where reading each one's would cost one."""
    waiting = [proposal for proposal in proposals if "cosponsors" in sa.inspect(proposal).unloaded]
    if not waiting:
        return
    found = defaultdict(list)
    for cosponsor in db.session.scalars(sa.select(ProposalCosponsor).where(
            ProposalCosponsor.proposal_id.in_([proposal.id for proposal in waiting])).order_by(ProposalCosponsor.id)):
        found[cosponsor.proposal_id].append(cosponsor)
    for proposal in waiting:
        set_committed_value(proposal, "cosponsors", found[proposal.id])


def linked(proposal: Proposal) -> list[Proposal]:
    """The listed services answering a need, or the listed needs a service answers."""
    if proposal.is_need:
        statement = sa.select(Proposal).join(NeedServiceLink, NeedServiceLink.service_id == Proposal.id).where(
            NeedServiceLink.need_id == proposal.id)
    else:
        statement = sa.select(Proposal).join(NeedServiceLink, NeedServiceLink.need_id == Proposal.id).where(
            NeedServiceLink.service_id == proposal.id)
    return list(db.session.scalars(statement.where(is_listed()).options(joinedload(Proposal.organization))
                                   .order_by(Proposal.title)))

