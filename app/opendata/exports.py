"""The open data of a consultation, streamed: every file is a generator of text that reads the database a page
or a fetch at a time, so that memory stays flat whatever the consultation's size.

A file says no more than the public pages: listed proposals only (`search.is_listed`), their visible comments,
support counts unless the consultation hides them from visitors (`counts_hidden`), the committee's answers
once published (`answers_are_public`), its major issues once public (`issues_are_public`), the supports once
the tally is frozen, never an email nor a person's name (organizations speak for their people).

Proposals follow Decidim's open-data layout (../shared/DECIDIM-FORMAT.md): Decidim's columns first, in its
order, ours after; the file imports back through `app/opendata/decidim.py`. CSV files are `;`-separated UTF-8;
a JSON file is one array of objects, nested where the CSV's column names hold a `/`.
"""

import json
import zipfile
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from flask_login import AnonymousUserMixin

from app.committee.models import ClusterSuggestion, Issue
from app.committee.permissions import answers_are_public, issues_are_public
from app.consultations.models import Consultation, PhaseKind, Theme
from app.consultations.phases import has_ended
from app.core import clock
from app.core.audit import AuditEntry
from app.core.regions import region_of
from app.core.web import public_url
from app.extensions import db
from app.opendata import pabulib
from app.opendata.streaming import chunks, csv_line, streamed
from app.organizations.models import Organization
from app.proposals.models import (AnswerState, Comment, Proposal, ProposalCosponsor, ProposalTerritoryTag,
                                  proposal_themes)
from app.proposals.search import is_listed
from app.results.queries import tally_of
from app.votes.models import SupportQuota, Tally
from app.votes.permissions import counts_hidden
from app.votes.services import TALLY_COLUMNS, counting_organizations

PAGE_SIZE = 1000  # proposals read per page, with their themes, tags, co-sponsors and merged originals
TALLY_SLICE = 2_000_000  # characters of the frozen tally's file read at a time: each read decompresses the whole value
LICENCE = "Licence Ouverte 2.0 (Etalab)"
LICENCE_URL = "https://www.etalab.gouv.fr/licence-ouverte-open-licence/"
DECIDIM_STATES = {AnswerState.LAUREATE: "accepted", AnswerState.NOT_RETAINED: "rejected",
                  AnswerState.EVALUATING: "evaluating"}
VISITOR = AnonymousUserMixin()  # the files are the same for everyone: what a visitor may see


@dataclass(frozen=True)
class Column:
    name: str
    description: str


@dataclass(frozen=True)
class Dataset:
    """One kind of data, written in one or more formats: each writer yields the file's text in pieces."""

    name: str
    title: str
    description: str
    columns: tuple[Column, ...]
    writers: dict[str, Callable[[Consultation], Iterator[str]]]
    is_published: Callable[[Consultation], bool]
    until: str = ""  # when it will be published, said while it is not


@dataclass(frozen=True)
class File:
    dataset: Dataset
    format: str

    @property
    def name(self) -> str:
        return f"{self.dataset.name}.{self.format}"


TALLY_FILE = "soutiens.csv"  # the frozen tally's own file, dated when it froze
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "json": "application/json",
               "pb": "text/plain; charset=utf-8"}


# Values --------------------------------------------------------------------------------------------------

def _cell(value) -> str:
    """A value as the CSV writes it: ISO 8601 dates, true/false, nothing for none."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _nested(row: dict) -> dict:
    """The row with `a/b` names as nested objects, as Decidim's JSON exports are."""
    nested: dict = {}
    for name, value in row.items():
        *parents, leaf = name.split("/")
        place = nested
        for parent in parents:
            place = place.setdefault(parent, {})
        place[leaf] = value.isoformat() if isinstance(value, datetime) else value
    return nested


