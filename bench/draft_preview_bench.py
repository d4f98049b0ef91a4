"""Draft preview benchmark: authors reading the preview of their draft (with its similar proposals) under
gunicorn at tier M, and members reading their service's page (the needs closest to it offered to link).

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/agora_bench \\
        .venv/bin/python bench/draft_preview_bench.py --authors 20 --think 2 --duration 40 --nice -10
        .venv/bin/python bench/draft_preview_bench.py --authors 1,20 --nice -10     # saturation, with wrk

Needs the data of bench/generate.py, whose last step has the jobs worker compute every proposal's vector
and nearest neighbours, and wrk. Picks --authors drafts of the consultation, each of its own author, a
verified member of the draft's organization, and as many published services; signs each author in as the
sign-in page does (support_bench.signed_in); checks that every preview lists its similar proposals (not
"being looked for"); starts `gunicorn -w 2 wsgi:app` in production mode (read_bench.start_gunicorn).
With --think S, one client per author, loading their own page and reading it 0.5 to 1.5 × S seconds before
loading it again, a connection per page as a proxy opens them (read_bench.read_like_people); without,
wrk with that many connections that never pause, each request a random author's page.
Target (issue "The committee's workspace"): p95 under 100 ms for the draft preview at 20 concurrent authors.
"""

import argparse
import os
import random
import sys
import tempfile
import urllib.request
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa

import read_bench
from read_bench import (drain, machine, our_processes, read_like_people, run_wrk, start_gunicorn, stop_gunicorn,
                        wait_for_quiet, wait_until_up)
from support_bench import signed_in

# support_bench has put the project on the path and set the SECRET_KEY that gunicorn's workers share
from app import create_app
from app.extensions import db
from app.organizations.models import Membership
from app.proposals.models import Proposal

TARGET_P95_MS = 100
PENDING = "en cours de recherche"
SIMILAR = "Des propositions proches existent déjà"

LUA = r"""
local entries = {}
for line in io.lines("%(entries)s") do
  local path, cookie = line:match("(%%S+) (%%S+)")
  entries[#entries + 1] = {path = path, cookie = cookie}
end

function init(args)
  math.randomseed(os.time() * 100 + id)
  failed = 0
end

function request()
  local e = entries[math.random(#entries)]
  return wrk.format("GET", e.path, {["Cookie"] = "session=" .. e.cookie})
end

function response(status, headers, body)
  if status ~= 200 then failed = failed + 1 end
end
""" + read_bench.LUA_THREADS_AND_REPORT


def pages_of_their_own(app, count: int, seed: int) -> dict[str, list[tuple[str, str]]]:
    """Per scenario, (path, session cookie) of `count` people, each reading a page of their own organization's:
    a draft they wrote, or a published service they wrote."""
    consultation_id = db.session.scalar(sa.select(Proposal.consultation_id).group_by(Proposal.consultation_id)
                                        .order_by(sa.func.count().desc()).limit(1))
    own = (sa.select(Proposal.id, Proposal.author_id)
           .join(Membership, sa.and_(Membership.user_id == Proposal.author_id,
                                     Membership.organization_id == Proposal.organization_id))
           .where(Proposal.consultation_id == consultation_id, Membership.status == "verified",
                  Proposal.hidden_at.is_(None)).order_by(Proposal.id))
    chosen = {}
    for name, condition in (("draft preview, by its author", Proposal.state == "draft"),
                            ("published service's page, by its author (link form)",
                             sa.and_(Proposal.state == "published", Proposal.kind == "service"))):
        one_each = {author_id: proposal_id for proposal_id, author_id in db.session.execute(own.where(condition))}
        picked = random.Random(seed).sample(sorted(one_each.items()), count)
        chosen[name] = [(f"/propositions/{proposal_id}", signed_in(app, author_id)[0])
                        for author_id, proposal_id in picked]
    return chosen


