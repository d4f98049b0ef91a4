"""Needs ↔ services for the committee: the services likeliest to answer each need (and the reverse), read from
the stored text vectors, and the links the committee confirms or takes back, each in the audit log.

Suggestions never embed a text: they read each proposal's stored nearest neighbours (vectors.py) and keep
those of the other kind. Those lists hold the NEIGHBOURS closest proposals of either kind, so a need whose
neighbours are mostly needs may find too few services there; for those only, the services' stored vectors
are compared with the need's, in one matrix product for the page. Measured at tier M (15,000 proposals, half
of them services, 2 shared cores): a page of 20 needs gets its suggestions in 120-250 ms on SQLite, 310-440 ms
on PostgreSQL, most of it reading the 7,500 services' vectors (15 MB) when one need of the page lacks services.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from app.accounts.models import User
from app.committee.permissions import why_not_link
from app.core import audit, clock
from app.core.errors import RuleViolation, refuse_if
from app.extensions import db
from app.proposals import similarity
from app.proposals.models import NeedServiceLink, Proposal, ProposalKind, ProposalNeighbour, ProposalVector
from app.proposals.permissions import why_not_pair
from app.proposals.search import is_listed
from app.proposals.vectors import NEIGHBOURS

SUGGESTIONS = 5  # per proposal of the page: enough to choose from, few enough to read


@dataclass
class Row:
    """A proposal of the committee's page, the proposals of the other kind linked to it, and those suggested."""

    proposal: Proposal
    links: list[tuple[Proposal, NeedServiceLink]]
    suggested: list[tuple[Proposal, float]]


def _locked_link(need: Proposal, service: Proposal) -> NeedServiceLink | None:
    """The pair's link as the database holds it now, locked until commit (a colleague's click waits)."""
    return db.session.scalar(sa.select(NeedServiceLink).filter_by(need_id=need.id, service_id=service.id)
                             .with_for_update().execution_options(populate_existing=True))


def confirm_link(need: Proposal, service: Proposal, *, by: User, now: datetime | None = None) -> NeedServiceLink:
    """The committee confirms that `service` answers `need`: a declared link becomes confirmed, a suggested
    pair becomes a confirmed link. Confirming a confirmed link changes nothing and logs nothing (a second
    click, or a colleague first)."""
    now = now or clock.now()
    refuse_if(why_not_link(by, need.consultation, now))
    refuse_if(why_not_pair(need, service))
    link = _locked_link(need, service)
    if link is None:
        try:
            with db.session.begin_nested():
                link = NeedServiceLink(need=need, service=service, created_by_id=by.id, created_at=now,
                                       is_declared=False)
                db.session.add(link)
        except IntegrityError:  # unique (need, service): declared or confirmed by someone else meanwhile
            link = _locked_link(need, service)
    if link.is_confirmed:
        return link
    link.confirmed_at, link.confirmed_by_id = now, by.id
    db.session.flush()
    audit.record("link.confirm", actor=by, subject=need,
                 data={"service_id": service.id, "service": service.title, "declared": link.is_declared})
    return link


def remove_link(need: Proposal, service: Proposal, *, by: User, now: datetime | None = None) -> bool:
    """The committee takes a link back: a confirmed link that the service's organization declared goes back
    to declared; any other (made by the committee, or declared and not confirmed) is deleted. Returns whether
    the link is gone."""
    refuse_if(why_not_link(by, need.consultation, now))
    if need.consultation_id != service.consultation_id:
        raise RuleViolation(_("Le besoin et le service doivent appartenir à la même consultation."))
    link = _locked_link(need, service)
    if link is None:
        raise RuleViolation(_("Ce service n'est pas relié à ce besoin."))
    kept_declared = link.is_declared and link.is_confirmed
    data = {"service_id": service.id, "service": service.title, "declared": link.is_declared,
            "kept_declared": kept_declared}
    if kept_declared:
        link.confirmed_at = link.confirmed_by_id = None
    else:
        db.session.delete(link)
    db.session.flush()
    audit.record("link.remove", actor=by, subject=need, data=data)
    return not kept_declared


def rows(proposals: list[Proposal], k: int = SUGGESTIONS) -> list[Row]:
    """Each proposal (all of one kind) with its links and up to `k` suggestions not linked yet."""
    linked = links_of(proposals)
    found = suggestions(proposals, {proposal.id: {other.id for other, _link in linked[proposal.id]}
                                    for proposal in proposals}, k)
    return [Row(proposal, linked[proposal.id], found[proposal.id]) for proposal in proposals]


def _sides(kind: str):
    """(this side's column, the other side's column) of a link, for proposals of `kind`."""
    if kind == ProposalKind.NEED:
        return NeedServiceLink.need_id, NeedServiceLink.service_id
    return NeedServiceLink.service_id, NeedServiceLink.need_id


