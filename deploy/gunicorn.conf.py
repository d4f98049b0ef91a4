"""gunicorn settings of one web instance (deploy/systemd/agora-web@.service, scripts/prod.py).

Sync workers, behind nginx: it buffers slow clients and holds idle keep-alive connections, so a worker is
only busy while Python works. Each instance is started with its own GUNICORN_BIND."""

import os

wsgi_app = "wsgi:app"
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
# The committee's heaviest computations (comparing budget rules at national scale) take tens of seconds.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30
# A worker is replaced after this many requests (at staggered times), which bounds slow memory growth.
max_requests = 5000
max_requests_jitter = 500
errorlog = "-"  # nginx keeps the access log
# Several instances run on one machine, managed by systemd and signals: no shared control socket (gunicorn ≥ 25).
control_socket_disable = True
