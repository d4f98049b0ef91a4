"""JSON shapes of the API, with stable field names, each next to its JSON Schema (which the OpenAPI document
publishes and the tests check every answer against)."""

from flask_babel import lazy_gettext as _l

from app.committee.models import Issue
from app.committee.permissions import public_answer
from app.consultations.models import Consultation, PhaseKind
from app.core.audit import AuditEntry
from app.core.web import public_url
from app.organizations.models import Organization, OrganizationKind
from app.proposals.models import AnswerState, Carrier, Maturity, Proposal, ProposalKind, ProposalState, TerritoryTag
from app.votes.models import Tally
from app.votes.services import TALLY_COLUMNS

# JSON Schema's building blocks; descriptions are French, for the documentation page.
STRING, INTEGER, BOOLEAN = {"type": "string"}, {"type": "integer"}, {"type": "boolean"}
INSTANT = {"type": "string", "format": "date-time", "description": _l("Un instant UTC, au format ISO 8601.")}
URL = {"type": "string", "format": "uri"}


def nullable(schema: dict) -> dict:
    extra = {"enum": [*schema["enum"], None]} if "enum" in schema else {}
    return {**schema, "type": [schema["type"], "null"], **extra}


def described(schema: dict, description) -> dict:
    return {**schema, "description": description}


def one_of(enum) -> dict:
    return {"type": "string", "enum": [member.value for member in enum]}


def array(items: dict) -> dict:
    return {"type": "array", "items": items}


def record(title, properties: dict, optional: tuple[str, ...] = ()) -> dict:
    """An object with exactly these fields: a field added to a serializer and not here fails the tests."""
    return {"type": "object", "title": title, "additionalProperties": False, "properties": properties,
            "required": [name for name in properties if name not in optional]}


def page_of(item: dict) -> dict:
    """The envelope of every list."""
    return record(_l("Page de résultats"), {
        "items": array(item), "total": described(INTEGER, _l("Nombre total d'éléments, toutes pages comprises.")),
        "page": INTEGER, "per_page": INTEGER, "pages": described(INTEGER, _l("Nombre de pages."))})


def page_envelope(page, items: list[dict]) -> dict:
    return {"items": items, "total": page.total, "page": page.page, "per_page": page.per_page,
            "pages": page.pages}


def instant(moment) -> str | None:
    return moment.isoformat() if moment else None


ORGANIZATION = record(_l("Organisation"), {
    "id": INTEGER, "kind": one_of(OrganizationKind), "name": STRING,
    "siren": nullable(described(STRING, _l("Numéro SIREN (9 chiffres)."))),
    "insee_code": nullable(described(STRING, _l("Code officiel géographique (communes)."))),
    "population": nullable(INTEGER), "departement": nullable(described(STRING, _l("Code du département."))),
    "region": nullable(described(STRING, _l("Code de la région."))),
    "epci_id": nullable(described(INTEGER, _l("L'intercommunalité dont la commune est membre."))),
    "is_verified": BOOLEAN,
    "is_ansm_eligible": described(BOOLEAN, _l("Éligible à l'accompagnement sur mesure gratuit (ANSM).")),
})


def organization_json(organization: Organization) -> dict:
    return {
        "id": organization.id, "kind": organization.kind, "name": organization.name,
        "siren": organization.siren, "insee_code": organization.insee_code,
        "population": organization.population, "departement": organization.departement_code,
        "region": organization.region_code, "epci_id": organization.epci_id,
        "is_verified": organization.is_verified, "is_ansm_eligible": organization.is_ansm_eligible,
    }


CONSULTATION_SUMMARY = {"slug": STRING, "title": STRING, "url": URL}
CONSULTATION_ITEM = record(_l("Consultation (résumé)"), CONSULTATION_SUMMARY)
CONSULTATION = record(_l("Consultation"), {
    **CONSULTATION_SUMMARY, "description": STRING,
    "budget_envelope_cents": nullable(described(INTEGER, _l("Enveloppe budgétaire, en centimes d'euro."))),
    "laureate_target": nullable(INTEGER),
    "themes": array(record(_l("Thème"), {"id": INTEGER, "name": STRING})),
    "phases": array(record(_l("Phase"), {"kind": one_of(PhaseKind), "starts_at": nullable(INSTANT),
                                         "ends_at": nullable(INSTANT)})),
    "support_settings": record(_l("Règles des soutiens"), {
        "vote_limit": described(INTEGER, _l("Soutiens par organisation ; 0 : sans limite.")),
        "threshold_per_proposal": INTEGER, "minimum_votes_per_user": INTEGER,
        "can_accumulate_supports_beyond_threshold": BOOLEAN, "can_support_own_proposals": BOOLEAN,
        "votes_hidden": BOOLEAN, "eligible_kinds": array(one_of(OrganizationKind))}),
})


