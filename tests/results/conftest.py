"""A consultation whose results are published: laureates with amounts, issues, themes, territories,
answers of every kind, counted supports from organizations of several départements."""

import pytest

from app.consultations.models import PhaseKind
from app.core import clock
from app.extensions import db
from app.proposals.models import AnswerState, ProposalTerritoryTag
from app.votes.models import Support, SupportQuota
from tests.factories import make_consultation, make_issue, make_organization, make_proposal, make_user


def supported(proposal, *organizations):
    """Supports of `organizations` for `proposal`, counted as the support services count them: a support row,
    the organization's quota and the proposal's public count."""
    for organization in organizations:
        db.session.add(Support(consultation_id=proposal.consultation_id, proposal_id=proposal.id,
                               organization_id=organization.id, cast_by_id=make_user().id,
                               receipt_code=f"R{proposal.id:05d}{organization.id:06d}"))
        quota = db.session.get(SupportQuota, (proposal.consultation_id, organization.id))
        if quota is None:
            db.session.add(SupportQuota(consultation_id=proposal.consultation_id, organization_id=organization.id,
                                        used=1))
        else:
            quota.used += 1
        proposal.support_count += 1
    db.session.commit()
    return proposal


def answered(proposal, state, text=None, granted_cents=None):
    proposal.answer_state, proposal.answer_text, proposal.granted_amount_cents = state, text, granted_cents
    proposal.answered_at = clock.now()
    db.session.commit()
    return proposal


class Results:
    """The published consultation and what it holds, by name."""

    def __init__(self, phase=PhaseKind.RESULTS, published=True):
        self.consultation = make_consultation(phase, slug="relance-2027", budget_envelope_cents=10_000_000,
                                              laureate_target=3)
        online, inclusion = self.consultation.themes
        self.cantal = [make_organization(f"Commune du Cantal {n}", departement_code="15") for n in range(3)]
        self.ajaccio = make_organization("Ajaccio", departement_code="2A")
        self.pointe = make_organization("Pointe-à-Pitre", departement_code="971")
        self.cantines = make_issue(self.consultation, "Restauration scolaire", position=0)
        self.inclusion = make_issue(self.consultation, "Inclusion numérique", position=1)
        self.portal = answered(supported(make_proposal(
            self.consultation, self.cantal[0], kind="service", title="Portail famille libre", licence="EUPL-1.2",
            repository_url="https://forge.example.org/portail", maturity="production", carrier="public",
            issue_id=self.cantines.id, themes=[online], deployments=12),
            *self.cantal, self.ajaccio), AnswerState.LAUREATE, "Retenu pour sa réutilisabilité.", 4_000_000)
        self.portal.territory_tags = [ProposalTerritoryTag(tag="rural")]
        self.mediation = answered(supported(make_proposal(
            self.consultation, self.ajaccio, kind="need", title="Médiation numérique itinérante",
            issue_id=self.inclusion.id, themes=[inclusion]), *self.cantal), AnswerState.LAUREATE,
            "Un besoin partagé par beaucoup.", 2_500_000)
        self.chatbot = answered(supported(make_proposal(
            self.consultation, self.pointe, kind="service", title="Agent conversationnel municipal",
            licence="MIT", maturity="prototype", carrier="private", themes=[online]), *self.cantal[:2]),
            AnswerState.LAUREATE, "Lauréat sous réserve d'une licence ouverte.", 1_000_000)
        self.refused = answered(supported(make_proposal(
            self.consultation, self.pointe, kind="service", title="Logiciel de paie propriétaire",
            licence="Propriétaire", maturity="production", carrier="private", issue_id=self.cantines.id),
            self.cantal[0], self.ajaccio), AnswerState.NOT_RETAINED, "Pas de code ouvert.")
        self.pending = answered(make_proposal(self.consultation, self.pointe, title="Cimetière en ligne"),
                                AnswerState.EVALUATING, "Encore à l'étude.")
        # Neither listed nor shown: hidden by moderation, or merged into another.
        self.hidden = answered(make_proposal(self.consultation, kind="service", title="Service masqué"),
                               AnswerState.LAUREATE, "Masqué.", 9_000_000)
        self.hidden.hidden_at = clock.now()
        self.original = make_proposal(self.consultation, title="Original fusionné", merged_into_id=self.portal.id)
        self.consultation.results_published_at = clock.now() if published else None
        db.session.commit()


@pytest.fixture
def results():
    return Results()


@pytest.fixture
def unpublished():
    return Results(phase=PhaseKind.SELECTION, published=False)

