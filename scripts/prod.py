"""The production topology on one machine, on loopback ports, for tests and benchmarks (`make prod-up`,
`make prod-down`): nginx on PROD_PORT (default 8080) in front of two gunicorn instances, the workers (mails,
jobs, reminders), on a PostgreSQL database of their own, migrated, with the demo loaded, and a Redis server of
their own (a fault stops it without touching the Redis that others on the machine use).

    scripts/prod.py up | down | status

Settings, from the environment:
    PROD_PORT          nginx's port (8080)
    PROD_WEB_PORTS     the gunicorn instances' ports, comma-separated (8101,8102)
    PROD_DATABASE_URL  postgresql+psycopg://postgres@127.0.0.1:5432/agora_prod (created when missing)
    PROD_REDIS_PORT    the topology's own Redis server's port (6390), started and stopped with it
    PROD_REDIS_URL     a Redis to use instead of starting one (rate limits)
    PROD_DEMO          1: load the demo consultation and its accounts (0: a database brought by the caller)
    GUNICORN_WORKERS   per instance (2)
Everything it writes lives in instance/prod/: the rendered nginx configuration, pid files, logs, the cache.
The same files serve a real deployment (deploy/, README's production section).
"""

import getpass
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
HERE = ROOT / "instance" / "prod"
BIN = ROOT / ".venv" / "bin"

PORT = int(os.environ.get("PROD_PORT", "8080"))
WEB_PORTS = [int(port) for port in os.environ.get("PROD_WEB_PORTS", "8101,8102").split(",")]
DATABASE_URL = os.environ.get("PROD_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/agora_prod")
REDIS_PORT = int(os.environ.get("PROD_REDIS_PORT", "6390"))
OWN_REDIS = "PROD_REDIS_URL" not in os.environ
REDIS_URL = os.environ.get("PROD_REDIS_URL", f"redis://127.0.0.1:{REDIS_PORT}/0")
LOAD_DEMO = os.environ.get("PROD_DEMO", "1") == "1"

NGINX_MAIN = """# Rendered by scripts/prod.py: the local topology's nginx, around deploy/nginx/agora.conf.
# Its workers run as whoever starts it (Debian's nginx.conf says www-data), to write in a folder of theirs.
user {user};
worker_processes auto;
pid {here}/nginx.pid;
error_log {here}/log/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    include /etc/nginx/mime.types;
    # Which instance answered, and whether from the cache: what the topology's tests and benchmarks read.
    log_format agora '$remote_addr [$time_local] "$request" $status $body_bytes_sent $request_time '
                     '$upstream_addr $upstream_cache_status';
    access_log {here}/log/nginx-access.log agora;
    client_body_temp_path {here}/tmp/body;
    proxy_temp_path {here}/tmp/proxy;
    fastcgi_temp_path {here}/tmp/fastcgi;
    uwsgi_temp_path {here}/tmp/uwsgi;
    scgi_temp_path {here}/tmp/scgi;
    include {here}/agora.conf;
}}
"""


def environment() -> dict[str, str]:
    """What every process of the topology reads: the same values for all, as on several machines."""
    secret = HERE / "secret_key"
    if not secret.exists():
        secret.write_text(secrets.token_urlsafe(48))
        secret.chmod(0o600)
    return {**os.environ, "AGORA_ENV": "production", "SECRET_KEY": secret.read_text(), "DATABASE_URL": DATABASE_URL,
            "RATELIMIT_STORAGE_URI": REDIS_URL, "PROXY_FIX_X_FOR": "1", "PUBLIC_URL": f"http://127.0.0.1:{PORT}",
            # Plain HTTP on loopback: no HTTPS-only cookies or HSTS here.
            "SESSION_COOKIE_SECURE": "0", "HSTS": "0"}


def write_nginx_configuration(here: Path, port: int, web_ports: list[int]) -> Path:
    """deploy/nginx/agora.conf for nginx on `port` in front of instances on `web_ports`, everything nginx
    writes kept in `here`; the main configuration's path."""
    for folder in ("log", "tmp", "cache"):
        (here / folder).mkdir(parents=True, exist_ok=True)
    values = {"LISTEN": f"127.0.0.1:{port}", "CACHE_DIR": str(here / "cache"), "DEPLOY_DIR": str(DEPLOY),
              "UPSTREAMS": "\n".join(f"    server 127.0.0.1:{web_port} max_fails=3 fail_timeout=5s;"
                                     for web_port in web_ports)}
    site = re.sub(r"@(\w+)@", lambda match: values[match.group(1)], (DEPLOY / "nginx" / "agora.conf").read_text())
    (here / "agora.conf").write_text(site)
    (here / "nginx.conf").write_text(NGINX_MAIN.format(here=here, user=getpass.getuser()))
    return here / "nginx.conf"


