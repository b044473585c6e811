"""Django settings for Ony, read from the environment (django-environ).

Every variable is documented in docs/configuration.md and .env.example. With
nothing set but ``DEBUG=1`` the server runs embedded: SQLite, local-memory
cache, Celery tasks in-process, development keys. With ``DEBUG`` off it
refuses to start unless ``SECRET_KEY``, ``ONY_ENCRYPTION_KEYS``,
``ONY_AUDIT_KEYS`` and ``ONY_CHECKPOINT_KEY`` are set.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import environ
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from ony import keys, logs

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A .env file beside manage.py is read if present (variables already in the
# environment win). ONY_ENV_FILE names another file, or "" to read none.
_env_file = os.environ.get("ONY_ENV_FILE", str(BASE_DIR / ".env"))
if _env_file and Path(_env_file).is_file():
    env.read_env(_env_file)

DEBUG = env.bool("DEBUG", default=False)


def _required(name: str, dev_default: str) -> str:
    """The variable's value; in DEBUG a development default, else a clear refusal."""
    value = env.str(name, default="")
    if value:
        return value
    if DEBUG:
        return dev_default
    raise ImproperlyConfigured(
        f"{name} is not set. With DEBUG off Ony refuses to start without it; "
        "see docs/configuration.md."
    )


SECRET_KEY = _required("SECRET_KEY", keys.DEV_SECRET_KEY)
ONY_ENCRYPTION_KEYS = keys.parse_fernet_keys(
    _required("ONY_ENCRYPTION_KEYS", keys.DEV_ENCRYPTION_KEYS.decode())
)
ONY_AUDIT_KEYS = keys.parse_audit_keys(_required("ONY_AUDIT_KEYS", keys.DEV_AUDIT_KEYS))
# Ed25519 key that signs audit checkpoints; retired public keys still verify
# checkpoints signed before a rotation.
ONY_CHECKPOINT_KEY = keys.parse_ed25519_private_key(
    _required("ONY_CHECKPOINT_KEY", keys.DEV_CHECKPOINT_KEY)
)
ONY_CHECKPOINT_RETIRED_KEYS = keys.parse_ed25519_public_keys(
    env.str("ONY_CHECKPOINT_RETIRED_KEYS", default=""), "ONY_CHECKPOINT_RETIRED_KEYS"
)

ONY_PUBLIC_URL = env.str("ONY_PUBLIC_URL", default="http://127.0.0.1:8000").rstrip("/")
_public = urlsplit(ONY_PUBLIC_URL)
if _public.scheme not in ("http", "https") or not _public.hostname:
    raise ImproperlyConfigured("ONY_PUBLIC_URL must be an absolute http(s) URL.")

ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS",
    default=["127.0.0.1", "localhost", "[::1]"] if DEBUG else [_public.hostname],
)
CSRF_TRUSTED_ORIGINS = env.list(
    "CSRF_TRUSTED_ORIGINS", default=[f"{_public.scheme}://{_public.netloc}"]
)

INSTALLED_APPS = [
    "ony.apps.OnyAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_otp",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "axes",
    "ony.apps.OnyConfig",
    "audit",
    "devices",
    "handoffs",
    "telephony",
    "chat",
    "lifecycle",
]

MIDDLEWARE = [
    "ony.logs.request_id_middleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "ony.middleware.refuse_nul_characters",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: turns a locked-out login into its lockout page.
    "axes.middleware.AxesMiddleware",
]

