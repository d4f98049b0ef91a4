"""The production topology under load and under faults: nginx in front of two gunicorn instances (scripts/prod.py).

    make prod-down
    export PROD_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/agora_bench_300k
    PROD_DEMO=0 SUPPORT_RATE_LIMIT="1000000000 per minute" make prod-up
    .venv/bin/python bench/topology_bench.py read [--duration 30 --nice -10]
    .venv/bin/python bench/topology_bench.py supports | kill-worker | restart-postgres | stop-redis
    make prod-down

Runs against the topology `make prod-up` started (it reads instance/prod/: pid files, logs, the secret key), on
PROD_DATABASE_URL (a tier-M database from bench/generate.py and bench/results_stage.py). Every request goes through
nginx (PROD_PORT). Subcommands:

- `read`: wrk connections that never pause on the tier-M consultation's index (without a seed, with seeds, by
  theme) and on 500 published proposals, as visitors (nginx's cache), then a shorter run of the same load with a
  visitor's session cookie on every request (the cache bypassed). Target: p95 under 100 ms, by wrk (whose
  latencies are corrected for coordinated omission) and by a probe meanwhile (one request every 0.05 s on a
  connection of its own, each latency as it came). The cache hit ratio, the pages nginx made again in the
  background and the time nginx took per kind of page are read from its access log, for the lines the run wrote.
- `supports`: support_bench's officials (its consultation, sessions, CSRF tokens and wrk script) casting and
  withdrawing through nginx. Target: p95 under 100 ms, every answer the expected redirect; then every invariant
  (support_bench's, no duplicate support, the journal agreeing with the supports), the tally frozen by the app's
  own service and its digest recomputed from the stored file and from the supports; the tally and the supports
  are emptied afterwards, so that the next run starts again from nothing.
- `kill-worker`: the supports load while one gunicorn worker (a child of an instance's master) is killed
  (SIGKILL) a few times; every request answered, the invariants, the instances serving again afterwards.
- `restart-postgres`: the supports load and reads with a session cookie while PostgreSQL restarts; statuses per
  second around the restart, seconds until the first page made again, the 503 page's text, the invariants.
  Waits first until no test, migration or generation runs on the machine (a restart breaks them); exits 2 when
  the fault was skipped. The PostgreSQL server is the machine's: restarted from a session, it is then a child of
  that session and may stop with it, hence the flag --restart-the-machines-postgresql it requires.
- `stop-redis`: reads, supports and sign-in attempts while the topology's own Redis (scripts/prod.py starts one)
  is stopped about 10 s, then started again whatever happens; pages keep answering, sign-in attempts stay limited.

The topology's processes read SECRET_KEY from instance/prod/secret_key (scripts/prod.py writes it once): the
officials' session cookies are signed here with that same key, read from the file (prod.py is left as it is).
Exits 1 when a target or an invariant fails. Figures and what they mean: bench/README.md, "Production topology".
"""

import argparse
import collections
import http.client
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

import read_bench
from read_bench import ROOT, children, machine, run_wrk, wait_for_quiet

sys.path.insert(0, str(ROOT / "scripts"))
import prod  # noqa: E402  (the topology's settings: ports, database, Redis, where it writes)

SECRET_FILE = prod.HERE / "secret_key"
if not SECRET_FILE.exists():
    sys.exit(f"{SECRET_FILE} is missing: start the topology first (`make prod-up`, see this file's docstring).")
# Before support_bench is imported: it would otherwise sign with the benchmarks' own key.
os.environ["SECRET_KEY"] = SECRET_FILE.read_text()

import support_bench  # noqa: E402
from app import create_app  # noqa: E402
from app.consultations.models import Consultation, PhaseKind  # noqa: E402
from app.extensions import db  # noqa: E402
from app.votes.models import Support, Tally  # noqa: E402
from app.votes.services import digest_of, frozen_tally, tally_file, tally_rows  # noqa: E402

TARGET_P95_MS = 100
PROPOSAL_PAGES = 500
FORBIDDEN_DATABASES = ("test", "agora_bench", "agora_bench_results")  # other people's
UNAVAILABLE_TEXT = "Service momentanément indisponible"
# What a PostgreSQL restart would break: other sessions' tests, migrations, data generation, copies.
BUSY_PATTERN = "pytest|migrations_tier_m|alembic|generate.py|results_stage|pg_dump|pg_restore|createdb"
ACCESS_LINE = re.compile(r'^(?P<address>\S+) \[(?P<time>[^\]]+)\] "(?P<request>[^"]*)" (?P<status>\d{3}) \d+ '
                         r'(?P<seconds>[\d.]+) (?P<upstream>.+) (?P<cache>\S+)$')
FROM_CACHE = {"HIT", "STALE", "UPDATING", "REVALIDATED"}

# Reading: a random path per request, with a session cookie on every request when one is given (the cache
# bypassed, as for anyone signed in or with a language chosen).
READ_LUA = r"""
local paths = {}
for line in io.lines("%(paths)s") do paths[#paths + 1] = line end
local cookie = "%(cookie)s"

function init(args)
  math.randomseed(os.time() * 100 + id)
  failed = 0
end

function request()
  local headers = {}
  if cookie ~= "" then headers["Cookie"] = "session=" .. cookie end
  return wrk.format("GET", paths[math.random(#paths)], headers)
end

function response(status, headers, body)
  if status < 200 or status > 299 then failed = failed + 1 end
end
""" + read_bench.LUA_THREADS_AND_REPORT

# People pause between requests: 0.5 to 1.5 times `think` seconds (wrk starts timing a request after its pause,
# and the connection to nginx stays open, so the pause is not counted in the latency).
THINK_LUA = """
function delay()
  return math.random(500, 1500) * %(think)f
end
"""


# --- The topology ------------------------------------------------------------------------------------------------

@dataclass
class Topology:
    """The processes scripts/prod.py started, and where they write."""

    base: str = f"http://127.0.0.1:{prod.PORT}"
    log_dir: Path = prod.HERE / "log"

    def pid(self, name: str) -> int:
        alive = prod.running()
        if name not in alive:
            sys.exit(f"{name} is not running: `make prod-up` first (see this file's docstring).")
        return alive[name]

    def masters(self) -> dict[int, int]:
        """The gunicorn instances: port → master pid."""
        return {port: self.pid(f"web-{port}") for port in prod.WEB_PORTS}

    def workers(self, port: int) -> list[int]:
        return children(self.masters()[port])

    def check(self) -> None:
        for name in ("nginx", "mail", "jobs", *(f"web-{port}" for port in prod.WEB_PORTS)):
            self.pid(name)


TOPOLOGY = Topology()


@dataclass
class Entry:
    """One line of nginx's access log (the format scripts/prod.py sets)."""

    at: datetime
    method: str
    path: str
    status: int
    seconds: float
    upstream: str
    cache: str


class LogWindow:
    """The lines a file receives from now on: nginx's access log for a run, a process's log for its messages."""

    def __init__(self, path: Path):
        self.path = path
        self.start = path.stat().st_size if path.exists() else 0

    def text(self) -> str:
        if not self.path.exists():
            return ""
        with open(self.path, "rb") as file:
            file.seek(self.start)
            return file.read().decode(errors="replace")

    def entries(self) -> list[Entry]:
        found = []
        for line in self.text().splitlines():
            match = ACCESS_LINE.match(line)
            if match is None:
                continue
            method, _, rest = match["request"].partition(" ")
            found.append(Entry(datetime.strptime(match["time"], "%d/%b/%Y:%H:%M:%S %z"), method,
                               rest.rsplit(" ", 1)[0], int(match["status"]), float(match["seconds"]),
                               match["upstream"], match["cache"]))
        return found


