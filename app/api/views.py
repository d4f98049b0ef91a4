"""JSON endpoints under /api/v1, read-only: each reads what the matching page reads, through the same forms,
queries and predicates, and declares its parameters and answer for the OpenAPI document (api.openapi).
Malformed parameters get a 400 JSON error, unknown or unpublished things a 404, never a 500.

A new endpoint: a serializer and its schema in api.serializers, a view with `documented` under its route.
"""

from types import SimpleNamespace

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, jsonify, make_response, render_template, request
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import AnonymousUserMixin, current_user
from sqlalchemy.orm import selectinload

from app.api import serializers as json_of
from app.api.openapi import (IntegerParameter, InvalidParameters, documented, openapi_document, read_query,
                             schema_rows, type_label)
from app.committee import queries as committee_queries
from app.committee.models import Issue
from app.committee.permissions import answers_are_public, issues_are_public
from app.consultations.models import Consultation, PhaseKind
from app.consultations.phases import has_ended
from app.core.audit import AuditEntry
from app.extensions import csrf, db
from app.opendata.statistics import consultation_statistics
from app.organizations import services as organization_services
from app.organizations.forms import DirectorySearchForm
from app.organizations.models import Organization
from app.proposals.forms import ProposalSearchForm
from app.proposals.models import Proposal, ProposalCosponsor
from app.proposals.permissions import can_see
from app.proposals.search import is_listed, page_of_proposals
from app.results import queries as results_queries
from app.results.forms import RankingFilterForm
from app.votes.permissions import counts_hidden
from app.votes.services import counting_organizations, frozen_tally

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)

PER_PAGE = IntegerParameter("per_page", 20, 1, 100, _l("Éléments par page, de 1 à 100."))
PAGE = IntegerParameter("page", 1, 1, 100_000, _l("Numéro de la page, à partir de 1."))
# Drafts and hidden proposals stay out of the API whoever asks (their pages open to their organization).
VISITOR = AnonymousUserMixin()


@bp.errorhandler(InvalidParameters)
def bad_request(error: InvalidParameters):
    return jsonify({"error": {"status": 400, "message": _("Paramètres invalides."),
                              "fields": {name: [str(message) for message in messages]
                                         for name, messages in error.errors.items()}}}), 400


def not_found(message: str):
    """A 404 that says why, in French."""
    abort(make_response(jsonify({"error": {"status": 404, "message": message}}), 404))


def listing(page, items: list[dict]):
    return jsonify(json_of.page_envelope(page, items))


