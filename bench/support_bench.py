"""Support benchmark: elected officials of many organizations casting and withdrawing supports
through HTTP under gunicorn on PostgreSQL, against a bare endpoint doing the same writes.

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/agora_bench \\
        .venv/bin/python bench/support_bench.py [--connections 5 --duration 20 --rounds 3 --nice -10]

Needs a database migrated and holding the directory (bench/generate.py does both) and wrk. Creates
(once) a consultation of its own in its support window, with 2,000 published proposals and one
elected official for each of --officials communes; before each run it empties that consultation's
supports. Each official has a slate of 12 proposals for a limit of 10: wrk draws (official,
proposal) pairs at random and alternates casting and withdrawing for each pair, so some casts meet
the limit and are refused, as in life, in the same proportion all through the run (walking the
slates in order made the mix of casts, refusals and withdrawals depend on where a run stopped).
The same load goes to `/bench/signed-in/...` (bench/support_app.py): the same writes behind the
session, the signed-in user and the CSRF check that every form pays, the floor the target is measured
against; and to `/bench/bare/...`: the same writes with no rule, no session and no form. Each round runs
every endpoint, reversing their order from one round to the next; medians are taken over the
rounds during which no other process used the machine. After each run every invariant is checked: quotas equal
stored supports, counters equal stored supports, and (with the rules; the bare endpoint has none)
no organization over its limit.
Targets (restated by the issue "Solid ground"): p95 under 50 ms, and at least 85 % of the throughput of
the same writes behind the same session, user and CSRF check, in the same run.
"""

import argparse
import os
import random
import statistics
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

import read_bench
from read_bench import (ROOT, drain, machine, our_processes, run_wrk, stop_gunicorn, wait_for_quiet,
                        wait_until_up)

sys.path.insert(0, str(ROOT))
os.environ.setdefault("SECRET_KEY", read_bench.SECRET_KEY)

from flask import session  # noqa: E402
from flask_login import login_user  # noqa: E402
from flask_wtf.csrf import generate_csrf  # noqa: E402

from app import create_app  # noqa: E402
from app.accounts.models import User  # noqa: E402
from app.accounts.sessions import start_session  # noqa: E402
from app.consultations.models import Consultation, Phase, PhaseKind, Theme  # noqa: E402
from app.core import clock  # noqa: E402
from app.core.markdown import render_markdown  # noqa: E402
from app.accounts.services import hasher  # noqa: E402
from app.consultations.phases import calendar_around  # noqa: E402
from app.extensions import db  # noqa: E402
from app.organizations.models import Membership, Organization  # noqa: E402
from app.proposals.models import Proposal  # noqa: E402
from app.votes.models import Support, SupportEvent, SupportQuota, Tally  # noqa: E402

SLUG = "banc-d-essai-soutiens"
VOTE_LIMIT = 10
SLATE = 12
TARGET_P95_MS = 50
AUTHORS = 20  # communes whose proposals the officials support
PASSWORD_HASH = hasher.hash("banc-d-essai-soutiens")  # once: Argon2 is slow on purpose
TARGET_RATIO = 0.85
MODES = ("real", "bare", "signed-in")
DISTURBED_CORES = 0.15
LABELS = {"real": "cast/withdraw with every rule", "bare": "bare writes, no rule",
          "signed-in": "writes behind session, user and CSRF check, no rule"}

