"""Decision support: the proposals under consideration read from the database (counted supports only, a merged
proposal counting the union of its originals' supporters), the rankings with their ties and the mix formula, the
rules' instance, and the pages."""

import re
from fractions import Fraction

import pytest

from app.committee import evaluation, selection
from app.committee.budgeting import Why
from app.consultations.models import PhaseKind
from app.core import clock
from app.extensions import db
from tests.factories import (make_consultation, make_counted_support, make_issue, make_organization, make_proposal,
                             make_user, seat)
from tests.helpers import text_of




@pytest.fixture
def consultation():
    return make_consultation(PhaseKind.DELIBERATION, slug="besoins-2027", budget_envelope_cents=10_000_000,
                             minimum_votes_per_user=2)


@pytest.fixture
def karim(consultation):
    return seat(consultation, make_user(name="Karim Benali")).user


class World:
    """Four services and a need. Aurillac, Mauriac and Saint-Flour cast three supports each and count; Murat cast
    one, under the minimum of two, and does not. "Cantines" merges two originals supported by Aurillac and Mauriac,
    and by Mauriac and Saint-Flour: three organizations, Mauriac once."""

    def __init__(self, consultation):
        carrier = make_organization("Cantal Numérique")
        aurillac, mauriac, saint_flour, murat = (make_organization(name) for name in
                                                 ("Aurillac", "Mauriac", "Saint-Flour", "Murat"))
        self.organizations = {"aurillac": aurillac, "mauriac": mauriac, "saint_flour": saint_flour, "murat": murat}

        def service(title, cents):
            return make_proposal(consultation, carrier, kind="service", title=title, requested_budget_cents=cents)

        self.portal = service("Portail famille", 4_000_000)
        self.roads = service("Signalement voirie", 3_000_000)
        self.canteens = make_proposal(consultation, carrier, kind="service", title="Cantines",
                                      requested_budget_cents=5_000_000, merged_at=clock.now(),
                                      merged_by=make_user())
        first, second = (make_proposal(consultation, carrier, kind="service", title=f"Cantine {number}",
                                       requested_budget_cents=5_000_000, merged_into_id=self.canteens.id)
                         for number in (1, 2))
        self.safe = service("Coffre-fort numérique", 2_000_000)
        self.need = make_proposal(consultation, carrier, kind="need", title="Besoin de cantine")
        for proposal, supporters in ((self.portal, (aurillac, mauriac, saint_flour)), (self.roads, (aurillac, murat)),
                                     (first, (aurillac, mauriac)), (second, (mauriac, saint_flour)),
                                     (self.need, (saint_flour,))):
            for organization in supporters:
                make_counted_support(proposal, organization)


@pytest.fixture
def world(consultation):
    return World(consultation)


def score(consultation, proposal, member, value):
    evaluation.score_proposal(proposal, {criterion.id: (value, "") for criterion in
                                         evaluation.criteria_of(consultation)}, by=member)
    db.session.commit()


@pytest.fixture
def scored(consultation, world, karim):
    score(consultation, world.portal, karim, 4)
    score(consultation, world.roads, karim, 4)
    score(consultation, world.canteens, karim, 2)
    return world


def by_id(consultation):
    return {candidate.id: candidate for candidate in selection.under_consideration(consultation)}


# The instance read from the database

def test_the_proposals_under_consideration_are_the_listed_ones_with_their_counted_supporters(consultation, world):
    candidates = by_id(consultation)
    assert set(candidates) == {world.portal.id, world.roads.id, world.canteens.id, world.safe.id, world.need.id}
    ids = {key: organization.id for key, organization in world.organizations.items()}
    # The merged proposal counts the union of its originals' supporters, Mauriac once.
    assert candidates[world.canteens.id].supporters == {ids["aurillac"], ids["mauriac"], ids["saint_flour"]}
    # Murat cast one support, under the minimum: it does not count.
    assert candidates[world.roads.id].supporters == {ids["aurillac"]}
    assert candidates[world.safe.id].supports == 0


