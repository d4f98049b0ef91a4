"""What a support request costs in process, counted rather than timed: function calls per request of
the real endpoints and of the benchmark's floors, and the Python calls under the steps that matter.
Counts repeat exactly from run to run, where timings on a shared machine do not.

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/agora_bench \\
        .venv/bin/python bench/support_profile.py [--requests 400]

Needs the database support_bench.py prepares (run it once). One official casts and withdraws one
proposal in turn, through Flask's test client, with the session cookie a signed-in browser sends.
"""

import argparse
import cProfile
import os
import pstats
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SECRET_KEY", "benchmark")
os.environ["SUPPORT_RATE_LIMIT"] = "1000000000 per minute"  # counted, never refused

import sqlalchemy as sa  # noqa: E402
from flask import session  # noqa: E402
from flask_login import login_user  # noqa: E402
from flask_wtf.csrf import generate_csrf  # noqa: E402

from app.accounts.models import User  # noqa: E402
from app.accounts.sessions import start_session  # noqa: E402
from app.consultations.models import Consultation  # noqa: E402
from app.extensions import db  # noqa: E402
from app.organizations.models import Membership  # noqa: E402
from app.proposals.models import Proposal  # noqa: E402
from bench.support_app import create_bench_app  # noqa: E402
from bench.support_bench import SLUG  # noqa: E402

URLS = {"real": "/propositions/{p}/{verb}", "signed-in": "/bench/signed-in/{p}/{action}"}
VERBS = {"cast": "soutenir", "withdraw": "retirer-soutien"}
# Functions whose subtree is counted: the request, the user's loading, the proposal's, the services.
STEPS = ("wsgi_app", "load_user", "_proposal", "cast_support", "withdraw_support", "_refuse_bursts", "attempt")


def signed_in_client(app):
    """A client holding the session cookie of one official of the benchmark, and a CSRF token."""
    with app.app_context():
        consultation = db.session.scalar(sa.select(Consultation).filter_by(slug=SLUG))
        if consultation is None:
            sys.exit("Run bench/support_bench.py once: it prepares the consultation and its officials.")
        proposal_id = db.session.scalars(sa.select(Proposal.id).filter_by(consultation_id=consultation.id)).first()
        user_id, organization_id = db.session.execute(
            sa.select(Membership.user_id, Membership.organization_id).join(User, User.id == Membership.user_id)
            .where(User.email.like("elu.banc.%")).limit(1)).one()
        with app.test_request_context():
            user = db.session.get(User, user_id)
            start_session(user)
            db.session.commit()
            login_user(user)
            token = generate_csrf()
            cookie = app.session_interface.get_signing_serializer(app).dumps(dict(session))
        form = {"csrf_token": token, "organization_id": organization_id, "consultation_id": consultation.id,
                "next": f"/propositions/{proposal_id}"}
    client = app.test_client()

    def press(number: int, mode: str) -> None:
        action = "cast" if number % 2 == 0 else "withdraw"
        client.set_cookie("session", cookie)  # as wrk sends it: the same cookie every time
        response = client.post(URLS[mode].format(p=proposal_id, verb=VERBS[action], action=action), data=form)
        assert response.status_code == 302, response.get_data(as_text=True)[:300]
    return press


def python_calls_by_step(press, mode: str, requests: int) -> Counter:
    """Python function calls made under each of STEPS, per request (sys.setprofile)."""
    counts, active, stack = Counter(), set(), []

    def tracer(frame, event, _arg):
        if event == "call":
            for step in active:
                counts[step] += 1
            name = frame.f_code.co_name
            entered = name in STEPS and name not in active
            if entered:
                active.add(name)
            stack.append(name if entered else None)
        elif event == "return" and stack:
            left = stack.pop()
            if left:
                active.discard(left)

    sys.setprofile(tracer)
    for number in range(requests):
        press(number, mode)
    sys.setprofile(None)
    return Counter({step: count / requests for step, count in counts.items()})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400)
    args = parser.parse_args()
    app = create_bench_app("production", SESSION_COOKIE_SECURE=False, HSTS=False)
    press = signed_in_client(app)
    for mode in URLS:
        for number in range(100):  # warm-up: statement caches, connections
            press(number, mode)
        profile = cProfile.Profile()
        profile.enable()
        for number in range(args.requests):
            press(number, mode)
        profile.disable()
        calls = pstats.Stats(profile).total_calls / args.requests
        steps = python_calls_by_step(press, mode, args.requests // 4)
        print(f"{mode}: {calls:,.0f} function calls per request; Python calls under "
              + ", ".join(f"{step} {steps[step]:,.0f}" for step in STEPS if steps[step]))


if __name__ == "__main__":
    main()
