"""Measure the proposal pages under gunicorn: requests per second, p50 and p95 latency.

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/agora_bench \\
        .venv/bin/python bench/read_bench.py --connections 50 --think 2 --duration 40 --nice -10
        .venv/bin/python bench/read_bench.py [--duration 20 --connections 1,50 --reference --nice -10]

The first form is 50 readers who read each page about 2 s before the next (the issue's target);
the second, connections that never pause (saturation, with wrk).

Needs data from bench/generate.py and wrk (`apt-get install -y wrk`). Starts
`gunicorn -w 2 wsgi:app` in production mode on the benchmark database, then runs wrk against five
scenarios, each for --duration seconds after a short warm-up: the index in its default (random)
order, the index filtered by theme and kind, the index with a full-text search (several French
queries), the index sorted by date or counts, and the pages of random published proposals;
`--reference` adds a page without any query. On a database whose results are published
(bench/results_stage.py), three more scenarios: the results page, its ranking by supports with every
answer (pages and filters), and the catalogue of laureate services (with its filters and each service's
page).
wrk keeps no cookies, so each request is a first visit with its own shuffle seed. `--connections
1,50` also measures one reader at a time, which gives the time a request costs without queueing.
Prints a table (Markdown) with requests/s, p50, p95, p99, non-2xx answers, the CPU one request
costs gunicorn, PostgreSQL and wrk together, and the CPU busy elsewhere meanwhile (a shared machine).
"""

import argparse
import http.client
import json
import os
import platform
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
TARGET_P95_MS = 100
SECRET_KEY = "bench-not-secret"  # the benchmark signs its own session cookies with it
SEARCHES = ["cantine", "signalement voirie", "sauvegarde", "secrétaire de mairie", "transport à la demande",
            "open data", "rançongiciel", "état civil", "covoiturage", "inclusion numérique", "cimetière",
            "conseillers numériques"]

# Shared by the benchmarks' wrk scripts: `setup` numbers the threads and keeps them, so that `done`
# can sum what each counted in its own Lua state (`failed`: answers other than the expected status)
# and print one JSON line for the Python side to read.
LUA_THREADS_AND_REPORT = r"""
local threads, counter = {}, 0

function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
  table.insert(threads, thread)
end

function done(summary, latency, requests)
  local failures = 0
  for _, thread in ipairs(threads) do failures = failures + thread:get("failed") end
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests": %%d, "duration_us": %%d, "bytes": %%d, "non2xx": %%d, "connect": %%d, "read": %%d, '
    .. '"write": %%d, "timeout": %%d, "p50": %%d, "p90": %%d, "p95": %%d, "p99": %%d, "mean": %%f, "max": %%d}\n',
    summary.requests, summary.duration, summary.bytes, failures, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(95), latency:percentile(99),
    latency.mean, latency.max))
end
"""

# Reading: each request a random URL of the scenario, read from the file.
LUA = r"""
local paths = {}
for line in io.lines("%(paths)s") do paths[#paths + 1] = line end

function init(args)
  math.randomseed(os.time() * 100 + id)
  failed = 0
end

function request()
  return wrk.format("GET", paths[math.random(#paths)])
end

function response(status, headers, body)
  if status < 200 or status > 299 then failed = failed + 1 end
end
""" + LUA_THREADS_AND_REPORT


def largest_consultation(connection) -> tuple[str, int, list[int], list[int]]:
    """The consultation with the most proposals (tier M's): its slug, id, themes and published proposals."""
    slug, consultation_id = connection.execute(sa.text(
        "SELECT c.slug, c.id FROM consultations c JOIN proposals p ON p.consultation_id = c.id "
        "GROUP BY c.id ORDER BY count(*) DESC LIMIT 1")).one()
    themes = connection.scalars(sa.text("SELECT id FROM themes WHERE consultation_id = :c ORDER BY position"),
                                {"c": consultation_id}).all()
    proposals = connection.scalars(sa.text(
        "SELECT id FROM proposals WHERE consultation_id = :c AND state = 'published' AND hidden_at IS NULL "
        "ORDER BY id"), {"c": consultation_id}).all()
    return slug, consultation_id, themes, proposals


