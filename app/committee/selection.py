"""Decision support: the proposals under consideration ranked by supports, by evaluation score and by a mix the
committee weighs, and what each budget rule (app/committee/budgeting.py) would select within the envelope.

The proposals under consideration are the consultation's listed ones (`search.is_listed`): a merged proposal
stands for its originals and counts the organizations supporting any of them, each once
(`merging.supporters_of`). Only supports that count are read: those of organizations that cast
minimum_votes_per_user supports at least, as the frozen tally counts them. Nothing here writes: the pages read,
the committee decides elsewhere.
"""

import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from fractions import Fraction

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from app.committee import budgeting
from app.committee.budgeting import Instance, Outcome, Why
from app.committee.evaluation import evaluations
from app.committee.merging import supporters_of
from app.committee.models import Score
from app.consultations.models import Consultation
from app.extensions import db
from app.organizations.models import Organization
from app.proposals.models import Proposal, ProposalKind
from app.proposals.search import is_listed
from app.votes.models import Support, SupportQuota

# The rankings, by their value in the page's query string.
BY_SUPPORTS, BY_SCORE, BY_MIX = "soutiens", "note", "mixte"
RANKINGS = {BY_SUPPORTS: _l("Par soutiens"), BY_SCORE: _l("Par note d'évaluation"), BY_MIX: _l("Mixte pondéré")}
DEFAULT_WEIGHT = 50  # percent given to supports in the mix, the rest to the score

# Above this many costed proposals the completion is computed only when asked for: it runs Equal Shares again
# and again (tier M, 6,800 costed proposals and 4,000 voting organizations: minutes), too long for a page.
COMPLETION_LIMIT = 1_000

# The completion of Equal Shares shown with it, the one app/committee/budgeting.py suggests: "add1" keeps the
# method's proportional logic, then greedy spends what is still left on the most supported.
COMPLETION = "add1-greedy"
COMPLETION_TEXT = _l(
    "Complétion, pour dépenser ce que la méthode des parts égales laisse : la méthode est relancée en augmentant "
    "pas à pas la part de chaque organisation (d'un centième de sa part de départ à chaque pas), et l'on garde le "
    "dernier résultat qui tient dans l'enveloppe ; puis ce qui reste va aux propositions les plus soutenues, "
    "comme dans la règle gloutonne. C'est la complétion que recommandent les auteurs de la méthode "
    "(equalshares.net) : l'argent d'une organisation continue d'aller d'abord à ce qu'elle soutient.")

REASONS = {
    Why.OVER_BUDGET: _l("Son coût dépassait ce qui restait de l'enveloppe quand son tour est venu"),
    Why.NO_SUPPORT: _l("Aucun soutien compté"),
    Why.SHARE_TOO_SMALL: _l("L'argent qui restait à ses soutiens ne suffisait plus à la financer"),
    Why.NO_COST: _l("Pas de budget demandé : les règles ne peuvent pas la chiffrer"),
}


@dataclass
class Candidate:
    """A proposal under consideration with what the rankings and the rules read of it."""

    id: int
    title: str
    kind: str
    issue_id: int | None
    organization: str
    requested_budget_cents: int | None
    supporters: frozenset[int] = frozenset()  # the counted organizations supporting it (or its originals)
    score: Fraction | None = None  # the weighted evaluation mean (evaluation.evaluations), None when unscored

    @property
    def kind_label(self) -> str:
        return ProposalKind(self.kind).label

    @property
    def supports(self) -> int:
        return len(self.supporters)

    @property
    def cost(self) -> int | None:
        """What the rules may cost it at: its requested budget, when there is one above zero."""
        return self.requested_budget_cents if self.requested_budget_cents and self.requested_budget_cents > 0 else None


@dataclass
class Filters:
    issue_id: int | None = None
    without_issue: bool = False
    kind: str | None = None

    def keep(self, candidate: Candidate) -> bool:
        if self.kind and candidate.kind != self.kind:
            return False
        if self.without_issue:
            return candidate.issue_id is None
        return self.issue_id is None or candidate.issue_id == self.issue_id


def counted_organizations(consultation: Consultation) -> sa.Select:
    """The organizations whose supports count publicly (as the frozen tally and support_count count them)."""
    return sa.select(SupportQuota.organization_id).where(
        SupportQuota.consultation_id == consultation.id,
        SupportQuota.used >= consultation.minimum_votes_per_user)