def _table_writers(rows: Callable[[Consultation], Iterable[dict]], columns: tuple[Column, ...]) -> dict:
    names = [column.name for column in columns]

    def write_csv(consultation: Consultation) -> Iterator[str]:
        line = csv_line()
        yield line(names)
        for row in rows(consultation):
            yield line(_cell(row[name]) for name in names)

    def write_json(consultation: Consultation) -> Iterator[str]:
        separator = "[\n"
        for row in rows(consultation):
            yield separator + json.dumps(_nested({name: row[name] for name in names}), ensure_ascii=False)
            separator = ",\n"
        yield "[]\n" if separator == "[\n" else "\n]\n"

    return {"csv": write_csv, "json": write_json}


def _address(endpoint: str, key: str, **values) -> Callable[[int], str]:
    """The public address of `endpoint` for an id, built from one URL rather than from the URL map per row."""
    placeholder = 2_147_000_001
    template = public_url(endpoint, **values, **{key: placeholder})
    return lambda value: template.replace(str(placeholder), str(value))


def _grouped(statement: sa.Select) -> dict[int, list]:
    """{first column: [the other column (or columns, as a tuple), …]} of a select, in its order."""
    grouped = defaultdict(list)
    for key, *values in db.session.execute(statement):
        grouped[key].append(values[0] if len(values) == 1 else tuple(values))
    return grouped


def _listed(consultation: Consultation):
    return sa.and_(Proposal.consultation_id == consultation.id, is_listed())


def supports_are_published(consultation: Consultation) -> bool:
    """The supports are published with the tally, which freezes when the support window ends (frozen_tally)."""
    return has_ended(consultation, PhaseKind.SUPPORT)


def _counts_shown(consultation: Consultation) -> bool:
    return not counts_hidden(consultation, VISITOR)


# Proposals -------------------------------------------------------------------------------------------------

