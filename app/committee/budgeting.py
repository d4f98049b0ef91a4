"""Budget-aware selection rules: pure functions over (projects with costs, approval ballots, budget).

No database, no Flask: the committee's pages, the `pabulib` commands and the tests feed them the same
`Instance`. Written from the published definitions (greedy: the rule most cities use, as described in
Pabulib's format paper; the Method of Equal Shares: Peters & Skowron, "Proportional participatory budgeting
with additive utilities", NeurIPS 2021, and equalshares.net), with the conventions of the reference
implementation pabutools so that the winners agree (the tests compare them):

- ties go to the smaller project id (pabutools breaks them by project name: for a Pabulib file the ids are
  strings, compared as strings; for Agora they are proposal ids, so the older proposal wins a tie);
- a project fits when its cost is at most what is left (equality fits);
- Equal Shares gives each ballot budget / number of ballots, empty ballots included.

One deliberate difference: greedy never selects a project that no ballot approves (reason NO_SUPPORT), where
pabutools' greedy would fund it with whatever is left; "greedy by supports" does not spend public money on
proposals nobody supported.

Money in Equal Shares is exact (fractions.Fraction): a voter's share is budget / n, payments split costs
between supporters, and a float rounding would decide ties and "can they still pay?" (budget equality is
common: costs are round figures) differently from the definition.

Completions of Equal Shares (`completion=`), for the money it leaves unspent:
- "greedy": greedy by supports over what is left, among the projects Equal Shares did not select;
- "add1": equalshares.net's "Add1": run Equal Shares again with each voter's share raised step by step,
  and keep the last outcome that fits the real budget (stopping early when nothing more can be added).
  The step is 1 % of the initial share (at least one unit): the original adds one currency unit per voter,
  too fine a step for costs in cents, and 1 % keeps the run short at a negligible loss of spending (see
  `_add1` for how the steps are searched);
- "add1-greedy": "add1", then "greedy" over what is still left. The completion equalshares.net recommends
  and the one we suggest: "add1" keeps the proportional logic of the method (each organization's money
  still goes only to what it supported) and greedy then spends the remainder on the most supported.
"""

import enum
import heapq
from collections import Counter
from collections.abc import Hashable
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

Measure = Literal["cardinality", "cost"]
COMPLETIONS = ("greedy", "add1", "add1-greedy")
ADD1_STEPS_PER_SHARE = 100  # the "add1" step: 1 % of the initial share


class Why(enum.StrEnum):
    """Why a project was not selected."""

    OVER_BUDGET = "over_budget"  # greedy: its cost exceeded what was left when its turn came
    NO_SUPPORT = "no_support"  # no ballot approves it
    SHARE_TOO_SMALL = "share_too_small"  # Equal Shares: its supporters' remaining money could not pay for it
    NO_COST = "no_cost"  # no requested budget: the rules cannot cost it (set by callers, not by rules)


@dataclass(frozen=True)
class Instance:
    costs: dict[Hashable, int]  # project id -> cost in whole units (cents for Agora), > 0
    ballots: list[frozenset]  # one approval ballot per voter (for Agora: per organization)
    budget: int


@dataclass(frozen=True)
class Outcome:
    selected: list[Hashable]  # in the order the rule picked them (completion picks last)
    completed: list[Hashable]  # those of `selected` added by the completion, if any
    total: int
    left: int  # budget - total
    reasons: dict[Hashable, Why]  # every project of the instance not selected


def supports(instance: Instance) -> Counter:
    """How many ballots approve each project (projects of the instance only)."""
    counts = Counter({project: 0 for project in instance.costs})
    for ballot in instance.ballots:
        counts.update(project for project in ballot if project in instance.costs)
    return counts


def greedy(instance: Instance) -> Outcome:
    """Greedy by supports: the projects from the most supported down (ties: smaller id first), each selected
    when it fits in what is left of the budget, skipped otherwise (the next ones may still fit)."""
    selected, reasons = _greedy_fill(instance, supports(instance), set(), instance.budget)
    return _outcome(instance, selected, [], reasons)