def consultation_json(consultation: Consultation, *, full: bool = False) -> dict:
    data = {"slug": consultation.slug, "title": consultation.title,
            "url": public_url("consultations.detail", slug=consultation.slug)}
    if full:
        data.update({
            "description": consultation.description,
            "budget_envelope_cents": consultation.budget_envelope_cents,
            "laureate_target": consultation.laureate_target,
            "themes": [{"id": theme.id, "name": theme.name} for theme in consultation.themes],
            "phases": [{"kind": phase.kind, "starts_at": instant(phase.starts_at), "ends_at": instant(phase.ends_at)}
                       for phase in consultation.phases],
            "support_settings": {
                "vote_limit": consultation.vote_limit,
                "threshold_per_proposal": consultation.threshold_per_proposal,
                "minimum_votes_per_user": consultation.minimum_votes_per_user,
                "can_accumulate_supports_beyond_threshold": consultation.can_accumulate_supports_beyond_threshold,
                "can_support_own_proposals": consultation.can_support_own_proposals,
                "votes_hidden": consultation.votes_hidden,
                "eligible_kinds": consultation.eligible_kinds,
            },
        })
    return data


# Counts are null while the consultation hides them; answers empty until the chair publishes them.
SUPPORT_COUNT = nullable(described(INTEGER, _l("Soutiens qui comptent ; null tant que la consultation cache "
                                              "les décomptes.")))
ANSWER_STATE = described(one_of(AnswerState), _l("La réponse du comité, not_answered jusqu'à sa publication."))
GRANTED = nullable(described(INTEGER, _l("Montant accordé, en centimes d'euro.")))
PROPOSAL_KIND_FIELDS = ("problem", "affected", "workaround", "maturity", "licence", "repository_url", "carrier",
                        "deployments", "requested_budget_cents")
PROPOSAL = record(_l("Proposition"), {
    "id": INTEGER, "consultation": STRING, "kind": one_of(ProposalKind), "state": one_of(ProposalState),
    "title": STRING, "summary": STRING, "body": described(STRING, _l("Texte en Markdown.")),
    "organization": record(_l("Organisation porteuse"), {
        "id": INTEGER, "name": STRING, "kind": one_of(OrganizationKind), "departement": nullable(STRING),
        "is_ansm_eligible": BOOLEAN}),
    "themes": array(STRING), "territory_tags": array(one_of(TerritoryTag)),
    "answer_state": ANSWER_STATE, "answer_text": nullable(STRING), "granted_amount_cents": GRANTED,
    "support_count": SUPPORT_COUNT, "comment_count": INTEGER,
    "imported_vote_count": nullable(described(INTEGER, _l("Votes reçus sur Decidim, pour une proposition "
                                                          "importée."))),
    "decidim": nullable(record(_l("Origine Decidim"), {"id": INTEGER, "url": nullable(STRING)})),
    "published_at": nullable(INSTANT), "withdrawn_at": nullable(INSTANT),
    "merged_into_id": nullable(described(INTEGER, _l("La proposition dans laquelle celle-ci a été fusionnée."))),
    "url": URL,
    # Needs only:
    "problem": nullable(STRING), "affected": nullable(STRING), "workaround": nullable(STRING),
    # Services only:
    "maturity": nullable(one_of(Maturity)), "licence": nullable(STRING), "repository_url": nullable(STRING),
    "carrier": nullable(one_of(Carrier)), "deployments": nullable(INTEGER), "requested_budget_cents": nullable(INTEGER),
}, optional=PROPOSAL_KIND_FIELDS)