def page_of_list(items: list, page: int, per_page: int):
    """A page of a short list already read (issues, laureates): the same envelope as a database page."""
    return SimpleNamespace(items=items[(page - 1) * per_page:page * per_page], total=len(items), page=page,
                           per_page=per_page, pages=-(-len(items) // per_page))


def _consultation(slug: str) -> Consultation:
    return db.first_or_404(sa.select(Consultation).where(Consultation.slug == slug)
                           .options(selectinload(Consultation.phases), selectinload(Consultation.themes)))


def shown_support_count(proposal: Proposal) -> int | None:
    """The committee reads hidden counts, here as on the pages."""
    return None if counts_hidden(proposal.consultation, current_user) else proposal.support_count


# The documentation.
@bp.get("/openapi.json")
@documented(_l("Ce document OpenAPI 3.1"), {"type": "object"}, tags=("documentation",), reads_query=False)
def openapi():
    return jsonify(openapi_document(current_app, current_app.config["PUBLIC_URL"]))


@bp.get("/docs")
@documented(_l("La documentation de l'API, en HTML"), {"type": "string"}, media_type="text/html",
            tags=("documentation",), reads_query=False)
def docs():
    return render_template("api/docs.html", document=openapi_document(current_app, current_app.config["PUBLIC_URL"]),
                           type_label=type_label, schema_rows=schema_rows)


# Organizations.
@bp.get("/organizations")
@documented(_l("L'annuaire des organisations"), json_of.page_of(json_of.ORGANIZATION), form=DirectorySearchForm,
            parameters=(PER_PAGE,), description=_l("Filtré comme la page Collectivités ; les plus peuplées "
                                                   "d'abord."))
def organizations():
    form = DirectorySearchForm(request.args)
    per_page = read_query(form)["per_page"]
    statement = organization_services.search_organizations(form.q.data or "", form.kind.data, form.departement.data)
    page = db.paginate(statement, page=form.page.data or 1, per_page=per_page, error_out=False)
    return listing(page, [json_of.organization_json(organization) for organization in page.items])


# Consultations.
@bp.get("/consultations")
@documented(_l("Les consultations"), json_of.page_of(json_of.CONSULTATION_ITEM), parameters=(PAGE, PER_PAGE),
            description=_l("Les plus récentes d'abord."))
def consultations():
    values = read_query()
    page = db.paginate(sa.select(Consultation).order_by(Consultation.created_at.desc(), Consultation.id.desc()),
                       page=values["page"], per_page=values["per_page"], error_out=False)
    return listing(page, [json_of.consultation_json(consultation) for consultation in page.items])


@bp.get("/consultations/<slug>")
@documented(_l("Une consultation : thèmes, phases, règles des soutiens"), json_of.CONSULTATION)
def consultation(slug: str):
    read_query()
    return jsonify(json_of.consultation_json(_consultation(slug), full=True))


# Proposals.
@bp.get("/consultations/<slug>/proposals")
@documented(_l("Les propositions publiées d'une consultation"), json_of.page_of(json_of.PROPOSAL),
            form=ProposalSearchForm, parameters=(PER_PAGE,),
            description=_l("Recherche, filtres et tris de la page Contributions. Le tri par soutiens n'est pas "
                           "offert tant que la consultation cache les décomptes."))
def consultation_proposals(slug: str):
    consultation_ = _consultation(slug)
    form = ProposalSearchForm(request.args)
    form.set_choices(consultation_, counts_hidden=counts_hidden(consultation_, current_user))
    values = read_query(form)
    page = page_of_proposals(consultation_, form.filters(), page=form.page.data or 1,
                             per_page=values["per_page"], complete=True)
    return listing(page, [json_of.proposal_json(proposal, support_count=shown_support_count(proposal))
                          for proposal in page.items])


@bp.get("/proposals/<int:proposal_id>")
@documented(_l("Une proposition"), json_of.PROPOSAL,
            description=_l("Aussi une proposition retirée ou fusionnée, comme sa page ; jamais un brouillon ni "
                           "une proposition masquée."))
def proposal(proposal_id: int):
    read_query()
    proposal_ = db.session.get(Proposal, proposal_id)
    if proposal_ is None or not can_see(VISITOR, proposal_):
        abort(404)
    return jsonify(json_of.proposal_json(proposal_, support_count=shown_support_count(proposal_)))


# Major issues, public once the results are.
def _public_issues(slug: str) -> Consultation:
    consultation_ = _consultation(slug)
    if not issues_are_public(consultation_):
        not_found(_("Les grands enjeux de cette consultation ne sont pas encore publics."))
    return consultation_


@bp.get("/consultations/<slug>/issues")
@documented(_l("Les grands enjeux d'une consultation"), json_of.page_of(json_of.ISSUE_ITEM),
            parameters=(PAGE, PER_PAGE), description=_l("Dans l'ordre du comité ; publics à partir des résultats."))
def issues(slug: str):
    values = read_query()
    consultation_ = _public_issues(slug)
    counts = committee_queries.proposal_counts(consultation_)
    page = page_of_list(committee_queries.issues_of(consultation_), values["page"], values["per_page"])
    return listing(page, [json_of.issue_json(issue, counts.get(issue.id, 0)) for issue in page.items])


@bp.get("/consultations/<slug>/issues/<int:issue_id>")
@documented(_l("Un grand enjeu : ses propositions, ses mots clés, les organisations qui le soutiennent"),
            json_of.ISSUE)
def issue(slug: str, issue_id: int):
    read_query()
    consultation_ = _public_issues(slug)
    issue_ = db.session.get(Issue, issue_id)
    if issue_ is None or issue_.consultation_id != consultation_.id:
        abort(404)
    proposals = committee_queries.issue_proposals(issue_)
    supporters = committee_queries.supporting_organizations(issue_)
    # As on the issue's page: how many organizations, not which, where the consultation names no supporter.
    named = not consultation_.supporters_hidden
    return jsonify({
        **json_of.issue_json(issue_, len(proposals)),
        "proposals": [json_of.proposal_reference(proposal, shown_support_count(proposal)) for proposal in proposals],
        "key_terms": committee_queries.key_terms(proposals),
        "supporting_organization_count": len(supporters),
        "supporting_organizations": [{"id": organization.id, "name": organization.name}
                                     for organization in supporters] if named else None,
    })


# Answers and laureates, public once the chair has published them.
def _published_answers(slug: str) -> Consultation:
    consultation_ = _consultation(slug)
    if not answers_are_public(consultation_):
        not_found(_("Les réponses du comité à cette consultation ne sont pas encore publiées."))
    return consultation_


@bp.get("/consultations/<slug>/answers")
@documented(_l("Les réponses du comité à chaque proposition, par soutiens"), json_of.page_of(json_of.ANSWER),
            form=RankingFilterForm, parameters=(PER_PAGE,),
            description=_l("Le classement de la page Résultats, avec ses filtres ; publié par la présidence du "
                           "comité."))
def answers(slug: str):
    form = RankingFilterForm(request.args)
    per_page = read_query(form)["per_page"]
    consultation_ = _published_answers(slug)
    page = results_queries.ranking(consultation_, form.filters(), page=form.page.data or 1, per_page=per_page)
    hidden = counts_hidden(consultation_, current_user)
    return listing(page, [json_of.answer_json(None if hidden else rank, proposal, shown_support_count(proposal))
                          for rank, proposal in page.items])


@bp.get("/consultations/<slug>/laureates")
@documented(_l("Les lauréats et les montants accordés"), json_of.page_of(json_of.LAUREATE),
            parameters=(PAGE, PER_PAGE), description=_l("Les montants les plus élevés d'abord."))
def laureates(slug: str):
    values = read_query()
    consultation_ = _published_answers(slug)
    page = page_of_list(results_queries.laureates(consultation_), values["page"], values["per_page"])
    return listing(page, [json_of.laureate_json(proposal, shown_support_count(proposal)) for proposal in page.items])


# The tally.
@bp.get("/consultations/<slug>/tally")
@documented(_l("Le décompte figé des soutiens et son empreinte"), json_of.TALLY,
            description=_l("Figé à la fin de la période de soutiens ; le fichier se vérifie avec son empreinte."))
def tally(slug: str):
    read_query()
    consultation_ = _consultation(slug)
    frozen = frozen_tally(consultation_)
    if frozen is None:
        not_found(_("Le décompte sera figé et publié à la fin de la période de soutiens."))
    db.session.commit()  # the first visit after the window closes freezes it
    return jsonify(json_of.tally_json(consultation_, frozen))


# Statistics.
@bp.get("/consultations/<slug>/statistics")
@documented(_l("Les statistiques d'une consultation"), json_of.STATISTICS,
            description=_l("Les chiffres de la page Statistiques : contributions et soutiens dans le temps, "
                           "organisations participantes par type, département et région, taux de participation, "
                           "besoins et services par thème. Sans les soutiens tant que la consultation les masque."))
def statistics(slug: str):
    read_query()
    return jsonify(consultation_statistics(_consultation(slug), current_user).as_dict())


# Participating organizations.
def participating_ids(consultation: Consultation, supporters_public: bool):
    """The select of the ids of the organizations that carry or co-sponsor a listed proposal, and, once the
    tally names them, of those whose supports count (at least minimum_votes_per_user, and one)."""
    listed = sa.select(Proposal.id).where(Proposal.consultation_id == consultation.id, is_listed())
    parts = [sa.select(Proposal.organization_id).where(Proposal.id.in_(listed)),
             sa.select(ProposalCosponsor.organization_id).where(ProposalCosponsor.proposal_id.in_(listed))]
    if supporters_public:
        parts.append(counting_organizations(consultation))
    return sa.union(*parts)


@bp.get("/consultations/<slug>/organizations")
@documented(_l("Les organisations participantes d'une consultation"), json_of.page_of(json_of.PARTICIPANT),
            form=DirectorySearchForm, parameters=(PER_PAGE,),
            description=_l("Celles qui portent ou coportent une proposition publiée, et, une fois le décompte "
                           "figé, celles dont les soutiens comptent, sauf si la consultation ne les nomme pas. "
                           "Filtrées comme l'annuaire."))
def participants(slug: str):
    consultation_ = _consultation(slug)
    form = DirectorySearchForm(request.args)
    per_page = read_query(form)["per_page"]
    supporters_public = (has_ended(consultation_, PhaseKind.SUPPORT) and not consultation_.supporters_hidden)
    statement = organization_services.search_organizations(form.q.data or "", form.kind.data, form.departement.data)
    page = db.paginate(statement.where(Organization.id.in_(participating_ids(consultation_, supporters_public))),
                       page=form.page.data or 1, per_page=per_page, error_out=False)
    ids = [organization.id for organization in page.items]
    counts = dict(db.session.execute(
        sa.select(Proposal.organization_id, sa.func.count())
        .where(Proposal.consultation_id == consultation_.id, is_listed(), Proposal.organization_id.in_(ids))
        .group_by(Proposal.organization_id)).all())
    supporters = set(db.session.scalars(counting_organizations(consultation_).where(
        sa.literal_column("organization_id").in_(ids)))) if supporters_public else set()
    return listing(page, [json_of.participant_json(organization, counts.get(organization.id, 0),
                                                   organization.id in supporters if supporters_public else None)
                          for organization in page.items])


# The audit log.
@bp.get("/audit")
@documented(_l("Le journal d'audit chaîné des actions du comité et de l'administration"),
            json_of.page_of(json_of.AUDIT_ENTRY), parameters=(PAGE, PER_PAGE),
            description=_l("Les plus récentes d'abord. Chaque entrée porte l'empreinte de la précédente : une "
                           "entrée retirée ou modifiée rompt la chaîne. Ni l'auteur ni le détail des actions, "
                           "qui restent à l'équipe d'administration."))
def audit_log():
    values = read_query()
    page = db.paginate(sa.select(AuditEntry).order_by(AuditEntry.id.desc()), page=values["page"],
                       per_page=values["per_page"], error_out=False)
    return listing(page, [json_of.audit_entry_json(entry) for entry in page.items])