PROPOSAL_COLUMNS = (
    Column("id", _l("Identifiant de la proposition sur la plateforme.")),
    Column("author/id", _l("Identifiant de l'organisation qui porte la proposition (l'auteur, au sens de Decidim).")),
    Column("author/name", _l("Nom de l'organisation qui porte la proposition.")),
    Column("author/url", _l("Adresse de la page de cette organisation.")),
    Column("taxonomies/id", _l("Identifiants des thèmes de la proposition, séparés par des virgules.")),
    Column("taxonomies/name/fr", _l("Noms des thèmes de la proposition, séparés par « , ».")),
    Column("participatory_space/id", _l("Identifiant de la consultation.")),
    Column("participatory_space/url", _l("Adresse de la consultation.")),
    Column("component/id", _l("Vide : la plateforme n'a pas de composants.")),
    Column("title/fr", _l("Titre.")),
    Column("body/fr", _l("Description, en texte (Markdown).")),
    Column("address", _l("Vide : les propositions ne sont pas localisées.")),
    Column("latitude", _l("Vide.")),
    Column("longitude", _l("Vide.")),
    Column("state", _l("Réponse publiée du comité, dans les termes de Decidim : accepted (lauréate), rejected "
                       "(non retenue), evaluating (en cours d'évaluation), vide sans réponse.")),
    Column("state_published_at", _l("Date de publication des réponses du comité.")),
    Column("reference", _l("Référence de la proposition : identifiant de la consultation et de la proposition.")),
    Column("answer/fr", _l("Texte de la réponse publiée du comité.")),
    Column("answered_at", _l("Date de la réponse du comité, une fois publiée.")),
    Column("votes", _l("Soutiens comptés ; vide tant que la consultation masque les décomptes.")),
    Column("likes/total_count", _l("Vide : la plateforme n'a pas de mentions « j'aime ».")),
    Column("likes/user_likes", _l("Vide.")),
    Column("comments", _l("Nombre de commentaires visibles.")),
    Column("attachments", _l("Nombre de pièces jointes (aucune sur la plateforme).")),
    Column("follows_count", _l("Vide : la plateforme ne compte pas les abonnements.")),
    Column("published_at", _l("Date de publication.")),
    Column("url", _l("Adresse de la proposition.")),
    Column("meeting_urls", _l("Vide.")),
    Column("related_proposals", _l("Identifiants des propositions fusionnées dans celle-ci, séparés par « , ».")),
    Column("is_amend", _l("Toujours false : la plateforme n'a pas d'amendements.")),
    Column("original_proposal/title/fr", _l("Vide.")),
    Column("original_proposal/url", _l("Vide.")),
    Column("withdrawn", _l("Toujours false : les propositions retirées ne sont pas publiées ici.")),
    Column("withdrawn_at", _l("Vide.")),
    Column("created_at", _l("Date de création.")),
    Column("updated_at", _l("Date de la dernière modification.")),
    Column("created_in_meeting", _l("Toujours false.")),
    Column("coauthorships_count", _l("Nombre d'organisations qui portent la proposition, co-porteuses comprises.")),
    Column("cost", _l("Budget demandé, en euros.")),
    Column("cost_report/fr", _l("Vide.")),
    Column("execution_period/fr", _l("Vide.")),
    # Ours, after Decidim's.
    Column("kind", _l("Nature : need (besoin) ou service (service numérique).")),
    Column("summary", _l("Résumé.")),
    Column("organization/siren", _l("SIREN de l'organisation qui porte la proposition.")),
    Column("organization/kind", _l("Type de cette organisation (commune, epci, departement, region…).")),
    Column("organization/departement", _l("Code du département de cette organisation.")),
    Column("organization/region", _l("Code de la région de cette organisation (celle de son département à "
                                     "défaut).")),
    Column("cosponsors", _l("Organisations co-porteuses, séparées par « , ».")),
    Column("territories", _l("Types de territoire concernés (rural, montagne, politique_de_la_ville, "
                             "outre_mer), séparés par « , ».")),
    Column("problem", _l("Besoin : le problème rencontré.")),
    Column("affected", _l("Besoin : qui est concerné.")),
    Column("workaround", _l("Besoin : comment on fait aujourd'hui.")),
    Column("maturity", _l("Service : maturité (idea, prototype, production).")),
    Column("licence", _l("Service : licence.")),
    Column("repository_url", _l("Service : adresse du code source.")),
    Column("carrier", _l("Service : nature du porteur (public, private, association).")),
    Column("deployments", _l("Service : nombre de déploiements.")),
    Column("issue/id", _l("Identifiant du grand enjeu du comité, une fois les grands enjeux publics.")),
    Column("issue/title", _l("Titre de ce grand enjeu.")),
    Column("answer_state", _l("Réponse publiée du comité dans les termes de la plateforme (laureate, "
                              "not_retained, evaluating, not_answered).")),
    Column("granted_amount", _l("Montant accordé, en euros, une fois les réponses publiées.")),
    Column("decidim/id", _l("Pour une proposition importée de Decidim : son identifiant d'origine.")),
    Column("decidim/url", _l("Son adresse d'origine.")),
    Column("decidim/votes", _l("Les votes qu'elle avait dans Decidim (jamais des soutiens d'organisations).")),
)


# Plain rows rather than ORM objects: the session then holds nothing from one page to the next.
PROPOSAL_FIELDS = tuple(column for column in Proposal.__table__.c if column.key != "body_html")


def _proposal_pages(consultation: Consultation) -> Iterator[list[sa.Row]]:
    """The listed proposals with their organization and issue, PAGE_SIZE at a time by id (keyset pages)."""
    issue_title = Issue.title if issues_are_public(consultation) else sa.null()
    statement = (sa.select(*PROPOSAL_FIELDS, Organization.name.label("organization_name"), Organization.siren,
                           Organization.kind.label("organization_kind"), Organization.departement_code,
                           Organization.region_code, issue_title.label("issue_title"))
                 .join(Organization, Organization.id == Proposal.organization_id)
                 .outerjoin(Issue, Issue.id == Proposal.issue_id)
                 .where(_listed(consultation)).order_by(Proposal.id).limit(PAGE_SIZE))
    last = 0
    while page := db.session.execute(statement.where(Proposal.id > last)).all():
        yield page
        last = page[-1].id


