"""Gunicorn settings for Ony: ``gunicorn -c gunicorn.conf.py``.

Threads, not processes, carry concurrency: a verdict long-poll waits on an
event for up to 30 s, holding a thread but no CPU and no database
connection, so a worker with a few hundred threads holds a few hundred
waiting agents. See docs/self-hosting.md for sizing.
"""

import os
import subprocess
import sys

import environ

# This file's folder is the project's: importable whatever folder gunicorn
# starts in and however Ony was installed.
PROJECT = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, PROJECT)

from ony.logs import filters, formatter  # noqa: E402 - after the path it needs

# The same .env the settings read (ONY_ENV_FILE names another, "" none), so
# WEB_CONCURRENCY, GUNICORN_BIND or LOG_FORMAT set there count here too; the
# environment wins over the file, as in the settings.
_env_file = os.environ.get("ONY_ENV_FILE", os.path.join(PROJECT, ".env"))
if _env_file and os.path.exists(_env_file):
    environ.Env.read_env(_env_file)

LOG_FORMAT = os.environ.get("LOG_FORMAT", "plain")

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
# The path without its query string, and no referrer: query strings carry
# searches (a member's email, a phone number) that have no place in a log.
# The last field is the request's id (X-Request-ID), as Ony's own lines name it.
access_log_format = (
    '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms "%(a)s" %({x-request-id}o)s'
)
# Gunicorn's own loggers (access and errors) go through the same redaction as
# Django's (phone numbers and emails masked, credentials blanked).
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": filters(),
    "formatters": {
        # LOG_FORMAT=json: JSON lines, as Django's and the worker's (ony.logs).
        "error": formatter(LOG_FORMAT, "%(asctime)s [%(process)d] [%(levelname)s] %(message)s"),
        "access": formatter(LOG_FORMAT, "%(message)s"),
    },
    "handlers": {
        "error": {
            "class": "logging.StreamHandler",
            "formatter": "error",
            "filters": ["request_id", "redact"],
            "stream": "ext://sys.stderr",
        },
        "access": {
            "class": "logging.StreamHandler",
            "formatter": "access",
            "filters": ["request_id", "redact"],
            "stream": "ext://sys.stdout",
        },
    },
    "root": {"level": "INFO", "handlers": ["error"]},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["error"], "propagate": False},
        "gunicorn.access": {"level": "INFO", "handlers": ["access"], "propagate": False},
    },
}


def on_starting(server: object) -> None:
    """Refuse to start where the system checks, run with the database, find an error.

    (``telephony.E001``: organizations route handoffs to the phone and no
    provider is configured.) The check runs in a process of its own: the
    master must hold no database connection or pool, which the workers would
    inherit across the fork and share, interleaving their queries on one
    PostgreSQL session.
    """
    manage = os.path.join(os.path.dirname(os.path.abspath(__file__)), "manage.py")
    checked = subprocess.run(  # noqa: S603 (a fixed command line, no input in it)
        [sys.executable, manage, "check", "--database", "default", "--fail-level", "ERROR"],
        check=False,
    )
    if checked.returncode != 0:
        # The check printed what is wrong; no traceback of ours on top of it.
        os._exit(checked.returncode)