def proposal_json(proposal: Proposal, *, support_count: int | None) -> dict:
    """A proposal as published; `support_count` is None while the consultation hides counts."""
    organization, answer = proposal.organization, public_answer(proposal)
    data = {
        "id": proposal.id, "consultation": proposal.consultation.slug, "kind": proposal.kind,
        "state": proposal.state, "title": proposal.title, "summary": proposal.summary, "body": proposal.body,
        "organization": {"id": organization.id, "name": organization.name, "kind": organization.kind,
                         "departement": organization.departement_code,
                         "is_ansm_eligible": organization.is_ansm_eligible},
        "themes": [theme.name for theme in proposal.themes], "territory_tags": proposal.tags,
        # Nothing of the committee's answer before the chair publishes it.
        "answer_state": answer.state, "answer_text": answer.text, "granted_amount_cents": answer.granted_amount_cents,
        "support_count": support_count, "comment_count": proposal.comment_count,
        # Votes a proposal imported from Decidim had there: a record, never supports of organizations.
        "imported_vote_count": proposal.imported_vote_count,
        "decidim": {"id": proposal.decidim_id, "url": proposal.decidim_url} if proposal.decidim_id else None,
        "published_at": instant(proposal.published_at), "withdrawn_at": instant(proposal.withdrawn_at),
        "merged_into_id": proposal.merged_into_id,
        "url": public_url("proposals.detail", proposal_id=proposal.id),
    }
    if proposal.is_need:
        data.update(problem=proposal.problem, affected=proposal.affected, workaround=proposal.workaround)
    else:
        data.update(maturity=proposal.maturity, licence=proposal.licence, repository_url=proposal.repository_url,
                    carrier=proposal.carrier, deployments=proposal.deployments,
                    requested_budget_cents=proposal.requested_budget_cents)
    return data


# A proposal named in another list: enough to find it.
PROPOSAL_REFERENCE = {"id": INTEGER, "kind": one_of(ProposalKind), "title": STRING,
                      "organization": record(_l("Organisation porteuse"), {"id": INTEGER, "name": STRING}),
                      "support_count": SUPPORT_COUNT, "url": URL}


def proposal_reference(proposal: Proposal, support_count: int | None) -> dict:
    return {"id": proposal.id, "kind": proposal.kind, "title": proposal.title,
            "organization": {"id": proposal.organization_id, "name": proposal.organization.name},
            "support_count": support_count, "url": public_url("proposals.detail", proposal_id=proposal.id)}


ISSUE_SUMMARY = {
    "id": INTEGER, "consultation": STRING, "title": STRING, "description": STRING,
    "position": described(INTEGER, _l("Rang dans l'ordre du comité.")),
    "proposal_count": described(INTEGER, _l("Propositions publiées rangées dans ce grand enjeu.")),
    "url": URL,
}
ISSUE_ITEM = record(_l("Grand enjeu (résumé)"), ISSUE_SUMMARY)
ISSUE = record(_l("Grand enjeu"), {
    **ISSUE_SUMMARY,
    "proposals": array(record(_l("Proposition du grand enjeu"), PROPOSAL_REFERENCE)),
    "key_terms": described(array(STRING), _l("Les mots les plus partagés par ses propositions.")),
    "supporting_organization_count": INTEGER,
    "supporting_organizations": nullable(described(
        array(record(_l("Organisation qui soutient"), {"id": INTEGER, "name": STRING})),
        _l("Null quand la consultation ne nomme pas les organisations qui soutiennent."))),
})


def issue_json(issue: Issue, proposal_count: int) -> dict:
    return {"id": issue.id, "consultation": issue.consultation.slug, "title": issue.title,
            "description": issue.description, "position": issue.position, "proposal_count": proposal_count,
            "url": public_url("committee.issue", slug=issue.consultation.slug, issue_id=issue.id)}


ANSWER = record(_l("Réponse du comité"), {
    "rank": nullable(described(INTEGER, _l("Rang par soutiens parmi toutes les propositions ; les égalités "
                                           "partagent un rang."))),
    "proposal": record(_l("Proposition"), PROPOSAL_REFERENCE),
    "answer_state": ANSWER_STATE, "answer_text": nullable(STRING), "granted_amount_cents": GRANTED,
})


def answer_json(rank: int | None, proposal: Proposal, support_count: int | None) -> dict:
    answer = public_answer(proposal)
    return {"rank": rank, "proposal": proposal_reference(proposal, support_count), "answer_state": answer.state,
            "answer_text": answer.text, "granted_amount_cents": answer.granted_amount_cents}


LAUREATE = record(_l("Lauréat"), {
    "proposal": record(_l("Proposition"), PROPOSAL_REFERENCE), "granted_amount_cents": GRANTED,
    "issue_id": nullable(described(INTEGER, _l("Son grand enjeu."))),
})


def laureate_json(proposal: Proposal, support_count: int | None) -> dict:
    return {"proposal": proposal_reference(proposal, support_count), "issue_id": proposal.issue_id,
            "granted_amount_cents": public_answer(proposal).granted_amount_cents}


