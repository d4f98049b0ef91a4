"""Text vectors of proposal versions and their nearest neighbours: computed by a job, read by the pages.

Embedding a text needs the model (120 MB, a second to load) and about 10 ms; comparing it with the
consultation reads every vector (30 MB at 15,000 proposals). Neither belongs in a request: saving,
publishing or importing a proposal queues a job (`queue_vectors`), the worker (`flask --app wsgi jobs
run`) embeds the version once and writes the NEIGHBOURS proposals of the consultation closest to it,
and a page reads that list with one indexed query.

Why lists written in advance rather than a search when the page is read: pgvector is not available,
and a matrix of the vectors kept by each web process would be state that web processes do not keep
(30 MB each, stale as soon as an author publishes through another process). The job that writes a
version's list also renews every list that the version enters or leaves, so that each list stays the
exact nearest neighbours among the consultation's current vectors, at the cost of a few lists per
version. A proposal's state changes without a new version (published, withdrawn, hidden): lists hold
every state, and readers keep what they may show.
"""

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from app.consultations.models import Consultation
from app.core import jobs
from app.extensions import db
from app.proposals import similarity
from app.proposals.models import Proposal, ProposalNeighbour, ProposalVector, ProposalVersion
from app.proposals.search import is_listed

KIND = "proposal.vector"
# Kept per proposal: pages show 5 (a draft's preview) or 15 (needs offered to a service), after leaving
# out those they may not show. 15,000 proposals hold 300,000 rows.
NEIGHBOURS = 20
IDS_PER_STATEMENT = 5000  # PostgreSQL takes at most 65,535 parameters in a statement


def queue_vectors(proposals: list[Proposal]) -> None:
    """Have the worker compute the vectors of these proposals' latest versions and their neighbours.

    Saving and publishing call it; an import calls it once with all the proposals it brought in.
    """
    db.session.flush()  # new proposals get their ids
    jobs.queue_jobs(KIND, [{"proposal_id": proposal.id} for proposal in proposals])


def similar_proposals(proposal: Proposal, *, k: int = 5) -> list[tuple[Proposal, float]] | None:
    """The listed proposals closest in meaning to this one's latest version, best first; None
    until the worker has computed that version's vector."""
    stored = db.session.execute(sa.select(ProposalVector.version_number, ProposalVector.engine)
                                .where(ProposalVector.proposal_id == proposal.id)).first()
    latest = proposal.versions[-1].number if proposal.versions else 0
    if stored is None or not _is_current(*stored, latest):
        return None
    return [(other, score) for other, score in db.session.execute(
        sa.select(Proposal, ProposalNeighbour.score)
        .join(ProposalNeighbour, ProposalNeighbour.neighbour_id == Proposal.id)
        .where(ProposalNeighbour.proposal_id == proposal.id, is_listed())
        .options(joinedload(Proposal.organization))
        .order_by(ProposalNeighbour.score.desc(), Proposal.id).limit(k))]


def _is_current(version_number: int, engine: str, latest: int) -> bool:
    """Whether a stored vector is the latest version's, by the engine in use."""
    return (version_number, engine) == (latest, similarity.ENGINE_VERSION)


def compute_vectors(payloads: list[dict]) -> None:
    """The job: embed, in one batch, the latest versions whose stored vector is older or missing, then
    renew the neighbour lists that this changes. Nothing to do for a version already embedded."""
    stale = _stale_proposals(sorted({payload["proposal_id"] for payload in payloads}))
    if not stale:
        return
    vectors = similarity.embed([similarity.proposal_text(row.title, row.summary, row.body) for row in stale])
    _store_vectors(stale, vectors)
    for consultation_id in sorted({row.consultation_id for row in stale}):
        _renew_neighbours(consultation_id, [row.id for row in stale if row.consultation_id == consultation_id])


