"""The budget rules (app/committee/budgeting.py): worked examples, properties, and the same winners as the
reference implementation pabutools on generated instances and on the real Toulouse 2024 file."""

import random
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

import config
from app.committee import budgeting
from app.committee.budgeting import COMPLETIONS, Instance, Why, equal_shares, equal_shares_spending, greedy, supports
from tests.browser import in_ci

TOULOUSE = Path(config.ROOT).parent / "shared" / "data" / "pabulib-france-toulouse-2024.pb"


def pabutools_or_skip():
    """pabutools is a test-only dependency: its absence skips these checks here, but fails them in CI."""
    try:
        import pabutools  # noqa: F401
    except ImportError:
        if in_ci():
            pytest.fail("pabutools absent : la CI doit comparer les règles à l'implémentation de référence")
        pytest.skip("pabutools absent (pip install -e '.[dev]')")


# Worked examples ----------------------------------------------------------------------------------------

# Three voters with 10 each: A (20) for voters 1 and 2, B (10) for voter 3, C (15) for all three.
SMALL = Instance(costs={"A": 20, "B": 10, "C": 15},
                 ballots=[frozenset("AC"), frozenset("AC"), frozenset("BC")], budget=30)


def test_greedy_takes_the_most_supported_first_and_skips_what_does_not_fit():
    outcome = greedy(SMALL)

    assert outcome.selected == ["C", "B"]  # C (3 supports), A (2) does not fit in the 15 left, B (1) does
    assert (outcome.total, outcome.left, outcome.completed) == (25, 5, [])
    assert outcome.reasons == {"A": Why.OVER_BUDGET}


def test_greedy_fits_a_project_costing_exactly_what_is_left_and_breaks_ties_by_id():
    instance = Instance(costs={2: 60, 1: 60, 3: 40}, ballots=[frozenset({1, 2, 3})], budget=100)

    outcome = greedy(instance)

    assert outcome.selected == [1, 3]  # 1 and 2 tie: the smaller id first; 3 costs exactly the 40 left
    assert (outcome.total, outcome.left) == (100, 0)
    assert outcome.reasons == {2: Why.OVER_BUDGET}


def test_greedy_never_funds_a_project_nobody_supports():
    instance = Instance(costs={"A": 10, "Z": 1}, ballots=[frozenset("A")], budget=100)

    outcome = greedy(instance)

    assert outcome.selected == ["A"]
    assert outcome.reasons == {"Z": Why.NO_SUPPORT}


@pytest.mark.parametrize("measure", ["cardinality", "cost"])
def test_equal_shares_spends_only_the_supporters_money(measure):
    outcome = equal_shares(SMALL, measure)

    # C costs 5 to each of its three supporters; then A's supporters have 5 + 5 < 20, B's has 5 < 10.
    assert outcome.selected == ["C"]
    assert (outcome.total, outcome.left, outcome.completed) == (15, 15, [])
    assert outcome.reasons == {"A": Why.SHARE_TOO_SMALL, "B": Why.SHARE_TOO_SMALL}
    assert equal_shares_spending(SMALL, measure) == [5, 5, 5]


def test_the_two_measures_differ_on_cheap_against_expensive():
    # 4 voters, 25 each. X (70) for all four; Y (20) and Z (20) for voters 1 and 2 only.
    instance = Instance(costs={"X": 70, "Y": 20, "Z": 20}, budget=100,
                        ballots=[frozenset("XYZ"), frozenset("XYZ"), frozenset("X"), frozenset("X")])

    # Cardinality: Y and Z cost 10 a supporter, X 17.50: Y, Z first; then X cannot be paid (5 + 5 + 25 + 25).
    assert equal_shares(instance, "cardinality").selected == ["Y", "Z"]
    # Cost: the price per euro of satisfaction is 17.50/70 for X, 10/20 for Y and Z: X first; then voters 1
    # and 2 have 7.50 each, less than Y's or Z's 20.
    assert equal_shares(instance, "cost").selected == ["X"]


def test_equal_shares_says_which_projects_nobody_supports():
    instance = Instance(costs={"A": 10, "Z": 1}, ballots=[frozenset("A")], budget=100)

    assert equal_shares(instance, "cost").reasons == {"Z": Why.NO_SUPPORT}


def test_the_greedy_completion_spends_what_equal_shares_left_and_says_what_it_added():
    outcome = equal_shares(SMALL, "cardinality", completion="greedy")

    assert outcome.selected == ["C", "B"] and outcome.completed == ["B"]
    assert (outcome.total, outcome.left) == (25, 5)
    assert outcome.reasons == {"A": Why.OVER_BUDGET}  # it did not fit in what the completion had left