LUA = r"""
local mode = "%(mode)s"
local all = {}
for line in io.lines("%(entries)s") do
  local p, o, c, u, cookie, token = line:match("(%%S+) (%%S+) (%%S+) (%%S+) (%%S+) (%%S+)")
  all[#all + 1] = {p = p, o = o, c = c, u = u, cookie = cookie, token = token}
end
function init(args)
  -- Each thread draws from its own share of the slates, so its alternation of cast and withdraw holds.
  -- The same seed in both modes: the rules and the bare endpoint get the same sequence of requests.
  math.randomseed(id)
  entries, supported, failed = {}, {}, 0
  for index, entry in ipairs(all) do
    if index %% %(threads)d == id %% %(threads)d then entries[#entries + 1] = entry end
  end
end

function request()
  local e = entries[math.random(#entries)]
  local key = e.p .. ":" .. e.o
  local action = supported[key] and "withdraw" or "cast"
  supported[key] = not supported[key]
  local headers = {["Content-Type"] = "application/x-www-form-urlencoded"}
  local next = "&next=%%2Fpropositions%%2F" .. e.p
  if mode == "real" then
    headers["Cookie"] = "session=" .. e.cookie
    local path = "/propositions/" .. e.p .. (action == "cast" and "/soutenir" or "/retirer-soutien")
    return wrk.format("POST", path, headers, "csrf_token=" .. e.token .. "&organization_id=" .. e.o .. next)
  end
  if mode == "signed-in" then
    headers["Cookie"] = "session=" .. e.cookie
    return wrk.format("POST", "/bench/signed-in/" .. e.p .. "/" .. action, headers, "csrf_token=" .. e.token ..
                      "&consultation_id=" .. e.c .. "&organization_id=" .. e.o .. next)
  end
  return wrk.format("POST", "/bench/bare/" .. e.p .. "/" .. action, headers,
                    "consultation_id=" .. e.c .. "&organization_id=" .. e.o .. "&user_id=" .. e.u .. next)
end

function response(status, headers, body)
  if status ~= 302 then failed = failed + 1 end
end

"""  + read_bench.LUA_THREADS_AND_REPORT


def prepare(officials: int, proposals: int) -> Consultation:
    """The benchmark's consultation, its proposals and officials, created once."""
    consultation = db.session.scalar(sa.select(Consultation).filter_by(slug=SLUG))
    if consultation is not None:
        return consultation
    now = clock.now()
    consultation = Consultation(slug=SLUG, title="Banc d'essai des soutiens", vote_limit=VOTE_LIMIT,
                                eligible_kinds=["commune"], themes=[Theme(name="Banc d'essai")],
                                phases=[Phase(kind=kind.value, starts_at=start, ends_at=end) for kind, (start, end)
                                        in calendar_around(PhaseKind.SUPPORT, now).items()])
    db.session.add(consultation)
    db.session.flush()
    # The proposals come from communes of their own: an organization does not support its own proposals.
    communes = db.session.scalars(sa.select(Organization).where(Organization.kind == "commune")
                                  .order_by(Organization.id).limit(officials + AUTHORS)).all()
    communes, authors = communes[:officials], communes[officials:]
    if len(authors) < AUTHORS:
        sys.exit("The directory is not loaded: run bench/generate.py first.")
    author = User(email="auteur.banc@example.org", name="Auteur du banc", password_hash=PASSWORD_HASH,
                  email_confirmed_at=now)
    db.session.add(author)
    db.session.flush()
    body = "Une proposition du banc d'essai des soutiens."
    db.session.execute(sa.insert(Proposal), [
        {"consultation_id": consultation.id, "kind": "need", "organization_id": authors[number % AUTHORS].id,
         "author_id": author.id, "title": f"Proposition d'essai numéro {number}", "summary": body, "body": body,
         "body_html": render_markdown(body), "state": "published", "published_at": now - timedelta(days=40),
         "problem": body} for number in range(proposals)])
    users = [{"email": f"elu.banc.{commune.id}@example.org", "name": f"Élu {commune.name}",
              "password_hash": PASSWORD_HASH, "email_confirmed_at": now} for commune in communes]
    db.session.execute(sa.insert(User), users)
    ids = dict(db.session.execute(sa.select(User.email, User.id).where(User.email.like("elu.banc.%"))).all())
    db.session.execute(sa.insert(Membership), [
        {"user_id": ids[f"elu.banc.{commune.id}@example.org"], "organization_id": commune.id, "role": "elected",
         "status": "verified", "verified_at": now} for commune in communes])
    db.session.commit()
    return consultation


CHURNED = (Proposal, Support, SupportQuota, SupportEvent)


def reset(consultation: Consultation) -> None:
    """Empty the consultation's supports, then vacuum what the runs churn: every run starts from the
    same state. (Without it, dead rows pile up run after run wherever autovacuum is off, as on the
    machines of this project's sessions, and each run is slower than the one before.)"""
    for model in (SupportEvent, Support, SupportQuota, Tally):
        db.session.execute(sa.delete(model).where(model.consultation_id == consultation.id))
    db.session.execute(sa.update(Proposal).where(Proposal.consultation_id == consultation.id,
                                                 Proposal.support_count != 0).values(support_count=0))
    db.session.commit()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(sa.text("VACUUM (ANALYZE) " + ", ".join(model.__tablename__ for model in CHURNED)))