# Dashboard logins (django-axes): after ONY_LOGIN_FAILURE_LIMIT wrong tries
# (a wrong password or a wrong code) for one account, or from one client
# address, logins for it are refused for ONY_LOGIN_LOCKOUT_MINUTES; each new
# try while locked starts the wait again. Only failures are recorded.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("ONY_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("ONY_LOGIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
# A login does not wipe failures: with the address among the lockout parameters
# it would wipe every failure from that address, for any account, so someone
# could guess another's password between logins to their own. Failures age
# out with the cool-off instead.
AXES_RESET_ON_SUCCESS = False
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = True
AXES_USERNAME_FORM_FIELD = "username"  # the login form's field (it holds the email)
AXES_USERNAME_CALLABLE = "ony.auth.login_username"
AXES_CLIENT_IP_CALLABLE = "ony.auth.client_address"
AXES_LOCKOUT_TEMPLATE = "admin/locked_out.html"
AXES_HTTP_RESPONSE_CODE = 429
AXES_DISABLE_ACCESS_LOG = True
AXES_VERBOSE = False  # no start-up banner in every command's output
AXES_SENSITIVE_PARAMETERS = ["password", "otp_token"]

ROOT_URLCONF = "ony.urls"
WSGI_APPLICATION = "ony.wsgi.application"
AUTH_USER_MODEL = "ony.User"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=0))
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# gunicorn.conf.py turns this on for web processes; Celery's prefork workers
# fork after Django loads, which a pool's threads would not survive.
DB_POOL_MAX_SIZE = env.int("DB_POOL_MAX_SIZE", default=0)
if DB_POOL_MAX_SIZE and DATABASES["default"]["ENGINE"].endswith("postgresql"):
    # A psycopg pool per process: requests borrow a connection per query burst
    # instead of opening one, which matters most to long-polls, which give
    # theirs back while they wait and need one again the moment they wake.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1,
        "max_size": DB_POOL_MAX_SIZE,
        "timeout": 10,
    }
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Every transaction takes SQLite's write lock when it begins, so appends to
    # the audit chain (read head, insert next) serialize as they do on
    # PostgreSQL under pg_advisory_xact_lock.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"transaction_mode": "IMMEDIATE", "timeout": 20}
    )

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "ony",
            # A Redis that cannot be reached fails fast, so requests go on
            # counting in their process (ony/cache.py) rather than hanging.
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 2},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Celery (see ony/celery.py). Without Redis, tasks run in-process when they are
# enqueued, which is what the embedded demo wants.
# (The in-memory broker named with its host: kombu warns about a missing one.)
CELERY_BROKER_URL = REDIS_URL or "memory://localhost/"
if REDIS_URL:
    # Redis's transport, surviving a Redis restart with tasks in hand (ony/broker.py).
    CELERY_BROKER_TRANSPORT = "ony.broker:Transport"
    # Unacknowledged tasks (tasks due later) come back after this long if a
    # worker lost them; longer than any task is held (a deadline is at most
    # 15 minutes ahead), or they would run twice.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 1800}
CELERY_RESULT_BACKEND = REDIS_URL or None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
# Embedded mode: tasks due later (a retry's delay, a round's pause, a
# deadline) run on a timer thread when due, not at once (ony/queue.py).
ONY_EAGER_TIMERS = env.bool("ONY_EAGER_TIMERS", default=True)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
# Beat's record of when each task last ran: run-time state, in var/ (ignored
# by git, writable by the container's user), never the repository's root.
CELERY_BEAT_SCHEDULE_FILENAME = env.str(
    "CELERY_BEAT_SCHEDULE_FILENAME", default=str(BASE_DIR / "var" / "celerybeat-schedule")
)
# Without beat (the embedded mode) nothing would sign the chains' heads: sign
# each organization's head as each transaction that appended to it commits.
ONY_CHECKPOINT_ON_COMMIT = env.bool("ONY_CHECKPOINT_ON_COMMIT", default=not REDIS_URL)

CELERY_BEAT_SCHEDULE = {
    # Sign each organization's chain head at least every minute while it grows.
    "audit-checkpoints": {"task": "audit.checkpoint_chains", "schedule": 60.0},
    # Verify every chain, so the dashboard says when each last verified.
    "audit-verification": {"task": "audit.verify_chains", "schedule": 3600.0},
    # Expire pending handoffs whose own expiry task was lost (a worker was down).
    "handoff-deadlines": {"task": "handoffs.expire_overdue", "schedule": 30.0},
    # Start the calls about handoffs whose own task was lost (the broker was down).
    "telephony-resume": {"task": "telephony.resume_escalations", "schedule": 10.0},
    # Scrub payloads and prune call and chat details past each org's retention.
    "retention": {"task": "lifecycle.apply_retention", "schedule": 86400.0},
}