def proposal_rows(consultation: Consultation) -> Iterator[dict]:
    show_answers, show_issue, show_counts = (answers_are_public(consultation), issues_are_public(consultation),
                                             _counts_shown(consultation))
    proposal_url = _address("proposals.detail", "proposal_id")
    organization_url = _address("organizations.detail", "organization_id")
    consultation_url = public_url("consultations.detail", slug=consultation.slug)
    for page in _proposal_pages(consultation):
        # The page's range of ids rather than its ids: a short statement, which rows outside the page (drafts,
        # hidden ones) enter without harm since only the page's ids are looked up.
        first, last = page[0].id, page[-1].id
        themes = _grouped(sa.select(proposal_themes.c.proposal_id, Theme.id, Theme.name)
                          .join(Theme, Theme.id == proposal_themes.c.theme_id)
                          .where(proposal_themes.c.proposal_id.between(first, last)).order_by(Theme.position, Theme.id))
        tags = _grouped(sa.select(ProposalTerritoryTag.proposal_id, ProposalTerritoryTag.tag)
                        .where(ProposalTerritoryTag.proposal_id.between(first, last))
                        .order_by(ProposalTerritoryTag.tag))
        cosponsors = _grouped(sa.select(ProposalCosponsor.proposal_id, Organization.name)
                              .join(Organization, Organization.id == ProposalCosponsor.organization_id)
                              .where(ProposalCosponsor.proposal_id.between(first, last)).order_by(ProposalCosponsor.id))
        origins = _grouped(sa.select(Proposal.merged_into_id, Proposal.id)
                           .where(Proposal.merged_into_id.between(first, last)).order_by(Proposal.id))
        for row in page:
            answered = show_answers and row.answer_state != AnswerState.NOT_ANSWERED
            yield {
                "id": row.id, "author/id": row.organization_id, "author/name": row.organization_name,
                "author/url": organization_url(row.organization_id),
                "taxonomies/id": ", ".join(str(theme_id) for theme_id, _name in themes[row.id]),
                "taxonomies/name/fr": ", ".join(name for _theme_id, name in themes[row.id]),
                "participatory_space/id": consultation.id, "participatory_space/url": consultation_url,
                "component/id": None, "title/fr": row.title, "body/fr": row.body,
                "address": None, "latitude": None, "longitude": None,
                "state": DECIDIM_STATES.get(row.answer_state) if answered else None,
                "state_published_at": consultation.results_published_at if answered else None,
                "reference": f"{consultation.slug}-{row.id}",
                "answer/fr": row.answer_text if show_answers else None,
                "answered_at": row.answered_at if answered else None,
                "votes": row.support_count if show_counts else None,
                "likes/total_count": None, "likes/user_likes": None, "comments": row.comment_count,
                "attachments": 0, "follows_count": None, "published_at": row.published_at,
                "url": proposal_url(row.id), "meeting_urls": None,
                "related_proposals": ", ".join(map(str, origins[row.id])), "is_amend": False,
                "original_proposal/title/fr": None, "original_proposal/url": None,
                "withdrawn": False, "withdrawn_at": None, "created_at": row.created_at, "updated_at": row.updated_at,
                "created_in_meeting": False, "coauthorships_count": 1 + len(cosponsors[row.id]),
                "cost": pabulib.euros(row.requested_budget_cents) if row.requested_budget_cents else None,
                "cost_report/fr": None, "execution_period/fr": None,
                "kind": row.kind, "summary": row.summary, "organization/siren": row.siren,
                "organization/kind": row.organization_kind, "organization/departement": row.departement_code,
                "organization/region": region_of(row.region_code, row.departement_code),
                "cosponsors": ", ".join(cosponsors[row.id]),
                "territories": ", ".join(tags[row.id]), "problem": row.problem, "affected": row.affected,
                "workaround": row.workaround, "maturity": row.maturity, "licence": row.licence,
                "repository_url": row.repository_url, "carrier": row.carrier, "deployments": row.deployments,
                "issue/id": row.issue_id if show_issue else None, "issue/title": row.issue_title,
                "answer_state": row.answer_state if show_answers else AnswerState.NOT_ANSWERED.value,
                "granted_amount": pabulib.euros(row.granted_amount_cents)
                if show_answers and row.granted_amount_cents is not None else None,
                "decidim/id": row.decidim_id, "decidim/url": row.decidim_url,
                "decidim/votes": row.imported_vote_count,
            }


