"""Every route, visited by every role, answers as expected; a new route must be added here.

Expected answers: 200 (the page), 302 (done, then redirected), "login" (redirected to sign-in),
403 (refused). Whether a permitted action did the right thing is checked by each domain's tests;
this table checks that nobody gets past a door they should not.
"""

from dataclasses import dataclass
from datetime import timedelta

import pytest

from app.consultations.models import PhaseKind
from app.core import clock
from app.extensions import db
from app.notifications.services import unsubscribe_token
from app.organizations.models import MembershipStatus
from app.votes.mandates import grant_mandate
from tests.factories import (make_comment, make_consultation, make_diagnostic_request, make_issue, make_member,
                             make_organization, make_proposal, make_suggestion, make_user, seat)

ROLES = ("visitor", "user", "agent", "elected", "committee", "chair", "admin")


@dataclass
class World:
    """One consultation in its support phase, one commune with an agent and an elected official."""

    consultation: object
    organization: object
    users: dict
    proposal: object
    comment: object

    def pending_request(self):
        return make_member(organization=self.organization, status=MembershipStatus.PENDING)

    def committee_seat(self):
        return seat(self.consultation)

    def suggestion_path(self, action: str = "") -> str:
        """A page of the consultation's suggested issues, which has one cluster holding the proposal."""
        make_suggestion(self.consultation, [[self.proposal]])
        return f"/consultations/{self.consultation.slug}/comite/suggestion{action}"

    def evaluation_path(self, action: str = "") -> str:
        return f"/consultations/{self.consultation.slug}/comite/evaluation{action}"

    def issue_path(self, action: str = "") -> str:
        return f"/consultations/{self.consultation.slug}/comite/enjeux/{make_issue(self.consultation).id}{action}"

    def laureate_service_path(self) -> str:
        """The catalogue page of a laureate service, its consultation's results published."""
        service = make_proposal(self.consultation, self.organization, kind="service", answer_state="laureate")
        self.consultation.results_published_at = clock.now()
        return f"/consultations/{self.consultation.slug}/resultats/services/{service.id}"

    def merge_path(self, action: str = "") -> str:
        """A page of a merge made (in deliberation, before this support phase was set up) of two proposals."""
        merged = make_proposal(self.consultation, self.organization, merged_at=self.proposal.published_at,
                               merged_by=self.users["committee"])
        for _original in range(2):
            make_proposal(self.consultation, merged_into_id=merged.id)
        return f"/consultations/{self.consultation.slug}/comite/fusions/{merged.id}{action}"

    def mandate_path(self, action: str = "") -> str:
        """A mandate the elected official gave the agent, in force."""
        now = clock.now()
        mandate = grant_mandate(self.users["elected"], self.users["agent"], self.organization, now,
                                now + timedelta(days=9))
        db.session.commit()
        return f"/compte/mandats/{mandate.id}{action}"


@pytest.fixture
def world():
    consultation = make_consultation(PhaseKind.SUPPORT)
    organization = make_organization("Saint-Flour")
    users = {
        "user": make_user(),
        "agent": make_member(organization=organization, role="agent").user,
        "elected": make_member(organization=organization, role="elected").user,
        "committee": seat(consultation).user,
        "chair": seat(consultation, is_chair=True).user,
        "admin": make_user(is_admin=True),
    }
    proposal = make_proposal(consultation, organization, author=users["agent"])
    comment = make_comment(proposal, users["agent"].memberships[0])
    return World(consultation, organization, users, proposal, comment)


def everyone(status):
    return dict.fromkeys(ROLES, status)


def signed_in(status):
    return {**everyone(status), "visitor": "login"}


def only(status, *roles):
    return {**signed_in(403), **dict.fromkeys(roles, status)}


ADMIN_PAGE = only(200, "admin")
COMMITTEE = ("committee", "chair", "admin")

