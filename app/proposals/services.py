"""Proposal rules: drafting, publishing, editing with versions, withdrawal, co-sponsors, links.

Services take the actor, re-check every rule, raise RuleViolation with a message for people, and
flush without committing: the caller commits once.
"""

import re
from collections import defaultdict
from dataclasses import dataclass, field, fields
from datetime import datetime

import numpy as np
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
from app.proposals import permissions, similarity
from app.proposals.models import (
    Carrier, Maturity, NeedServiceLink, Proposal, ProposalCosponsor, ProposalKind, ProposalState,
    ProposalTerritoryTag, ProposalVector, ProposalVersion, TerritoryTag, proposal_themes,
)

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
    if data.kind not in set(ProposalKind):
        _fail(_("Choisissez le type de contribution : besoin ou service."), "kind")
    if not TITLE_LENGTH[0] <= len(data.title) <= TITLE_LENGTH[1]:
        _fail(_("Le titre doit compter entre %(min)d et %(max)d caractères.", min=TITLE_LENGTH[0],
                max=TITLE_LENGTH[1]), "title")
    if not data.summary or len(data.summary) > SUMMARY_MAX:
        _fail(_("Résumez la contribution en %(max)d caractères au plus.", max=SUMMARY_MAX), "summary")
    if not data.body or len(data.body) > BODY_MAX:
        _fail(_("Décrivez la contribution (%(max)d caractères au plus).", max=BODY_MAX), "body")
    consultation_themes = {theme.id for theme in consultation.themes}
    if not data.theme_ids or not set(data.theme_ids) <= consultation_themes:
        _fail(_("Choisissez au moins un thème de la consultation."), "theme_ids")
    if not set(data.territory_tags) <= set(TerritoryTag):
        _fail(_("Territoire inconnu."), "territory_tags")
    if data.kind == ProposalKind.NEED:
        if not data.problem:
            _fail(_("Décrivez le problème rencontré."), "problem")
        return
    if data.maturity not in set(Maturity):
        _fail(_("Indiquez la maturité du service."), "maturity")
    if data.carrier not in set(Carrier):
        _fail(_("Indiquez qui porte le service."), "carrier")
    if data.repository_url and not URL_PATTERN.fullmatch(data.repository_url):
        _fail(_("L'adresse du dépôt de code doit commencer par https:// ou http://."), "repository_url")
    if data.deployments is not None and data.deployments < 0:
        _fail(_("Le nombre de déploiements ne peut pas être négatif."), "deployments")
    if data.requested_budget_cents is not None and data.requested_budget_cents < 0:
        _fail(_("Le budget demandé ne peut pas être négatif."), "requested_budget_cents")


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
    return version


def store_vectors(proposals: list[Proposal]) -> None:
    """Compute, in one batch, the vectors of these proposals' latest versions that are missing."""
    db.session.flush()
    stored = {vector.proposal_id: vector for vector in db.session.scalars(
        sa.select(ProposalVector).where(ProposalVector.proposal_id.in_([p.id for p in proposals])))}
    stale = [p for p in proposals if p.id not in stored or (stored[p.id].version_number, stored[p.id].engine)
             != (len(p.versions), similarity.ENGINE_VERSION)]
    if not stale:
        return
    vectors = similarity.embed([similarity.proposal_text(p.title, p.summary, p.body) for p in stale])
    for proposal, vector in zip(stale, vectors):
        row = stored.get(proposal.id) or ProposalVector(proposal_id=proposal.id)
        row.version_number, row.engine = len(proposal.versions), similarity.ENGINE_VERSION
        row.vector = similarity.to_bytes(vector)
        db.session.add(row)


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


def import_proposal(consultation: Consultation, organization: Organization, data: ProposalInput, *, author: User,
                    published_at: datetime | None, state: str = ProposalState.PUBLISHED,
                    withdrawal_reason: str | None = None) -> Proposal:
    """Bring in a proposal written elsewhere (demo, past consultation), with its own dates.

    The content rules hold; the phase and membership rules do not, since it was not written here.
    Similarity vectors are left to the caller, to compute them in one batch with store_vectors.
    """
    data = _clean(data)
    check_input(data, consultation)
    moment = published_at or clock.now()
    proposal = Proposal(consultation=consultation, organization=organization, author=author, state=state,
                        created_at=moment, published_at=published_at,
                        withdrawn_at=moment if state == ProposalState.WITHDRAWN else None,
                        withdrawal_reason=withdrawal_reason)
    _apply(proposal, data)
    db.session.add(proposal)
    db.session.flush()
    _record_version(proposal, author, moment)
    db.session.flush()
    return proposal


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
    if proposal.is_published:
        store_vectors([proposal])
    db.session.flush()
    return proposal


def publish_proposal(proposal: Proposal, *, by: User, now: datetime | None = None) -> Proposal:
    """Publish a draft, during the collect phase only."""
    now = now or clock.now()
    refuse_if(permissions.why_not_publish(by, proposal, now))
    proposal.state = ProposalState.PUBLISHED
    proposal.published_at = now
    store_vectors([proposal])
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
    """The published services answering a need, or the published needs a service answers."""
    if proposal.is_need:
        statement = sa.select(Proposal).join(NeedServiceLink, NeedServiceLink.service_id == Proposal.id).where(
            NeedServiceLink.need_id == proposal.id)
    else:
        statement = sa.select(Proposal).join(NeedServiceLink, NeedServiceLink.need_id == Proposal.id).where(
            NeedServiceLink.service_id == proposal.id)
    return list(db.session.scalars(statement.where(Proposal.state == ProposalState.PUBLISHED,
                                                   Proposal.hidden_at.is_(None))
                                   .options(joinedload(Proposal.organization)).order_by(Proposal.title)))


def similar_proposals(consultation: Consultation, title: str, summary: str, body: str, *,
                      exclude_id: int | None = None, k: int = 5) -> list[tuple[Proposal, float]]:
    """Published proposals of the consultation closest in meaning to this text, best first."""
    rows = db.session.execute(
        sa.select(ProposalVector.proposal_id, ProposalVector.vector)
        .join(Proposal, Proposal.id == ProposalVector.proposal_id)
        .where(Proposal.consultation_id == consultation.id, Proposal.state == ProposalState.PUBLISHED,
               Proposal.hidden_at.is_(None), Proposal.id != (exclude_id or 0),
               ProposalVector.engine == similarity.ENGINE_VERSION)).all()
    if not rows:
        return []
    query = similarity.embed([similarity.proposal_text(title, summary, body)])[0]
    matrix = np.stack([similarity.from_bytes(vector) for _id, vector in rows])
    best = similarity.most_similar(query, matrix, k=k)
    proposals = {p.id: p for p in db.session.scalars(
        sa.select(Proposal).where(Proposal.id.in_([rows[index][0] for index, _score in best]))
        .options(joinedload(Proposal.organization)))}
    return [(proposals[rows[index][0]], score) for index, score in best]