def test_the_add1_completion_raises_the_shares_while_the_outcome_fits():
    # 2 voters with 10 each; A (12) for voter 1, B (8) for voter 2: only B fits their shares. With a share
    # of 12, A is paid by voter 1 alone; 12 + 8 = 20 fits the budget: both selected.
    instance = Instance(costs={"A": 12, "B": 8}, ballots=[frozenset("A"), frozenset("B")], budget=20)
    assert equal_shares(instance, "cardinality").selected == ["B"]

    outcome = equal_shares(instance, "cardinality", completion="add1")

    assert sorted(outcome.selected) == ["A", "B"] and outcome.completed == ["A"]
    assert (outcome.total, outcome.left, outcome.reasons) == (20, 0, {})


def test_an_unknown_measure_or_completion_is_refused():
    with pytest.raises(ValueError):
        equal_shares(SMALL, "utility")
    with pytest.raises(ValueError):
        equal_shares(SMALL, "cost", completion="add2")


def test_no_ballot_selects_nothing():
    instance = Instance(costs={"A": 1}, ballots=[], budget=10)

    for outcome in (greedy(instance), equal_shares(instance, "cost"), equal_shares(instance, "cost", "add1-greedy")):
        assert outcome.selected == [] and outcome.reasons == {"A": Why.NO_SUPPORT} and outcome.left == 10


# Properties ---------------------------------------------------------------------------------------------

@st.composite
def instances(draw, max_projects=8, max_voters=12):
    count = draw(st.integers(1, max_projects))
    costs = {project: draw(st.integers(1, 100)) for project in range(count)}
    ballots = draw(st.lists(st.frozensets(st.sampled_from(range(count))), max_size=max_voters))
    return Instance(costs=costs, ballots=ballots, budget=draw(st.integers(1, 300)))


def outcomes(instance):
    yield greedy(instance)
    for measure in ("cardinality", "cost"):
        for completion in (None, *COMPLETIONS):
            yield equal_shares(instance, measure, completion)


@settings(max_examples=150, deadline=None)
@given(instances())
def test_the_total_never_exceeds_the_budget_and_every_project_is_accounted_for(instance):
    for outcome in outcomes(instance):
        assert outcome.total == sum(instance.costs[project] for project in outcome.selected) <= instance.budget
        assert outcome.left == instance.budget - outcome.total
        assert len(set(outcome.selected)) == len(outcome.selected)
        assert set(outcome.selected) | set(outcome.reasons) == set(instance.costs)
        assert not set(outcome.selected) & set(outcome.reasons)
        assert set(outcome.completed) <= set(outcome.selected)


@settings(max_examples=150, deadline=None)
@given(instances(), st.sampled_from(["cardinality", "cost"]))
def test_equal_shares_never_spends_more_than_a_voters_share(instance, measure):
    share = Fraction(instance.budget, len(instance.ballots)) if instance.ballots else 0
    spending = equal_shares_spending(instance, measure)
    outcome = equal_shares(instance, measure)

    assert all(0 <= paid <= share for paid in spending)
    assert sum(spending) == outcome.total  # what was selected was paid by the voters, exactly
    for voter, ballot in enumerate(instance.ballots):
        if not ballot & set(outcome.selected):
            assert spending[voter] == 0  # a voter pays only for what it approves


@settings(max_examples=150, deadline=None)
@given(instances())
def test_greedy_picks_in_order_of_supports(instance):
    counts = supports(instance)
    outcome = greedy(instance)

    left = instance.budget
    for project in sorted(instance.costs, key=lambda p: (-counts[p], p)):
        if project in outcome.selected:
            assert counts[project] > 0 and instance.costs[project] <= left
            left -= instance.costs[project]
        elif outcome.reasons[project] is Why.OVER_BUDGET:
            assert instance.costs[project] > left  # it did not fit when its turn came
        else:
            assert outcome.reasons[project] is Why.NO_SUPPORT and counts[project] == 0
    assert outcome.selected == sorted(outcome.selected, key=lambda p: (-counts[p], p))


@settings(max_examples=60, deadline=None)
@given(instances(), st.sampled_from(["cardinality", "cost"]))
def test_the_greedy_completion_keeps_equal_shares_choices_first(instance, measure):
    plain = equal_shares(instance, measure)
    completed = equal_shares(instance, measure, completion="greedy")

    assert completed.selected[:len(plain.selected)] == plain.selected
    assert completed.completed == completed.selected[len(plain.selected):]
    assert completed.total >= plain.total


def add1_by_scan(instance: Instance, measure) -> list:
    """Add1 as defined: the share raised one step at a time."""
    run = budgeting._EqualShares(instance, measure)
    step = max(Fraction(1), run.share / budgeting.ADD1_STEPS_PER_SHARE)
    scanned, share = run.select(run.share), run.share
    while not budgeting._exhaustive(instance, scanned):
        share += step
        outcome = run.select(share)
        if budgeting._overspends(instance, outcome):
            break
        scanned = outcome
    return scanned


