"""What the public results pages read, once the chair has published the answers: the laureates and what
was granted, every listed proposal ranked by its supports with its answer, the figures of the charts, and
the catalogue of laureate services.

Proposals are those the lists show (`search.is_listed`): a merged proposal stands for its originals, and
its count is the distinct organizations supporting any of them. Counts are `support_count`, the supports
that count publicly: frozen with the tally when the support window closed, a proposal's count is its
number of lines in the tally's file. Each page reads a few aggregate queries over narrow columns.
"""

from collections import Counter
from dataclasses import dataclass

import sqlalchemy as sa
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy.orm import joinedload, load_only, selectinload

from app.committee.models import Issue
from app.consultations.models import Consultation
from app.extensions import db
from app.organizations.models import Organization
from app.proposals.models import (AnswerState, Proposal, ProposalKind, ProposalTerritoryTag, TerritoryTag,
                                  proposal_themes)
from app.proposals.search import is_listed
from app.votes.models import Tally
from app.votes.services import counting_organizations


def _listed(consultation: Consultation):
    return sa.and_(Proposal.consultation_id == consultation.id, is_listed())


def _laureate(consultation: Consultation):
    return sa.and_(_listed(consultation), Proposal.answer_state == AnswerState.LAUREATE)


def laureates(consultation: Consultation) -> list[Proposal]:
    """The laureates with their organization, the largest grants first."""
    return list(db.session.scalars(
        sa.select(Proposal).where(_laureate(consultation))
        .options(load_only(Proposal.id, Proposal.kind, Proposal.title, Proposal.organization_id, Proposal.issue_id,
                           Proposal.granted_amount_cents, Proposal.support_count, Proposal.answer_state),
                 joinedload(Proposal.organization).load_only(Organization.name))
        .order_by(Proposal.granted_amount_cents.desc().nulls_last(), Proposal.title, Proposal.id)))


def tally_of(consultation: Consultation) -> Tally | None:
    """The frozen tally, if frozen yet (its file is loaded only when read)."""
    return db.session.get(Tally, consultation.id)


# The ranking: every listed proposal by its supports, with the committee's answer.
RANKING_COLUMNS = (Proposal.id, Proposal.kind, Proposal.title, Proposal.organization_id, Proposal.support_count,
                   Proposal.answer_state, Proposal.answer_text, Proposal.granted_amount_cents)


@dataclass
class RankingFilters:
    kind: str | None = None
    answer_state: str | None = None


class RankingPage(Pagination):
    """A page of (rank, proposal): the rank among all listed proposals (equal counts share it, the next rank
    skips as many), whatever the filters; the total rides on the same scan (`count(*) OVER ()`)."""

    def _query_items(self) -> list[tuple[int, Proposal]]:
        consultation, filters = self._query_args["consultation"], self._query_args["filters"]
        # The answer only when filtered on: without it, PostgreSQL ranks from the listing index alone.
        columns = [Proposal.id, Proposal.kind] + ([Proposal.answer_state] if filters.answer_state else [])
        ranked = (sa.select(*columns, sa.func.rank().over(order_by=Proposal.support_count.desc()).label("rank"))
                  .where(_listed(consultation)).subquery())
        self._matching = sa.select(ranked.c.id, ranked.c.rank)
        if filters.kind:
            self._matching = self._matching.where(ranked.c.kind == filters.kind)
        if filters.answer_state:
            self._matching = self._matching.where(ranked.c.answer_state == filters.answer_state)
        rows = db.session.execute(self._matching.add_columns(sa.func.count().over().label("total"))
                                  .order_by(ranked.c.rank, ranked.c.id)
                                  .limit(self.per_page).offset(self._query_offset)).all()
        self._total = rows[0].total if rows else None
        loaded = {proposal.id: proposal for proposal in db.session.scalars(
            sa.select(Proposal).where(Proposal.id.in_([row.id for row in rows]))
            .options(load_only(*RANKING_COLUMNS), joinedload(Proposal.organization).load_only(Organization.name)))}
        return [(row.rank, loaded[row.id]) for row in rows]

    def _query_count(self) -> int:
        if self._total is not None:
            return self._total
        return db.session.scalar(sa.select(sa.func.count()).select_from(self._matching.subquery()))  # past the end


def ranking(consultation: Consultation, filters: RankingFilters, page: int, per_page: int) -> RankingPage:
    return RankingPage(consultation=consultation, filters=filters, page=page, per_page=per_page, error_out=False)