def _stale_proposals(proposal_ids: list[int]) -> list[sa.Row]:
    latest = (sa.select(sa.func.coalesce(sa.func.max(ProposalVersion.number), 0))
              .where(ProposalVersion.proposal_id == Proposal.id).scalar_subquery())
    rows = db.session.execute(
        sa.select(Proposal.id, Proposal.consultation_id, Proposal.title, Proposal.summary, Proposal.body,
                  latest.label("latest"), ProposalVector.version_number, ProposalVector.engine)
        .outerjoin(ProposalVector, ProposalVector.proposal_id == Proposal.id)
        .where(Proposal.id.in_(proposal_ids))).all()
    return [row for row in rows
            if row.version_number is None or not _is_current(row.version_number, row.engine, row.latest)]


def _store_vectors(stale: list[sa.Row], vectors: np.ndarray) -> None:
    db.session.execute(sa.delete(ProposalVector).where(ProposalVector.proposal_id.in_([row.id for row in stale])))
    db.session.execute(sa.insert(ProposalVector), [
        {"proposal_id": row.id, "version_number": row.latest, "engine": similarity.ENGINE_VERSION,
         "vector": similarity.to_bytes(vector), "neighbour_floor": similarity.MIN_SCORE}
        for row, vector in zip(stale, vectors)])


def _renew_neighbours(consultation_id: int, changed: list[int]) -> None:
    """Write the lists of the changed proposals and of those whose list they enter or leave.

    A list that holds none of the changed proposals, and whose floor none of them reaches, is still
    exact: only the changed vectors differ from when it was written.
    """
    # One job at a time per consultation, or two versions embedded at the same moment by two workers
    # would not see each other. FOR NO KEY UPDATE leaves foreign-key checks (new proposals) free.
    db.session.execute(sa.select(Consultation.id).where(Consultation.id == consultation_id)
                       .with_for_update(key_share=True))
    ids, matrix, floors = _consultation_vectors(consultation_id)
    row_of = {proposal_id: row for row, proposal_id in enumerate(ids.tolist())}
    entered = ids[similarity.reaching(matrix, floors, [row_of[proposal_id] for proposal_id in changed])].tolist()
    left = db.session.scalars(sa.select(ProposalNeighbour.proposal_id).distinct()
                              .where(ProposalNeighbour.neighbour_id.in_(changed))).all()
    renewed = sorted({*changed, *entered, *(proposal_id for proposal_id in left if proposal_id in row_of)})
    lists = similarity.nearest(matrix, [row_of[proposal_id] for proposal_id in renewed], NEIGHBOURS)
    _write_lists(renewed, [[(int(ids[row]), score) for row, score in found] for found in lists])


def _consultation_vectors(consultation_id: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ids, vectors (one row each) and floors of the consultation's proposals embedded by today's engine."""
    rows = db.session.execute(
        sa.select(ProposalVector.proposal_id, ProposalVector.vector, ProposalVector.neighbour_floor)
        .join(Proposal, Proposal.id == ProposalVector.proposal_id)
        .where(Proposal.consultation_id == consultation_id, ProposalVector.engine == similarity.ENGINE_VERSION)
        .order_by(ProposalVector.proposal_id)).all()  # equal scores rank the same way at each renewal
    matrix = similarity.from_bytes(b"".join(row.vector for row in rows)).reshape(len(rows), similarity.DIM)
    return (np.array([row.proposal_id for row in rows]), matrix,
            np.array([row.neighbour_floor for row in rows], dtype=np.float32))


def _write_lists(proposal_ids: list[int], lists: list[list[tuple[int, float]]]) -> None:
    for start in range(0, len(proposal_ids), IDS_PER_STATEMENT):
        db.session.execute(sa.delete(ProposalNeighbour).where(
            ProposalNeighbour.proposal_id.in_(proposal_ids[start:start + IDS_PER_STATEMENT])))
    rows = [{"proposal_id": proposal_id, "neighbour_id": neighbour_id, "score": score}
            for proposal_id, found in zip(proposal_ids, lists) for neighbour_id, score in found]
    if rows:
        db.session.execute(sa.insert(ProposalNeighbour), rows)
    db.session.execute(sa.update(ProposalVector), [
        {"proposal_id": proposal_id,
         "neighbour_floor": found[-1][1] if len(found) == NEIGHBOURS else similarity.MIN_SCORE}
        for proposal_id, found in zip(proposal_ids, lists)])
