"""System checks for dangerous configurations (``manage.py check``).

Settings already refuse to load without the keys production needs; these
checks catch what loads but is unsafe.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.db import DatabaseError, connection
from django.db.models import Model

from ony import keys
from ony.models import Organization, OrgScopedQuerySet
from ony.models.org import CRITICAL_ROUTE


def _dev_keys_in_use() -> list[str]:
    used = []
    if settings.SECRET_KEY == keys.DEV_SECRET_KEY:
        used.append("SECRET_KEY")
    if keys.DEV_ENCRYPTION_KEYS in settings.ONY_ENCRYPTION_KEYS:
        used.append("ONY_ENCRYPTION_KEYS")
    if keys.parse_audit_keys(keys.DEV_AUDIT_KEYS)["dev"] in settings.ONY_AUDIT_KEYS.values():
        used.append("ONY_AUDIT_KEYS")
    if keys.parse_ed25519_private_key(keys.DEV_CHECKPOINT_KEY) == settings.ONY_CHECKPOINT_KEY:
        used.append("ONY_CHECKPOINT_KEY")
    return used


@register(Tags.security)
def check_keys(app_configs: Any = None, **kwargs: Any) -> list:
    messages: list = []
    dev = _dev_keys_in_use()
    if dev and not settings.DEBUG:
        messages.append(
            Error(
                f"Development keys are in use with DEBUG off: {', '.join(dev)}.",
                hint="Generate keys with `python -m ony.devenv --help` and set them.",
                id="ony.E001",
            )
        )
    elif dev:
        messages.append(
            Warning(
                f"Using public development keys for {', '.join(dev)}.",
                hint="Fine for a laptop demo; set real keys for anything else.",
                id="ony.W001",
            )
        )
    secret = settings.SECRET_KEY.encode()
    fernet_raw = {base64.urlsafe_b64decode(k) for k in settings.ONY_ENCRYPTION_KEYS}
    for key_id, audit_key in settings.ONY_AUDIT_KEYS.items():
        if audit_key == secret or audit_key in fernet_raw:
            messages.append(
                Error(
                    f"Audit key {key_id!r} is also used as SECRET_KEY or an encryption key.",
                    hint="ONY_AUDIT_KEYS must be keys of their own (python -m ony.devenv "
                    "--audit-key ID).",
                    id="ony.E002",
                )
            )
    return messages


@register(Tags.security, deploy=True)
def check_deployment(app_configs: Any = None, **kwargs: Any) -> list:
    if settings.DEBUG:
        return []
    messages: list = []
    if "*" in settings.ALLOWED_HOSTS:
        messages.append(
            Error(
                "ALLOWED_HOSTS contains '*' with DEBUG off.",
                hint="List the host names the server answers to.",
                id="ony.E003",
            )
        )
    if not settings.ONY_PUBLIC_URL.startswith("https://"):
        messages.append(
            Warning(
                "ONY_PUBLIC_URL is not https: session cookies and webhooks travel in clear.",
                hint="Serve Ony behind TLS and set ONY_PUBLIC_URL=https://...",
                id="ony.W002",
            )
        )
    if not settings.REDIS_URL:
        messages.append(
            Warning(
                "REDIS_URL is not set: Celery tasks run inside web requests and no beat runs.",
                hint="Set REDIS_URL and run a Celery worker and beat (docs/self-hosting.md).",
                id="ony.W003",
            )
        )
    if connection.vendor == "sqlite":
        messages.append(
            Warning(
                "SQLite is in use with DEBUG off.",
                hint="Use PostgreSQL (DATABASE_URL=postgres://...) for a real installation.",
                id="ony.W004",
            )
        )
    return messages


def unscoped_org_models(models: Iterable[type[Model]]) -> list[type[Model]]:
    """The models that point at Organization but are not scoped by construction."""
    found = []
    for model in models:
        points_at_org = any(
            f.many_to_one and f.related_model is Organization for f in model._meta.concrete_fields
        )
        if points_at_org and not isinstance(model._default_manager.all(), OrgScopedQuerySet):
            found.append(model)
    return found


@register()
def check_org_scoping(app_configs: Any = None, **kwargs: Any) -> list:
    """Every model with a foreign key to Organization must be scoped by construction."""
    return [
        Error(
            f"{model._meta.label} belongs to an organization but its default manager "
            "is not built from OrgScopedQuerySet.",
            hint="Inherit ony.models.OrgOwned or use OrgScopedQuerySet.as_manager().",
            obj=model,
            id="ony.E010",
        )
        for model in unscoped_org_models(apps.get_models())
    ]


@register(Tags.database)
def check_policy_floor(app_configs: Any = None, databases: Any = None, **kwargs: Any) -> list:
    """Organizations whose stored critical policy is below the floor (``ony.W010``).

    ``Organization.route`` applies the floor whatever is stored, and migration
    ony.0005 repaired what was stored before it; a row below it now was
    written around the models (SQL by hand, say). A warning rather than an
    error, so that ``migrate`` still runs. Runs with a database (``migrate``,
    ``check --database default``).
    """
    if not databases:
        return []
    try:
        slugs = list(
            Organization.objects.exclude(policy_critical=CRITICAL_ROUTE).values_list(
                "slug", flat=True
            )[:5]
        )
    except DatabaseError:  # not migrated yet
        return []
    if not slugs:
        return []
    return [
        Warning(
            f"Organizations store a critical policy below the floor: {', '.join(slugs)}.",
            hint="Ignored: critical handoffs always phone an approver and need a TOTP code. "
            "Set the policy back in the dashboard to clear this.",
            id="ony.W010",
        )
    ]