def entries(app, consultation: Consultation, seed: int) -> list[str]:
    """One line per (official, proposal of their slate): ids, a signed session cookie and a CSRF token."""
    proposals = db.session.scalars(sa.select(Proposal.id).where(Proposal.consultation_id == consultation.id)).all()
    officials = db.session.execute(
        sa.select(Membership.user_id, Membership.organization_id).join(User, User.id == Membership.user_id)
        .where(User.email.like("elu.banc.%"))).all()
    rng = random.Random(seed)
    slates = []
    for user_id, organization_id in officials:
        cookie, token = signed_in(app, user_id)
        slates.append([f"{proposal_id} {organization_id} {consultation.id} {user_id} {cookie} {token}"
                       for proposal_id in rng.sample(proposals, SLATE)])
    return [entry for slate in slates for entry in slate]


def signed_in(app, user_id: int) -> tuple[str, str]:
    """The session cookie and CSRF token of the user signed in as the sign-in page does it: a session row
    lasting SESSION_MAX_AGE (longer than a run), bound to the benchmark client's address and its absent
    User-Agent (neither wrk nor http.client sends one)."""
    # A fresh app context each time: generate_csrf() keeps its token in `g` for the context's life.
    with app.app_context(), app.test_request_context(environ_base={"REMOTE_ADDR": "127.0.0.1"}):
        user = db.session.get(User, user_id)
        start_session(user)
        db.session.commit()
        login_user(user)
        token = generate_csrf()
        return app.session_interface.get_signing_serializer(app).dumps(dict(session)), token


def invariants(consultation: Consultation, *, limited: bool) -> list[str]:
    """What must hold after any run; the list of what does not. The bare endpoint knows no limit."""
    problems = []
    c = consultation.id
    over = db.session.scalar(sa.select(sa.func.count()).select_from(SupportQuota).where(
        SupportQuota.consultation_id == c, SupportQuota.used > VOTE_LIMIT))
    if over and limited:
        problems.append(f"{over} organizations over the limit")
    stored = sa.select(Support.organization_id, sa.func.count().label("n")).where(
        Support.consultation_id == c).group_by(Support.organization_id).subquery()
    quota_mismatch = db.session.scalar(sa.select(sa.func.count()).select_from(SupportQuota).outerjoin(
        stored, stored.c.organization_id == SupportQuota.organization_id).where(
        SupportQuota.consultation_id == c, SupportQuota.used != sa.func.coalesce(stored.c.n, 0)))
    if quota_mismatch:
        problems.append(f"{quota_mismatch} quotas differ from stored supports")
    per_proposal = sa.select(Support.proposal_id, sa.func.count().label("n")).group_by(Support.proposal_id).subquery()
    count_mismatch = db.session.scalar(sa.select(sa.func.count()).select_from(Proposal).outerjoin(
        per_proposal, per_proposal.c.proposal_id == Proposal.id).where(
        Proposal.consultation_id == c, Proposal.support_count != sa.func.coalesce(per_proposal.c.n, 0)))
    if count_mismatch:
        problems.append(f"{count_mismatch} proposal counters differ from stored supports")
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3, help="runs of each endpoint, alternating which goes first")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--connections", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--officials", type=int, default=400)
    parser.add_argument("--proposals", type=int, default=2000)
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--nice", type=int, default=0, help="priority of gunicorn, its backends and wrk")
    parser.add_argument("--patience", type=float, default=300, help="seconds to wait for a quiet machine")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgresql"):
        sys.exit("Set DATABASE_URL to the benchmark's PostgreSQL database.")
    app = create_app("production", SQLALCHEMY_DATABASE_URI=url)
    base = f"http://127.0.0.1:{args.port}"
    rounds = []
    with app.app_context(), tempfile.TemporaryDirectory() as work, open(Path(work) / "gunicorn.log", "w+") as log:
        consultation = prepare(args.officials, args.proposals)
        entry_file = Path(work) / "entries.txt"
        entry_file.write_text("\n".join(entries(app, consultation, seed=1)) + "\n")
        server = read_bench.start_gunicorn(args.port, args.workers, url, log,
                                           app_module="bench.support_app:create_bench_app()")
        try:
            wait_until_up(base, "/compte/connexion", server)
            print(f"{machine()}; gunicorn -w {args.workers}, wrk -c{args.connections}, {args.rounds} rounds of "
                  f"{args.duration} s per endpoint, {args.officials} officials, limit {VOTE_LIMIT}, "
                  f"slates of {SLATE}\n")
            scripts = {}
            for mode in MODES:
                scripts[mode] = Path(work) / f"{mode}.lua"
                scripts[mode].write_text(LUA % {"mode": mode, "entries": entry_file, "threads": args.threads})
            for number in range(args.rounds):
                # Alternate which endpoint goes first: a machine that slows down or speeds up during the
                # benchmark then weighs on both alike.
                order = MODES if number % 2 == 0 else MODES[::-1]
                rounds.append({mode: measure(consultation, base, scripts[mode], server, url, args,
                                             limited=mode == "real") for mode in order})
        finally:
            stop_gunicorn(server, log)
        reset(consultation)
    report(rounds)