def equal_shares(instance: Instance, measure: Measure, completion: str | None = None) -> Outcome:
    """The Method of Equal Shares with satisfaction `measure` ("cardinality": each approved project counts
    one; "cost": it counts its cost), then the named completion (see the module's docstring) if any."""
    if measure not in ("cardinality", "cost"):
        raise ValueError(f"unknown measure {measure!r}")
    if completion is not None and completion not in COMPLETIONS:
        raise ValueError(f"unknown completion {completion!r}; one of {', '.join(COMPLETIONS)}")
    run = _EqualShares(instance, measure)
    selected = run.select(run.share)
    completed: list = []
    if completion in ("add1", "add1-greedy"):
        plain = set(selected)
        selected = _add1(instance, run, selected)
        completed = [project for project in selected if project not in plain]
    counts, chosen = supports(instance), set(selected)
    reasons = {project: Why.NO_SUPPORT if counts[project] == 0 else Why.SHARE_TOO_SMALL
               for project in instance.costs if project not in chosen}
    if completion in ("greedy", "add1-greedy"):
        left = instance.budget - sum(instance.costs[project] for project in selected)
        added, greedy_reasons = _greedy_fill(instance, counts, chosen, left)
        selected, completed = selected + added, completed + added
        reasons = greedy_reasons  # those it could not fit are over budget, by now
    return _outcome(instance, selected, completed, reasons)


def equal_shares_spending(instance: Instance, measure: Measure) -> list[Fraction]:
    """What each ballot paid in Equal Shares without completion, in the order of `instance.ballots`: never
    more than its share (budget / number of ballots), and summing to the total of what was selected."""
    run = _EqualShares(instance, measure)
    run.select(run.share)
    money = run.money
    return [run.share - money[run.group_of[ballot & run.projects]] for ballot in instance.ballots]


def _greedy_fill(instance: Instance, counts: Counter, taken: set, left: int) -> tuple[list, dict]:
    """Greedy by supports over the projects not `taken`, with `left` to spend: what it selects, in order,
    and why each of the others was not."""
    selected, reasons = [], {}
    for project in sorted((p for p in instance.costs if p not in taken), key=lambda p: (-counts[p], p)):
        if counts[project] == 0:
            reasons[project] = Why.NO_SUPPORT
        elif instance.costs[project] <= left:
            selected.append(project)
            left -= instance.costs[project]
        else:
            reasons[project] = Why.OVER_BUDGET
    return selected, reasons


def _add1(instance: Instance, run: "_EqualShares", plain: list) -> list:
    """Add1: the outcome at the first step k (share + k steps) that is exhaustive, or else the one before
    the first step that overspends.

    The steps are searched by doubling then halving rather than one by one: about 15 runs instead of about
    a hundred (5 s instead of 30 on Toulouse 2024, 1.4 s instead of 10 for 500 proposals). This finds the
    step a one-by-one scan finds whenever "exhaustive or overspending", once reached, stays true at the
    next steps, as it does when the outcomes grow with the shares. Equal Shares does not promise that:
    on rare instances (Hypothesis found one with 6 projects and 4 voters) the search stops at a later
    step than the scan. Its outcome is still an Add1 outcome in the local sense (it fits the budget, and
    it is exhaustive or the next step overspends); on the generated consultations of the tests and on
    Toulouse 2024 both give the same."""
    step = max(Fraction(1), run.share / ADD1_STEPS_PER_SHARE)
    outcomes = {0: plain}

    def outcome(k: int) -> list:
        if k not in outcomes:
            outcomes[k] = run.select(run.share + k * step)
        return outcomes[k]

    def stops(k: int) -> bool:
        return _overspends(instance, outcome(k)) or _exhaustive(instance, outcome(k))

    if _exhaustive(instance, plain):
        return plain
    low, high = 0, 1  # stops(low) is false
    while not stops(high):  # ends: with shares above every cost, all that is supported is selected
        low, high = high, high * 2
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (low, middle) if stops(middle) else (middle, high)
    return outcome(low) if _overspends(instance, outcome(high)) else outcome(high)


def _overspends(instance: Instance, selected: list) -> bool:
    return sum(instance.costs[project] for project in selected) > instance.budget


def _exhaustive(instance: Instance, selected: list) -> bool:
    """Nothing supported and unselected would still fit in what is left."""
    left = instance.budget - sum(instance.costs[project] for project in selected)
    chosen, approved = set(selected), set().union(*instance.ballots) if instance.ballots else set()
    return all(cost > left for project, cost in instance.costs.items()
               if project in approved and project not in chosen)