# Comments --------------------------------------------------------------------------------------------------

COMMENT_COLUMNS = (
    Column("id", _l("Identifiant du commentaire.")),
    Column("proposal/id", _l("Identifiant de la proposition commentée.")),
    Column("parent/id", _l("Pour une réponse : identifiant du commentaire auquel elle répond.")),
    Column("organization/id", _l("Identifiant de l'organisation au nom de laquelle le commentaire est écrit.")),
    Column("organization/name", _l("Nom de cette organisation.")),
    Column("body", _l("Texte du commentaire.")),
    Column("created_at", _l("Date d'écriture.")),
    Column("edited_at", _l("Date de la dernière modification, s'il y en a eu une.")),
)


def comment_rows(consultation: Consultation) -> Iterator[dict]:
    """The visible comments of listed proposals: a moderated comment, or one on a proposal that is no longer
    listed, is not published."""
    for row in streamed(
            sa.select(Comment.id, Comment.proposal_id, Comment.parent_id, Comment.organization_id,
                      Organization.name, Comment.body, Comment.created_at, Comment.edited_at)
            .join(Proposal, Proposal.id == Comment.proposal_id)
            .join(Organization, Organization.id == Comment.organization_id)
            .where(_listed(consultation), Comment.hidden_at.is_(None)).order_by(Comment.id)):
        yield {"id": row.id, "proposal/id": row.proposal_id, "parent/id": row.parent_id,
               "organization/id": row.organization_id, "organization/name": row.name, "body": row.body,
               "created_at": row.created_at, "edited_at": row.edited_at}


# Supports: the frozen tally as published, and as a Pabulib file -----------------------------------------------

SUPPORT_COLUMNS = tuple(Column(name, description) for name, description in zip(TALLY_COLUMNS, (
    _l("Identifiant de la proposition soutenue."),
    _l("Identifiant de l'organisation qui soutient, ou son pseudonyme quand la consultation masque les soutiens."),
    _l("Nom de l'organisation ; vide quand la consultation masque les soutiens."),
    _l("SIREN de l'organisation ; vide quand la consultation masque les soutiens."),
    _l("Date et heure du soutien (UTC)."),
)))


def tally_text(consultation: Consultation) -> Iterator[str]:
    """The frozen tally's file exactly as its digest was computed, read a slice at a time: the SHA-256 of the
    downloaded file is the published digest."""
    start = 1
    while part := db.session.scalar(sa.select(sa.func.substr(Tally.content, start, TALLY_SLICE))
                                    .where(Tally.consultation_id == consultation.id)):
        yield part
        if len(part) < TALLY_SLICE:
            return
        start += TALLY_SLICE


# Issues, answers, organizations, audit log ---------------------------------------------------------------------

ISSUE_COLUMNS = (
    Column("id", _l("Identifiant du grand enjeu.")),
    Column("position", _l("Rang du grand enjeu dans l'ordre du comité (à partir de 1).")),
    Column("title", _l("Titre.")),
    Column("description", _l("Description.")),
    Column("proposals", _l("Nombre de propositions publiées rangées dans ce grand enjeu.")),
)


def issue_rows(consultation: Consultation) -> Iterator[dict]:
    members = (sa.select(sa.func.count()).where(_listed(consultation), Proposal.issue_id == Issue.id)
               .scalar_subquery())
    statement = (sa.select(Issue.id, Issue.title, Issue.description, members.label("proposals"))
                 .where(Issue.consultation_id == consultation.id).order_by(Issue.position, Issue.id))
    for position, row in enumerate(db.session.execute(statement), start=1):
        yield {"id": row.id, "position": position, "title": row.title, "description": row.description,
               "proposals": row.proposals}