def measure(consultation: Consultation, base: str, script: Path, server, url: str, args, *, limited: bool) -> dict:
    """One wrk run on one endpoint from empty supports, and what the database holds after it."""
    reset(consultation)
    wait_for_quiet(0.15, args.patience)
    if args.warmup:
        run_wrk(base, script, args.connections, args.threads, args.warmup)
        drain(base, "/compte/connexion")
    ours = our_processes(server, url)
    for pid in ours if args.nice else ():
        os.setpriority(os.PRIO_PROCESS, pid, args.nice)
    result = run_wrk(base, script, args.connections, args.threads, args.duration, ours, args.nice)
    drain(base, "/compte/connexion")
    db.session.expire_all()
    result["problems"] = invariants(consultation, limited=limited)
    result["supports"] = db.session.scalar(sa.select(sa.func.count()).select_from(Support).where(
        Support.consultation_id == consultation.id))
    return result


def report(rounds: list[dict]) -> None:
    print("| round | endpoint | requests/s | p50 ms | p95 ms | p99 ms | CPU ms per request | other load (cores) | "
          "failed (not 302) | supports stored after | invariants |")
    print("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for number, results in enumerate(rounds, 1):
        for mode in MODES:
            r = results[mode]
            print(f"| {number} | {LABELS[mode]} | {r['rps']:.0f} | {r['p50'] / 1000:.1f} | {r['p95'] / 1000:.1f} | "
                  f"{r['p99'] / 1000:.1f} | {r['cpu_ms']:.2f} | {r['cores_others']:.2f} | {r['errors']} | "
                  f"{r['supports']} | {'; '.join(r['problems']) or 'all hold'} |")
    # A round during which other processes used the machine measures them too: left out of the medians.
    quiet = [results for results in rounds
             if max(results[mode]["cores_others"] for mode in MODES) <= DISTURBED_CORES] or rounds
    if len(quiet) < len(rounds):
        print(f"\n{len(rounds) - len(quiet)} round(s) left out: other processes used more than "
              f"{DISTURBED_CORES} cores during them")
    signed_in = [results["real"]["rps"] / results["signed-in"]["rps"] for results in quiet]
    p95s = [results["real"]["p95"] / 1000 for results in quiet]
    print(f"\nreal / signed-in writes throughput per round: {', '.join(f'{ratio:.0%}' for ratio in signed_in)}; "
          f"median {statistics.median(signed_in):.0%} (target ≥ {TARGET_RATIO:.0%})")
    print(f"real p95 per round: {', '.join(f'{p95:.1f}' for p95 in p95s)} ms (target < {TARGET_P95_MS} ms)")
    bare = [results["real"]["rps"] / results["bare"]["rps"] for results in quiet]
    print(f"real / bare writes (no session, user nor CSRF check): {', '.join(f'{ratio:.0%}' for ratio in bare)}; "
          f"median {statistics.median(bare):.0%}")


if __name__ == "__main__":
    main()