class _EqualShares:
    """One instance prepared for Equal Shares runs.

    Voters with the same ballot pay the same at every step (payments depend only on a voter's ballot and
    money), so they are kept as one group with a multiplicity: Toulouse 2024's 7,260 ballots make far fewer
    groups. A project's price per unit of satisfaction only rises as money is spent, so the last value
    computed is a lower bound: a heap orders projects by (price last computed, id); the top is re-priced
    and pushed back, until the top is a project none of whose supporters has paid since it was priced: its
    price is exact, and no other project can beat it nor tie with it with a smaller id (the usual lazy
    evaluation; it does not change the result, only skips work).
    """

    def __init__(self, instance: Instance, measure: Measure):
        self.costs = instance.costs
        self.measure = measure
        self.projects = frozenset(instance.costs)
        groups = Counter(ballot & self.projects for ballot in instance.ballots)
        self.group_of = {ballot: index for index, ballot in enumerate(groups)}
        self.ballots = list(groups)
        self.sizes = list(groups.values())
        self.supporters: dict = {project: [] for project in self.projects}
        for ballot, index in self.group_of.items():
            for project in ballot:
                self.supporters[project].append(index)
        self.share = Fraction(instance.budget, len(instance.ballots)) if instance.ballots else Fraction(0)
        self.levels: list[Fraction] = []  # see select()
        self.level_of: list[int] = []
        self.level_index: dict[Fraction, int] = {}
        self.stale: set = set()

    def select(self, share: Fraction) -> list:
        """One run of Equal Shares where each voter starts with `share`: the projects in the order picked."""
        # Money is kept as levels: `self.levels` holds the distinct amounts, each group points to its own.
        # Few amounts are distinct (groups that paid the same have the same), and counting supporters by a
        # small integer is much cheaper than hashing Fractions.
        self.levels, self.level_of, self.level_index = [share], [0] * len(self.sizes), {share: 0}
        # A heap of (last price computed, project id); see the class docstring. `stale`: the projects some
        # of whose supporters have paid since their price was computed.
        heap = [(Fraction(0), project) for project, groups in self.supporters.items() if groups]
        heapq.heapify(heap)
        self.stale = {project for _price, project in heap}
        selected = []
        while heap:
            price, project = heapq.heappop(heap)
            if project not in self.stale:  # its price is exact, and no other can beat it: picked
                self._pay(project, price if self.measure == "cardinality" else price * self.costs[project])
                selected.append(project)
                continue
            payment = self._payment(project)
            if payment is not None:  # otherwise its supporters cannot pay for it now, nor later: dropped
                price = payment if self.measure == "cardinality" else payment / self.costs[project]
                heapq.heappush(heap, (price, project))
                self.stale.discard(project)
        return selected

    @property
    def money(self) -> list[Fraction]:
        """What each group has left, by group."""
        return [self.levels[level] for level in self.level_of]

    def _payment(self, project) -> Fraction | None:
        """The smallest payment p such that its supporters, each paying min(their money, p), cover its cost;
        None when all their money together does not. Under both measures every supporter of a project gets
        the same satisfaction from it, so minimising the price per satisfaction is minimising p per project."""
        by_level = Counter()
        for group in self.supporters[project]:
            by_level[self.level_of[group]] += self.sizes[group]
        remaining, payers = Fraction(self.costs[project]), sum(by_level.values())
        for level in sorted(by_level, key=self.levels.__getitem__):  # the poorest pay all they have, the
            money = self.levels[level]  # others share what remains
            if money * payers >= remaining:
                return remaining / payers
            remaining -= money * by_level[level]
            payers -= by_level[level]
        return None

    def _pay(self, project, payment: Fraction) -> None:
        """Each supporter pays `payment`, or all it has left if less."""
        after: dict[int, int] = {}  # old level -> new level: groups that had the same keep the same
        for group in self.supporters[project]:
            level = self.level_of[group]
            if level not in after:
                after[level] = self._level(max(Fraction(0), self.levels[level] - payment))
            if after[level] != level:  # it paid: the prices of what else it supports may rise
                self.stale.update(self.ballots[group])
            self.level_of[group] = after[level]

    def _level(self, money: Fraction) -> int:
        """The level of this amount, added if new."""
        if money not in self.level_index:
            self.level_index[money] = len(self.levels)
            self.levels.append(money)
        return self.level_index[money]


def _outcome(instance: Instance, selected: list, completed: list, reasons: dict) -> Outcome:
    total = sum(instance.costs[project] for project in selected)
    return Outcome(selected=selected, completed=completed, total=total, left=instance.budget - total,
                   reasons=reasons)
