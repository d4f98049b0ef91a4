"""The production set-up, for real: nginx with deploy/nginx/agora.conf in front of two gunicorn instances started
with deploy/gunicorn.conf.py, on the test database and a Redis database. Consecutive requests go to different
instances (nginx's round robin, read from its access log): a session, the rate limits and the pages kept for
visitors hold whichever instance answers, and when none answers people read a French page."""

import http.cookiejar
import importlib.util
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa

from app.extensions import db
from config import ROOT
from tests.browser import unavailable
from tests.conftest import schema_name
from app.votes.models import Support
from tests.factories import PASSWORD, make_consultation, make_member, make_proposal, make_user

SIGN_IN_LIMIT = 4
KEPT_SECONDS = 3
SPEC = importlib.util.spec_from_file_location("prod", ROOT / "scripts" / "prod.py")
prod = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(prod)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


class RedisServer:
    """A Redis of the test's own, which it may stop and start again on the same port."""

    def __init__(self):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.start()

    def start(self) -> None:
        self.process = subprocess.Popen(["redis-server", "--bind", "127.0.0.1", "--port", str(self.port),
                                         "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not self.answers():
            assert time.monotonic() < deadline, "redis-server does not start"
            time.sleep(0.05)

    def answers(self) -> bool:
        try:
            return redis.Redis.from_url(self.url).ping()
        except redis.ConnectionError:
            return False

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def gunicorn_environment(database_url: str, redis_url: str) -> dict[str, str]:
    url = database_url
    if url.startswith("postgresql"):  # the live tests' schema, as tests/conftest.py sets it
        url += "?options=" + urllib.parse.quote(f"-csearch_path={schema_name('agora_live')}")
    return {**os.environ, "AGORA_ENV": "production", "SECRET_KEY": "topology-test", "DATABASE_URL": url,
            "RATELIMIT_STORAGE_URI": redis_url, "PROXY_FIX_X_FOR": "1", "SESSION_COOKIE_SECURE": "0", "HSTS": "0",
            "SIGN_IN_RATE_LIMIT": f"{SIGN_IN_LIMIT} per minute", "VISITOR_PAGE_SECONDS": str(KEPT_SECONDS),
            "GUNICORN_WORKERS": "1"}


class Topology:
    def __init__(self, folder: Path, database_url: str):
        self.folder, self.port = folder, free_port()
        self.web_ports = [free_port(), free_port()]
        self.redis = RedisServer()
        env = gunicorn_environment(database_url, self.redis.url)
        configuration = prod.write_nginx_configuration(folder, self.port, self.web_ports)
        self.logs = [open(folder / "log" / f"web-{port}.log", "wb") for port in self.web_ports]
        self.instances = [subprocess.Popen([str(prod.BIN / "gunicorn"), "--config", "deploy/gunicorn.conf.py"],
                                           cwd=ROOT, env={**env, "GUNICORN_BIND": f"127.0.0.1:{port}"},
                                           stdout=log, stderr=subprocess.STDOUT)
                          for port, log in zip(self.web_ports, self.logs)]
        self.nginx = subprocess.Popen(["nginx", "-p", str(folder), "-c", str(configuration), "-g", "daemon off;"])
        for port in (*self.web_ports, self.port):
            wait_for(f"http://127.0.0.1:{port}/health")
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        for process in (self.nginx, *self.instances):
            process.send_signal(signal.SIGTERM)
        for process in (self.nginx, *self.instances):
            process.wait(timeout=30)
        for log in self.logs:
            log.close()
        self.redis.stop()

    def log(self) -> list[list[str]]:
        """nginx's access log, one list of fields per request: ... status, bytes, time, upstream, cache."""
        return [line.split() for line in (self.folder / "log" / "nginx-access.log").read_text().splitlines()]


@pytest.fixture(scope="module")
def topology(_live_app, tmp_path_factory):
    for program, package in (("nginx", "nginx-light"), ("redis-server", "redis-server")):
        if not shutil.which(program):
            unavailable(f"{program} absent (apt install {package})")
    topology = Topology(tmp_path_factory.mktemp("nginx"), _live_app.config["SQLALCHEMY_DATABASE_URI"])
    yield topology
    topology.stop()


@pytest.fixture(autouse=True)
def fresh_limits(topology):
    """Every request comes from the same address: each test starts with no sign-in attempt counted."""
    redis.Redis.from_url(topology.redis.url).flushdb()


class Browser:
    """A browser's cookies and forms, without following redirects: what each answer was is checked."""

    def __init__(self, base_url: str):
        self.base_url, self.cookies = base_url, http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies), NoRedirect)

    def request(self, path: str, data: dict | None = None) -> tuple[int, dict, str]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        try:
            answer = self.opener.open(self.base_url + path, data=body, timeout=30)
        except urllib.error.HTTPError as error:
            answer = error
        with answer:
            return answer.status, dict(answer.headers), answer.read().decode()

    def post_form(self, path: str, form_page: str, data: dict) -> tuple[int, dict, str]:
        token = re.search(r'name="csrf_token" value="([^"]+)"', self.request(form_page)[2]).group(1)
        return self.request(path, {"csrf_token": token, **data})

    def sign_in(self, email: str, password: str = PASSWORD) -> tuple[int, dict, str]:
        return self.post_form("/compte/connexion", "/compte/connexion", {"email": email, "password": password})


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def upstreams(topology: Topology, since: int) -> set[str]:
    return {fields[-2] for fields in topology.log()[since:] if fields[-2] != "-"}