def create_database() -> None:
    url = make_url(DATABASE_URL)
    server = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        if not connection.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": url.database}):
            connection.execute(sa.text(f'CREATE DATABASE "{url.database}"'))
    server.dispose()


def run(*command: str, env: dict) -> None:
    subprocess.run(command, cwd=ROOT, env=env, check=True)


def start(name: str, command: list[str], env: dict) -> None:
    """A process in the background, in a session of its own, its pid written down for `down`."""
    log = open(HERE / "log" / f"{name}.log", "ab")
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True)
    (HERE / f"{name}.pid").write_text(str(process.pid))


def running() -> dict[str, int]:
    """The topology's processes still alive, by name."""
    alive = {}
    for pid_file in HERE.glob("*.pid"):
        pid = int(pid_file.read_text().strip() or 0)
        try:
            os.kill(pid, 0)
        except (ProcessLookupError, PermissionError):
            pid_file.unlink()
        else:
            alive[pid_file.stem] = pid
    return alive


def start_redis(env: dict) -> None:
    """The topology's own Redis, in memory only (rate limits are worth keeping for a minute, not a restart)."""
    start("redis", ["redis-server", "--bind", "127.0.0.1", "--port", str(REDIS_PORT), "--save", "",
                    "--appendonly", "no", "--dir", str(HERE)], env)
    deadline = time.monotonic() + 10
    while subprocess.run(["redis-cli", "-p", str(REDIS_PORT), "ping"], capture_output=True).returncode:
        if time.monotonic() > deadline:
            sys.exit(f"Redis does not start on port {REDIS_PORT}: see {HERE / 'log' / 'redis.log'}.")
        time.sleep(0.1)


def wait_for_health(timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/health", timeout=5) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            sys.exit(f"The topology does not answer on port {PORT}: see {HERE / 'log'}.")
        time.sleep(0.5)


def up() -> None:
    if running():
        sys.exit("The topology is already running: `make prod-down` first.")
    for program in ("nginx", *(("redis-server",) if OWN_REDIS else ())):
        if not shutil.which(program):
            sys.exit(f"{program} is missing: `make prod-up` installs it (Debian's package).")
    configuration = write_nginx_configuration(HERE, PORT, WEB_PORTS)
    env = environment()
    run("nginx", "-q", "-t", "-p", str(HERE), "-c", str(configuration), env=env)
    create_database()
    run(str(BIN / "alembic"), "upgrade", "head", env=env)
    if LOAD_DEMO:
        run(str(BIN / "flask"), "--app", "wsgi", "directory", "import", "--if-empty", env=env)
        run(str(BIN / "flask"), "--app", "wsgi", "demo", "load", env=env)
    try:
        start_processes(env)
    except BaseException:
        down()
        raise
    print(f"Agora en production locale : http://127.0.0.1:{PORT} (nginx), instances {WEB_PORTS}, "
          f"journaux dans {HERE / 'log'}.")


def start_processes(env: dict) -> None:
    if OWN_REDIS:
        start_redis(env)
    for port in WEB_PORTS:
        start(f"web-{port}", [str(BIN / "gunicorn"), "--config", "deploy/gunicorn.conf.py"],
              {**env, "GUNICORN_BIND": f"127.0.0.1:{port}"})
    start("mail", [str(BIN / "flask"), "--app", "wsgi", "mail", "send", "--loop"], env)
    start("jobs", [str(BIN / "flask"), "--app", "wsgi", "jobs", "run", "--loop"], env)
    start("reminders", [str(BIN / "flask"), "--app", "wsgi", "reminders", "run", "--loop", "--interval", "60"], env)
    run("nginx", "-p", str(HERE), "-c", str(HERE / "nginx.conf"), env=env)  # forks to the background
    wait_for_health()


def down() -> None:
    """Stop nginx first (no new requests), then the instances and workers, each finishing its work, then Redis."""
    alive = running()
    order = sorted(alive, key=lambda name: {"nginx": 0, "redis": 2}.get(name, 1))
    for name in order:
        os.kill(alive[name], signal.SIGQUIT if name == "nginx" else signal.SIGTERM)
        deadline = time.monotonic() + 35
        while name in running() and time.monotonic() < deadline:
            time.sleep(0.2)
        if name in running():
            os.kill(alive[name], signal.SIGKILL)
    print(f"Arrêtés : {', '.join(order) or 'rien ne tournait'}.")


def status() -> None:
    for name, pid in sorted(running().items()):
        print(f"{name}\t{pid}")


if __name__ == "__main__":
    commands = {"up": up, "down": down, "status": status}
    if len(sys.argv) != 2 or sys.argv[1] not in commands:
        sys.exit(__doc__)
    HERE.mkdir(parents=True, exist_ok=True)
    commands[sys.argv[1]]()