def under_consideration(consultation: Consultation) -> list[Candidate]:
    """The consultation's listed proposals with their counted supporters and evaluation mean, by id: four
    queries and the evaluation's, whatever their number."""
    listed_ids = sa.select(Proposal.id).where(Proposal.consultation_id == consultation.id, is_listed())
    candidates = {row.id: Candidate(row.id, row.title, row.kind, row.issue_id, row.name, row.requested_budget_cents)
                  for row in db.session.execute(
                      sa.select(Proposal.id, Proposal.title, Proposal.kind, Proposal.issue_id,
                                Proposal.requested_budget_cents, Organization.name)
                      .join(Organization, Organization.id == Proposal.organization_id)
                      .where(Proposal.id.in_(listed_ids)).order_by(Proposal.id))}
    # A support of an original counts for the listed proposal it was merged into.
    target = sa.func.coalesce(Proposal.merged_into_id, Proposal.id)
    supporters = defaultdict(set)
    for proposal_id, organization_id in db.session.execute(
            supporters_of(listed_ids).with_only_columns(target, Support.organization_id)
            .where(Support.organization_id.in_(counted_organizations(consultation)))):
        supporters[proposal_id].add(organization_id)
    # Only proposals with a score can have a mean: the others are not sent (thousands of ids cost seconds).
    scored = evaluations(consultation, [proposal_id for proposal_id in db.session.scalars(
        sa.select(Score.proposal_id).distinct().join(Proposal, Proposal.id == Score.proposal_id)
        .where(Proposal.consultation_id == consultation.id)) if proposal_id in candidates])
    for candidate in candidates.values():
        candidate.supporters = frozenset(supporters[candidate.id])
        candidate.score = scored[candidate.id].mean if candidate.id in scored else None
    return list(candidates.values())


# Rankings

@dataclass
class Ranked:
    """A row of a ranking: its rank (shared by ties, None for the unranked: unscored proposals by score), the
    value ranked on, and the requested budgets added up in this order, against the envelope."""

    candidate: Candidate
    rank: int | None
    tied: bool
    value: int | Fraction | None
    cumulative_cents: int | None = None  # None for a proposal without requested budget
    within_envelope: bool | None = None


def normalised_mix(candidate: Candidate, weight: Fraction, max_supports: int, max_score: Fraction | None) -> Fraction:
    """weight × supports / most supports + (1 − weight) × score / best score, both in the consultation; an
    unscored proposal (or a consultation where the maximum is zero) counts 0 for that part. Exact, computed
    over integers and reduced once (thousands of Fraction operations would take a second at tier M)."""
    supports = (candidate.supports, max_supports) if max_supports else (0, 1)
    score = ((candidate.score.numerator * max_score.denominator, candidate.score.denominator * max_score.numerator)
             if max_score and candidate.score is not None else (0, 1))
    rest = 1 - weight
    return Fraction(weight.numerator * rest.denominator * supports[0] * score[1]
                    + rest.numerator * weight.denominator * score[0] * supports[1],
                    weight.denominator * rest.denominator * supports[1] * score[1])


def ranking_key(candidates: list[Candidate], ranking: str, weight_percent: int) -> Callable[[Candidate], object]:
    """The value a proposal is ranked on. The maxima of the mix are the consultation's: `candidates` is all of it."""
    if ranking == BY_SUPPORTS:
        return lambda candidate: candidate.supports
    if ranking == BY_SCORE:
        return lambda candidate: candidate.score
    max_supports = max((candidate.supports for candidate in candidates), default=0)
    max_score = max((candidate.score for candidate in candidates if candidate.score is not None), default=None)
    weight = Fraction(weight_percent, 100)
    return lambda candidate: normalised_mix(candidate, weight, max_supports, max_score)


def rank(candidates: Iterable[Candidate], key: Callable[[Candidate], object], envelope_cents: int) -> list[Ranked]:
    """Highest value first; ties share the rank (1, 2, 2, 4) and keep the order of their ids (the oldest
    first); proposals whose value is None come last, unranked. Requested budgets add up in this order."""
    valued = sorted(((key(candidate), candidate) for candidate in candidates), key=lambda pair: pair[1].id)
    ordered = _descending([pair for pair in valued if pair[0] is not None])
    ordered += [pair for pair in valued if pair[0] is None]
    rows, cumulative = [], 0
    for position, (value, candidate) in enumerate(ordered, start=1):
        row = Ranked(candidate, None, False, value)
        if value is not None:
            previous = rows[-1] if rows else None
            if previous is not None and previous.value == value:
                row.rank = previous.rank
                row.tied = previous.tied = True
            else:
                row.rank = position
        if candidate.cost:
            cumulative += candidate.cost
            row.cumulative_cents, row.within_envelope = cumulative, cumulative <= envelope_cents
        rows.append(row)
    return rows


