"""Rate limits are shared by every web process: two processes on the same Redis count together; without Redis,
each counts alone and the site keeps serving."""

import socket
import subprocess
import sys
import uuid

import pytest
import redis

from config import ROOT
from tests.browser import in_ci

REDIS_URL = "redis://127.0.0.1:6379/15"
# A web process of its own, signing in twice with an empty form (refused before any database is read).
WEB_PROCESS = """
import sys
from app import create_app
app = create_app("test", SQLALCHEMY_DATABASE_URI="sqlite://", RATELIMIT_STORAGE_URI=sys.argv[1],
                 RATELIMIT_KEY_PREFIX=sys.argv[2], SIGN_IN_RATE_LIMIT="3 per minute", WTF_CSRF_ENABLED=False)
client = app.test_client()
print(*(client.post("/compte/connexion", data={}).status_code for _ in range(2)))
"""


def sign_in_twice(storage: str, prefix: str) -> str:
    return subprocess.run([sys.executable, "-c", WEB_PROCESS, storage, prefix], cwd=ROOT, capture_output=True,
                          text=True, check=True).stdout.strip()


@pytest.fixture
def prefix():
    """A key prefix of this test's own, so that runs never share counters."""
    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.ConnectionError:
        if in_ci():
            pytest.fail("Redis absent (127.0.0.1:6379) : la CI doit vérifier les limites partagées")
        pytest.skip("Redis absent (127.0.0.1:6379)")
    return uuid.uuid4().hex


def test_two_web_processes_on_the_same_redis_count_towards_one_limit(prefix):
    assert sign_in_twice(REDIS_URL, prefix) == "200 200"
    assert sign_in_twice(REDIS_URL, prefix) == "200 429"  # the fourth attempt of three allowed, in another process


def test_in_memory_each_process_counts_alone(prefix):
    """Why production sets RATELIMIT_STORAGE_URI: memory, the default, is one process's own."""
    assert sign_in_twice("memory://", prefix) == sign_in_twice("memory://", prefix) == "200 200"


# A web process whose Redis is away: the sign-in page, then four sign-in attempts of three allowed, each timed.
REDIS_AWAY_PROCESS = """
import sys
import time
from app import create_app
app = create_app("test", SQLALCHEMY_DATABASE_URI="sqlite://", RATELIMIT_STORAGE_URI=sys.argv[1],
                 SIGN_IN_RATE_LIMIT="3 per minute", WTF_CSRF_ENABLED=False)
client = app.test_client()
print(client.get("/compte/connexion").status_code)
for _ in range(4):
    start = time.perf_counter()
    status = client.post("/compte/connexion", data={}).status_code
    print(status, time.perf_counter() - start)
"""


@pytest.fixture(params=["refused", "silent"])
def redis_away(request):
    """The URL of a Redis that is not there: nothing listens on its port (stopped), or something accepts
    connections and never answers (a hung server)."""
    if request.param == "refused":
        yield "redis://127.0.0.1:1/0"
        return
    with socket.create_server(("127.0.0.1", 0), backlog=16) as silent:  # never accepts: the kernel does
        yield f"redis://127.0.0.1:{silent.getsockname()[1]}/0"


def test_without_redis_the_site_serves_and_each_process_limits_alone(redis_away):
    """RATELIMIT_IN_MEMORY_FALLBACK_ENABLED: the limits hold, counted in the process's memory; short socket
    timeouts (RATELIMIT_STORAGE_OPTIONS): a Redis that does not answer costs a request a fraction of a second."""
    process = subprocess.run([sys.executable, "-c", REDIS_AWAY_PROCESS, redis_away], cwd=ROOT,
                             capture_output=True, text=True, check=True, timeout=60)
    page, *attempts = process.stdout.splitlines()
    assert "Rate limit storage unreachable - falling back to in-memory storage" in process.stderr  # operators see it
    assert page == "200"
    assert [line.split()[0] for line in attempts] == ["200", "200", "200", "429"]
    assert max(float(line.split()[1]) for line in attempts) < 1, attempts