def test_the_minimum_counts_as_the_frozen_tally_counts_it(consultation, world):
    consultation.minimum_votes_per_user = 1
    db.session.commit()
    assert by_id(consultation)[world.roads.id].supports == 2  # Murat counts now


def test_the_instance_costs_proposals_at_their_requested_budget_and_the_others_get_no_cost(consultation, world):
    instance, uncosted = selection.instance_of(selection.under_consideration(consultation), 10_000_000)
    assert instance.costs == {world.portal.id: 4_000_000, world.roads.id: 3_000_000,
                              world.canteens.id: 5_000_000, world.safe.id: 2_000_000}
    assert uncosted == {world.need.id: Why.NO_COST}
    # One ballot per counted organization supporting a costed proposal: Saint-Flour's need is not on it.
    assert sorted(sorted(ballot) for ballot in instance.ballots) == sorted([
        sorted([world.portal.id, world.roads.id, world.canteens.id]), sorted([world.portal.id, world.canteens.id]),
        sorted([world.portal.id, world.canteens.id])])
    assert instance.budget == 10_000_000


def test_a_zero_budget_is_no_budget(consultation, world):
    world.safe.requested_budget_cents = 0
    db.session.commit()
    _instance, uncosted = selection.instance_of(selection.under_consideration(consultation), 10_000_000)
    assert uncosted == {world.safe.id: Why.NO_COST, world.need.id: Why.NO_COST}


def test_each_rule_selects_within_the_envelope_and_says_why_not_for_every_other_proposal(consultation, world):
    comparison = selection.compare_rules(selection.under_consideration(consultation), 10_000_000)
    results = {result.rule.key: result for result in comparison.results}
    assert comparison.voters == 3
    greedy = results["greedy"]
    assert greedy.outcome.selected == [world.portal.id, world.canteens.id]  # tie at 3 supports: the older first
    assert (greedy.outcome.total, greedy.outcome.left) == (9_000_000, 1_000_000)
    assert greedy.reasons == {world.roads.id: Why.OVER_BUDGET, world.safe.id: Why.NO_SUPPORT,
                              world.need.id: Why.NO_COST}
    assert greedy.positions == {world.portal.id: 1, world.canteens.id: 2}
    shares = results["mes-cardinality"]
    assert shares.outcome.selected == [world.portal.id, world.canteens.id]
    assert shares.reasons == {world.roads.id: Why.SHARE_TOO_SMALL, world.safe.id: Why.NO_SUPPORT,
                              world.need.id: Why.NO_COST}
    for result in comparison.results:
        assert result.outcome.total <= 10_000_000
        assert set(result.reasons) | set(result.outcome.selected) == set(by_id(consultation))


# Rankings

def ranked(rows):
    return [(row.candidate.title, row.rank, row.tied) for row in rows]


def test_by_supports_ties_share_the_rank_and_keep_the_oldest_first(consultation, world):
    rows = selection.ranking(consultation, selection.BY_SUPPORTS)
    assert ranked(rows) == [("Portail famille", 1, True), ("Cantines", 1, True), ("Signalement voirie", 3, True),
                            ("Besoin de cantine", 3, True), ("Coffre-fort numérique", 5, False)]


def test_requested_budgets_add_up_in_the_ranking_order_against_the_envelope(consultation, world):
    rows = selection.ranking(consultation, selection.BY_SUPPORTS)
    assert [(row.cumulative_cents, row.within_envelope) for row in rows] == [
        (4_000_000, True), (9_000_000, True), (12_000_000, False), (None, None), (14_000_000, False)]


def test_by_score_unscored_proposals_come_last_without_rank(consultation, scored):
    rows = selection.ranking(consultation, selection.BY_SCORE)
    assert ranked(rows) == [("Portail famille", 1, True), ("Signalement voirie", 1, True), ("Cantines", 3, False),
                            ("Coffre-fort numérique", None, False), ("Besoin de cantine", None, False)]
    assert rows[0].value == Fraction(4)