def _descending(pairs: list[tuple]) -> list[tuple]:
    """(value, candidate) pairs by decreasing exact value, equal values in their given order. Sorted on floats
    (comparing thousands of fractions takes a second), then runs of equal floats re-sorted on the exact values."""
    pairs = sorted(pairs, key=lambda pair: float(pair[0]), reverse=True)
    ordered, start = [], 0
    for end in range(1, len(pairs) + 1):
        if end == len(pairs) or float(pairs[end][0]) != float(pairs[start][0]):
            run = pairs[start:end]
            ordered += sorted(run, key=lambda pair: pair[0], reverse=True) if len(run) > 1 else run
            start = end
    return ordered


def ranking(consultation: Consultation, ranking: str, *, weight_percent: int = DEFAULT_WEIGHT,
            filters: Filters | None = None, candidates: list[Candidate] | None = None) -> list[Ranked]:
    """The proposals under consideration (kept by `filters`) in the order of `ranking`."""
    candidates = under_consideration(consultation) if candidates is None else candidates
    key = ranking_key(candidates, ranking, weight_percent)
    filters = filters or Filters()
    return rank([candidate for candidate in candidates if filters.keep(candidate)], key,
                consultation.budget_envelope_cents)


# Budget rules

@dataclass(frozen=True)
class Rule:
    key: str
    label: str
    run: Callable[[Instance], Outcome]
    completes: bool = False  # Equal Shares followed by its completion


RULES = (
    Rule("greedy", _l("Glouton par soutiens"), budgeting.greedy),
    Rule("mes-cardinality", _l("Parts égales, satisfaction = nombre de projets"),
         lambda instance: budgeting.equal_shares(instance, "cardinality")),
    Rule("mes-cardinality-completed", _l("Parts égales, nombre de projets, avec complétion"),
         lambda instance: budgeting.equal_shares(instance, "cardinality", COMPLETION), completes=True),
    Rule("mes-cost", _l("Parts égales, satisfaction = coût"),
         lambda instance: budgeting.equal_shares(instance, "cost")),
    Rule("mes-cost-completed", _l("Parts égales, coût, avec complétion"),
         lambda instance: budgeting.equal_shares(instance, "cost", COMPLETION), completes=True),
)


def instance_of(candidates: Iterable[Candidate], budget_cents: int) -> tuple[Instance, dict[int, Why]]:
    """The rules' instance: the costed proposals at their requested budget, one approval ballot per counted
    organization (the proposals it supports, through merges), the envelope; and NO_COST for the others.

    An organization that supports none of the costed proposals casts no ballot: under Equal Shares its share
    of the envelope could pay for nothing, and would only shrink everyone else's."""
    candidates = list(candidates)
    costs = {candidate.id: candidate.cost for candidate in candidates if candidate.cost}
    ballots = defaultdict(set)
    for candidate in candidates:
        if candidate.cost:
            for organization_id in candidate.supporters:
                ballots[organization_id].add(candidate.id)
    return (Instance(costs=costs, ballots=[frozenset(ballots[key]) for key in sorted(ballots)], budget=budget_cents),
            {candidate.id: Why.NO_COST for candidate in candidates if not candidate.cost})


@dataclass
class RuleResult:
    rule: Rule
    outcome: Outcome
    reasons: dict[int, Why]  # every proposal under consideration it does not select, NO_COST included
    seconds: float
    positions: dict[int, int] = field(default_factory=dict)  # proposal id -> its place in the selection, from 1


@dataclass
class Comparison:
    voters: int  # the organizations casting a ballot
    costed: int  # the proposals the rules can cost
    completed: bool  # whether the rules with completion ran
    results: list[RuleResult]


def compare_rules(candidates: Iterable[Candidate], budget_cents: int, *, completion: bool | None = None) -> Comparison:
    """What each rule selects from the same instance, timed. The rules with completion run when `completion`
    is True, or when it is None and the instance has COMPLETION_LIMIT costed proposals at most."""
    instance, uncosted = instance_of(candidates, budget_cents)
    if completion is None:
        completion = len(instance.costs) <= COMPLETION_LIMIT
    results = []
    for rule in (rule for rule in RULES if completion or not rule.completes):
        started = time.perf_counter()
        outcome = rule.run(instance)
        results.append(RuleResult(rule, outcome, {**outcome.reasons, **uncosted}, time.perf_counter() - started,
                                  {proposal_id: place for place, proposal_id in enumerate(outcome.selected, start=1)}))
    return Comparison(len(instance.ballots), len(instance.costs), completion, results)


def compared(candidates: Iterable[Candidate], results: list[RuleResult]) -> list[Candidate]:
    """The proposals in the order of the rules' comparison: those selected by the most rules first, then the
    most supported, then the oldest."""
    chosen = defaultdict(int)
    for result in results:
        for proposal_id in result.outcome.selected:
            chosen[proposal_id] += 1
    return sorted(candidates, key=lambda candidate: (-chosen[candidate.id], -candidate.supports, candidate.id))