ANSWER_COLUMNS = (
    Column("proposal/id", _l("Identifiant de la proposition.")),
    Column("proposal/title", _l("Titre de la proposition.")),
    Column("kind", _l("Nature : need (besoin) ou service (service numérique).")),
    Column("organization/name", _l("Organisation qui porte la proposition.")),
    Column("issue/id", _l("Identifiant du grand enjeu de la proposition.")),
    Column("answer_state", _l("Réponse : laureate (lauréate), not_retained (non retenue), evaluating (en cours "
                              "d'évaluation).")),
    Column("is_laureate", _l("true pour une lauréate.")),
    Column("answer", _l("Texte de la réponse du comité.")),
    Column("answered_at", _l("Date de la réponse.")),
    Column("votes", _l("Soutiens comptés.")),
    Column("requested_amount", _l("Budget demandé, en euros.")),
    Column("granted_amount", _l("Montant accordé, en euros.")),
)


def answer_rows(consultation: Consultation) -> Iterator[dict]:
    """The committee's published answers, laureates first, the largest grants first."""
    show_counts = _counts_shown(consultation)
    is_laureate = Proposal.answer_state == AnswerState.LAUREATE
    for row in streamed(
            sa.select(Proposal.id, Proposal.title, Proposal.kind, Organization.name, Proposal.issue_id,
                      Proposal.answer_state, Proposal.answer_text, Proposal.answered_at, Proposal.support_count,
                      Proposal.requested_budget_cents, Proposal.granted_amount_cents)
            .join(Organization, Organization.id == Proposal.organization_id)
            .where(_listed(consultation), Proposal.answer_state != AnswerState.NOT_ANSWERED)
            .order_by(is_laureate.desc(), Proposal.granted_amount_cents.desc().nulls_last(), Proposal.id)):
        yield {"proposal/id": row.id, "proposal/title": row.title, "kind": row.kind, "organization/name": row.name,
               "issue/id": row.issue_id, "answer_state": row.answer_state,
               "is_laureate": row.answer_state == AnswerState.LAUREATE, "answer": row.answer_text,
               "answered_at": row.answered_at, "votes": row.support_count if show_counts else None,
               "requested_amount": pabulib.euros(row.requested_budget_cents) if row.requested_budget_cents else None,
               "granted_amount": pabulib.euros(row.granted_amount_cents)
               if row.granted_amount_cents is not None else None}


ORGANIZATION_COLUMNS = (
    Column("id", _l("Identifiant de l'organisation sur la plateforme.")),
    Column("name", _l("Nom.")),
    Column("siren", _l("SIREN.")),
    Column("kind", _l("Type : commune, epci, departement, region, syndicat…")),
    Column("departement", _l("Code du département.")),
    Column("region", _l("Code de la région (celle du département à défaut).")),
    Column("proposals", _l("Propositions publiées qu'elle porte ou co-porte.")),
    Column("comments", _l("Commentaires visibles écrits en son nom.")),
    Column("supports", _l("Soutiens comptés, une fois le décompte figé ; vide quand la consultation masque "
                          "les soutiens.")),
)


def organization_rows(consultation: Consultation) -> Iterator[dict]:
    """The organizations that took part: they carry or co-sponsor a listed proposal, comment on one, or
    (once the tally is published, unless supporters are hidden) cast supports that count."""
    listed = _listed(consultation)
    carried = sa.union_all(
        sa.select(Proposal.organization_id).where(listed),
        sa.select(ProposalCosponsor.organization_id).join(Proposal, Proposal.id == ProposalCosponsor.proposal_id)
        .where(listed)).subquery()
    proposals = sa.select(carried.c.organization_id, sa.func.count().label("count")).group_by(
        carried.c.organization_id).subquery()
    comments = (sa.select(Comment.organization_id, sa.func.count().label("count"))
                .join(Proposal, Proposal.id == Comment.proposal_id)
                .where(listed, Comment.hidden_at.is_(None)).group_by(Comment.organization_id).subquery())
    show_supports = supports_are_published(consultation) and not consultation.supporters_hidden
    supports = (sa.select(SupportQuota.organization_id, SupportQuota.used.label("count"))
                .where(SupportQuota.consultation_id == consultation.id,
                       SupportQuota.organization_id.in_(counting_organizations(consultation)),
                       sa.true() if show_supports else sa.false()).subquery())
    for row in streamed(
            sa.select(Organization.id, Organization.name, Organization.siren, Organization.kind,
                      Organization.departement_code, Organization.region_code, proposals.c.count.label("proposals"),
                      comments.c.count.label("comments"), supports.c.count.label("supports"))
            .outerjoin(proposals, proposals.c.organization_id == Organization.id)
            .outerjoin(comments, comments.c.organization_id == Organization.id)
            .outerjoin(supports, supports.c.organization_id == Organization.id)
            .where(sa.or_(proposals.c.count.is_not(None), comments.c.count.is_not(None),
                          supports.c.count.is_not(None)))
            .order_by(Organization.id)):
        yield {"id": row.id, "name": row.name, "siren": row.siren, "kind": row.kind,
               "departement": row.departement_code, "region": region_of(row.region_code, row.departement_code),
               "proposals": row.proposals or 0, "comments": row.comments or 0,
               "supports": (row.supports or 0) if show_supports else None}