def test_a_session_holds_whichever_instance_answers_and_ends_on_all_of_them(topology, live_app):
    user = make_user()
    db.session.commit()
    browser = Browser(topology.url)
    status, headers, _ = browser.sign_in(user.email)
    assert status == 302, "the sign-in is accepted"
    before = len(topology.log())
    pages = [browser.request("/compte/") for _ in range(4)]
    assert all(status == 200 and user.email in page for status, _, page in pages)
    assert len(upstreams(topology, before)) == 2  # both instances answered, each knew the session
    stolen = list(browser.cookies)
    assert browser.post_form("/compte/deconnexion", "/compte/", {})[0] == 302
    replay = Browser(topology.url)
    for cookie in stolen:
        replay.cookies.set_cookie(cookie)
    answers = [replay.request("/compte/") for _ in range(2)]
    assert all(status == 302 and "/compte/connexion" in headers["Location"] for status, headers, _ in answers)


def test_sign_in_attempts_are_counted_together_by_every_instance(topology, live_app):
    user = make_user()
    db.session.commit()
    browser = Browser(topology.url)
    before = len(topology.log())
    statuses = [browser.sign_in(user.email, "mauvais mot de passe")[0] for _ in range(SIGN_IN_LIMIT + 1)]
    assert statuses == [200] * SIGN_IN_LIMIT + [429]
    assert len(upstreams(topology, before)) == 2


def test_visitor_pages_are_kept_in_front_of_python_and_signed_in_people_bypass_them(topology, live_app):
    consultation = make_consultation()
    proposal = make_proposal(consultation, title="Guichet unique des démarches")
    user = make_user()
    db.session.commit()
    page = f"/propositions/{proposal.id}"
    signed_in = Browser(topology.url)
    assert signed_in.sign_in(user.email)[0] == 302
    visitor = Browser(topology.url)
    first, second = visitor.request(page), visitor.request(page)
    assert (first[1]["X-Cache"], second[1]["X-Cache"]) == ("MISS", "HIT") and first[2] == second[2]
    assert "X-Accel-Expires" not in first[1] and "Guichet unique des démarches" in first[2]
    proposal.title = "Guichet unique des démarches en ligne"
    db.session.commit()
    status, headers, fresh = signed_in.request(page)
    assert headers["X-Cache"] == "BYPASS" and "démarches en ligne" in fresh
    assert "démarches en ligne" not in visitor.request(page)[2]  # kept for visitors a little longer
    time.sleep(KEPT_SECONDS + 1.1)  # nginx counts whole seconds
    # Expired: the next visitor still reads the kept page while one request makes the new one.
    assert visitor.request(page)[1]["X-Cache"] in ("STALE", "EXPIRED")
    assert "démarches en ligne" in poll(lambda: visitor.request(page)[2], "démarches en ligne")


def poll(read, expected: str, timeout: float = 5) -> str:
    deadline = time.monotonic() + timeout
    while expected not in (found := read()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return found


def test_redis_away_the_site_keeps_serving_and_each_process_counts_alone(topology, live_app):
    consultation = make_consultation()
    proposal = make_proposal(consultation)
    official = make_member(role="elected")
    stranger = make_user().email
    db.session.commit()
    page, organization_id = f"/propositions/{proposal.id}", official.organization_id
    browser = Browser(topology.url)
    assert browser.sign_in(official.user.email)[0] == 302
    topology.redis.stop()
    try:
        assert browser.request(page)[0] == 200
        token = re.search(r'name="csrf_token" value="([^"]+)"', browser.request(page)[2]).group(1)
        cast = browser.request(f"{page}/soutenir", {"csrf_token": token,
                                                     "organization_id": organization_id})
        assert cast[0] == 302
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Support)) == 1
        # SQLite: a transaction of ours holds the database's lock, which the instances' writes would wait for.
        db.session.rollback()
        # Sign-in attempts still meet a limit: each instance's own, in its memory.
        attempts = [Browser(topology.url).sign_in(stranger, "mauvais")[0] for _ in range(3 * SIGN_IN_LIMIT)]
        assert 429 in attempts and 500 not in attempts
    finally:
        topology.redis.start()


def test_when_no_instance_answers_people_read_a_french_page(topology, tmp_path):
    nobody = free_port()  # nothing listens there: every instance is down
    port = free_port()
    configuration = prod.write_nginx_configuration(tmp_path, port, [nobody])
    nginx = subprocess.Popen(["nginx", "-p", str(tmp_path), "-c", str(configuration), "-g", "daemon off;"])
    try:
        wait_for(f"http://127.0.0.1:{port}/")
        status, headers, page = Browser(f"http://127.0.0.1:{port}").request("/consultations/une-consultation")
    finally:
        nginx.terminate()
        nginx.wait(timeout=30)
    assert status == 502 and headers["Retry-After"] == "10" and "frame-ancestors 'none'" in headers[
        "Content-Security-Policy"]
    assert "Service momentanément indisponible" in page and "réessayez dans quelques secondes" in page