# The charts' figures.
def supports_per_issue(consultation: Consultation) -> list[tuple[Issue | None, int]]:
    """The supports of each issue's listed proposals, in the committee's order, then of those in none."""
    sums = dict(db.session.execute(sa.select(Proposal.issue_id, sa.func.sum(Proposal.support_count))
                                   .where(_listed(consultation)).group_by(Proposal.issue_id)).all())
    issues = db.session.scalars(sa.select(Issue).where(Issue.consultation_id == consultation.id)
                                .order_by(Issue.position, Issue.id))
    rows = [(issue, int(sums.get(issue.id) or 0)) for issue in issues]
    return rows + ([(None, int(sums[None]))] if sums.get(None) else [])


def laureates_per_theme(consultation: Consultation, laureates: list[Proposal]) -> list[tuple[str, int]]:
    """How many of `laureates` each of the consultation's themes holds (a laureate counts in each of its themes)."""
    counts = dict(db.session.execute(
        sa.select(proposal_themes.c.theme_id, sa.func.count())
        .where(proposal_themes.c.proposal_id.in_([proposal.id for proposal in laureates]))
        .group_by(proposal_themes.c.theme_id)).all())
    return [(theme.name, counts.get(theme.id, 0)) for theme in consultation.themes]


def laureates_per_territory(laureates: list[Proposal]) -> list[tuple[str | None, int]]:
    """How many of `laureates` carry each kind of territory, then (key None) how many carry none."""
    tags = db.session.execute(sa.select(ProposalTerritoryTag.proposal_id, ProposalTerritoryTag.tag).where(
        ProposalTerritoryTag.proposal_id.in_([proposal.id for proposal in laureates]))).all()
    counts = Counter(tag for _proposal_id, tag in tags)
    untagged = len(laureates) - len({proposal_id for proposal_id, _tag in tags})
    return [(tag.value, counts[tag.value]) for tag in TerritoryTag] + [(None, untagged)]


def participants_per(consultation: Consultation, *columns) -> dict[tuple, int]:
    """How many organizations cast supports that count (`counting_organizations`), per value of `columns`."""
    return {tuple(values): count for *values, count in db.session.execute(
        sa.select(*columns, sa.func.count()).where(Organization.id.in_(counting_organizations(consultation)))
        .group_by(*columns))}


def participants_per_departement(consultation: Consultation) -> dict[str | None, int]:
    """How many organizations of each département cast supports that count."""
    return {code: count for (code,), count in participants_per(consultation, Organization.departement_code).items()}


# The catalogue of laureate services.
@dataclass
class CatalogueFilters:
    theme_id: int | None = None
    maturity: str | None = None
    carrier: str | None = None
    licence: str | None = None


def _laureate_services(consultation: Consultation):
    return sa.and_(_laureate(consultation), Proposal.kind == ProposalKind.SERVICE)


def laureate_services(consultation: Consultation) -> list[Proposal]:
    """The laureate services, by title, with their organization and themes: a few tens at most, read at once
    (finding them reads the proposals' answers, which no index holds)."""
    return list(db.session.scalars(sa.select(Proposal).where(_laureate_services(consultation))
                                   .options(joinedload(Proposal.organization), selectinload(Proposal.themes))
                                   .order_by(Proposal.title, Proposal.id)))


def catalogue(services: list[Proposal], filters: CatalogueFilters) -> list[Proposal]:
    """Those of `services` that match `filters`."""
    return [service for service in services
            if (not filters.theme_id or any(theme.id == filters.theme_id for theme in service.themes))
            and all(not wanted or getattr(service, name) == wanted
                    for name, wanted in (("maturity", filters.maturity), ("carrier", filters.carrier),
                                         ("licence", filters.licence)))]


def licences_of(services: list[Proposal]) -> list[str]:
    """The licences these services declare, to filter on."""
    return sorted({service.licence for service in services if service.licence})


def laureate_service(consultation: Consultation, proposal_id: int) -> Proposal | None:
    """One laureate service of the consultation, or None when it is not one."""
    return db.session.scalars(sa.select(Proposal).where(_laureate_services(consultation), Proposal.id == proposal_id)
                              .options(joinedload(Proposal.organization), joinedload(Proposal.themes),
                                       joinedload(Proposal.territory_tags))).unique().one_or_none()