# How many handoffs that phone a person one device may create (DRF rate
# syntax). More are refused (429 "throttled"): a flood of calls is how
# approvals get rubber-stamped.
ONY_PHONE_HANDOFF_RATE = env.str("ONY_PHONE_HANDOFF_RATE", default="6/minute")
# How many verdict long-polls one device may have waiting at once (429
# "too_many_waits" beyond): each holds a server thread while it waits.
ONY_MAX_WAITS_PER_DEVICE = env.int("ONY_MAX_WAITS_PER_DEVICE", default=8)

# Email, for invitation links (docs/configuration.md). Without EMAIL_HOST
# nothing is sent: the dashboard shows the link to pass on.
EMAIL_HOST = env.str("EMAIL_HOST", default="")
EMAIL_PORT = env.int("EMAIL_PORT", default=587)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=True)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="ony@localhost")

# Content-Security-Policy (django-csp): nothing from elsewhere, no inline
# script or style but the few blocks carrying this response's nonce, no
# framing. The dashboard, the softphone and the API docs work under it.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "font-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# Cookies and transport. Behind a TLS-terminating proxy set
# SECURE_PROXY_SSL_HEADER=HTTP_X_FORWARDED_PROTO (see docs/self-hosting.md).
_https = _public.scheme == "https"
SESSION_COOKIE_SECURE = _https
CSRF_COOKIE_SECURE = _https
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=8 * 3600)
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
if env.str("SECURE_PROXY_SSL_HEADER", default=""):
    SECURE_PROXY_SSL_HEADER = (env.str("SECURE_PROXY_SSL_HEADER"), "https")

# django-otp: TOTP devices are ony.TOTPDevice (secret encrypted at rest).
OTP_TOTP_ISSUER = "Ony"
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
ONY_TOTP_THROTTLE_FACTOR = 1

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["ony.api.authentication.VerifiedSessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["ony.api.renderers.SafeJSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["ony.api.parsers.BoundedJSONParser"],
    "EXCEPTION_HANDLER": "ony.api.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_RATES": {"enroll": env.str("ONY_ENROLL_RATE", default="10/minute")},
    # Client addresses for rate limits: REMOTE_ADDR, or the address NUM_PROXIES
    # trusted proxies back in X-Forwarded-For. Never the header as the client
    # sent it (DRF's default), which anyone can vary to dodge a limit.
    "NUM_PROXIES": env.int("NUM_PROXIES", default=0),
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

# Where users of this installation get its source code (AGPL-3.0, section 13):
# shown in the dashboard's footer. Set it if you run a modified Ony.
ONY_SOURCE_URL = env.str("ONY_SOURCE_URL", default="")

# /metrics answers only with "Authorization: Bearer <this>" when set; unset, it
# is off unless DEBUG is on.
ONY_METRICS_TOKEN = env.str("ONY_METRICS_TOKEN", default="")

# OpenAPI at /api/schema/, browsable at /api/docs/ (assets served locally).
SPECTACULAR_SETTINGS = {
    "TITLE": "Ony API",
    "DESCRIPTION": "Agents ask, people decide, verdicts are signed. Errors are "
    '{"code": "stable_snake_case", "detail": "text"}; see docs/api.md.',
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "ony.api.schema.document_refused_characters",
        "ony.api.schema.close_response_objects",
    ],
    "ENUM_NAME_OVERRIDES": {
        "HandoffStatusEnum": "handoffs.models.Status",
        "DeviceStatusEnum": "devices.api.DEVICE_STATUSES",
    },
}

