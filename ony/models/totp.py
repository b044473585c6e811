"""A django-otp TOTP device whose secret is encrypted at rest.

django-otp's own ``otp_totp`` plugin keeps the secret in clear text; this one
stores it with ``EncryptedTextField``. Verification locks the device row, so a
code is accepted at most once even when two requests race with it.
"""

from __future__ import annotations

import secrets
import time
from base64 import b32encode
from binascii import unhexlify
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar
from urllib.parse import quote, urlencode

from django.conf import settings
from django.db import models, transaction
from django_otp.models import Device, ThrottlingMixin, TimestampMixin
from django_otp.oath import TOTP

from ony.encryption import EncryptedTextField

KEY_BYTES = 20


def default_key() -> str:
    return secrets.token_hex(KEY_BYTES)


class TOTPDevice(TimestampMixin, ThrottlingMixin, Device):
    key = EncryptedTextField(default=default_key, help_text="Hex secret (encrypted at rest).")
    step = models.PositiveSmallIntegerField(default=30)
    t0 = models.BigIntegerField(default=0)
    digits = models.PositiveSmallIntegerField(default=6, choices=[(6, 6), (8, 8)])
    tolerance = models.PositiveSmallIntegerField(
        default=1, help_text="Time steps accepted each way."
    )
    drift = models.SmallIntegerField(default=0)
    last_t = models.BigIntegerField(default=-1, help_text="Time step of the last accepted code.")

    if TYPE_CHECKING:
        # django-otp ships no type information, so django-stubs cannot see the
        # default manager this model inherits (django-otp's DeviceManager, a
        # models.Manager). Declaring it lets reverse relations such as
        # ``user.totpdevice_set`` resolve; nothing changes at run time.
        _default_manager: ClassVar[models.Manager[TOTPDevice]]
        # TimestampMixin's field, assigned in verify_token below.
        last_used_at: datetime | None

    class Meta(Device.Meta):
        verbose_name = "TOTP device"

    @property
    def bin_key(self) -> bytes:
        return unhexlify(self.key.encode())

    def totp(self) -> TOTP:
        totp = TOTP(self.bin_key, self.step, self.t0, self.digits, self.drift)
        totp.time = time.time()
        return totp

    def get_throttle_factor(self) -> int:
        return getattr(settings, "ONY_TOTP_THROTTLE_FACTOR", 1)

    def verify_token(self, token: object) -> bool:
        """Accept ``token`` once, if it is the current code and throttling allows.

        Runs under a row lock: of two concurrent calls with the same valid code,
        exactly one returns True. Every refusal counts towards throttling.
        """
        text = str(token).strip()
        with transaction.atomic():
            device = type(self)._default_manager.select_for_update().get(pk=self.pk)
            allowed, _ = device.verify_is_allowed()
            verified = False
            if allowed and text.isdigit() and len(text) == device.digits:
                totp = device.totp()
                verified = totp.verify(int(text), device.tolerance, device.last_t + 1)
                if verified:
                    device.last_t = totp.t()
                    device.drift = totp.drift
                    device.throttle_reset(commit=False)
                    device.set_last_used_timestamp(commit=False)
                    device.save()
            if allowed and not verified:
                device.throttle_increment(commit=True)
        for field in (
            "last_t",
            "drift",
            "throttling_failure_count",
            "throttling_failure_timestamp",
        ):
            setattr(self, field, getattr(device, field))
        self.last_used_at = device.last_used_at
        return verified

    @property
    def config_url(self) -> str:
        """The ``otpauth://`` URI an authenticator app scans or imports."""
        issuer = settings.OTP_TOTP_ISSUER.replace(":", "")
        label = f"{issuer}:{self.user.get_username()}"
        params = urlencode(
            {
                "secret": b32encode(self.bin_key).decode(),
                "algorithm": "SHA1",
                "digits": self.digits,
                "period": self.step,
            }
        )
        return f"otpauth://totp/{quote(label)}?{params}&issuer={quote(issuer)}"