@settings(max_examples=100, deadline=None)
@given(instances(), st.sampled_from(["cardinality", "cost"]))
def test_add1_stops_at_a_step_that_is_exhaustive_or_whose_next_step_overspends(instance, measure):
    """Add1 searches the steps by doubling and halving (see `_add1`): what it keeps is an Add1 outcome."""
    selected = equal_shares(instance, measure, completion="add1").selected
    run = budgeting._EqualShares(instance, measure)
    step = max(Fraction(1), run.share / budgeting.ADD1_STEPS_PER_SHARE)
    last = int((sum(instance.costs.values()) - run.share) / step) + 2  # by then each voter pays alone
    steps = [k for k in range(max(last, 0) + 1) if run.select(run.share + k * step) == selected]

    assert steps, "the outcome is that of no step"
    assert not budgeting._overspends(instance, selected)
    assert budgeting._exhaustive(instance, selected) or any(
        budgeting._overspends(instance, run.select(run.share + (k + 1) * step)) for k in steps)


@pytest.mark.parametrize("seed", range(30))
def test_add1_finds_the_step_a_one_by_one_scan_finds_on_generated_consultations(seed):
    instance = random_instance(seed)

    for measure in ("cardinality", "cost"):
        assert equal_shares(instance, measure, completion="add1").selected == add1_by_scan(instance, measure)


# Against pabutools ----------------------------------------------------------------------------------------

def pabutools_instance(instance: Instance, *, supported_only: bool = False):
    """The same instance for pabutools. Project names are zero-padded so that its tie-breaking (by name) and
    ours (by id) agree; `supported_only` leaves out projects nobody approves (our greedy never funds them)."""
    from pabutools.election import ApprovalBallot, ApprovalProfile, Instance as PbInstance, Project

    approved = set().union(*instance.ballots)
    projects = {project: Project(f"{project:03d}", cost) for project, cost in instance.costs.items()
                if project in approved or not supported_only}
    pb_instance = PbInstance(projects.values(), budget_limit=instance.budget)
    profile = ApprovalProfile([ApprovalBallot(projects[project] for project in ballot) for ballot in instance.ballots],
                              instance=pb_instance)
    return pb_instance, profile


def random_instance(seed: int) -> Instance:
    """An instance in the shape of a consultation: a few popular projects, most approved by a few."""
    rng = random.Random(seed)
    count = rng.randint(3, 25)
    costs = {project: rng.choice([rng.randint(1, 50) * 1000, rng.randint(1, 300) * 100]) for project in range(count)}
    weights = [rng.paretovariate(1.2) for _ in range(count)]
    ballots = [frozenset(rng.choices(range(count), weights, k=rng.randint(1, 4))) for _ in range(rng.randint(1, 60))]
    return Instance(costs=costs, ballots=ballots, budget=rng.randint(1, sum(costs.values())))


@pytest.mark.parametrize("seed", range(40))
def test_winners_are_those_of_pabutools_on_generated_instances(seed):
    pabutools_or_skip()
    from pabutools.election import Cardinality_Sat, Cost_Sat
    from pabutools.rules import greedy_utilitarian_welfare, method_of_equal_shares

    instance = random_instance(seed)
    names = lambda outcome: [int(project.name) for project in outcome]  # noqa: E731

    assert greedy(instance).selected == names(
        greedy_utilitarian_welfare(*pabutools_instance(instance, supported_only=True), sat_class=Cost_Sat))
    for measure, sat_class in (("cardinality", Cardinality_Sat), ("cost", Cost_Sat)):
        assert equal_shares(instance, measure).selected == names(
            method_of_equal_shares(*pabutools_instance(instance), sat_class=sat_class))


@pytest.mark.skipif(not TOULOUSE.is_file(), reason="shared/data is not beside this clone")
def test_winners_are_those_of_pabutools_on_toulouse_2024(app):
    pabutools_or_skip()
    from pabutools.election import Cardinality_Sat, Cost_Sat, parse_pabulib
    from pabutools.rules import greedy_utilitarian_welfare, method_of_equal_shares

    from app.opendata.pabulib import read_pb, to_instance

    with app.app_context():
        instance, scale = to_instance(read_pb(TOULOUSE.read_text(encoding="utf-8")))
    pb_instance, profile = parse_pabulib(str(TOULOUSE))
    assert (len(instance.costs), len(instance.ballots), instance.budget, scale) == (183, 7260, 8_000_000, 1)
    names = lambda outcome: [project.name for project in outcome]  # noqa: E731

    assert greedy(instance).selected == names(greedy_utilitarian_welfare(pb_instance, profile, sat_class=Cost_Sat))
    for measure, sat_class in (("cardinality", Cardinality_Sat), ("cost", Cost_Sat)):
        assert equal_shares(instance, measure).selected == names(
            method_of_equal_shares(pb_instance, profile, sat_class=sat_class))