def test_the_mix_normalises_both_parts_by_the_consultations_maximum(consultation, scored):
    canteens = by_id(consultation)[scored.canteens.id]  # 3 supports of 3 at most, score 2 of 4 at most
    assert selection.normalised_mix(canteens, Fraction(1, 2), 3, Fraction(4)) == Fraction(3, 4)
    assert selection.normalised_mix(canteens, Fraction(1, 5), 3, Fraction(4)) == Fraction(1, 5) + Fraction(4, 5) / 2
    rows = selection.ranking(consultation, selection.BY_MIX, weight_percent=50)
    assert [(row.candidate.title, row.value) for row in rows] == [
        ("Portail famille", 1), ("Cantines", Fraction(3, 4)), ("Signalement voirie", Fraction(2, 3)),
        ("Besoin de cantine", Fraction(1, 6)), ("Coffre-fort numérique", 0)]
    # Score alone: the two proposals marked 4 tie; the unscored count 0 and tie last.
    assert ranked(selection.ranking(consultation, selection.BY_MIX, weight_percent=0)) == [
        ("Portail famille", 1, True), ("Signalement voirie", 1, True), ("Cantines", 3, False),
        ("Coffre-fort numérique", 4, True), ("Besoin de cantine", 4, True)]


def test_a_filtered_ranking_keeps_the_maxima_of_the_consultation(consultation, scored):
    issue = make_issue(consultation, "Voirie", proposals=[scored.roads])
    rows = selection.ranking(consultation, selection.BY_MIX, weight_percent=50,
                             filters=selection.Filters(issue_id=issue.id))
    assert [(row.candidate.title, row.value) for row in rows] == [("Signalement voirie", Fraction(2, 3))]
    needs = selection.ranking(consultation, selection.BY_SUPPORTS, filters=selection.Filters(kind="need"))
    assert ranked(needs) == [("Besoin de cantine", 1, False)]
    without = selection.ranking(consultation, selection.BY_SUPPORTS, filters=selection.Filters(without_issue=True))
    assert "Signalement voirie" not in [row.candidate.title for row in without] and len(without) == 4


def test_without_supports_nor_scores_the_mix_is_zero_for_all(consultation):
    make_proposal(consultation, title="Seule")
    rows = selection.ranking(consultation, selection.BY_MIX, weight_percent=30)
    assert [(row.value, row.rank) for row in rows] == [(0, 1)]


# Pages

def rankings_url(query: str = "") -> str:
    return "/consultations/besoins-2027/comite/selection" + (f"?{query}" if query else "")


