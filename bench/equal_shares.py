"""Time the budget rules against pabutools on a real Pabulib file, in the same run.

    .venv/bin/python bench/equal_shares.py [--file PATH] [--repeat N]

Reads the file (Toulouse 2024 from ../shared/data by default) with our reader and with pabutools', then
for each rule (greedy by supports; Equal Shares with the cardinality and the cost measures, without
completion) times ours (app/committee/budgeting.py, from the `Instance`) and pabutools' (from its parsed
instance and profile), `--repeat` times each, alternating, and prints the best and the median seconds,
the ratio of the medians, and whether the winners are identical (same projects in the same order).
The completions are timed for ours only (one run each), on the file and on a synthetic instance the size
of a large consultation (`--proposals` proposals with a requested budget, `--organizations` organizations
supporting 1 to 10 each, popularity drawn from a Pareto law, seed 1), the size the committee's pages meet.
Target (issue 13): ours at least 3 times faster for Equal Shares, both measures.
"""

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # importing app needs config.py, which lives beside it

from app.committee import budgeting  # noqa: E402
from app.opendata.pabulib import read_pb, to_instance  # noqa: E402

DEFAULT_FILE = ROOT.parent / "shared" / "data" / "pabulib-france-toulouse-2024.pb"


def timed(function, *args, **kwargs):
    started = time.perf_counter()
    result = function(*args, **kwargs)
    return time.perf_counter() - started, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", type=Path, default=DEFAULT_FILE)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--proposals", type=int, default=500)
    parser.add_argument("--organizations", type=int, default=400)
    args = parser.parse_args()
    try:
        from pabutools.election import Cardinality_Sat, Cost_Sat, parse_pabulib
        from pabutools.rules import greedy_utilitarian_welfare, method_of_equal_shares
    except ImportError:
        sys.exit("pabutools is needed: .venv/bin/pip install -e '.[dev]'")

    seconds, (instance, _scale) = timed(lambda: to_instance(read_pb(args.file.read_text(encoding="utf-8"))))
    print(f"{args.file.name}: {len(instance.costs)} projects, {len(instance.ballots)} ballots, "
          f"budget {instance.budget}; read in {seconds:.2f} s (ours)", end="")
    seconds, (pb_instance, profile) = timed(parse_pabulib, str(args.file))
    print(f", {seconds:.2f} s (pabutools)\n")

    rules = [
        ("greedy", lambda: budgeting.greedy(instance),
         lambda: greedy_utilitarian_welfare(pb_instance, profile, sat_class=Cost_Sat)),
        ("mes-cardinality", lambda: budgeting.equal_shares(instance, "cardinality"),
         lambda: method_of_equal_shares(pb_instance, profile, sat_class=Cardinality_Sat)),
        ("mes-cost", lambda: budgeting.equal_shares(instance, "cost"),
         lambda: method_of_equal_shares(pb_instance, profile, sat_class=Cost_Sat)),
    ]
    print(f"{'rule':<16} {'ours best':>10} {'median':>8} {'pabutools best':>15} {'median':>8} {'ratio':>7}  winners")
    for name, ours, theirs in rules:
        our_times, their_times = [], []
        for _ in range(args.repeat):
            seconds, outcome = timed(ours)
            our_times.append(seconds)
            seconds, allocation = timed(theirs)
            their_times.append(seconds)
        same = outcome.selected == [project.name for project in allocation]
        ratio = statistics.median(their_times) / statistics.median(our_times)
        print(f"{name:<16} {min(our_times):>10.3f} {statistics.median(our_times):>8.3f} "
              f"{min(their_times):>15.3f} {statistics.median(their_times):>8.3f} {ratio:>6.1f}×  "
              f"{'identical' if same else 'DIFFERENT'} ({len(outcome.selected)} projects, total {outcome.total})")

    completions(args.file.name, instance)
    completions(f"synthetic, {args.proposals} proposals, {args.organizations} organizations",
                consultation_sized(args.proposals, args.organizations))


def consultation_sized(proposals: int, organizations: int) -> budgeting.Instance:
    rng = random.Random(1)
    costs = {proposal: rng.randint(10, 500) * 100_000 for proposal in range(proposals)}  # 10,000 to 500,000 €
    weights = [rng.paretovariate(1.2) for _ in range(proposals)]
    ballots = [frozenset(rng.choices(range(proposals), weights, k=rng.randint(1, 10))) for _ in range(organizations)]
    return budgeting.Instance(costs=costs, ballots=ballots, budget=sum(costs.values()) // 10)


def completions(title: str, instance: budgeting.Instance) -> None:
    print(f"\n{title}, ours (budget {instance.budget}):")
    for measure in ("cardinality", "cost"):
        for completion in (None, *budgeting.COMPLETIONS):
            seconds, outcome = timed(budgeting.equal_shares, instance, measure, completion)
            print(f"  mes-{measure} + {completion or 'no completion'}: {seconds:.2f} s, {len(outcome.selected)} "
                  f"projects ({len(outcome.completed)} by the completion), total {outcome.total}, left {outcome.left}")


if __name__ == "__main__":
    main()