TALLY = record(_l("Décompte figé des soutiens"), {
    "consultation": STRING, "frozen_at": described(INSTANT, _l("La fin de la période de soutiens.")),
    "support_count": described(INTEGER, _l("Soutiens comptés : les lignes du fichier.")),
    "digest": described(STRING, _l("Empreinte SHA-256 du fichier, à recalculer avec sha256sum.")),
    "file_url": described(URL, _l("Le fichier CSV, une ligne par soutien compté.")),
    "columns": described(array(STRING), _l("Les colonnes du fichier, séparées par des points-virgules.")),
})


def tally_json(consultation: Consultation, tally: Tally) -> dict:
    return {"consultation": consultation.slug, "frozen_at": instant(tally.frozen_at),
            "support_count": tally.support_count, "digest": tally.digest,
            "file_url": public_url("votes.tally_csv", slug=consultation.slug), "columns": list(TALLY_COLUMNS)}


PARTICIPANT = record(_l("Organisation participante"), {
    **ORGANIZATION["properties"],
    "proposal_count": described(INTEGER, _l("Propositions publiées qu'elle porte.")),
    "is_supporter": nullable(described(BOOLEAN, _l("Ses soutiens comptent au décompte ; null avant qu'il soit "
                                                   "figé ou quand la consultation ne nomme pas les organisations "
                                                   "qui soutiennent."))),
})


def participant_json(organization: Organization, proposal_count: int, is_supporter: bool | None) -> dict:
    return {**organization_json(organization), "proposal_count": proposal_count, "is_supporter": is_supporter}


AUDIT_ENTRY = record(_l("Entrée du journal d'audit"), {
    "id": INTEGER, "at": INSTANT, "action": described(STRING, _l("Par exemple results.publish.")),
    "subject": described(STRING, _l("Ce dont il s'agit : table:numéro, par exemple proposals:12.")),
    "prev_hash": described(STRING, _l("L'empreinte de l'entrée précédente.")),
    "hash": described(STRING, _l("L'empreinte de cette entrée, qui couvre aussi la précédente.")),
})


def audit_entry_json(entry: AuditEntry) -> dict:
    """What the public reads of an entry: who acted and the entry's data stay in the back office (they
    hold the committee's drafts, scores and the people concerned); the chain of hashes shows that no
    entry was removed or changed."""
    return {"id": entry.id, "at": instant(entry.at), "action": entry.action, "subject": entry.subject,
            "prev_hash": entry.prev_hash, "hash": entry.hash}


DATE = {"type": "string", "format": "date"}


def time_series(counts: dict) -> dict:
    return record(_l("Série par période"), {
        "unit": described({"type": "string", "enum": ["day", "week", "month"]},
                          _l("Jour, semaine (commençant le lundi) ou mois, heure de Paris.")),
        "periods": array(record(_l("Période"), {"start": described(DATE, _l("Premier jour de la période.")),
                                                 "counts": record(_l("Nombres"), counts)}))})


AREA = record(_l("Territoire"), {"code": nullable(described(STRING, _l("Code INSEE du département ou de la région."))),
                                 "organizations": INTEGER})
STATISTICS = record(_l("Statistiques d'une consultation"), {
    "needs": described(INTEGER, _l("Besoins publiés (listés).")),
    "services": described(INTEGER, _l("Services publiés (listés).")),
    "contributing_organizations": described(INTEGER, _l("Organisations ayant publié au moins une proposition.")),
    "contributions_over_time": time_series({"needs": INTEGER, "services": INTEGER}),
    "themes": array(record(_l("Thème"), {"theme_id": nullable(INTEGER), "name": nullable(STRING), "needs": INTEGER,
                                          "services": INTEGER})),
    "counts_hidden": described(BOOLEAN, _l("Les soutiens sont masqués pendant la période de soutien.")),
    "participation": {**record(_l("Participation"), {
        "supports": described(INTEGER, _l("Soutiens comptés, comme dans le décompte.")),
        "organizations": described(INTEGER, _l("Organisations dont les soutiens comptent.")),
        "eligible_organizations": INTEGER,
        "rate": described({"type": ["number", "null"]}, _l("organizations / eligible_organizations.")),
        "by_kind": {"type": "object", "additionalProperties": INTEGER},
        "by_departement": array(AREA), "by_region": array(AREA),
        "supports_over_time": time_series({"supports": INTEGER})}), "type": ["object", "null"]},
})