def links_of(proposals: list[Proposal]) -> dict[int, list[tuple[Proposal, NeedServiceLink]]]:
    """The listed proposals of the other kind linked to each of `proposals` (all of one kind), confirmed ones
    first, then by title: one query."""
    found = defaultdict(list)
    if not proposals:
        return found
    mine, other = _sides(proposals[0].kind)
    # Two indexed queries: joined, SQLite's planner walked every listed proposal (0.2 s at 15,000).
    pairs = db.session.execute(sa.select(mine, other, NeedServiceLink)
                               .where(mine.in_([proposal.id for proposal in proposals]))).all()
    others = {proposal.id: proposal for proposal in db.session.scalars(
        sa.select(Proposal).where(Proposal.id.in_({other_id for _mine, other_id, _link in pairs}), is_listed())
        .options(joinedload(Proposal.organization)))}
    for mine_id, other_id, link in pairs:
        if other_id in others:
            found[mine_id].append((others[other_id], link))
    for entries in found.values():
        entries.sort(key=lambda entry: (not entry[1].is_confirmed, entry[0].title, entry[0].id))
    return found


def confirmed_ids(proposal: Proposal) -> set[int]:
    """The ids of the proposals of the other kind whose link with `proposal` the committee confirmed."""
    mine, other = _sides(proposal.kind)
    return set(db.session.scalars(sa.select(other).where(mine == proposal.id,
                                                         NeedServiceLink.confirmed_at.is_not(None))))


def suggestions(proposals: list[Proposal], excluded: dict[int, set[int]],
                k: int = SUGGESTIONS) -> dict[int, list[tuple[Proposal, float]]]:
    """For each of `proposals` (all of one kind, of one consultation), the `k` listed proposals of the other
    kind closest in meaning, best first, leaving out `excluded[its id]` (those already linked).

    A stored list is the exact top NEIGHBOURS over the consultation: when it holds `k` proposals of the other
    kind, or is not full (every proposal above similarity.MIN_SCORE is in it), those are the answer;
    otherwise the vectors decide."""
    if not proposals:
        return {}
    other_kind = ProposalKind.SERVICE if proposals[0].kind == ProposalKind.NEED else ProposalKind.NEED
    ids = [proposal.id for proposal in proposals]
    listed_other = sa.and_(Proposal.kind == other_kind, is_listed())
    stored, list_sizes = defaultdict(list), defaultdict(int)
    for proposal_id, neighbour_id, score, usable in db.session.execute(
            sa.select(ProposalNeighbour.proposal_id, ProposalNeighbour.neighbour_id, ProposalNeighbour.score,
                      listed_other).join(Proposal, Proposal.id == ProposalNeighbour.neighbour_id)
            .where(ProposalNeighbour.proposal_id.in_(ids))):
        list_sizes[proposal_id] += 1
        if usable and neighbour_id not in excluded.get(proposal_id, ()):
            stored[proposal_id].append((neighbour_id, score))
    best = {proposal_id: sorted(stored[proposal_id], key=lambda pair: (-pair[1], pair[0]))[:k] for proposal_id in ids
            if len(stored[proposal_id]) >= k or list_sizes[proposal_id] < NEIGHBOURS}
    missing = [proposal_id for proposal_id in ids if proposal_id not in best]
    if missing:
        best.update(_compared(proposals[0].consultation_id, missing, listed_other, excluded, k))
    others = {proposal.id: proposal for proposal in db.session.scalars(
        sa.select(Proposal).where(Proposal.id.in_({other_id for pairs in best.values() for other_id, _ in pairs}))
        .options(joinedload(Proposal.organization)))}
    return {proposal_id: [(others[other_id], score) for other_id, score in best.get(proposal_id, [])]
            for proposal_id in ids}


def _compared(consultation_id: int, proposal_ids: list[int], listed_other, excluded: dict[int, set[int]],
              k: int) -> dict[int, list[tuple[int, float]]]:
    """The `k` best of the other kind for each of `proposal_ids`, by their stored vectors against those of
    every listed proposal of the other kind of the consultation."""
    mine_ids, mine = _vectors(ProposalVector.proposal_id.in_(proposal_ids))
    other_ids, others = _vectors(sa.and_(Proposal.consultation_id == consultation_id, listed_other))
    if not len(mine_ids) or not len(other_ids):
        return {}
    # One product for the page: row by row, each would read every vector again (15 MB at 7,500 services).
    scores = mine @ others.T
    found = {}
    for proposal_id, row_scores in zip(mine_ids.tolist(), scores):
        row_scores[np.isin(other_ids, list(excluded.get(proposal_id, ())))] = -np.inf
        best = np.argsort(-row_scores, kind="stable")[:k]  # equal scores: the oldest proposal first
        found[proposal_id] = [(int(other_ids[row]), float(row_scores[row])) for row in best
                              if row_scores[row] >= similarity.MIN_SCORE]
    return found


def _vectors(condition) -> tuple[np.ndarray, np.ndarray]:
    """The ids and stored vectors (today's engine) of the proposals meeting `condition`, by id."""
    found = db.session.execute(sa.select(ProposalVector.proposal_id, ProposalVector.vector)
                               .join(Proposal, Proposal.id == ProposalVector.proposal_id)
                               .where(condition, ProposalVector.engine == similarity.ENGINE_VERSION)
                               .order_by(ProposalVector.proposal_id)).all()
    matrix = similarity.from_bytes(b"".join(row.vector for row in found)).reshape(len(found), similarity.DIM)
    return np.array([row.proposal_id for row in found], dtype=np.int64), matrix