def scenario_paths(url: str) -> dict[str, list[str]]:
    """The URLs of each scenario, read from the benchmark database."""
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        slug, consultation_id, themes, proposals = largest_consultation(connection)
        published = connection.scalar(sa.text("SELECT results_published_at IS NOT NULL FROM consultations "
                                              "WHERE id = :c"), {"c": consultation_id})
        services = connection.execute(sa.text(
            "SELECT id, maturity, carrier, licence FROM proposals WHERE consultation_id = :c AND kind = 'service' "
            "AND answer_state = 'laureate' AND state = 'published' AND hidden_at IS NULL "
            "AND merged_into_id IS NULL ORDER BY id"), {"c": consultation_id}).all()
    engine.dispose()
    index = f"/consultations/{slug}/propositions"
    results = f"/consultations/{slug}/resultats"
    # The results pages, once bench/results_stage.py has published the answers: the page itself, its ranking
    # (first pages and others, filtered or not), the catalogue (filtered or not) and each laureate service's page.
    results_scenarios = {
        "results page": [results],
        "ranking by supports with the answers": [f"{results}/classement"] * 5 + [
            f"{results}/classement?{query}" for query in ("page=2", "page=10", "page=100", "reponse=laureate",
                                                          "reponse=not_retained&page=3", "kind=service")],
        "catalogue of laureate services (and their pages)": [f"{results}/services"] * 5 + [
            f"{results}/services?{urllib.parse.urlencode({name: value})}" for _, *values in services
            for name, value in zip(("maturity", "structure", "licence"), values) if value] + [
            f"{results}/services/{service_id}" for service_id, *_ in services],
    } if published else {}
    return {
        "index (random order)": [index],
        "index, theme + kind filter": [f"{index}?theme={theme}&kind={kind}" for theme in themes
                                       for kind in ("need", "service")],
        "index, full-text search": [f"{index}?{urllib.parse.urlencode({'q': q})}" for q in SEARCHES],
        "index, sorted by newest / most supported / most commented": [
            f"{index}?sort={sort}" for sort in ("newest", "most_supported", "most_commented")],
        "proposal page": [f"/propositions/{proposal_id}" for proposal_id in proposals],
        **results_scenarios,
    }


def read_like_people(base: str, paths: list[str], readers: int, think: float, seconds: float, *,
                     reconnect: bool, ours=(), people: list[tuple[list[str], dict]] | None = None) -> dict:
    """`readers` people, each loading a page then reading it 0.5 to 1.5 times `think` seconds.

    A Python client rather than wrk: at a few dozen pages a second it costs little CPU, and wrk's
    delay() counts a reader's pause in the latency of requests sent on a reopened connection.
    `reconnect`: one connection per page, as a proxy in front of sync workers opens (nginx by default).
    `people`: for signed-in readers, reader n reads the pages of people[n] with its headers (a session
    cookie) instead of any of `paths`.
    """
    host, port = urllib.parse.urlsplit(base).netloc.split(":")
    latencies, failures, lock = [], [0], threading.Lock()
    stop = time.monotonic() + seconds

    def reader(number: int) -> None:
        rng = random.Random(number)
        own_paths, headers = people[number % len(people)] if people else (paths, {})
        if reconnect:
            headers = {**headers, "Connection": "close"}
        connection = http.client.HTTPConnection(host, int(port), timeout=60)
        time.sleep(rng.uniform(0, think))  # people do not all arrive at the same second
        while time.monotonic() < stop:
            started = time.perf_counter()
            try:
                if reconnect:
                    connection.close()
                connection.request("GET", rng.choice(own_paths), headers=headers)
                response = connection.getresponse()
                response.read()
                ok = response.status == 200
            except (OSError, http.client.HTTPException):
                connection.close()
                ok = False
            with lock:
                latencies.append(time.perf_counter() - started)
                failures[0] += not ok
            time.sleep(rng.uniform(0.5 * think, 1.5 * think))
        connection.close()

    threads = [threading.Thread(target=reader, args=(number,)) for number in range(readers)]
    ours_before = process_jiffies(ours)
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - began
    server_ms = jiffies_since(ours_before) * 1000 / os.sysconf("SC_CLK_TCK")
    ordered = sorted(latencies)

    def percentile(share: float) -> float:
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1e6 if ordered else float("nan")

    return {"requests": len(ordered), "rps": len(ordered) / elapsed, "errors": failures[0], "p50": percentile(0.5),
            "p95": percentile(0.95), "p99": percentile(0.99), "cores_others": 0.0,
            # gunicorn and PostgreSQL only here: the client's CPU is this process's, shared with its bookkeeping.
            "cpu_ms": server_ms / len(ordered) if ordered else float("nan")}