def process_logs() -> dict[str, LogWindow]:
    return {name: LogWindow(TOPOLOGY.log_dir / f"{name}.log")
            for name in (*(f"web-{port}" for port in prod.WEB_PORTS), "mail", "jobs", "nginx-error")}


def log_digest(windows: dict[str, LogWindow], patterns: dict[str, str], excerpts: int = 3) -> list[str]:
    """Per process log, how many new lines match each pattern, with a few of them."""
    lines = []
    for name, window in windows.items():
        text = window.text().splitlines()
        for label, pattern in patterns.items():
            matching = [line for line in text if re.search(pattern, line)]
            if matching:
                lines.append(f"- {name}: {len(matching)} × {label}")
                lines.extend(f"    {line[:220]}" for line in matching[:excerpts])
    return lines


def database_url() -> str:
    url = prod.DATABASE_URL
    name = make_url(url).database or ""
    if name in FORBIDDEN_DATABASES or name.startswith("agora_helper_"):
        sys.exit(f"{name} belongs to someone else: set PROD_DATABASE_URL to a benchmark database of your own.")
    return url


def backends(url: str) -> list[int]:
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        pids = connection.scalars(sa.text("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                                          "AND pid <> pg_backend_pid()")).all()
    engine.dispose()
    return list(pids)


def groups(url: str) -> dict[str, list[int]]:
    """The processes whose CPU a run counts, by kind."""
    nginx = TOPOLOGY.pid("nginx")
    return {"nginx": [nginx, *children(nginx)],
            "gunicorn": [pid for master in TOPOLOGY.masters().values() for pid in (master, *children(master))],
            "PostgreSQL": backends(url)}


def cores_used(before: dict[str, dict[int, int]], seconds: float) -> dict[str, float]:
    """Cores each kind of process used since `before` (a process that ended meanwhile counts for nothing)."""
    return {name: read_bench.jiffies_since(ticks) / os.sysconf("SC_CLK_TCK") / seconds
            for name, ticks in before.items()}


def jiffies(by_kind: dict[str, list[int]]) -> dict[str, dict[int, int]]:
    return {name: read_bench.process_jiffies(pids) for name, pids in by_kind.items()}


def ours(url: str) -> list[int]:
    """nginx, the instances, and the PostgreSQL backends serving the benchmark's database."""
    return [pid for pids in groups(url).values() for pid in pids]


def renice(pids, nice: int) -> None:
    for pid in pids if nice else ():
        try:
            os.setpriority(os.PRIO_PROCESS, pid, nice)
        except (ProcessLookupError, PermissionError):
            pass


def drain() -> None:
    """Wait until each instance has served what the load left queued (sync workers serve it even when the client
    is gone): a request sent to each instance directly waits behind them."""
    for port in prod.WEB_PORTS:
        for _ in range(2):
            try:
                read_bench.drain(f"http://127.0.0.1:{port}", "/health")
            except OSError:
                pass  # /health answers 503 while the database is away; the queue is drained all the same


# --- Loads ------------------------------------------------------------------------------------------------------

def read_paths(url: str, seed: int = 1) -> tuple[str, dict[str, list[str]]]:
    """The tier-M consultation's slug, and its pages by kind: the index as a first visit (no seed: that of the
    minute), with seeds (later pages of a visitor's order), filtered by theme and kind, 500 published proposals."""
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        slug, _consultation_id, themes, proposals = read_bench.largest_consultation(connection)
    engine.dispose()
    rng = random.Random(seed)
    index = f"/consultations/{slug}/propositions"
    seeds = [rng.randrange(1, 2**31 - 1) for _ in range(5)]
    return slug, {
        "index, no seed": [index],
        "index with a seed (pages 1 to 3)": [f"{index}?seed={s}" + (f"&page={page}" if page > 1 else "")
                                             for s in seeds for page in (1, 2, 3)],
        "index by theme and kind": [f"{index}?theme={theme}&kind={kind}" for theme in themes
                                    for kind in ("need", "service")],
        "proposal page": [f"/propositions/{proposal_id}"
                          for proposal_id in rng.sample(proposals, min(PROPOSAL_PAGES, len(proposals)))],
    }


# How often each kind of page is asked for: half the requests are proposal pages, half the index.
READ_MIX = {"index, no seed": 0.2, "index with a seed (pages 1 to 3)": 0.15, "index by theme and kind": 0.15,
            "proposal page": 0.5}


def mixed_paths(kinds: dict[str, list[str]], size: int = 2000) -> list[str]:
    """A list where each kind of page takes its share of READ_MIX, its pages equally often."""
    mixed = []
    for kind, share in READ_MIX.items():
        pages = kinds[kind]
        mixed += [pages[number % len(pages)] for number in range(max(len(pages), round(share * size)))]
    return mixed


def kind_of(path: str) -> str:
    if path.startswith("/propositions/"):
        if path.endswith(("/soutenir", "/retirer-soutien")):
            return "supports"
        return "proposal page"
    if path.startswith("/compte/connexion"):
        return "sign-in"
    if "/propositions" in path:
        if "seed=" in path:
            return "index with a seed (pages 1 to 3)"
        return "index by theme and kind" if "theme=" in path else "index, no seed"
    return "other"


def visitor_cookie(app) -> str:
    """A visitor's session cookie holding only a language: nginx passes such requests to the instances."""
    return app.session_interface.get_signing_serializer(app).dumps({"locale": "fr"})


def write_read_script(work: Path, name: str, paths: list[str], cookie: str = "", think: float = 0) -> Path:
    path_file = work / f"{name}.txt"
    path_file.write_text("\n".join(paths) + "\n")
    script = work / f"{name}.lua"
    script.write_text(READ_LUA % {"paths": path_file, "cookie": cookie} + (THINK_LUA % {"think": think}
                                                                           if think else ""))
    return script


def write_support_script(work: Path, entry_file: Path, threads: int, think: float = 0) -> Path:
    script = work / f"supports-{threads}-{think:g}.lua"
    script.write_text(support_bench.LUA % {"mode": "real", "entries": entry_file, "threads": threads}
                      + (THINK_LUA % {"think": think} if think else ""))
    return script


class Load(threading.Thread):
    """A wrk run in the background (several loads at once, or a fault injected meanwhile)."""

    def __init__(self, script: Path, connections: int, threads: int, seconds: int, nice: int = 0):
        super().__init__(daemon=True)
        self.arguments = (TOPOLOGY.base, script, connections, threads, seconds)
        self.nice = nice
        self.result: dict | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.result = run_wrk(*self.arguments, nice=self.nice)
        except BaseException as error:  # run_wrk exits on failure: keep it for the main thread
            self.error = error

    def outcome(self) -> dict:
        self.join()
        if self.error is not None or self.result is None:
            sys.exit(f"wrk failed: {self.error}")
        return self.result


@dataclass
class Sample:
    at: float  # time.time()
    status: int  # 0: no answer
    seconds: float
    unavailable_page: bool  # the French "Service momentanément indisponible" page


@dataclass(eq=False)  # a thread is a key of threading's tables: hashed by identity
class Probe(threading.Thread):
    """One request every `interval` seconds through nginx (a path drawn from `paths`), each answer kept with its
    time and its own latency, uncorrected: what a person sees second by second. `keep_alive`: one connection
    kept open, as a browser does; else a connection per request."""

    paths: list[str]
    headers: dict
    interval: float = 0.1
    keep_alive: bool = False
    samples: list[Sample] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self):
        super().__init__(daemon=True)

    def run(self) -> None:
        host, port = TOPOLOGY.base.removeprefix("http://").split(":")
        rng, connection = random.Random(7), None
        while not self.stopping.is_set():
            started, began = time.time(), time.perf_counter()
            try:
                if connection is None:
                    connection = http.client.HTTPConnection(host, int(port), timeout=30)
                connection.request("GET", rng.choice(self.paths), headers=self.headers)
                response = connection.getresponse()
                text = response.read().decode(errors="replace")
                sample = Sample(started, response.status, time.perf_counter() - began, UNAVAILABLE_TEXT in text)
                if not self.keep_alive or response.will_close:
                    connection.close()
                    connection = None
            except (OSError, http.client.HTTPException):
                sample = Sample(started, 0, time.perf_counter() - began, False)
                if connection is not None:
                    connection.close()
                connection = None
            self.samples.append(sample)
            self.stopping.wait(max(0.0, self.interval - (time.perf_counter() - began)))

    def stop(self) -> list[Sample]:
        self.stopping.set()
        self.join()
        return self.samples


# --- Figures ----------------------------------------------------------------------------------------------------

def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


def cache_figures(entries: list[Entry]) -> dict:
    statuses = collections.Counter(entry.cache for entry in entries)
    served = sum(statuses[status] for status in FROM_CACHE)
    return {"lines": len(entries), "from_cache": served / len(entries) if entries else float("nan"),
            "statuses": statuses}


def wrk_row(label: str, r: dict, extra: str = "") -> str:
    return (f"| {label} | {r['rps']:.0f} | {r['p50'] / 1000:.1f} | {r['p95'] / 1000:.1f} | {r['p99'] / 1000:.1f} | "
            f"{r['non2xx']} | {r['errors'] - r['non2xx']} |{extra}")


def statuses_of(entries: list[Entry]) -> str:
    counts = collections.Counter(entry.status for entry in entries)
    return ", ".join(f"{status}: {count}" for status, count in sorted(counts.items())) or "none"


def upstream_split(entries: list[Entry]) -> str:
    """Requests each instance answered (nginx names the instances it tried, the last one answered)."""
    counts = collections.Counter(entry.upstream.split(", ")[-1] for entry in entries if entry.upstream != "-")
    return ", ".join(f"{address}: {count}" for address, count in sorted(counts.items())) or "none"


def header(title: str, url: str) -> None:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip()
    dirty = " with uncommitted changes" if subprocess.run(["git", "status", "--porcelain", "app", "config.py"],
                                                          cwd=ROOT, capture_output=True, text=True).stdout else ""
    workers = os.environ.get("GUNICORN_WORKERS", "2")
    print(f"## {title}\n\n{datetime.now():%Y-%m-%d %H:%M:%S}, {machine()}, load average "
          f"{os.getloadavg()[0]:.1f}; commit {commit}{dirty}; database {make_url(url).database}; nginx on "
          f"{prod.PORT} in front of {len(prod.WEB_PORTS)} gunicorn instances ({', '.join(map(str, prod.WEB_PORTS))}),"
          f" {workers} sync workers each (if GUNICORN_WORKERS is the same here as for `make prod-up`)\n", flush=True)


class Verdicts:
    """Targets and invariants: printed one per line, and the exit status."""

    def __init__(self):
        self.lines: list[tuple[bool, str]] = []

    def add(self, held: bool, text: str) -> None:
        self.lines.append((held, text))

    def finish(self) -> None:
        print("\n### Verdict\n")
        for held, text in self.lines:
            print(f"- {'held' if held else '**FAILED**'}: {text}")
        sys.exit(0 if all(held for held, _ in self.lines) else 1)


# --- read -------------------------------------------------------------------------------------------------------

def read(args) -> None:
    url = database_url()
    TOPOLOGY.check()
    app = create_app("production", SQLALCHEMY_DATABASE_URI=url, SECRET_KEY=os.environ["SECRET_KEY"])
    slug, kinds = read_paths(url)
    header(f"read: {args.connections} connections that never pause, through nginx", url)
    print(f"Pages of /consultations/{slug}: " + "; ".join(f"{kind}: {len(pages)} addresses, "
                                                        f"{READ_MIX[kind]:.0%} of requests"
                                                        for kind, pages in kinds.items()) + "\n")
    verdicts = Verdicts()
    runs = []
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        paths = mixed_paths(kinds)
        cookie = visitor_cookie(app)
        plans = [("visitors (nginx's cache)", write_read_script(work, "visitors", paths), args.duration, {})]
        if args.bypass_duration:
            plans.append(("a session cookie on every request (cache bypassed)",
                          write_read_script(work, "session", paths, cookie), args.bypass_duration,
                          {"Cookie": f"session={cookie}"}))
        for label, script, seconds, headers in plans:
            wait_for_quiet(args.quiet_limit, args.patience)
            if args.warmup:
                run_wrk(TOPOLOGY.base, script, args.connections, args.threads, args.warmup)
                drain()
            by_kind = groups(url)
            processes = [pid for pids in by_kind.values() for pid in pids]
            renice(processes, args.nice)
            access = LogWindow(TOPOLOGY.log_dir / "nginx-access.log")
            probe = Probe(paths, headers, interval=1 / args.probe_rate, keep_alive=True)
            before, began = jiffies(by_kind), time.monotonic()
            probe.start()
            result = run_wrk(TOPOLOGY.base, script, args.connections, args.threads, seconds, processes, args.nice)
            samples = probe.stop()
            result["split"] = cores_used(before, time.monotonic() - began)
            result["split"]["wrk"] = max(0.0, result["cores_ours"] - sum(result["split"].values()))
            drain()
            entries = access.entries()
            runs.append((label, seconds, result, entries, samples))
            print(f"  {label}: {result['rps']:.0f} req/s, wrk's p95 {result['p95'] / 1000:.1f} ms, the probe's "
                  f"{percentile([s.seconds for s in samples], 0.95) * 1000:.1f} ms, "
                  f"{cache_figures(entries)['from_cache']:.0%} from nginx's cache", flush=True)

    print("\nwrk's figures (its latencies include its correction for coordinated omission, as every wrk figure of "
          "bench/README.md does: a request slower than twice the mean interval between two requests of a connection "
          "also counts once for each multiple of that interval below its latency):\n")
    print("| run | seconds | requests/s | p50 ms | p95 ms | p99 ms | non-2xx | socket errors | wrk's mean interval "
          "ms | CPU ms/request | cores used: nginx, gunicorn, PostgreSQL, wrk | cores busy elsewhere |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |")
    for label, seconds, r, _entries, _samples in runs:
        interval = r["duration_us"] / 1000 / max(1, r["requests"] / args.connections)
        split = ", ".join(f"{cores:.2f}" for cores in r["split"].values())
        print(wrk_row(f"{label} | {seconds}", r, f" {interval:.2f} | {r['cpu_ms']:.1f} | {split} | "
                                                 f"{r['cores_others']:.2f} |"))

    print(f"\nEach request as it came, uncorrected: a probe on a connection of its own kept open ({args.probe_rate:g} "
          "requests a second, the same pages), and nginx's log:\n")
    print("| run | probe requests | probe p50 ms | p95 ms | p99 ms | max ms | served from nginx's cache | cache "
          "statuses | pages made again in the background (STALE) | time nginx kept that visitor's connection, p50 / "
          "p95 ms | requests answered by each instance |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | --- | --- |")
    for label, _seconds, _r, entries, samples in runs:
        cache = cache_figures(entries)
        statuses = ", ".join(f"{status} {count}" for status, count in cache["statuses"].most_common())
        probed = [sample.seconds * 1000 for sample in samples]
        refreshed = [entry.seconds * 1000 for entry in entries if entry.cache == "STALE"]
        print(f"| {label} | {len(probed)} | {percentile(probed, 0.5):.1f} | {percentile(probed, 0.95):.1f} | "
              f"{percentile(probed, 0.99):.1f} | {max(probed, default=float('nan')):.1f} | {cache['from_cache']:.1%} | "
              f"{statuses} | {len(refreshed)} | {percentile(refreshed, 0.5):.0f} / {percentile(refreshed, 0.95):.0f} | "
              f"{upstream_split(entries)} |")

    print("\nTime nginx took per request (its log's `$request_time`, ms), by kind of page and by where the answer "
          "came from:\n")
    print("| run | kind of page | requests | from cache | p50 ms from cache | p95 ms from cache | "
          "p50 ms made by Python | p95 ms made by Python |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for label, _seconds, _r, entries, _samples in runs:
        by_kind = collections.defaultdict(list)
        for entry in entries:
            by_kind[kind_of(entry.path)].append(entry)
        for kind in READ_MIX:
            found = by_kind.get(kind, [])
            cached = [entry.seconds * 1000 for entry in found if entry.cache in FROM_CACHE]
            made = [entry.seconds * 1000 for entry in found if entry.cache not in FROM_CACHE]
            print(f"| {label} | {kind} | {len(found)} | {len(cached) / max(1, len(found)):.1%} | "
                  f"{percentile(cached, 0.5):.1f} | {percentile(cached, 0.95):.1f} | {percentile(made, 0.5):.1f} | "
                  f"{percentile(made, 0.95):.1f} |")

    _label, _seconds, r, _entries, samples = runs[0]
    probed = percentile([sample.seconds for sample in samples], 0.95) * 1000
    verdicts.add(r["p95"] / 1000 < TARGET_P95_MS,
                 f"wrk's p95 {r['p95'] / 1000:.1f} ms through nginx's cache, target under {TARGET_P95_MS} ms")
    verdicts.add(probed < TARGET_P95_MS, f"the probe's p95 {probed:.1f} ms meanwhile (each request as it came), "
                                         f"target under {TARGET_P95_MS} ms")
    verdicts.add(r["errors"] == 0, f"{r['non2xx']} non-2xx answers and {r['errors'] - r['non2xx']} socket errors")
    if len(runs) > 1:
        bypassed, samples = runs[1][2], runs[1][4]
        print(f"\nWithout the cache: wrk's p95 {bypassed['p95'] / 1000:.0f} ms (the probe's "
              f"{percentile([sample.seconds for sample in samples], 0.95) * 1000:.0f} ms), {bypassed['rps']:.0f} "
              f"req/s ({bypassed['cpu_ms']:.1f} ms of CPU a request), against {r['p95'] / 1000:.1f} ms "
              f"({probed:.1f} ms) and {r['rps']:.0f} req/s with it.")
    verdicts.finish()


# --- supports and the faults ------------------------------------------------------------------------------------

@dataclass
class SupportBench:
    """support_bench's consultation, officials and wrk script, aimed at nginx."""

    app: object
    url: str
    consultation: Consultation
    consultation_id: int
    work: Path
    entry_file: Path

    @classmethod
    def prepare(cls, args, work: Path) -> "SupportBench":
        url = database_url()
        TOPOLOGY.check()
        app = create_app("production", SQLALCHEMY_DATABASE_URI=url, SECRET_KEY=os.environ["SECRET_KEY"])
        context = app.app_context()
        context.push()
        consultation = support_bench.prepare(args.officials, args.proposals)
        window = consultation.phase(PhaseKind.SUPPORT)
        now = datetime.now(window.ends_at.tzinfo)
        if not window.starts_at <= now < window.ends_at:
            sys.exit(f"The support window of {support_bench.SLUG} ({window.starts_at:%Y-%m-%d} to "
                     f"{window.ends_at:%Y-%m-%d}) is not open: delete that consultation, it is made again.")
        support_bench.reset(consultation)
        entry_file = work / "entries.txt"
        entry_file.write_text("\n".join(support_bench.entries(app, consultation, seed=1)) + "\n")
        return cls(app, url, consultation, consultation.id, work, entry_file)

    def script(self, threads: int, think: float) -> Path:
        return write_support_script(self.work, self.entry_file, threads, think)

    def refresh(self) -> None:
        """A new database session: the previous one may hold a connection PostgreSQL closed (restart-postgres),
        which cannot even roll back: dropped without a word."""
        db.session().invalidate()
        self.consultation = db.session.get(Consultation, self.consultation_id)

    def checks(self, verdicts: Verdicts) -> int:
        """Every invariant after a run; the supports stored."""
        self.refresh()
        c = self.consultation_id
        problems = support_bench.invariants(self.consultation, limited=True)
        verdicts.add(not problems, "no organization over its limit, proposal counters = stored supports, quotas = "
                                   f"stored supports{': ' + '; '.join(problems) if problems else ''}")
        duplicates = db.session.scalar(sa.text(
            "SELECT count(*) FROM (SELECT 1 FROM supports WHERE consultation_id = :c "
            "GROUP BY proposal_id, organization_id HAVING count(*) > 1) AS twice"), {"c": c})
        verdicts.add(duplicates == 0, f"{duplicates} (organization, proposal) pairs with more than one support")
        repeated, first_withdraw = db.session.execute(sa.text(
            "SELECT count(*) FILTER (WHERE action = previous), count(*) FILTER (WHERE n = 1 AND action <> 'cast') "
            "FROM (SELECT action, lag(action) OVER pair AS previous, row_number() OVER pair AS n "
            "      FROM support_events WHERE consultation_id = :c "
            "      WINDOW pair AS (PARTITION BY organization_id, proposal_id ORDER BY id)) AS journal"),
            {"c": c}).one()
        disagree = db.session.scalar(sa.text(
            "SELECT count(*) FROM (SELECT DISTINCT ON (organization_id, proposal_id) organization_id, proposal_id, "
            "      action FROM support_events WHERE consultation_id = :c ORDER BY organization_id, proposal_id, id DESC"
            "  ) AS last FULL JOIN (SELECT organization_id, proposal_id FROM supports WHERE consultation_id = :c) "
            "  AS stored USING (organization_id, proposal_id) "
            "WHERE coalesce(last.action = 'cast', false) <> (stored.proposal_id IS NOT NULL)"), {"c": c})
        events = db.session.scalar(sa.text("SELECT count(*) FROM support_events WHERE consultation_id = :c"),
                                   {"c": c})
        verdicts.add(repeated == first_withdraw == disagree == 0,
                     f"journal of {events} casts and withdrawals agrees with the supports: {repeated} repeated "
                     f"actions in a row for a pair, {first_withdraw} pairs starting with a withdrawal, {disagree} "
                     "pairs whose last act differs from what is stored")
        return db.session.scalar(sa.select(sa.func.count()).select_from(Support).where(Support.consultation_id == c))

    def freeze_and_clean(self, verdicts: Verdicts) -> None:
        """Freeze the tally as the app does once the window has ended (the service the tally page calls), check
        its digest against the stored file and against the supports, then empty the consultation again."""
        self.refresh()
        end = self.consultation.phase(PhaseKind.SUPPORT).ends_at
        started = time.perf_counter()
        tally = frozen_tally(self.consultation, now=end)
        db.session.commit()
        seconds = time.perf_counter() - started
        db.session.expire_all()
        stored = db.session.get(Tally, self.consultation.id)
        content = stored.content
        rebuilt = tally_file(tally_rows(self.consultation))
        verdicts.add(tally is not None and digest_of(content) == stored.digest and rebuilt == content,
                     f"tally frozen by app.votes.services.frozen_tally in {seconds:.2f} s: {stored.support_count} "
                     f"counted supports, digest {stored.digest[:16]}…; SHA-256 of the stored file "
                     f"{'equals' if digest_of(content) == stored.digest else 'DIFFERS FROM'} it; the file made again "
                     f"from the stored supports {'is identical' if rebuilt == content else 'DIFFERS'}")
        support_bench.reset(self.consultation)
        left = db.session.scalar(sa.select(sa.func.count()).select_from(Tally).where(
            Tally.consultation_id == self.consultation.id))
        verdicts.add(left == 0, "tally and supports of the bench consultation emptied for the next run")


def support_table(rows: list[tuple[str, dict, list[Entry]]], cpu: bool = False) -> None:
    """wrk's figures and nginx's statuses; CPU per request only for a load that ran alone (wrk's CPU is counted
    from its finished children)."""
    print("| run | requests/s | p50 ms | p95 ms | p99 ms | not 302 (wrk) | socket errors | statuses (nginx log) | "
          "requests per instance | CPU ms/request |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | ---: |")
    for label, r, entries in rows:
        print(wrk_row(label, r, f" {statuses_of(entries)} | {upstream_split(entries)} | "
                                f"{r['cpu_ms']:.1f} |" if cpu else " – |"))


def supports(args) -> None:
    verdicts = Verdicts()
    with tempfile.TemporaryDirectory() as folder:
        bench = SupportBench.prepare(args, Path(folder))
        header(f"supports: {args.officials} officials through nginx", bench.url)
        print(f"{args.officials} officials of as many communes, slates of {support_bench.SLATE} proposals for a "
              f"limit of {support_bench.VOTE_LIMIT}; wrk -c{args.connections}"
              f"{f', each connection pausing 0.5 to 1.5 × {args.think:g} s' if args.think else ', no pause'}\n")
        wait_for_quiet(args.quiet_limit, args.patience)
        script = bench.script(min(args.threads, args.connections), args.think)
        if args.warmup:
            run_wrk(TOPOLOGY.base, script, args.connections, args.threads, args.warmup)
            drain()
        processes = ours(bench.url)
        renice(processes, args.nice)
        access = LogWindow(TOPOLOGY.log_dir / "nginx-access.log")
        result = run_wrk(TOPOLOGY.base, script, args.connections, args.threads, args.duration, processes, args.nice)
        drain()
        entries = [entry for entry in access.entries() if entry.method == "POST"]
        support_table([(f"{args.connections} connections, think {args.think:g} s", result, entries)], cpu=True)
        stored = bench.checks(verdicts)
        print(f"\n{stored} supports stored after the run; CPU busy elsewhere during it: "
              f"{result['cores_others']:.2f} cores")
        verdicts.add(result["p95"] / 1000 < TARGET_P95_MS,
                     f"p95 {result['p95'] / 1000:.1f} ms, target under {TARGET_P95_MS} ms")
        verdicts.add(result["errors"] == 0, f"every answer the expected redirect (302): {result['non2xx']} other "
                                            f"statuses, {result['errors'] - result['non2xx']} socket errors")
        bench.freeze_and_clean(verdicts)
    verdicts.finish()


def kill_worker(args) -> None:
    verdicts = Verdicts()
    with tempfile.TemporaryDirectory() as folder:
        bench = SupportBench.prepare(args, Path(folder))
        header(f"kill-worker: supports through nginx, {args.kills} gunicorn workers killed (SIGKILL)", bench.url)
        script = bench.script(min(args.threads, args.connections), args.think)
        renice(ours(bench.url), args.nice)
        logs = process_logs()
        access = LogWindow(TOPOLOGY.log_dir / "nginx-access.log")
        load = Load(script, args.connections, args.threads, args.duration, args.nice)
        load.start()
        kills, ports = [], list(prod.WEB_PORTS)
        began = time.time()
        for number in range(args.kills):
            time.sleep(max(0.0, args.duration * (number + 1) / (args.kills + 1) - (time.time() - began)))
            port = ports[number % len(ports)]
            victim = random.choice(TOPOLOGY.workers(port))
            os.kill(victim, signal.SIGKILL)
            kills.append((time.time() - began, port, victim))
            print(f"  {time.time() - began:5.1f} s: SIGKILL to worker {victim} of the instance on {port}", flush=True)
        result = load.outcome()
        drain()
        entries = [entry for entry in access.entries() if entry.method == "POST"]
        print()
        support_table([(f"{args.connections} connections, {args.kills} workers killed", result, entries)])
        statuses = collections.Counter(entry.status for entry in entries)
        answered = result["errors"] - result["non2xx"] == 0
        # 499: requests wrk left unanswered when it stopped (nginx logs the client's leaving), not a failure.
        verdicts.add(answered and set(statuses) <= {302, 499, 500, 502, 503, 504},
                     f"every request answered: done (302: {statuses[302]}) or refused with an error status "
                     f"({', '.join(f'{s}: {n}' for s, n in sorted(statuses.items()) if s != 302) or 'none'}); "
                     f"{result['errors'] - result['non2xx']} socket errors or timeouts at the client")
        stored = bench.checks(verdicts)
        print(f"\n{stored} supports stored after the run")

        # A page rather than /health, which also answers 503 when the database is behind the migrations' head.
        page = f"/consultations/{support_bench.SLUG}"
        print(f"\n| instance | killed workers | workers now | `{page}` asked of it directly, 8 times | supports "
              "answered by it after the last kill |")
        print("| --- | --- | --- | --- | ---: |")
        last_kill = datetime.fromtimestamp(began + kills[-1][0]).astimezone() if kills else None
        for port in prod.WEB_PORTS:
            killed = [victim for _at, killed_port, victim in kills if killed_port == port]
            now = TOPOLOGY.workers(port)
            answers = collections.Counter()
            for _ in range(8):
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}{page}", timeout=30) as answer:
                        answers[answer.status] += 1
                except urllib.error.HTTPError as error:
                    answers[error.code] += 1
                except OSError:
                    answers["no answer"] += 1
            after = sum(1 for entry in entries if entry.upstream.endswith(f":{port}") and last_kill
                        and entry.at > last_kill)
            workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
            serving = answers == {200: 8} and len(now) == workers and not set(killed) & set(now)
            verdicts.add(serving, f"instance {port} serves after the kills: workers {now} (killed {killed}), "
                                  f"{page} asked directly: {dict(answers)}, {after} supports answered after "
                                  "the last kill")
            print(f"| {port} | {', '.join(map(str, killed)) or 'none'} | {', '.join(map(str, now))} | "
                  f"{', '.join(f'{s}: {n}' for s, n in answers.items())} | {after} |")
        print("\nAfter each kill, until the next (nginx's log, to the second): the requests that instance answered "
              "with an error, those nginx refused without asking any instance (`no live upstreams`), and the first "
              "second it answered a support again:\n")
        print("| at s | instance | worker | 502 from that instance | 502 from nginx, no instance tried | "
              "supports done meanwhile | that instance answers again after s |")
        print("| ---: | --- | ---: | ---: | ---: | ---: | ---: |")
        for number, (at, port, victim) in enumerate(kills):
            start = int(began + at)
            end = began + kills[number + 1][0] if number + 1 < len(kills) else float("inf")
            window = [e for e in entries if start <= e.at.timestamp() < end]
            own = sum(e.status == 502 and e.upstream.endswith(f":{port}") for e in window)
            nobody = sum(e.status == 502 and not e.upstream.startswith("127.") for e in window)
            again = next((e.at.timestamp() - (began + at) for e in window
                          if e.status == 302 and e.upstream.endswith(f":{port}") and e.at.timestamp() > began + at),
                         float("nan"))
            print(f"| {at:.1f} | {port} | {victim} | {own} | {nobody} | {sum(e.status == 302 for e in window)} | "
                  f"{again:.0f} |")
        print("\nWhat the processes logged meanwhile:\n")
        print("\n".join(log_digest(logs, {"SIGKILL noticed": "SIGKILL|was sent|Worker .* exited",
                                          "worker booted": "Booting worker",
                                          "tracebacks": "Traceback",
                                          "nginx upstream errors": "upstream prematurely closed|connect\\(\\) failed|"
                                                                   "no live upstreams|recv\\(\\) failed"}))
              or "(nothing)")
        bench.freeze_and_clean(verdicts)
    verdicts.finish()


def busy_processes() -> str:
    """What a PostgreSQL restart would break: tests, migrations, data generation, copies."""
    return subprocess.run(["pgrep", "-af", BUSY_PATTERN], capture_output=True, text=True).stdout.strip()


def wait_for_idle_machine(minutes: float) -> bool:
    """Whether nothing that a fault would break runs, after waiting up to `minutes` for it (polling every 30 s)."""
    print(f"Waiting until no test, migration or generation runs (pgrep -f '{BUSY_PATTERN}'), up to {minutes:g} "
          "minutes…", flush=True)
    deadline = time.monotonic() + minutes * 60
    while True:
        busy = busy_processes()
        if not busy:
            return True
        if time.monotonic() > deadline:
            print(f"Still busy after {minutes:g} minutes:\n{busy}")
            return False
        print(f"  waiting 30 s: {len(busy.splitlines())} processes would break ({busy.splitlines()[0][:100]}…)",
              flush=True)
        time.sleep(30)


def postgres_cluster(url: str) -> tuple[str, str]:
    """The version and name of the Debian cluster listening on the database's port (pg_lsclusters)."""
    port = str(make_url(url).port or 5432)
    for line in subprocess.run(["pg_lsclusters", "--no-header"], capture_output=True, text=True,
                               check=True).stdout.splitlines():
        version, name, cluster_port, *_ = line.split()
        if cluster_port == port:
            return version, name
    sys.exit(f"No PostgreSQL cluster of this machine listens on {port} (pg_lsclusters).")


def per_second(entries: list[Entry], origin: float, first: int, last: int) -> None:
    """Statuses per second from `origin` (nginx's log is to the second), supports apart from reads."""
    table = collections.defaultdict(collections.Counter)
    for entry in entries:
        kind = "supports" if kind_of(entry.path) == "supports" else "reads"
        table[int(entry.at.timestamp() - int(origin))][kind, entry.status] += 1
    statuses = sorted({key for counts in table.values() for key in counts})
    print("| second | " + " | ".join(f"{kind} {status}" for kind, status in statuses) + " |")
    print("| ---: |" + " ---: |" * len(statuses))
    for second in range(first, last + 1):
        counts = table.get(second, {})
        print(f"| {second:+d} | " + " | ".join(str(counts.get(key, 0) or "") for key in statuses) + " |")


def restart_postgres(args) -> None:
    if not args.restart_the_machines_postgresql:
        sys.exit("restart-postgres restarts the machine's PostgreSQL server, which then runs as a child of this "
                 "session and may stop with it (a Redis restarted so did): the next test run, CI's included, would "
                 "find no database. Rerun with --restart-the-machines-postgresql once that is taken care of.")
    verdicts = Verdicts()
    version, cluster = postgres_cluster(prod.DATABASE_URL)
    with tempfile.TemporaryDirectory() as folder:
        bench = SupportBench.prepare(args, Path(folder))
        if not wait_for_idle_machine(args.wait_minutes):
            print("\nSkipped: PostgreSQL was not restarted (other sessions' tests or migrations kept running).")
            sys.exit(2)
        header(f"restart-postgres: `pg_ctlcluster {version} {cluster} restart` under load", bench.url)
        slug, kinds = read_paths(bench.url)
        cookie = visitor_cookie(bench.app)
        reads = write_read_script(bench.work, "reads", mixed_paths(kinds), cookie, args.read_think)
        support_script = bench.script(min(args.threads, args.support_connections), args.think)
        print(f"Loads: supports, wrk -c{args.support_connections} (pause {args.think:g} s); reads with a session "
              f"cookie, wrk -c{args.read_connections} (pause {args.read_think:g} s); a probe reading a proposal page "
              f"with the cookie every 0.1 s. PostgreSQL restarted {args.restart_at} s into {args.duration} s.\n")
        renice(ours(bench.url), args.nice)
        logs = process_logs()
        access = LogWindow(TOPOLOGY.log_dir / "nginx-access.log")
        probe = Probe([kinds["proposal page"][0] + "?sonde=1"], {"Cookie": f"session={cookie}"})
        loads = [Load(support_script, args.support_connections, args.threads, args.duration, args.nice),
                 Load(reads, args.read_connections, args.threads, args.duration, args.nice)]
        for load in loads:
            load.start()
        probe.start()
        time.sleep(args.restart_at)
        busy = busy_processes()
        if busy:  # started since the wait: the restart would break it
            for load in loads:
                load.outcome()
            probe.stop()
            print(f"\nSkipped: PostgreSQL was not restarted, a test started during the load:\n{busy}")
            sys.exit(2)
        restart_began = time.time()
        restarted = subprocess.run(["pg_ctlcluster", version, cluster, "restart"], capture_output=True, text=True)
        restart_ended = time.time()
        print(f"  pg_ctlcluster {version} {cluster} restart: {restart_ended - restart_began:.1f} s, exit status "
              f"{restarted.returncode} {restarted.stderr.strip()}", flush=True)
        results = [load.outcome() for load in loads]
        time.sleep(1)
        samples = probe.stop()
        drain()
        entries = access.entries()

        down = [s for s in samples if s.at >= restart_began and s.status != 200]
        first_down = down[0].at if down else None
        back = next((s for s in samples if first_down and s.at > first_down and s.status == 200), None)
        last_bad = max((s.at for s in samples if s.status != 200), default=None)
        print()
        support_table([("supports", results[0], [e for e in entries if e.method == "POST"]),
                       ("reads with a session cookie", results[1],
                        [e for e in entries if e.method == "GET" and "sonde=1" not in e.path])])
        print(f"\nStatuses per second (nginx's log), from the restart command (second 0 = {restart_began % 60:.1f} s "
              f"past the minute; it returned {restart_ended - restart_began:.1f} s later):\n")
        last_second = int((last_bad or restart_ended) - int(restart_began)) + 3
        per_second(entries, restart_began, -3, last_second)
        probe_statuses = collections.Counter(s.status for s in samples if s.status != 200)
        pages = collections.Counter((s.status, s.unavailable_page) for s in samples if s.status != 200)
        print(f"\nProbe (a proposal page with a session cookie every 0.1 s): {len(samples)} requests; answers other "
              f"than 200: {dict(probe_statuses) or 'none'}; first at "
              f"{(first_down - restart_began) if first_down else float('nan'):+.2f} s, last at "
              f"{(last_bad - restart_began) if last_bad else float('nan'):+.2f} s; first 200 after them at "
              f"{(back.at - restart_began) if back else float('nan'):+.2f} s from the restart command, "
              f"{(back.at - restart_ended) if back else float('nan'):+.2f} s from its return.")
        print(f"Those answers carrying « {UNAVAILABLE_TEXT} »: "
              + ", ".join(f"{status}: {'yes' if french else 'no'} × {count}"
                          for (status, french), count in sorted(pages.items())))
        print("\nWhat the processes logged meanwhile:\n")
        print("\n".join(log_digest(logs, {"database unreachable (503)": "Database unreachable",
                                          "tracebacks": "Traceback",
                                          "errors": r"\[ERROR\]|\[CRITICAL\]|ERROR in ",
                                          "worker restarts": "Booting worker|WORKER TIMEOUT|was sent"}))
              or "(nothing)")
        statuses = collections.Counter(entry.status for entry in entries)
        verdicts.add(restarted.returncode == 0, f"PostgreSQL restarted ({restart_ended - restart_began:.1f} s)")
        verdicts.add(statuses[500] == 0, f"{statuses[500]} answers 500 (nginx log) during the run")
        verdicts.add(all(s.status == 503 and s.unavailable_page for s in down),
                     "while the database was away, pages answered 503 with the French page (probe: "
                     f"{', '.join(f'{s}: {n}' for s, n in sorted(probe_statuses.items())) or 'no failure seen'})")
        verdicts.add(back is not None, "pages made again without restarting gunicorn"
                     + (f": first 200 {back.at - restart_began:.1f} s after the restart began" if back else ""))
        for pid_name in ("mail", "jobs", *(f"web-{port}" for port in prod.WEB_PORTS)):
            verdicts.add(pid_name in prod.running(), f"{pid_name} still running")
        bench.checks(verdicts)
        bench.freeze_and_clean(verdicts)
    verdicts.finish()


def sign_in_attempts(rate: float, stopping: threading.Event, records: list) -> None:
    """A script trying passwords for one address: `rate` attempts a second, each answer kept with its time."""
    host, port = TOPOLOGY.base.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    connection.request("GET", "/compte/connexion")
    response = connection.getresponse()
    page = response.read().decode()
    cookie = re.search(r"session=([^;]+)", response.getheader("Set-Cookie") or "")[1]
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)[1]
    body = f"email=inconnu.banc%40example.org&password=mauvais-mot-de-passe&csrf_token={token}"
    headers = {"Cookie": f"session={cookie}", "Content-Type": "application/x-www-form-urlencoded"}
    while not stopping.is_set():
        began = time.perf_counter()
        try:
            connection.request("POST", "/compte/connexion", body=body, headers=headers)
            answer = connection.getresponse()
            answer.read()
            records.append((time.time(), answer.status))
        except (OSError, http.client.HTTPException):
            connection.close()
            connection = http.client.HTTPConnection(host, int(port), timeout=30)
            records.append((time.time(), 0))
        stopping.wait(max(0.0, 1 / rate - (time.perf_counter() - began)))


