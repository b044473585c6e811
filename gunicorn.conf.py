"""Gunicorn settings for Ony: ``gunicorn -c gunicorn.conf.py``.

Threads, not processes, carry concurrency: a verdict long-poll waits on an
event for up to 30 s, holding a thread but no CPU and no database
connection, so a worker with a few hundred threads holds a few hundred
waiting agents. See docs/self-hosting.md for sizing.
"""

import os

# Web processes borrow database connections from a pool (docs/configuration.md):
# a woken long-poll re-reads in about 10 ms instead of opening a connection.
# Workers load the application after forking (no preload), so each gets its own.
os.environ.setdefault("DB_POOL_MAX_SIZE", "16")

wsgi_app = "ony.wsgi:application"
bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "256"))
keepalive = 5
graceful_timeout = 35  # let 30 s long-polls finish on restart
accesslog = "-"
