"""What the results pages read: laureates, the ranking with its ranks and filters, the charts' figures, the
catalogue and its filters; and the issues made public by the publication."""

from app.committee.permissions import can_see_issue, issues_are_public
from app.core import clock
from app.extensions import db
from app.proposals.models import AnswerState
from app.results import queries
from app.results.queries import CatalogueFilters, RankingFilters
from app.votes.models import SupportQuota
from tests.factories import make_consultation, make_member, make_organization, make_proposal, make_user, seat
from tests.results.conftest import supported


def test_the_laureates_are_the_listed_ones_largest_grants_first(results):
    assert [p.title for p in queries.laureates(results.consultation)] == [
        "Portail famille libre", "Médiation numérique itinérante", "Agent conversationnel municipal"]


def test_the_ranking_ranks_every_listed_proposal_by_supports_equal_counts_sharing_a_rank(results):
    page = queries.ranking(results.consultation, RankingFilters(), page=1, per_page=50)
    assert [(rank, proposal.title, proposal.support_count) for rank, proposal in page.items] == [
        (1, "Portail famille libre", 4), (2, "Médiation numérique itinérante", 3),
        (3, "Agent conversationnel municipal", 2), (3, "Logiciel de paie propriétaire", 2),
        (5, "Cimetière en ligne", 0)]
    assert page.total == 5


def test_a_filtered_ranking_keeps_the_ranks_among_all_proposals(results):
    refused = queries.ranking(results.consultation, RankingFilters(answer_state=AnswerState.NOT_RETAINED), 1, 50)
    assert [(rank, proposal.title) for rank, proposal in refused.items] == [(3, "Logiciel de paie propriétaire")]
    needs = queries.ranking(results.consultation, RankingFilters(kind="need"), 1, 50)
    assert [(rank, proposal.title) for rank, proposal in needs.items] == [
        (2, "Médiation numérique itinérante"), (5, "Cimetière en ligne")]


def test_ranking_pages_and_a_page_past_the_end(results):
    second = queries.ranking(results.consultation, RankingFilters(), page=2, per_page=2)
    assert [rank for rank, _ in second.items] == [3, 3] and second.pages == 3
    past = queries.ranking(results.consultation, RankingFilters(), page=9, per_page=2)
    assert past.items == [] and past.total == 5


def test_supports_are_summed_per_issue_in_the_committees_order_then_without_issue(results):
    rows = [(issue.title if issue else None, count)
            for issue, count in queries.supports_per_issue(results.consultation)]
    assert rows == [("Restauration scolaire", 6), ("Inclusion numérique", 3), (None, 2)]


def test_laureates_are_counted_per_theme_and_per_kind_of_territory(results):
    laureates = queries.laureates(results.consultation)
    assert queries.laureates_per_theme(results.consultation, laureates) == [("Démarches en ligne", 2),
                                                                            ("Inclusion numérique", 1)]
    assert queries.laureates_per_territory(laureates) == [
        ("rural", 1), ("montagne", 0), ("politique_de_la_ville", 0), ("outre_mer", 0), (None, 2)]


def test_participating_organizations_are_those_whose_supports_count_by_departement(results):
    assert queries.participants_per_departement(results.consultation) == {"15": 3, "2A": 1}
    results.consultation.minimum_votes_per_user = 2  # Ajaccio cast 2 supports, Cantal 3 each: all still count
    assert queries.participants_per_departement(results.consultation) == {"15": 3, "2A": 1}
    results.consultation.minimum_votes_per_user = 3
    assert queries.participants_per_departement(results.consultation) == {"15": 2}
    db.session.add(SupportQuota(consultation_id=results.consultation.id, organization_id=results.pointe.id, used=0))
    results.consultation.minimum_votes_per_user = 0  # an organization that withdrew all it cast does not count
    assert queries.participants_per_departement(results.consultation) == {"15": 3, "2A": 1}


def test_the_catalogue_lists_laureate_services_and_filters_them(results):
    services = queries.laureate_services(results.consultation)

    def titles(**filters):
        return [p.title for p in queries.catalogue(services, CatalogueFilters(**filters))]

    assert titles() == ["Agent conversationnel municipal", "Portail famille libre"]
    assert titles(maturity="production") == ["Portail famille libre"]
    assert titles(carrier="private") == ["Agent conversationnel municipal"]
    assert titles(licence="EUPL-1.2") == ["Portail famille libre"]
    assert titles(theme_id=results.consultation.themes[1].id) == []
    assert titles(licence="Propriétaire") == []  # not a laureate
    assert queries.licences_of(services) == ["EUPL-1.2", "MIT"]


def test_a_laureate_service_is_found_only_among_the_consultations_laureate_services(results):
    assert queries.laureate_service(results.consultation, results.portal.id) == results.portal
    for proposal in (results.mediation, results.refused, results.hidden):
        assert queries.laureate_service(results.consultation, proposal.id) is None
    assert queries.laureate_service(make_consultation(), results.portal.id) is None  # another consultation's


def test_issues_become_public_when_the_answers_are_published_whatever_the_stage(unpublished):
    consultation, issue = unpublished.consultation, unpublished.cantines
    visitor, member = make_member().user, seat(consultation).user
    assert not issues_are_public(consultation) and not can_see_issue(visitor, issue)
    assert can_see_issue(member, issue) and can_see_issue(make_user(is_admin=True), issue)
    consultation.results_published_at = clock.now()
    assert issues_are_public(consultation) and can_see_issue(visitor, issue)


def test_originals_merged_into_a_proposal_leave_the_ranking_where_it_stands_for_them(results):
    again = supported(make_proposal(results.consultation, title="Doublon"), make_organization(departement_code="15"))
    again.merged_into_id = results.portal.id
    db.session.commit()
    titles = [p.title for _, p in queries.ranking(results.consultation, RankingFilters(), 1, 50).items]
    assert "Doublon" not in titles and "Original fusionné" not in titles
