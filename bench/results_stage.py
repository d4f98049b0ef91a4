"""Take the tier-M consultation of bench/generate.py to published results, for the results pages' benchmark.

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/agora_bench_results \\
        .venv/bin/python bench/results_stage.py [--laureates 42 --envelope 17200000 --issues 17 --seed 1]

On a database filled by generate.py (a copy is best: `createdb -T agora_bench agora_bench_results`, as this
moves the consultation past its support window for good), which wrote the supports, their quotas and the
counts: this moves the calendar to the results phase, sorts the listed proposals into major issues, answers
every one of them (laureates chosen greedily by supports within the envelope, the others not retained or
still evaluated), publishes the answers, freezes the tally and analyses the tables. Prints the time of each
step.
"""

import argparse
import os
import random
import sys
import time
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

ISSUES = ["Démarches en ligne et relation aux usagers", "Restauration scolaire et vie des écoles",
          "Inclusion numérique et médiation", "Cybersécurité des petites collectivités", "Données ouvertes",
          "Urbanisme et autorisations du sol", "Mobilités du quotidien", "État civil et cimetières",
          "Gestion financière et ressources humaines", "Participation citoyenne", "Transition écologique",
          "Voirie et signalements", "Santé et action sociale", "Culture, sport et associations",
          "Outils collaboratifs des agents", "Tourisme et attractivité", "Sécurité et tranquillité publiques"]
ANSWERS = {"laureate": "Lauréat : le comité retient ce projet pour son intérêt partagé par de nombreuses "
                       "collectivités et sa réutilisabilité.",
           "not_retained": "Non retenu : le comité salue l'intérêt de la proposition, mais d'autres projets du même "
                           "grand enjeu répondaient mieux aux besoins exprimés dans l'enveloppe disponible.",
           "evaluating": "En cours d'évaluation : le comité poursuit l'instruction de cette proposition."}


@contextmanager
def step(name: str):
    print(f"{name}…", end=" ", flush=True)
    start = time.perf_counter()
    yield
    print(f"{time.perf_counter() - start:.1f} s", flush=True)


def answer_everyone(rng: random.Random, consultation, n_laureates: int, n_issues: int, now) -> tuple[int, int]:
    """Major issues holding the listed proposals; laureates greedily by supports within the envelope; an
    answer for every listed proposal. Returns (laureates, granted cents)."""
    from app.accounts.models import User
    from app.committee.models import Issue
    from app.extensions import db
    from app.proposals.models import Proposal
    from app.proposals.search import is_listed

    admin_id = db.session.scalar(sa.select(User.id).where(User.email == "admin@example.org"))
    issues = [Issue(consultation_id=consultation.id, title=title, position=position, created_by_id=admin_id)
              for position, title in enumerate(ISSUES[:n_issues])]
    db.session.add_all(issues)
    db.session.flush()
    listed = db.session.execute(sa.select(Proposal.id, Proposal.requested_budget_cents)
                                .where(Proposal.consultation_id == consultation.id, is_listed())
                                .order_by(Proposal.support_count.desc(), Proposal.id)).all()
    left, laureates, granted = consultation.budget_envelope_cents, set(), {}
    for proposal_id, budget in listed:
        cost = budget or 150_000_00
        if len(laureates) < n_laureates and cost <= left:
            laureates.add(proposal_id)
            granted[proposal_id] = cost
            left -= cost
    values = []
    for proposal_id, _budget in listed:
        state = ("laureate" if proposal_id in laureates
                 else rng.choices(["not_retained", "evaluating"], [95, 5])[0])
        values.append({"id": proposal_id, "issue_id": rng.choice(issues).id, "answer_state": state,
                       "answer_text": ANSWERS[state], "answered_at": now - timedelta(days=2),
                       "granted_amount_cents": granted.get(proposal_id)})
    db.session.execute(sa.update(Proposal), values)
    return len(laureates), sum(granted.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--laureates", type=int, default=42)
    parser.add_argument("--envelope", type=int, default=17_200_000, help="euros (2021: 42 laureates, 17.2 M€)")
    parser.add_argument("--issues", type=int, default=17)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgresql"):
        sys.exit("Set DATABASE_URL to a database filled by bench/generate.py (a copy of it, preferably).")

    from app import create_app
    from app.consultations.models import Consultation, PhaseKind
    from app.consultations.phases import calendar_around
    from app.core import clock
    from app.demo import SLUG
    from app.extensions import db
    from app.proposals.models import Proposal
    from app.votes.models import Support
    from app.votes.services import frozen_tally

    rng = random.Random(args.seed)
    app = create_app()
    with app.app_context():
        consultation = db.session.scalar(sa.select(Consultation).where(Consultation.slug == SLUG))
        if consultation is None:
            sys.exit("No tier-M consultation here: run bench/generate.py first.")
        if consultation.results_published_at is not None:
            sys.exit("Its results are already published.")
        rows = db.session.scalar(sa.select(sa.func.count(Support.id)).where(Support.consultation_id == consultation.id))
        if db.session.scalar(sa.select(sa.func.sum(Proposal.support_count))
                             .where(Proposal.consultation_id == consultation.id)) > rows:
            sys.exit(f"Support counts without the rows behind them ({rows} rows): this database was filled by a "
                     "generate.py older than its supports step; fill it again.")
        now = clock.now()
        with step("calendar moved to the results phase"):
            for kind, (start, end) in calendar_around(PhaseKind.RESULTS, now).items():
                phase = consultation.phase(kind)
                phase.starts_at, phase.ends_at = start, end
            db.session.commit()
        with step("issues and an answer for every listed proposal"):
            consultation.budget_envelope_cents, consultation.laureate_target = args.envelope * 100, args.laureates
            laureates, granted = answer_everyone(rng, consultation, args.laureates, args.issues, now)
            consultation.results_published_at = now
            db.session.commit()
            print(f"{laureates} laureates, {granted / 100:,.0f} € granted", end=" ")
        with step("frozen tally"):
            tally = frozen_tally(consultation)
            db.session.commit()
            print(f"{tally.support_count} counted supports", end=" ")
        with step("vacuum analyze"):
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.exec_driver_sql("VACUUM ANALYZE")
        print(f"Results: /consultations/{consultation.slug}/resultats")


if __name__ == "__main__":
    main()