def stop_redis(args) -> None:
    verdicts = Verdicts()
    with tempfile.TemporaryDirectory() as folder:
        bench = SupportBench.prepare(args, Path(folder))
        if not prod.OWN_REDIS:
            sys.exit("PROD_REDIS_URL names a Redis the topology did not start: it is not stopped here.")
        header(f"stop-redis: Redis stopped {args.stop_for} s under reads, supports and sign-in attempts", bench.url)
        slug, kinds = read_paths(bench.url)
        cookie = visitor_cookie(bench.app)
        reads = write_read_script(bench.work, "reads", mixed_paths(kinds), think=args.read_think)
        support_script = bench.script(min(args.threads, args.support_connections), args.think)
        print(f"Loads: visitors' reads, wrk -c{args.read_connections} (pause {args.read_think:g} s); supports, wrk "
              f"-c{args.support_connections} (pause {args.think:g} s); sign-in attempts with a wrong password from "
              f"one address, {args.sign_in_rate:g} a second (SIGN_IN_RATE_LIMIT, default 10 a minute per address and "
              f"per account); a probe reading a proposal page with a session cookie every 0.1 s. Redis stopped "
              f"{args.stop_at} s into {args.duration} s.\n")
        renice(ours(bench.url), args.nice)
        logs = process_logs()
        access = LogWindow(TOPOLOGY.log_dir / "nginx-access.log")
        probe = Probe([kinds["proposal page"][0] + "?sonde=1"], {"Cookie": f"session={cookie}"})
        loads = [Load(reads, args.read_connections, args.threads, args.duration, args.nice),
                 Load(support_script, args.support_connections, args.threads, args.duration, args.nice)]
        # Several clients, each with its own form: one alone waits for each answer (Argon2 takes a tenth of a
        # second or more), too slow to reach the limit of every process while Redis is away.
        stopping, attempts = threading.Event(), []
        signers = [threading.Thread(target=sign_in_attempts, args=(args.sign_in_rate / args.sign_in_clients,
                                                                   stopping, attempts), daemon=True)
                   for _ in range(args.sign_in_clients)]
        began = time.time()
        for thread in (*loads, probe, *signers):
            thread.start()
        stopped = started = None
        time.sleep(args.stop_at)
        redis_ping = ["redis-cli", "-p", str(prod.REDIS_PORT), "ping"]
        try:
            shutdown = subprocess.run(["redis-cli", "-p", str(prod.REDIS_PORT), "shutdown", "nosave"],
                                      capture_output=True, text=True)
            stopped = time.time()
            print(f"  {stopped - began:5.1f} s: redis-cli shutdown nosave → {shutdown.returncode} "
                  f"{(shutdown.stdout + shutdown.stderr).strip()}", flush=True)
            time.sleep(args.stop_for)
        finally:  # whatever happened: the topology keeps its Redis
            prod.start_redis(prod.environment())
            started = time.time()
            print(f"  {started - began:5.1f} s: Redis started again", flush=True)
        results = [load.outcome() for load in loads]
        stopping.set()
        for signer in signers:
            signer.join()
        samples = probe.stop()
        drain()
        entries = access.entries()
        pong = subprocess.run(redis_ping, capture_output=True, text=True).stdout.strip()
        verdicts.add(pong == "PONG", f"Redis answers after the run (`redis-cli ping`: {pong or 'nothing'})")

        print()
        support_table([("visitors' reads", results[0], [e for e in entries if e.method == "GET"
                                                         and "sonde=1" not in e.path
                                                         and not e.path.startswith("/compte")]),
                       ("supports", results[1], [e for e in entries if kind_of(e.path) == "supports"])])

        def phase(at: float) -> str:
            return "before" if at < stopped else "Redis stopped" if at < started else "after"

        print("\n| phase | seconds | probe (page with a session) | probe p95 ms | sign-in attempts | of which refused "
              "(429) | supports (nginx log) | all requests answered 500 |")
        print("| --- | ---: | --- | ---: | ---: | ---: | --- | ---: |")
        bounds = {"before": (began, stopped), "Redis stopped": (stopped, started),
                  "after": (started, max(s.at for s in samples))}
        for name, (start_at, end_at) in bounds.items():
            probed = collections.Counter(s.status for s in samples if phase(s.at) == name)
            tried = [status for at, status in attempts if phase(at) == name]
            in_phase = [e for e in entries if start_at - 1 <= e.at.timestamp() < end_at]
            posts = collections.Counter(e.status for e in in_phase if kind_of(e.path) == "supports")
            latency = percentile([s.seconds * 1000 for s in samples if phase(s.at) == name], 0.95)
            print(f"| {name} | {end_at - start_at:.1f} | {', '.join(f'{s}: {n}' for s, n in sorted(probed.items()))} | "
                  f"{latency:.0f} | {len(tried)} | {sum(status == 429 for status in tried)} | "
                  f"{', '.join(f'{s}: {n}' for s, n in sorted(posts.items()))} | "
                  f"{sum(e.status == 500 for e in in_phase)} |")
        during = [e for e in entries if e.method == "POST" and e.path.startswith("/compte/connexion")
                  and stopped <= e.at.timestamp() < started]
        accepted = collections.Counter(e.upstream for e in during if e.status != 429)
        print(f"\nSign-in attempts let through while Redis was stopped, per instance (nginx log, to the second): "
              f"{dict(accepted) or 'none'}; refused: {sum(e.status == 429 for e in during)}")
        print("\nWhat the processes logged meanwhile:\n")
        print("\n".join(log_digest(logs, {"fallback to memory": "falling back to in-memory",
                                          "storage recovered": "storage recovered",
                                          "tracebacks": "Traceback", "errors": r"\[ERROR\]|ERROR in|Exception on",
                                          "redis errors": "ConnectionError|Connection refused"}))
              or "(nothing)")
        statuses = collections.Counter(e.status for e in entries)
        verdicts.add(statuses[500] == 0, f"{statuses[500]} answers 500 during the run (nginx log: "
                                         f"{statuses_of(entries)})")
        outage = [s for s in samples if stopped <= s.at < started]
        verdicts.add(bool(outage) and all(s.status == 200 for s in outage),
                     f"pages kept answering 200 while Redis was stopped (probe: "
                     f"{dict(collections.Counter(s.status for s in outage))})")
        tried = [status for at, status in attempts if stopped <= at < started]
        # Each process counts alone in memory: at most the limit per process (10 a minute by default) get through.
        processes = sum(len(TOPOLOGY.workers(port)) for port in prod.WEB_PORTS)
        verdicts.add(429 in tried and tried.count(200) <= 10 * processes,
                     f"sign-in attempts still limited while Redis was stopped: {len(tried)} attempts, "
                     f"{tried.count(429)} refused (429), {tried.count(200)} answered (at most 10 per process "
                     f"× {processes} processes with the default SIGN_IN_RATE_LIMIT)")
        bench.checks(verdicts)
        support_bench.reset(bench.consultation)
    verdicts.finish()


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("Stopped."))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    def command(name: str, help_text: str, duration: int) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument("--duration", type=int, default=duration, help="seconds of load")
        sub.add_argument("--threads", type=int, default=2, help="wrk threads")
        sub.add_argument("--nice", type=int, default=0,
                         help="priority of nginx, the instances, their PostgreSQL backends and wrk (e.g. -10)")
        sub.add_argument("--quiet-limit", type=float, default=0.15, help="wait for the machine to be less busy")
        sub.add_argument("--patience", type=float, default=120, help="seconds to wait for a quiet machine")
        return sub

    sub = command("read", "visitors reading through nginx's cache, then with a session cookie", 30)
    sub.add_argument("--connections", type=int, default=50)
    sub.add_argument("--warmup", type=int, default=15, help="seconds of load first (the cache filled, then renewed)")
    sub.add_argument("--bypass-duration", type=int, default=15, help="seconds with a session cookie (0: none)")
    sub.add_argument("--probe-rate", type=float, default=20, help="requests a second of the uncorrected probe")
    sub.set_defaults(run=read)

    for name, help_text, duration, connections, think in (
            ("supports", "officials casting and withdrawing through nginx", 30, 200, 2.0),
            ("kill-worker", "supports while gunicorn workers are killed", 20, 10, 0.0),
            ("restart-postgres", "supports and reads while PostgreSQL restarts", 40, 20, 0.5),
            ("stop-redis", "reads, supports and sign-in attempts while Redis is stopped", 45, 10, 0.5)):
        sub = command(name, help_text, duration)
        sub.add_argument("--officials", type=int, default=200)
        sub.add_argument("--proposals", type=int, default=2000)
        sub.add_argument("--think", type=float, default=think,
                         help="seconds each supports connection pauses between requests, on average (0: none)")
        if name in ("supports", "kill-worker"):
            sub.add_argument("--connections", type=int, default=connections)
        else:
            sub.add_argument("--support-connections", type=int, default=connections)
            sub.add_argument("--read-connections", type=int, default=20)
            sub.add_argument("--read-think", type=float, default=1.0 if name == "restart-postgres" else 0.2,
                             help="seconds each reading connection pauses between pages, on average")
        if name == "supports":
            sub.add_argument("--warmup", type=int, default=3)
        if name == "kill-worker":
            sub.add_argument("--kills", type=int, default=3)
        if name == "restart-postgres":
            sub.add_argument("--restart-the-machines-postgresql", action="store_true",
                             help="required: the restarted server belongs to this session from then on")
            sub.add_argument("--wait-minutes", type=float, default=20,
                             help="how long to wait for other sessions' tests to finish before the fault")
        if name == "restart-postgres":
            sub.add_argument("--restart-at", type=int, default=12, help="seconds into the load")
        if name == "stop-redis":
            sub.add_argument("--stop-at", type=int, default=15, help="seconds into the load")
            sub.add_argument("--stop-for", type=int, default=10, help="seconds Redis stays stopped")
            sub.add_argument("--sign-in-rate", type=float, default=20, help="sign-in attempts a second, in all")
            sub.add_argument("--sign-in-clients", type=int, default=8, help="clients sharing those attempts")
        sub.set_defaults(run={"supports": supports, "kill-worker": kill_worker, "restart-postgres": restart_postgres,
                              "stop-redis": stop_redis}[name])
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: apt-get install -y wrk")
    args.run(args)


if __name__ == "__main__":
    main()