def start_gunicorn(port: int, workers: int, database_url: str, log, app_module: str = "wsgi:app",
                   threads: int = 1) -> subprocess.Popen:
    """gunicorn in production mode; with threads > 1, gthread workers, which keep idle keep-alive
    connections aside instead of blocking a worker on each (sync workers need a buffering proxy)."""
    env = {**os.environ, "AGORA_ENV": "production", "SECRET_KEY": SECRET_KEY, "DATABASE_URL": database_url,
           "RATELIMIT_STORAGE_URI": "memory://", "SESSION_COOKIE_SECURE": "0",
           # The benchmark's officials press far faster than people: counted, never refused.
           "SUPPORT_RATE_LIMIT": "1000000000 per minute"}
    # Idle keep-alive connections outlive a reader's pause (gunicorn closes them after 2 s by default).
    worker_class = ["-k", "gthread", "--threads", str(threads), "--keep-alive", "10"] if threads > 1 else []
    return subprocess.Popen([str(VENV_BIN / "gunicorn"), "-w", str(workers), *worker_class, "-b", f"127.0.0.1:{port}",
                             app_module], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def stop_gunicorn(server: subprocess.Popen, log) -> None:
    """Stop gunicorn and print the errors it logged, if any."""
    server.terminate()
    server.wait(timeout=30)
    log.seek(0)
    errors = [line for line in log if "Traceback" in line or "ERROR" in line]
    if errors:
        print("\ngunicorn logged errors:\n" + "".join(errors[:20]))


def wait_until_up(base: str, path: str, server: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit("gunicorn stopped before answering: see its log above.")
        try:
            with urllib.request.urlopen(base + path, timeout=10) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.3)
    sys.exit(f"gunicorn did not answer {path} within {seconds:.0f} s.")


def machine_jiffies() -> tuple[int, int]:
    """(busy, total) clock ticks of all cores since boot (Linux /proc/stat)."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    total = sum(values[:8])  # guest time is already counted in user time
    return total - values[3] - values[4], total  # idle and iowait are not busy


def process_jiffies(pids) -> dict[int, int]:
    """User + system clock ticks used so far by each of these processes that is alive."""
    used = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        used[pid] = int(fields[11]) + int(fields[12])
    return used


def jiffies_since(before: dict[int, int]) -> int:
    """Clock ticks these processes used since `before` was read. One that ended meanwhile (a gunicorn worker
    replaced after max_requests, or killed) counts for nothing, rather than for minus what it had used."""
    now = process_jiffies(before)
    return sum(now[pid] - ticks for pid, ticks in before.items() if pid in now)


def children(pid: int) -> list[int]:
    return [int(child) for task in Path(f"/proc/{pid}/task").iterdir()
            for child in (task / "children").read_text().split()]


def our_processes(server: subprocess.Popen, database_url: str) -> list[int]:
    """gunicorn's master and workers, and the PostgreSQL backends serving the benchmark database."""
    engine = sa.create_engine(database_url)
    with engine.connect() as connection:
        backends = connection.scalars(sa.text(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")).all()
    engine.dispose()
    return [server.pid, *children(server.pid), *backends]


def busy_fraction(seconds: float = 2.0) -> float:
    """Share of all cores busy over `seconds` (Linux /proc/stat)."""
    busy_1, total_1 = machine_jiffies()
    time.sleep(seconds)
    busy_2, total_2 = machine_jiffies()
    return (busy_2 - busy_1) / max(1, total_2 - total_1)


def wait_for_quiet(limit: float, patience: float) -> float:
    """Wait until the machine is idle (another process's load would distort the figures)."""
    deadline = time.monotonic() + patience
    busy = busy_fraction()
    while busy > limit and time.monotonic() < deadline:
        print(f"  (machine {busy:.0%} busy before the run: waiting for it to calm down)", flush=True)
        time.sleep(10)
        busy = busy_fraction()
    return busy


def drain(base: str, path: str) -> None:
    """Wait until gunicorn has served what wrk left in its queue when it stopped.

    Sync workers still serve requests whose client is gone; a request sent now waits behind them,
    so its answer means the queue is empty and the next measurement starts on an idle server.
    """
    for _ in range(2):
        with urllib.request.urlopen(base + path, timeout=300) as response:
            response.read()


def run_wrk(base: str, script: Path, connections: int, threads: int, seconds: int, ours=(), nice: int = 0) -> dict:
    """Run wrk; also count the CPU that processes other than wrk, gunicorn and its backends used meanwhile."""
    busy_before, total_before = machine_jiffies()
    ours_before = process_jiffies(ours)
    wrk_before = os.times()
    command = ["wrk", f"-t{min(threads, connections)}", f"-c{connections}", f"-d{seconds}s", "--timeout", "30s",
               "-s", str(script), base]
    finished = subprocess.run(command, capture_output=True, text=True,
                              preexec_fn=(lambda: os.setpriority(os.PRIO_PROCESS, 0, nice)) if nice else None)
    if finished.returncode:
        sys.exit(f"{' '.join(command)} failed:\n{finished.stdout}{finished.stderr}")
    output = finished.stdout
    busy_after, total_after = machine_jiffies()
    wrk_after = os.times()
    wrk_ticks = ((wrk_after.children_user + wrk_after.children_system) -
                 (wrk_before.children_user + wrk_before.children_system)) * os.sysconf("SC_CLK_TCK")
    ours_ticks = jiffies_since(ours_before) + wrk_ticks
    elapsed = max(1, total_after - total_before) / os.cpu_count()  # ticks of one core over the run
    line = next((line for line in output.splitlines() if line.startswith("RESULT ")), None)
    if line is None:
        sys.exit(f"wrk printed no result:\n{output}")
    result = json.loads(line.removeprefix("RESULT "))
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    result["errors"] = result["non2xx"] + sum(result[k] for k in ("connect", "read", "write", "timeout"))
    # In cores: what the benchmark used, and what was busy elsewhere: other processes on a shared machine, or
    # PostgreSQL parallel workers (short-lived processes a plan may start, which cannot be told apart here).
    result["cores_ours"] = ours_ticks / elapsed
    result["cores_others"] = max(0.0, (busy_after - busy_before) - ours_ticks) / elapsed
    # CPU time one request costs gunicorn, PostgreSQL and wrk together: what bounds requests/s on a
    # machine of n cores (n * 1000 / cpu_ms), and what varies least when the machine is shared.
    result["cpu_ms"] = result["cores_ours"] * 1000 / result["rps"] if result["rps"] else float("nan")
    return result


def machine() -> str:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor())
    return f"{os.cpu_count()} cores ({model}), Python {platform.python_version()}, {platform.system()}"


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("Stopped."))  # so that gunicorn is stopped too
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=20, help="seconds measured per scenario")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of unmeasured load before each")
    parser.add_argument("--connections", default="50", help="comma-separated, e.g. 1,50")
    parser.add_argument("--think", type=float, default=0,
                        help="seconds each reader spends reading a page before the next one (on average; "
                             "0: none, every connection asks again as soon as it is answered)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--worker-threads", type=int, default=1,
                        help="threads per gunicorn worker (gthread workers when above 1)")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--only", help="run the scenarios whose name contains this text")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    parser.add_argument("--quiet-limit", type=float, default=0.15,
                        help="wait before each run until the machine is less busy than this (0-1)")
    parser.add_argument("--patience", type=float, default=300, help="seconds to wait for a quiet machine")
    parser.add_argument("--nice", type=int, default=0,
                        help="on a shared machine, run gunicorn, its PostgreSQL backends and wrk at this priority "
                             "(e.g. -10, as root) so that other processes disturb the figures less")
    parser.add_argument("--reference", action="store_true",
                        help="also measure the sign-in page (no query): the cost of the framework and base page")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgresql"):
        sys.exit("Set DATABASE_URL to the database filled by bench/generate.py.")
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: apt-get install -y wrk")
    concurrencies = [int(value) for value in args.connections.split(",")]
    scenarios = scenario_paths(url)
    if args.reference:
        scenarios["reference: sign-in page, no query"] = ["/compte/connexion"]
    scenarios = {name: paths for name, paths in scenarios.items() if not args.only or args.only in name}

    base = f"http://127.0.0.1:{args.port}"
    print(f"{datetime.now():%Y-%m-%d %H:%M}, {machine()}")
    kind = f"gthread, {args.worker_threads} threads each" if args.worker_threads > 1 else "sync"
    print(f"gunicorn -w {args.workers} ({kind}), wrk -t{args.threads} --timeout 30s, {args.duration:g} s per scenario"
          f" after {args.warmup:g} s of warm-up, readers reading {args.think:g} s on average between pages\n")
    results = []
    with tempfile.TemporaryDirectory() as work, open(Path(work) / "gunicorn.log", "w+") as log:
        server = start_gunicorn(args.port, args.workers, url, log, threads=args.worker_threads)
        try:
            wait_until_up(base, next(iter(scenario_paths(url).values()))[0], server)
            for name, paths in scenarios.items():
                path_file = Path(work) / f"paths-{len(results)}.txt"
                path_file.write_text("\n".join(paths) + "\n")
                script = Path(work) / f"scenario-{len(results)}.lua"
                script.write_text(LUA % {"paths": path_file})
                for connections in concurrencies:
                    idle_busy = wait_for_quiet(args.quiet_limit, args.patience)
                    if args.warmup:
                        run_wrk(base, script, connections, args.threads, args.warmup)
                        drain(base, paths[0])
                    ours = our_processes(server, url)
                    if args.nice:
                        for pid in ours:
                            os.setpriority(os.PRIO_PROCESS, pid, args.nice)
                    result = (read_like_people(base, paths, connections, args.think, args.duration,
                                               reconnect=args.worker_threads == 1, ours=ours) if args.think
                              else run_wrk(base, script, connections, args.threads, args.duration, ours, args.nice))
                    drain(base, paths[0])
                    result.update(scenario=name, connections=connections, urls=len(paths), busy_before=idle_busy)
                    results.append(result)
                    print(f"  {name:<34} c={connections:<3} {result['rps']:7.1f} req/s  "
                          f"p50 {result['p50'] / 1000:7.1f} ms  p95 {result['p95'] / 1000:7.1f} ms  "
                          f"errors {result['errors']}  CPU {result['cpu_ms']:.0f} ms/request, "
                          f"{result['cores_others']:.2f} cores busy elsewhere", flush=True)
        finally:
            stop_gunicorn(server, log)

    print(f"\n| scenario | connections | requests/s | p50 ms | p95 ms | p99 ms | errors (non-2xx) | "
          f"p95 < {TARGET_P95_MS} ms | CPU ms/request | cores busy elsewhere |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: |")
    for r in results:
        met = "yes" if r["p95"] / 1000 < TARGET_P95_MS else "**no**"
        print(f"| {r['scenario']} | {r['connections']} | {r['rps']:.1f} | {r['p50'] / 1000:.1f} | "
              f"{r['p95'] / 1000:.1f} | {r['p99'] / 1000:.1f} | {r['errors']} | {met} | {r['cpu_ms']:.0f} | "
              f"{r['cores_others']:.2f} |")
    if any(r["cores_others"] > 0.2 for r in results):
        print("\nSome runs saw CPU used outside gunicorn, wrk and the benchmark's PostgreSQL backends: either other"
              "\nprocesses on a shared machine (figures then understate its capacity) or PostgreSQL parallel"
              "\nworkers started by a query plan (CPU the page costs, missing from 'CPU ms/request').")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
