"""Listing published proposals: filters, French full-text search, sorts.

Full-text search uses PostgreSQL's French configuration (stemming, stop words, accents folded)
through a stored tsvector column with a GIN index, and SQLite's FTS5 elsewhere (accents folded,
each word of the query cut to its Snowball stem and matched as a prefix); both are created by the
migrations, outside the models.
"""

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask_sqlalchemy.pagination import SelectPagination
from sqlalchemy.orm import joinedload, load_only, selectinload

from app.committee.permissions import answers_are_public
from app.consultations.models import Consultation
from app.core import clock
from app.extensions import db
from app.organizations.models import Organization
from app.proposals import similarity
from app.proposals.models import Proposal, ProposalState, ProposalTerritoryTag, proposal_themes

SORTS = ("random", "newest", "most_supported", "most_commented")
PRIME = 2_147_483_647  # 2**31 - 1: squares of smaller numbers fit in a signed 64-bit integer
SHUFFLE_SECONDS = 60  # how long new visitors are shown the same random order


@dataclass
class ProposalFilters:
    q: str = ""
    kind: str | None = None
    theme_id: int | None = None
    territory: str | None = None
    organization_kind: str | None = None
    departement: str | None = None
    answer_state: str | None = None
    sort: str = "random"
    seed: int = 0


def search_words(query: str) -> list[str]:
    """The words of a query that carry meaning: letters and digits of any length ("IA", "5G"), as
    PostgreSQL's parser reads them, stop words left out. A query without any filters nothing."""
    return [word for word in re.findall(r"[^\W_]+", query.lower()) if word not in similarity.STOP_WORDS]


def full_text_condition(query: str, words: list[str]):
    """A condition matching proposals whose title, summary or body contain the words of `query`."""
    if db.session.get_bind().dialect.name == "postgresql":
        return sa.literal_column("proposals.search_vector").op("@@")(
            sa.func.websearch_to_tsquery(sa.literal_column("'french_unaccent'::regconfig"), query))
    # Every word's stem, as a prefix: "cantines" finds "cantine".
    match = " ".join(f'"{similarity.stem(word)}"*' for word in words)
    return Proposal.id.in_(sa.select(sa.literal_column("rowid")).select_from(sa.table("proposals_fts"))
                           .where(sa.literal_column("proposals_fts").op("MATCH")(match)))


def shuffle_of_the_moment(now: datetime | None = None) -> int:
    """The random order's seed for a visitor who has none yet, the same on every web process for a minute:
    the seed then travels in the page's links, so that a visitor's order stays put while they browse, and
    the page, the same for everyone that minute, can be kept in front of Python (app/core/page_cache.py)."""
    minute = int((now or clock.now()).timestamp()) // SHUFFLE_SECONDS
    return int.from_bytes(hashlib.sha256(str(minute).encode()).digest()[:8], "big") % PRIME


def _random_key(seed: int):
    """A per-visitor shuffle computed in SQL: the same seed gives the same order on every page."""
    mixed = (sa.cast(Proposal.id, sa.BigInteger) * 48_271 + seed) % PRIME
    return (mixed * mixed + seed) % PRIME


def _order(filters: ProposalFilters):
    if filters.sort == "newest":
        return Proposal.published_at.desc(), Proposal.id.desc()
    if filters.sort == "most_supported":
        return Proposal.support_count.desc(), Proposal.id.desc()
    if filters.sort == "most_commented":
        return Proposal.comment_count.desc(), Proposal.id.desc()
    return _random_key(filters.seed), Proposal.id


def is_listed():
    """The condition of the proposals that lists show and count (the public index, the API, the committee's
    lists and issues): published, not hidden by moderation, not merged into another (which stands for it)."""
    return sa.and_(Proposal.state == ProposalState.PUBLISHED, Proposal.hidden_at.is_(None),
                   Proposal.merged_into_id.is_(None))


def matching_ids(consultation: Consultation, filters: ProposalFilters):
    """The select of the ids of listed proposals matching `filters`, in display order.

    Ids only: sorting narrow rows (an index-only scan on PostgreSQL) costs little, where sorting
    whole proposals joined to their organizations read the whole table for every page.
    """
    statement = sa.select(Proposal.id).where(Proposal.consultation_id == consultation.id, is_listed())
    words = search_words(filters.q)
    if words:
        statement = statement.where(full_text_condition(filters.q.strip(), words))
    if filters.kind:
        statement = statement.where(Proposal.kind == filters.kind)
    if filters.answer_state and answers_are_public(consultation):  # drafted answers must not show through a filter
        statement = statement.where(Proposal.answer_state == filters.answer_state)
    if filters.theme_id:
        statement = statement.where(Proposal.id.in_(sa.select(proposal_themes.c.proposal_id)
                                                    .where(proposal_themes.c.theme_id == filters.theme_id)))
    if filters.territory:
        statement = statement.where(Proposal.id.in_(sa.select(ProposalTerritoryTag.proposal_id)
                                                    .where(ProposalTerritoryTag.tag == filters.territory)))
    if filters.organization_kind or filters.departement:
        statement = statement.join(Organization, Organization.id == Proposal.organization_id)
        if filters.organization_kind:
            statement = statement.where(Organization.kind == filters.organization_kind)
        if filters.departement:
            statement = statement.where(Organization.departement_code == filters.departement)
    return statement.order_by(*_order(filters))


class CountedPagination(SelectPagination):
    """A page of ids whose total comes with them: `count(*) OVER ()` rides on the scan that orders
    the ids, instead of a second scan for the count (only a page past the end needs one)."""

    def _query_items(self) -> list[int]:
        select = self._query_args["select"].add_columns(sa.func.count().over().label("total"))
        rows = self._query_args["session"].execute(select.limit(self.per_page).offset(self._query_offset)).all()
        self._total = rows[0].total if rows else None
        return [row[0] for row in rows]

    def _query_count(self) -> int:
        return self._total if self._total is not None else super()._query_count()


# What a card shows, and what deciding its support button reads: the long texts stay in the database.
CARD_COLUMNS = (Proposal.id, Proposal.consultation_id, Proposal.kind, Proposal.organization_id, Proposal.title,
                Proposal.summary, Proposal.state, Proposal.hidden_at, Proposal.merged_into_id, Proposal.answer_state,
                Proposal.support_count, Proposal.comment_count)


def page_of_proposals(consultation: Consultation, filters: ProposalFilters, page: int, per_page: int, *,
                      complete: bool = False):
    """One page of matching proposals with their organization and themes, in one query: the columns a
    card shows, or (`complete`, for the API) every column and the territory tags."""
    pagination = CountedPagination(select=matching_ids(consultation, filters), session=db.session, page=page,
                                   per_page=per_page, error_out=False)
    ids = list(pagination.items)
    options = [joinedload(Proposal.organization), joinedload(Proposal.themes),
               selectinload(Proposal.territory_tags) if complete else load_only(*CARD_COLUMNS)]
    loaded = {proposal.id: proposal for proposal in db.session.scalars(
        sa.select(Proposal).where(Proposal.id.in_(ids)).options(*options)).unique()}
    pagination.items = [loaded[id_] for id_ in ids]
    return pagination