def check_pages(base: str, pages: list[tuple[str, str]]) -> str:
    """Every page answers, none says its similar proposals are still being looked for; what they list."""
    listing = 0
    for path, cookie in pages:
        request = urllib.request.Request(base + path, headers={"Cookie": f"session={cookie}"})
        with urllib.request.urlopen(request, timeout=60) as response:
            page = response.read().decode()
        if PENDING in page:
            sys.exit(f"{path} says its similar proposals are being looked for: run the jobs worker first "
                     "(flask --app wsgi jobs run).")
        listing += SIMILAR in page or 'name="need_id"' in page
    return f"{listing} of {len(pages)} pages list similar proposals"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--authors", default="20", help="concurrent authors, comma-separated, e.g. 1,20")
    parser.add_argument("--think", type=float, default=0,
                        help="seconds an author reads a page before loading it again (0: wrk, no pause)")
    parser.add_argument("--duration", type=int, default=20, help="seconds measured per scenario")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--port", type=int, default=8767)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--only", help="run the scenarios whose name contains this text")
    parser.add_argument("--patience", type=float, default=300, help="seconds to wait for a quiet machine")
    parser.add_argument("--nice", type=int, default=0, help="priority of gunicorn, its backends and wrk")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgresql"):
        sys.exit("Set DATABASE_URL to the database filled by bench/generate.py.")
    concurrencies = [int(value) for value in args.authors.split(",")]
    app = create_app("production", SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        scenarios = pages_of_their_own(app, max(concurrencies), args.seed)
    scenarios = {name: pages for name, pages in scenarios.items() if not args.only or args.only in name}
    base = f"http://127.0.0.1:{args.port}"
    print(f"{datetime.now():%Y-%m-%d %H:%M}, {machine()}")
    print(f"gunicorn -w {args.workers} (sync), {args.duration} s per run after {args.warmup} s of warm-up, "
          + (f"authors reading {args.think:g} s on average between loads" if args.think else "wrk, no pause") + "\n")
    results = []
    with tempfile.TemporaryDirectory() as work, open(Path(work) / "gunicorn.log", "w+") as log:
        server = start_gunicorn(args.port, args.workers, url, log)
        try:
            wait_until_up(base, "/compte/connexion", server)
            for number, (name, pages) in enumerate(scenarios.items()):
                print(f"  {name}: {check_pages(base, pages)}")
                entries = Path(work) / f"entries-{number}.txt"
                entries.write_text("".join(f"{path} {cookie}\n" for path, cookie in pages))
                script = Path(work) / f"scenario-{number}.lua"
                script.write_text(LUA % {"entries": entries})
                for authors in concurrencies:
                    results.append(measure(base, script, pages[:authors], server, url, args)
                                   | {"scenario": name, "authors": authors})
                    r = results[-1]
                    print(f"  {name:<52} {authors:>3} authors {r['rps']:6.1f} req/s  p50 {r['p50'] / 1000:6.1f} ms"
                          f"  p95 {r['p95'] / 1000:6.1f} ms  errors {r['errors']}  CPU {r['cpu_ms']:.0f} ms/request",
                          flush=True)
        finally:
            stop_gunicorn(server, log)
    report(results)


def measure(base: str, script: Path, pages: list[tuple[str, str]], server, url: str, args) -> dict:
    """One run: wrk with one connection per author, or one reading client per author."""
    wait_for_quiet(0.15, args.patience)
    if args.warmup:
        run_wrk(base, script, len(pages), args.threads, args.warmup)
        drain(base, "/compte/connexion")
    ours = our_processes(server, url)
    for pid in ours if args.nice else ():
        os.setpriority(os.PRIO_PROCESS, pid, args.nice)
    if args.think:
        people = [([path], {"Cookie": f"session={cookie}"}) for path, cookie in pages]
        result = read_like_people(base, [], len(pages), args.think, args.duration, reconnect=True, ours=ours,
                                  people=people)
    else:
        result = run_wrk(base, script, len(pages), args.threads, args.duration, ours, args.nice)
    drain(base, "/compte/connexion")
    return result


def report(results: list[dict]) -> None:
    print(f"\n| scenario | authors | requests/s | p50 ms | p95 ms | p99 ms | errors | p95 < {TARGET_P95_MS} ms | "
          "CPU ms/request | cores busy elsewhere |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: |")
    for r in results:
        met = "yes" if r["p95"] / 1000 < TARGET_P95_MS else "**no**"
        print(f"| {r['scenario']} | {r['authors']} | {r['rps']:.1f} | {r['p50'] / 1000:.1f} | {r['p95'] / 1000:.1f} | "
              f"{r['p99'] / 1000:.1f} | {r['errors']} | {met} | {r['cpu_ms']:.0f} | {r['cores_others']:.2f} |")


if __name__ == "__main__":
    main()