# Telephony (docs/telephony.md). SignalWire through its Twilio-compatible API;
# with a project but no space, Twilio itself. With none of these, DEBUG (or
# ONY_TELEPHONY_SIMULATOR=1, for a demo) uses the built-in simulator.
SIGNALWIRE_PROJECT = env.str("SIGNALWIRE_PROJECT", default="")
SIGNALWIRE_TOKEN = env.str("SIGNALWIRE_TOKEN", default="")
SIGNALWIRE_SPACE = env.str("SIGNALWIRE_SPACE", default="")
SIGNALWIRE_SIGNING_KEY = env.str("SIGNALWIRE_SIGNING_KEY", default="")
SIGNALWIRE_FROM_NUMBER = env.str("SIGNALWIRE_FROM_NUMBER", default="")
ONY_TELEPHONY_SIMULATOR = env.bool("ONY_TELEPHONY_SIMULATOR", default=DEBUG)
# Where the provider's REST API is, when not the default (a standalone simulator).
ONY_TELEPHONY_API_URL = env.str("ONY_TELEPHONY_API_URL", default="")
# The <Say> voice, in the provider's naming ("Polly.Joanna" on Twilio,
# "amazon.Joanna:standard:en-US" on SignalWire); empty: the provider's default.
ONY_CALL_VOICE = env.str("ONY_CALL_VOICE", default="")
# Seconds a call rings before it counts as no-answer.
ONY_CALL_RING_SECONDS = env.int("ONY_CALL_RING_SECONDS", default=25)
# Seconds between passes through the on-call list.
ONY_CALL_ROUND_PAUSE = env.int("ONY_CALL_ROUND_PAUSE", default=20)
# Seconds before each retry of a call the provider failed to place (temporary errors).
ONY_CALL_RETRY_DELAYS = [
    int(s) for s in env.list("ONY_CALL_RETRY_DELAYS", default=["2", "10", "30"])
]

# Chat approvals (docs/chat.md). Each service is on when its token is set.
SLACK_BOT_TOKEN = env.str("SLACK_BOT_TOKEN", default="")
SLACK_SIGNING_SECRET = env.str("SLACK_SIGNING_SECRET", default="")
SLACK_API_URL = env.str("SLACK_API_URL", default="https://slack.com/api").rstrip("/")
TELEGRAM_BOT_TOKEN = env.str("TELEGRAM_BOT_TOKEN", default="")
TELEGRAM_WEBHOOK_SECRET = env.str("TELEGRAM_WEBHOOK_SECRET", default="")
TELEGRAM_API_URL = env.str("TELEGRAM_API_URL", default="https://api.telegram.org").rstrip("/")

# Demo: the password seed_demo gives admin@demo.local (a random one if unset).
ONY_DEMO_PASSWORD = env.str("ONY_DEMO_PASSWORD", default="")

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
# Log lines as text or as JSON (one object a line, for a log pipeline); each
# names the request or task it belongs to (docs/configuration.md).
LOG_FORMAT = env.str("LOG_FORMAT", default="plain")
if LOG_FORMAT not in logs.FORMATS:
    raise ImproperlyConfigured(f"LOG_FORMAT is {LOG_FORMAT!r}: use plain or json.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": logs.filters(),
    "formatters": {"line": logs.formatter(LOG_FORMAT)},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "line",
            "filters": ["request_id", "redact"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
        # twilio logs every request and its headers at INFO.
        "twilio.http_client": {"level": "WARNING"},
        # django-axes logs every login at INFO; its failures come at WARNING.
        "axes": {"level": "WARNING"},
        # Debug lines of HTTP clients carry request URLs and bodies; Telegram's
        # URLs hold the bot token.
        "urllib3": {"level": "WARNING"},
        # At DEBUG it logs whole template contexts (one-time links included).
        "django.template": {"level": "INFO"},
        "slack_sdk": {"level": "WARNING"},
    },
}