AUDIT_COLUMNS = (
    Column("id", _l("Numéro de l'entrée dans le journal de la plateforme.")),
    Column("at", _l("Date et heure (UTC).")),
    Column("action", _l("Action, par son code (consultation.update, proposal.merge, results.publish…).")),
    Column("subject", _l("Ce sur quoi porte l'action : table et identifiant (proposals:12…).")),
    Column("prev_hash", _l("Empreinte de l'entrée précédente du journal.")),
    Column("hash", _l("Empreinte SHA-256 de l'entrée, qui couvre aussi son contenu non publié (auteur, "
                      "détails) : une entrée modifiée ou supprimée ne correspondrait plus aux empreintes "
                      "publiées.")),
)


def audit_rows(consultation: Consultation) -> Iterator[dict]:
    """The entries of the hash-chained journal about the consultation, its proposals, comments, issues and
    suggestions: what was done and when, with the chain's hashes; who did it and the entries' details (a
    committee's drafts, private notes) stay out."""
    def subjects(table: str, key: sa.ColumnElement, *conditions) -> sa.ColumnElement:
        return AuditEntry.subject.in_(sa.select(sa.literal(f"{table}:") + sa.cast(key, sa.String)).where(*conditions))
    proposals = sa.select(Proposal.id).where(Proposal.consultation_id == consultation.id)
    statement = (sa.select(AuditEntry.id, AuditEntry.at, AuditEntry.action, AuditEntry.subject,
                           AuditEntry.prev_hash, AuditEntry.hash)
                 .where(sa.or_(AuditEntry.subject == f"consultations:{consultation.id}",
                               subjects("proposals", Proposal.id, Proposal.id.in_(proposals)),
                               subjects("comments", Comment.id, Comment.proposal_id.in_(proposals)),
                               subjects("issues", Issue.id, Issue.consultation_id == consultation.id),
                               subjects("cluster_suggestions", ClusterSuggestion.id,
                                        ClusterSuggestion.consultation_id == consultation.id)))
                 .order_by(AuditEntry.id))
    for row in streamed(statement):
        yield row._asdict()


# The files ------------------------------------------------------------------------------------------------------