# endpoint: (method, url builder, expected answer by role)
ROUTES = {
    "dsfr": ("GET", lambda w: "/dsfr/dsfr.min.css", everyone(200)),
    "static": ("GET", lambda w: "/static/agora.css", everyone(200)),
    "set_language": ("POST", lambda w: "/langue", everyone(302)),
    "accounts.sign_up": ("GET", lambda w: "/compte/inscription", everyone(200)),
    "accounts.check_email": ("GET", lambda w: "/compte/verifiez-vos-courriels", everyone(200)),
    "accounts.confirm_email": ("GET", lambda w: "/compte/confirmer/jeton-invalide", everyone(302)),
    "accounts.sign_in": ("GET", lambda w: "/compte/connexion", {**everyone(302), "visitor": 200}),
    "accounts.sign_out": ("POST", lambda w: "/compte/deconnexion", everyone(302)),
    # ProConnect is not configured here: no route (configured, tests/accounts/test_proconnect.py walks them).
    "accounts.proconnect_start": ("GET", lambda w: "/compte/proconnect", everyone(404)),
    "accounts.proconnect_callback": ("GET", lambda w: "/compte/proconnect/retour?code=x&state=y", everyone(404)),
    "accounts.forgot_password": ("GET", lambda w: "/compte/mot-de-passe-oublie", everyone(200)),
    "accounts.reset_password": ("GET", lambda w: "/compte/reinitialiser/jeton", everyone(200)),
    "accounts.account": ("GET", lambda w: "/compte/", signed_in(200)),
    "notifications.preferences": ("GET", lambda w: "/compte/courriels", signed_in(200)),
    "notifications.unsubscribe": ("GET", lambda w: "/courriels/desabonnement/"
                                  + unsubscribe_token(w.users["agent"], "results"), everyone(200)),
    "accounts.change_name": ("GET", lambda w: "/compte/nom", signed_in(200)),
    "accounts.change_email": ("GET", lambda w: "/compte/adresse", signed_in(200)),
    "accounts.confirm_new_email": ("GET", lambda w: "/compte/adresse/confirmer/jeton-invalide", everyone(302)),
    "accounts.change_password": ("GET", lambda w: "/compte/mot-de-passe", signed_in(200)),
    "accounts.contributions": ("GET", lambda w: "/compte/contributions", signed_in(200)),
    "accounts.download_personal_data": ("GET", lambda w: "/compte/mes-donnees.json", signed_in(200)),
    "accounts.delete_account": ("GET", lambda w: "/compte/supprimer", signed_in(200)),
    "organizations.search": ("GET", lambda w: "/collectivites/?q=flour", everyone(200)),
    "organizations.detail": ("GET", lambda w: f"/collectivites/{w.organization.id}", everyone(200)),
    "organizations.join": ("POST", lambda w: f"/collectivites/{w.organization.id}/rejoindre", signed_in(302)),
    "organizations.pending_requests": ("GET", lambda w: "/adhesions/a-traiter", signed_in(200)),
    "organizations.decide": ("POST", lambda w: f"/adhesions/{w.pending_request().id}/decision",
                             only(302, "elected", "admin")),
    # The ANSM diagnostic: asked by the eligible commune's verified members; the others are told why, sent back.
    "organizations.request_diagnostic": ("GET", lambda w: f"/collectivites/{w.organization.id}/diagnostic",
                                         {**signed_in(302), "agent": 200, "elected": 200}),
    "consultations.home": ("GET", lambda w: "/", everyone(200)),
    "consultations.detail": ("GET", lambda w: f"/consultations/{w.consultation.slug}", everyone(200)),
    "proposals.index": ("GET", lambda w: f"/consultations/{w.consultation.slug}/propositions", everyone(200)),
    "proposals.new": ("GET", lambda w: f"/consultations/{w.consultation.slug}/propositions/nouvelle",
                      signed_in(302)),  # the collect phase is over: told why, sent back
    "proposals.detail": ("GET", lambda w: f"/propositions/{w.proposal.id}", everyone(200)),
    "proposals.edit": ("GET", lambda w: f"/propositions/{w.proposal.id}/modifier", signed_in(302)),
    "proposals.publish": ("POST", lambda w: f"/propositions/{w.proposal.id}/publier", signed_in(302)),
    "proposals.withdraw": ("GET", lambda w: f"/propositions/{w.proposal.id}/retirer",
                           {**signed_in(302), "agent": 200, "elected": 200}),
    "proposals.cosponsor": ("POST", lambda w: f"/propositions/{w.proposal.id}/coporter", signed_in(302)),
    "proposals.link": ("POST", lambda w: f"/propositions/{w.proposal.id}/relier", signed_in(302)),
    "proposals.comment": ("POST", lambda w: f"/propositions/{w.proposal.id}/commentaires", signed_in(302)),
    "proposals.edit_comment": ("GET", lambda w: f"/commentaires/{w.comment.id}/modifier", only(200, "agent")),
    "proposals.report": ("GET", lambda w: f"/signaler/proposal/{w.proposal.id}",
                         {**signed_in(302), "agent": 200, "elected": 200}),
    "votes.support": ("POST", lambda w: f"/propositions/{w.proposal.id}/soutenir",
                      {**only(403), "agent": 302, "elected": 302}),
    "votes.withdraw": ("POST", lambda w: f"/propositions/{w.proposal.id}/retirer-soutien",
                       {**only(403), "agent": 302, "elected": 302}),
    "votes.dashboard": ("GET",
                        lambda w: f"/consultations/{w.consultation.slug}/collectivites/{w.organization.id}/soutiens",
                        only(200, "agent", "elected", "admin")),
    "votes.check_receipt": ("GET", lambda w: "/soutiens/verifier?code=ABCD-EFGH-JKMN", everyone(200)),
    "votes.tally": ("GET", lambda w: f"/consultations/{w.consultation.slug}/decompte", everyone(200)),
    "votes.tally_csv": ("GET", lambda w: f"/consultations/{w.consultation.slug}/decompte.csv",
                        everyone(404)),  # published once the support window has closed
    "votes.journal": ("GET", lambda w: f"/admin/consultations/{w.consultation.id}/soutiens", ADMIN_PAGE),
    "votes.mandates_page": ("GET", lambda w: "/compte/mandats", signed_in(200)),
    "votes.revoke_mandate": ("POST", lambda w: w.mandate_path("/revoquer"), only(302, "elected", "admin")),
    "admin.index": ("GET", lambda w: "/admin/", ADMIN_PAGE),
    "admin.new_consultation": ("GET", lambda w: "/admin/consultations/nouvelle", ADMIN_PAGE),
    "admin.edit_consultation": ("GET", lambda w: f"/admin/consultations/{w.consultation.id}/modifier", ADMIN_PAGE),
    "admin.committee": ("GET", lambda w: f"/admin/consultations/{w.consultation.id}/comite", ADMIN_PAGE),
    "admin.remove_committee_seat": ("POST", lambda w: f"/admin/comite/{w.committee_seat().id}/retirer",
                                    only(302, "admin")),
    "admin.new_organization": ("GET", lambda w: "/admin/organisations/nouvelle", ADMIN_PAGE),
    "admin.audit_log": ("GET", lambda w: "/admin/journal", ADMIN_PAGE),
    "admin.diagnostic_requests": ("GET", lambda w: "/admin/diagnostics?statut=new", ADMIN_PAGE),
    "admin.diagnostic_request": ("GET", lambda w: f"/admin/diagnostics/{make_diagnostic_request(w.organization).id}",
                                 ADMIN_PAGE),
    "legal.legal_notice": ("GET", lambda w: "/mentions-legales", everyone(200)),
    "legal.personal_data": ("GET", lambda w: "/donnees-personnelles", everyone(200)),
    "legal.accessibility": ("GET", lambda w: "/accessibilite", everyone(200)),
    "legal.sitemap": ("GET", lambda w: "/plan-du-site", everyone(200)),
    "api.organizations": ("GET", lambda w: "/api/v1/organizations?q=flour", everyone(200)),
    "api.consultations": ("GET", lambda w: "/api/v1/consultations", everyone(200)),
    "api.consultation": ("GET", lambda w: f"/api/v1/consultations/{w.consultation.slug}", everyone(200)),
    "api.consultation_proposals": ("GET", lambda w: f"/api/v1/consultations/{w.consultation.slug}/proposals",
                                   everyone(200)),
    "api.proposal": ("GET", lambda w: f"/api/v1/proposals/{w.proposal.id}", everyone(200)),
    "api.openapi": ("GET", lambda w: "/api/v1/openapi.json", everyone(200)),
    "health.health": ("GET", lambda w: "/health", everyone(200)),
    "api.docs": ("GET", lambda w: "/api/v1/docs", everyone(200)),
    "api.participants": ("GET", lambda w: f"/api/v1/consultations/{w.consultation.slug}/organizations",
                         everyone(200)),
    "api.audit_log": ("GET", lambda w: "/api/v1/audit", everyone(200)),
    "api.statistics": ("GET", lambda w: f"/api/v1/consultations/{w.consultation.slug}/statistics", everyone(200)),
    # The API shows what the public sees: in the support phase, issues, answers, laureates and the tally are
    # unknown to all, the committee included (tests/api show them once published).
    "api.issues": ("GET", lambda w: f"/api/v1/consultations/{w.consultation.slug}/issues", everyone(404)),
    "api.issue": ("GET", lambda w: f"/api/v1/consultations/{w.consultation.slug}/issues/"
                                   f"{make_issue(w.consultation).id}", everyone(404)),
    "api.answers": ("GET", lambda w: f"/api/v1/consultations/{w.consultation.slug}/answers", everyone(404)),
    "api.laureates": ("GET", lambda w: f"/api/v1/consultations/{w.consultation.slug}/laureates", everyone(404)),
    "api.tally": ("GET", lambda w: f"/api/v1/consultations/{w.consultation.slug}/tally", everyone(404)),
    "admin.moderation_queue": ("GET", lambda w: "/admin/moderation", ADMIN_PAGE),
    "admin.moderate": ("POST", lambda w: f"/admin/moderation/comment/{w.comment.id}/hide", only(302, "admin")),
    "admin.block_user": ("POST", lambda w: f"/admin/comptes/{w.users['user'].id}/suspendre", only(302, "admin")),
    "committee.home": ("GET", lambda w: f"/consultations/{w.consultation.slug}/comite", only(200, *COMMITTEE)),
    "committee.proposals": ("GET", lambda w: f"/consultations/{w.consultation.slug}/comite/propositions",
                            only(200, *COMMITTEE)),
    "committee.issue": ("GET", lambda w: w.issue_path(), only(200, *COMMITTEE)),  # public from the results on
    # Issues are organized during deliberation and selection: in the support phase, told why and sent back.
    "committee.new_issue": ("GET", lambda w: f"/consultations/{w.consultation.slug}/comite/enjeux/nouveau",
                            only(302, *COMMITTEE)),
    "committee.edit_issue": ("GET", lambda w: w.issue_path("/modifier"), only(302, *COMMITTEE)),
    "committee.delete_issue": ("GET", lambda w: w.issue_path("/supprimer"), only(302, *COMMITTEE)),
    "committee.move_issue": ("POST", lambda w: w.issue_path("/monter"), only(302, *COMMITTEE)),
    "merging.index": ("GET", lambda w: f"/consultations/{w.consultation.slug}/comite/fusions", only(200, *COMMITTEE)),
    "merging.detail": ("GET", lambda w: w.merge_path(), only(200, *COMMITTEE)),
    "merging.select": ("POST", lambda w: f"/consultations/{w.consultation.slug}/comite/fusions/selection",
                       only(302, *COMMITTEE)),
    # Merges are made and undone during deliberation: in the support phase, told why and sent back.
    "merging.new": ("GET", lambda w: f"/consultations/{w.consultation.slug}/comite/fusions/nouvelle"
                                     f"?proposal={w.proposal.id}&proposal={make_proposal(w.consultation).id}",
                    only(302, *COMMITTEE)),
    "merging.unmerge": ("GET", lambda w: w.merge_path("/defaire"), only(302, *COMMITTEE)),
    "evaluation.grid": ("GET", lambda w: w.evaluation_path(), only(200, *COMMITTEE)),
    "evaluation.proposal": ("GET", lambda w: w.evaluation_path(f"/propositions/{w.proposal.id}"),
                            only(200, *COMMITTEE)),
    "evaluation.criteria": ("GET", lambda w: w.evaluation_path("/criteres"), only(200, *COMMITTEE)),
    # Notes are written during deliberation and selection: in the support phase, told why and sent back.
    "evaluation.note": ("POST", lambda w: w.evaluation_path(f"/propositions/{w.proposal.id}/notes"),
                        only(302, *COMMITTEE)),
    # A member's own seat: admins see the committee's space but have no seat unless given one.
    "evaluation.seat": ("GET", lambda w: w.evaluation_path("/mon-siege"), only(200, "committee", "chair")),
    "evaluation.withdraw_conflict": ("POST",
                                     lambda w: w.evaluation_path(f"/mon-siege/conflits/{w.proposal.id}/retirer"),
                                     only(302, "committee", "chair")),
    "suggestions.show": ("GET", lambda w: w.suggestion_path(), only(200, *COMMITTEE)),
    "suggestions.cluster": ("GET", lambda w: w.suggestion_path("/groupes/1"), only(200, *COMMITTEE)),
    "suggestions.duplicates": ("GET", lambda w: w.suggestion_path("/doublons"), only(200, *COMMITTEE)),
    # Suggestions are asked for and reworked during deliberation: in the support phase, told why and sent back.
    "suggestions.ask": ("POST", lambda w: w.suggestion_path(), only(302, *COMMITTEE)),
    "suggestions.accept": ("POST", lambda w: w.suggestion_path("/accepter"), only(302, *COMMITTEE)),
    "suggestions.rename": ("POST", lambda w: w.suggestion_path("/groupes/1/nom"), only(302, *COMMITTEE)),
    "suggestions.sort": ("POST", lambda w: w.suggestion_path("/groupes/1/propositions"), only(302, *COMMITTEE)),
    "suggestions.merge": ("POST", lambda w: w.suggestion_path("/groupes/1/fusion"), only(302, *COMMITTEE)),
    "links.needs": ("GET", lambda w: f"/consultations/{w.consultation.slug}/comite/besoins-services",
                    only(200, *COMMITTEE)),
    "links.services": ("GET", lambda w: f"/consultations/{w.consultation.slug}/comite/besoins-services/services",
                       only(200, *COMMITTEE)),
    # Links are confirmed during deliberation and selection: in the support phase, told why and sent back.
    "links.confirm": ("POST", lambda w: f"/consultations/{w.consultation.slug}/comite/besoins-services/confirmer",
                      only(302, *COMMITTEE)),
    "links.remove": ("POST", lambda w: f"/consultations/{w.consultation.slug}/comite/besoins-services/retirer",
                     only(302, *COMMITTEE)),
    # Readable by the committee in any stage: before supports close, the page says when it will show more.
    "selection.rankings": ("GET", lambda w: f"/consultations/{w.consultation.slug}/comite/selection",
                           only(200, *COMMITTEE)),
    "selection.rules": ("GET", lambda w: f"/consultations/{w.consultation.slug}/comite/selection/regles",
                        only(200, *COMMITTEE)),
    # Decisions and answers: readable by the committee in any stage; written during the selection (in the support
    # phase, told why and sent back); published by the chair alone (the page says why to the others).
    "decisions.index": ("GET", lambda w: f"/consultations/{w.consultation.slug}/comite/decisions",
                        only(200, *COMMITTEE)),
    "decisions.decide": ("GET", lambda w: f"/consultations/{w.consultation.slug}/comite/decisions/{w.proposal.id}",
                         only(200, *COMMITTEE)),
    "decisions.templates": ("GET", lambda w: f"/consultations/{w.consultation.slug}/comite/decisions/modeles",
                            only(200, *COMMITTEE)),
    "decisions.apply_templates": ("POST",
                                  lambda w: f"/consultations/{w.consultation.slug}/comite/decisions/appliquer",
                                  only(302, *COMMITTEE)),
    "decisions.publish": ("GET", lambda w: f"/consultations/{w.consultation.slug}/comite/decisions/publier",
                          only(200, *COMMITTEE)),
    # Public results: until the chair publishes, the pages say so (and a service's page is not found).
    "results.results": ("GET", lambda w: f"/consultations/{w.consultation.slug}/resultats", everyone(200)),
    "results.ranking": ("GET", lambda w: f"/consultations/{w.consultation.slug}/resultats/classement", everyone(200)),
    "results.catalogue": ("GET", lambda w: f"/consultations/{w.consultation.slug}/resultats/services",
                          everyone(200)),
    "results.service": ("GET", lambda w: w.laureate_service_path(), everyone(200)),
    # Open data: the same files for everyone; a file not published yet is not found.
    "opendata.index": ("GET", lambda w: f"/consultations/{w.consultation.slug}/donnees-ouvertes", everyone(200)),
    "opendata.download": ("GET", lambda w: f"/consultations/{w.consultation.slug}/donnees-ouvertes/propositions.csv",
                          everyone(200)),
    "opendata.archive": ("GET", lambda w: f"/consultations/{w.consultation.slug}/donnees-ouvertes.zip", everyone(200)),
    # Public statistics, in every phase (what comes from supports shows once counts are no longer hidden).
    "statistics.statistics": ("GET", lambda w: f"/consultations/{w.consultation.slug}/statistiques", everyone(200)),
}


def test_every_route_is_in_the_table(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert endpoints == set(ROUTES), "add new routes to ROUTES with the answer each role should get"


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", sorted(ROUTES))
def test_route_answers_each_role_as_expected(client, world, endpoint, role):
    method, url, expected = ROUTES[endpoint]
    if role != "visitor":
        client.sign_in_as(world.users[role])
    target = url(world)
    form = {"role": "agent", "decision": "accept", "organization_id": world.organization.id}
    response = client.get(target) if method == "GET" else client.post_form(target, form)
    response.close()  # file responses (DSFR assets) hold their file open until closed
    if expected[role] == "login":
        assert response.status_code == 302 and "/compte/connexion" in response.location
    else:
        assert response.status_code == expected[role]
