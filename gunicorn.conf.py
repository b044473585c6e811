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


def on_starting(server: object) -> None:
    """Refuse to start where the system checks, run with the database, find an error.

    (``telephony.E001``: organizations route handoffs to the phone and no
    provider is configured.) The master's connection is closed before workers fork.
    """
    import django
    from django.core.management import call_command
    from django.db import connections

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ony.settings")
    django.setup()
    try:
        call_command("check", databases=["default"])
    finally:
        connections.close_all()