DATASETS = (
    Dataset("propositions", _l("Propositions"),
            _l("Les propositions publiées (besoins et services), au format des données ouvertes de Decidim : ses "
               "colonnes d'abord, dans son ordre, celles de la plateforme ensuite. Ni brouillons, ni propositions "
               "retirées, masquées par la modération ou fusionnées dans une autre (celle qui en est issue les "
               "remplace)."),
            PROPOSAL_COLUMNS, _table_writers(proposal_rows, PROPOSAL_COLUMNS), lambda consultation: True),
    Dataset("commentaires", _l("Commentaires"),
            _l("Les commentaires visibles des propositions publiées, au nom des organisations."),
            COMMENT_COLUMNS, _table_writers(comment_rows, COMMENT_COLUMNS), lambda consultation: True),
    Dataset("soutiens", _l("Soutiens"),
            _l("Le décompte figé à la fin de la période de soutien : un soutien compté par ligne. Son empreinte "
               "SHA-256 est celle publiée avec le décompte (sha256sum soutiens.csv). Le fichier Pabulib (.pb) "
               "donne les mêmes soutiens par organisation, pour les outils du budget participatif ; une "
               "proposition issue d'une fusion y compte les soutiens de ses propositions d'origine."),
            SUPPORT_COLUMNS, {"csv": tally_text, "pb": pabulib.consultation_file}, supports_are_published,
            _l("Les soutiens seront publiés à la fin de la période de soutien, avec le décompte figé.")),
    Dataset("grands-enjeux", _l("Grands enjeux"), _l("Les grands enjeux du comité de pilotage, dans son ordre."),
            ISSUE_COLUMNS, _table_writers(issue_rows, ISSUE_COLUMNS), issues_are_public,
            _l("Les grands enjeux seront publiés avec les résultats.")),
    Dataset("reponses", _l("Réponses et lauréats"),
            _l("Les réponses publiées du comité de pilotage, les lauréats d'abord, avec les montants accordés."),
            ANSWER_COLUMNS, _table_writers(answer_rows, ANSWER_COLUMNS), answers_are_public,
            _l("Les réponses du comité et les lauréats seront publiés quand la présidence du comité les publiera.")),
    Dataset("organisations", _l("Organisations participantes"),
            _l("Les organisations qui ont pris part à la consultation : elles portent ou co-portent une "
               "proposition publiée, l'ont commentée ou, une fois le décompte figé, l'ont soutenue."),
            ORGANIZATION_COLUMNS, _table_writers(organization_rows, ORGANIZATION_COLUMNS), lambda consultation: True),
    Dataset("journal", _l("Journal d'audit"),
            _l("Les actions du comité et de l'administration sur la consultation, ses propositions, ses "
               "commentaires et ses grands enjeux, avec les empreintes du journal chaîné de la plateforme."),
            AUDIT_COLUMNS, _table_writers(audit_rows, AUDIT_COLUMNS), lambda consultation: True),
)


def files(consultation: Consultation) -> list[File]:
    """The files published for the consultation now, in the page's order."""
    return [File(dataset, format) for dataset in DATASETS if dataset.is_published(consultation)
            for format in dataset.writers]


def find(consultation: Consultation, name: str) -> File | None:
    return next((file for file in files(consultation) if file.name == name), None)


def content(consultation: Consultation, file: File) -> Iterator[bytes]:
    """The file's bytes, in pieces."""
    return chunks(file.dataset.writers[file.format](consultation))


def size(consultation: Consultation, file: File) -> int:
    """The file's size in bytes, counted by writing it to nowhere."""
    return sum(len(piece) for piece in content(consultation, file))


class _Sink:
    """Where the zip writes: what it wrote is taken away as it comes (a response cannot seek back)."""

    def __init__(self):
        self.pieces: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.pieces.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data, self.pieces = b"".join(self.pieces), []
        return data


def archive(consultation: Consultation, *, now: datetime | None = None) -> Iterator[bytes]:
    """One zip holding every published file, compressed as it is read: each entry is written with a data
    descriptor after it, so that nothing is held to go back and fill in its size. Beside the tally's file,
    its digest as `sha256sum --check` reads it."""
    moment = clock.to_paris(now or clock.now()).timetuple()[:6]

    def entry(name: str) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(name, date_time=moment)
        info.compress_type = zipfile.ZIP_DEFLATED
        return info
    sink = _Sink()
    with zipfile.ZipFile(sink, "w") as zipped:
        for file in files(consultation):
            with zipped.open(entry(file.name), "w") as target:
                for piece in content(consultation, file):
                    target.write(piece)
                    if data := sink.take():
                        yield data
            if file.name == TALLY_FILE:
                zipped.writestr(entry(f"{TALLY_FILE}.sha256"),
                                f"{tally_of(consultation).digest}  {TALLY_FILE}\n")
    yield sink.take()
