"""Encryption at rest for secret fields (MultiFernet, keys from ONY_ENCRYPTION_KEYS).

The first key encrypts; every key decrypts, so rotating means putting a new key
first, running ``manage.py rotate_encryption_keys``, then dropping the old key.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.apps import apps
from django.conf import settings
from django.core.signals import setting_changed
from django.db import models, transaction


class DecryptionError(Exception):
    """A stored value could not be decrypted with any configured key."""


@cache
def _multifernet() -> MultiFernet:
    return MultiFernet([Fernet(key) for key in settings.ONY_ENCRYPTION_KEYS])


def _reset(*, setting: str, **kwargs: object) -> None:
    if setting == "ONY_ENCRYPTION_KEYS":
        _multifernet.cache_clear()


setting_changed.connect(_reset)


def encrypt(data: bytes) -> str:
    """Encrypt with the newest key; the token is URL-safe ASCII text."""
    return _multifernet().encrypt(data).decode("ascii")


def decrypt(token: str) -> bytes:
    """Decrypt with whichever configured key made ``token``."""
    try:
        return _multifernet().decrypt(token.encode("ascii"))
    except (InvalidToken, UnicodeEncodeError):
        raise DecryptionError("no configured encryption key decrypts this value") from None


class EncryptedTextField(models.TextField):
    """A text field stored as a Fernet token and read back as plain text.

    Encryption is randomized, so the field cannot be searched or filtered on.
    """

    description = "Text encrypted at rest"

    def from_db_value(
        self, value: str | None, expression: object, connection: object
    ) -> str | None:
        if value is None:
            return None
        return decrypt(value).decode("utf-8")

    def get_prep_value(self, value: object) -> str | None:
        value = super().get_prep_value(value)
        if value is None:
            return None
        return encrypt(str(value).encode("utf-8"))


def encrypted_fields() -> Iterator[tuple[type[models.Model], list[str]]]:
    """Every installed model that has encrypted fields, with those fields' names."""
    for model in apps.get_models():
        names = [f.name for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
        if names:
            yield model, names


def reencrypt_all(batch_size: int = 500) -> dict[str, int]:
    """Rewrite every encrypted value with the newest key; return rows per model.

    This is installation-wide maintenance, so it reads through each model's
    unscoped base manager on purpose. Each batch commits on its own; a crash
    part-way leaves every row readable (old key or new).
    """
    counts: dict[str, int] = {}
    for model, names in encrypted_fields():
        manager = model._base_manager
        pks = list(manager.order_by("pk").values_list("pk", flat=True))
        done = 0
        for start in range(0, len(pks), batch_size):
            with transaction.atomic():
                rows = manager.filter(pk__in=pks[start : start + batch_size]).only("pk", *names)
                for row in rows.select_for_update():
                    manager.filter(pk=row.pk).update(**{n: getattr(row, n) for n in names})
                    done += 1
        counts[model._meta.label] = done
    return counts
