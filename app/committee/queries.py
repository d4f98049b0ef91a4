"""What the committee's pages read: its issues with their counts, an issue's proposals, key terms and
supporting organizations, and the committee's list of proposals with its filters."""

from collections import Counter, defaultdict
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from app.committee.merging import supporters_of
from app.committee.models import CommitteeSeat, Criterion, Issue, Score
from app.consultations.models import Consultation
from app.extensions import db
from app.organizations.models import Organization
from app.proposals import similarity
from app.proposals.models import Proposal, ProposalNeighbour
from app.proposals.search import ProposalFilters, is_listed, matching_ids


def listed(statement):
    """Proposals an issue shows and counts: what the public index lists (search.is_listed)."""
    return statement.where(is_listed())


def seated_consultations(user) -> list[Consultation]:
    """The consultations on whose committee `user` sits, latest first."""
    return list(db.session.scalars(sa.select(Consultation).join(CommitteeSeat).where(CommitteeSeat.user_id == user.id)
                                   .order_by(Consultation.created_at.desc(), Consultation.id.desc())))


def issues_of(consultation: Consultation) -> list[Issue]:
    """The consultation's issues in the committee's order."""
    return list(db.session.scalars(sa.select(Issue).where(Issue.consultation_id == consultation.id)
                                   .order_by(Issue.position, Issue.id)))


def proposal_counts(consultation: Consultation) -> dict[int | None, int]:
    """How many listed proposals each issue holds, and (key None) how many are in none, in one query."""
    return dict(db.session.execute(listed(sa.select(Proposal.issue_id, sa.func.count())
                                          .where(Proposal.consultation_id == consultation.id))
                                   .group_by(Proposal.issue_id)).all())


def issue_proposals(issue: Issue) -> list[Proposal]:
    """The issue's proposals with their organization, most supported first."""
    return list(db.session.scalars(listed(sa.select(Proposal).where(Proposal.issue_id == issue.id))
                                   .options(joinedload(Proposal.organization))
                                   .order_by(Proposal.support_count.desc(), Proposal.id)))


def supporting_organizations(issue: Issue) -> list[Organization]:
    """The organizations supporting at least one of the issue's proposals (a merged proposal through its
    originals), each once however many it supports, by name: one query."""
    supporters = supporters_of(listed(sa.select(Proposal.id).where(Proposal.issue_id == issue.id)))
    return list(db.session.scalars(sa.select(Organization).where(Organization.id.in_(supporters))
                                   .order_by(Organization.name, Organization.id)))


def key_terms(proposals: list[Proposal], limit: int = 8) -> list[str]:
    """The meaningful words found in the most titles and summaries (each proposal counts a word once),
    shown in their commonest form; with several proposals, only words two of them share at least.

    A first approach, until terms are weighed against the other issues' (TF-IDF)."""
    found_in, forms = Counter(), defaultdict(Counter)
    for proposal in proposals:
        words = similarity.words(f"{proposal.title} {proposal.summary}")
        stems = [similarity.stem(word) for word in words]
        for word, stem in zip(words, stems):
            forms[stem][word] += 1
        found_in.update(set(stems))
    least = min(2, len(proposals))
    ranked = sorted((stem for stem, count in found_in.items() if count >= least),
                    key=lambda stem: (-found_in[stem], -forms[stem].total(), stem))
    return [forms[stem].most_common(1)[0][0] for stem in ranked[:limit]]


def scored_by(member_id: int, consultation: Consultation):
    """The select of the ids of the proposals the member has scored on every criterion of the consultation
    (their score counts in the weighted mean, evaluation.evaluations)."""
    criteria = (sa.select(sa.func.count()).select_from(Criterion)
                .where(Criterion.consultation_id == consultation.id).scalar_subquery())
    return (sa.select(Score.proposal_id).join(Criterion, Criterion.id == Score.criterion_id)
            .where(Score.member_id == member_id, Criterion.consultation_id == consultation.id)
            .group_by(Score.proposal_id).having(sa.func.count() == criteria))


def likely_duplicate_ids():
    """The select of the ids of proposals with a listed neighbour (the stored nearest neighbours, cosine of
    the embeddings) scoring at least similarity.DUPLICATE_THRESHOLD: the measure and threshold by which a
    suggestion lists likely duplicates (app/committee/clustering.py), without computing one."""
    return sa.select(ProposalNeighbour.proposal_id).where(
        ProposalNeighbour.score >= similarity.DUPLICATE_THRESHOLD,
        ProposalNeighbour.neighbour_id.in_(sa.select(Proposal.id).where(is_listed())))


@dataclass
class CommitteeFilters:
    issue_id: int | None = None
    without_issue: bool = False
    kind: str | None = None
    theme_id: int | None = None
    # Evaluated (True) or not yet (False) by the member `member_id`: scored on every criterion.
    evaluated: bool | None = None
    member_id: int | None = None
    likely_duplicate: bool = False  # one of a pair of likely duplicates (likely_duplicate_ids)
    # The filters that come with evaluation and clustering ("evaluated by me", "likely duplicate") go here,
    # with their condition in committee_proposals() and their field in forms.CommitteeFilterForm.


def committee_proposals(consultation: Consultation, filters: CommitteeFilters):
    """The select of the published proposals the committee lists, newest first, with their organization."""
    ids = matching_ids(consultation, ProposalFilters(kind=filters.kind, theme_id=filters.theme_id)).order_by(None)
    if filters.without_issue:
        ids = ids.where(Proposal.issue_id.is_(None))
    elif filters.issue_id:
        ids = ids.where(Proposal.issue_id == filters.issue_id)
    if filters.evaluated is not None and filters.member_id is not None:
        scored = scored_by(filters.member_id, consultation)
        ids = ids.where(Proposal.id.in_(scored) if filters.evaluated else Proposal.id.not_in(scored))
    if filters.likely_duplicate:
        ids = ids.where(Proposal.id.in_(likely_duplicate_ids()))
    return (sa.select(Proposal).where(Proposal.id.in_(ids)).options(joinedload(Proposal.organization))
            .order_by(Proposal.published_at.desc(), Proposal.id.desc()))
