"""JSON shapes of the API, with stable field names (documented in the OpenAPI document later)."""

from app.committee.permissions import public_answer
from app.consultations.models import Consultation
from app.core.web import public_url
from app.organizations.models import Organization
from app.proposals.models import Proposal


def instant(moment) -> str | None:
    return moment.isoformat() if moment else None


def organization_json(organization: Organization) -> dict:
    return {
        "id": organization.id, "kind": organization.kind, "name": organization.name,
        "siren": organization.siren, "insee_code": organization.insee_code,
        "population": organization.population, "departement": organization.departement_code,
        "region": organization.region_code, "epci_id": organization.epci_id,
        "is_verified": organization.is_verified, "is_ansm_eligible": organization.is_ansm_eligible,
    }


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