def plain(page: str) -> str:
    """The page's text with its tags dropped and spaces (narrow no-break ones included) made plain."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page).replace("\u202f", " ").replace("\xa0", " "))


def test_the_rankings_page_ranks_by_supports_and_shows_the_budget_against_the_envelope(client, consultation, karim,
                                                                                       world):
    page = text_of(client.sign_in_as(karim).get(rankings_url()))
    assert "Aide à la décision : classements" in page
    text = plain(page)
    assert "Enveloppe : 100 000 €. 5 propositions examinées." in text
    assert "1 (ex æquo) Portail famille Cantal Numérique Service numérique 3 non évaluée 40 000 € 40 000 € oui" in text
    assert "Cantines Cantal Numérique Service numérique 3 non évaluée 50 000 € 90 000 € oui" in text
    assert "Signalement voirie Cantal Numérique Service numérique 1 non évaluée 30 000 € 120 000 € non, au-delà" in text
    assert "Besoin de cantine Cantal Numérique Besoin 1 non évaluée aucun — —" in text
    assert text.index("Portail famille") < text.index("Cantines") < text.index("Signalement voirie")


def test_the_mixed_ranking_explains_its_formula_and_keeps_the_weight_in_the_link(client, consultation, karim, scored):
    page = text_of(client.sign_in_as(karim).get(rankings_url("classement=mixte&poids=50")))
    assert "valeur sur 100 = 100 × (p × soutiens ÷ soutiens de la proposition la plus soutenue" in page
    assert "Le poids choisi n'est pas enregistré" in page
    text = plain(page)
    assert "Mixte pondéré — soutiens 50 %, note 50 %" in text
    assert "Cantines Cantal Numérique Service numérique 3 2 75 50 000 €" in text
    assert "Signalement voirie Cantal Numérique Service numérique 1 4 66,7 30 000 €" in text
    assert 'value="50"' in page  # the form shows the weight chosen


def test_the_score_ranking_says_which_proposals_are_not_scored_yet(client, consultation, karim, scored):
    text = plain(text_of(client.sign_in_as(karim).get(rankings_url("classement=note&kind=service"))))
    assert "sans rang Coffre-fort numérique Cantal Numérique Service numérique 0 non évaluée" in text
    assert "Besoin de cantine" not in text


@pytest.mark.parametrize("query, messages", [
    ("classement=nope&poids=abc&issue=zzz&kind=idee&page=0",
     ["Le formulaire contient 5 erreurs", "N'est pas un choix valide", "N'est pas un entier valide",
      "Le numéro de page doit être un entier positif."]),
    ("classement=mixte&poids=150", ["Le poids des soutiens est un nombre entier de 0 à 100."]),
    ("poids=-3", ["Le poids des soutiens est un nombre entier de 0 à 100."]),
    ("poids=99999999999999999999999", ["Le poids des soutiens est un nombre entier de 0 à 100."]),
    ("page=99999999999999999999", ["Le numéro de page doit être un entier positif."]),
])
def test_bad_parameters_are_explained_in_french_and_the_ranking_still_shows(client, consultation, karim, world, query,
                                                                           messages):
    response = client.sign_in_as(karim).get(rankings_url(query))
    assert response.status_code == 200
    page = text_of(response)
    for message in messages:
        assert message in page
    assert "Portail famille" in page  # the defaults stand in for what could not be read


def test_a_page_past_the_end_shows_no_row_but_answers(client, consultation, karim, world):
    page = text_of(client.sign_in_as(karim).get(rankings_url("page=40")))
    assert "Aucune proposition ne correspond à ces critères." in page


def test_the_rules_page_shows_each_selection_its_total_what_is_left_and_every_reason(client, consultation, karim,
                                                                                     world):
    response = client.sign_in_as(karim).get(rankings_url().replace("selection", "selection/regles"))
    assert response.status_code == 200
    page = text_of(response)
    assert "Aide à la décision : règles budgétaires" in page
    assert "Complétion, pour dépenser ce que la méthode des parts égales laisse" in page
    text = plain(page)
    assert "Enveloppe : 100 000 €. 5 propositions examinées. 3 organisations votent." in text
    assert "Glouton par soutiens 2 90 000 € 10 000 €" in text
    assert "Dans l'ordre où la règle les retient : Portail famille — 40 000 € — 3 soutiens Cantines — 50 000 €" in text
    assert "Total : 90 000 € ; reste de l'enveloppe : 10 000 €." in text
    assert "<caption>" in page and 'th scope="row"' in page
    # The comparison: each proposal, each rule, the place or the reason in words.
    assert "Retenue, n° 1" in text and "Retenue, n° 2" in text
    assert "Non retenue : Son coût dépassait ce qui restait de l'enveloppe quand son tour est venu" in text
    assert "Non retenue : L'argent qui restait à ses soutiens ne suffisait plus à la financer" in text
    assert "Non retenue : Aucun soutien compté" in text
    assert "Non retenue : Pas de budget demandé : les règles ne peuvent pas la chiffrer" in text


def test_the_completion_spends_what_equal_shares_leaves_and_the_page_says_which_it_added(client, consultation,
                                                                                      karim, world):
    directory = make_proposal(consultation, kind="service", title="Annuaire", requested_budget_cents=900_000)
    make_counted_support(directory, world.organizations["aurillac"])
    results = {result.rule.key: result for result in selection.compare_rules(
        selection.under_consideration(consultation), 10_000_000).results}
    # Satisfaction by cost: Aurillac pays it alone, so it comes last, when Aurillac's share is spent.
    assert results["mes-cost"].reasons[directory.id] == Why.SHARE_TOO_SMALL
    completed = results["mes-cost-completed"].outcome
    assert completed.completed == [directory.id] and completed.selected[-1] == directory.id
    text = plain(text_of(client.sign_in_as(karim).get("/consultations/besoins-2027/comite/selection/regles")))
    assert "Annuaire — 9 000 € — 1 soutien — ajoutée par la complétion" in text
    assert "Parts égales, coût, avec complétion 3 (dont 1 par la complétion) 99 000 € 1 000 €" in text
    assert "Retenue, n° 3 (complétion)" in text


def test_the_completion_runs_on_request_above_the_size_limit(client, consultation, karim, world, monkeypatch):
    candidates = selection.under_consideration(consultation)
    keys = ["greedy", "mes-cardinality", "mes-cost"]
    without = selection.compare_rules(candidates, 10_000_000, completion=False)
    assert [result.rule.key for result in without.results] == keys
    monkeypatch.setattr(selection, "COMPLETION_LIMIT", 3)  # four costed proposals: above
    comparison = selection.compare_rules(candidates, 10_000_000)
    assert not comparison.completed and [result.rule.key for result in comparison.results] == keys
    client.sign_in_as(karim)
    page = text_of(client.get("/consultations/besoins-2027/comite/selection/regles"))
    assert ("Les variantes avec complétion ne sont pas calculées ici : au-delà de 3 propositions chiffrées (il y en "
            "a 4)") in page
    assert "Parts égales, coût, avec complétion" not in page
    assert 'href="/consultations/besoins-2027/comite/selection/regles?completion=oui&page=1"' in page
    page = text_of(client.get("/consultations/besoins-2027/comite/selection/regles?completion=oui"))
    assert "Parts égales, coût, avec complétion" in page and "ne sont pas calculées ici" not in page


def test_the_rules_page_filters_and_survives_bad_parameters(client, consultation, karim, world):
    client.sign_in_as(karim)
    text = plain(text_of(client.get("/consultations/besoins-2027/comite/selection/regles?kind=need")))
    assert "1 proposition examinée." in text  # the need alone, which no rule can cost
    assert "Non retenue : Pas de budget demandé" in text and "Portail famille" not in text
    response = client.get("/consultations/besoins-2027/comite/selection/regles?issue=x&kind=y&page=abc&completion=z")
    assert response.status_code == 200
    assert "N'est pas un choix valide" in text_of(response) and "Portail famille" in text_of(response)


def test_without_an_envelope_the_rules_page_says_nothing_can_be_selected(client, consultation, karim, world):
    consultation.budget_envelope_cents = 0
    db.session.commit()
    page = text_of(client.sign_in_as(karim).get("/consultations/besoins-2027/comite/selection/regles"))
    assert "L'enveloppe de la consultation n'est pas fixée : aucune règle ne peut rien retenir." in page


@pytest.mark.parametrize("endpoint", ["", "/regles"])
def test_before_supports_close_the_pages_say_when_they_will_show(client, endpoint):
    consultation = make_consultation(PhaseKind.SUPPORT, slug="en-soutien")
    proposal = make_proposal(consultation, title="Encore en soutien")
    member = seat(consultation).user
    page = text_of(client.sign_in_as(member).get(f"/consultations/en-soutien/comite/selection{endpoint}"))
    assert "Les classements et les règles budgétaires s'affichent une fois la période de soutien close." in page
    assert proposal.title not in page


@pytest.mark.parametrize("phase", [PhaseKind.SELECTION, PhaseKind.RESULTS])
def test_the_pages_stay_readable_in_selection_and_after(client, phase):
    consultation = make_consultation(phase, slug="plus-tard", budget_envelope_cents=1_000_000)
    make_proposal(consultation, kind="service", title="Toujours là")
    admin = make_user(is_admin=True)
    for path in ("", "/regles"):
        page = text_of(client.sign_in_as(admin).get(f"/consultations/plus-tard/comite/selection{path}"))
        assert "Toujours là" in page


def test_the_committee_home_links_to_decision_support(client, consultation, karim):
    page = text_of(client.sign_in_as(karim).get("/consultations/besoins-2027/comite"))
    assert 'href="/consultations/besoins-2027/comite/selection"' in page
    assert 'href="/consultations/besoins-2027/comite/selection/regles"' in page
