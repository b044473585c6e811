"""A django-otp TOTP device whose secret is encrypted at rest.

django-otp's own ``otp_totp`` plugin keeps the secret in clear text; this one
stores it with ``EncryptedTextField``. Verification locks the device row, so a
code is accepted at most once even when two requests race with it.

Codes are checked for two things with two throttles: logging in to the
dashboard (``verify_token``, django-otp's throttle, which its login form
reads) and confirming a decision (``verify_decision_code``, a throttle of its
own). Wrong codes at the login page never keep the person from approving.
"""

from __future__ import annotations

import secrets
import time
from base64 import b32encode
from binascii import unhexlify
from datetime import datetime, timedelta
from enum import Enum
from typing import TYPE_CHECKING, ClassVar
from urllib.parse import quote, urlencode

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone
from django_otp.models import Device, ThrottlingMixin, TimestampMixin
from django_otp.oath import TOTP

from ony.encryption import EncryptedTextField

KEY_BYTES = 20


class CodeCheck(Enum):
    """What came of checking a decision code."""

    ACCEPTED = "accepted"
    REFUSED = "refused"  # wrong, already used, or not six digits
    THROTTLED = "throttled"  # too soon after wrong codes: not even checked


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
    decision_failures = models.PositiveIntegerField(
        default=0, editable=False, help_text="Wrong decision codes in a row (not login codes)."
    )
    decision_failed_at = models.DateTimeField(null=True, blank=True, editable=False)

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
        """Accept a login code ``token`` once, if it is current and the login throttle allows.

        django-otp's login form calls this. Runs under a row lock: of two
        concurrent calls with the same valid code, exactly one returns True.
        Every refusal counts towards the login throttle.
        """
        return self._check(token, for_login=True) is CodeCheck.ACCEPTED

    def verify_decision_code(self, token: object) -> CodeCheck:
        """Check a code confirming a decision (API, keypad, dashboard, chat), once.

        Throttled apart from login codes: after each wrong code the next is
        not checked for ``ONY_TOTP_THROTTLE_FACTOR * 2 ** (failures - 1)``
        seconds (``THROTTLED``). An accepted code is spent for logging in too.
        """
        return self._check(token, for_login=False)

    def _check(self, token: object, *, for_login: bool) -> CodeCheck:
        text = str(token).strip()
        with transaction.atomic():
            device = type(self)._default_manager.select_for_update().get(pk=self.pk)
            allowed = device.verify_is_allowed()[0] if for_login else device._decision_allowed()
            if not allowed:
                outcome = CodeCheck.THROTTLED
            elif device._matches(text):
                outcome = CodeCheck.ACCEPTED
                device.throttle_reset(commit=False)
                device.decision_failures, device.decision_failed_at = 0, None
                device.set_last_used_timestamp(commit=False)
                device.save()
            else:
                outcome = CodeCheck.REFUSED
                if for_login:
                    device.throttle_increment(commit=True)
                else:
                    device.decision_failures += 1
                    device.decision_failed_at = timezone.now()
                    device.save(update_fields=["decision_failures", "decision_failed_at"])
        for field in (
            "last_t",
            "drift",
            "throttling_failure_count",
            "throttling_failure_timestamp",
            "decision_failures",
            "decision_failed_at",
        ):
            setattr(self, field, getattr(device, field))
        self.last_used_at = device.last_used_at
        return outcome

    def _matches(self, text: str) -> bool:
        """Whether ``text`` is a current code not accepted before; updates ``last_t``, ``drift``."""
        if not (text.isascii() and text.isdigit() and len(text) == self.digits):
            return False
        totp = self.totp()
        if not totp.verify(int(text), self.tolerance, self.last_t + 1):
            return False
        self.last_t, self.drift = totp.t(), totp.drift
        return True

    def _decision_allowed(self) -> bool:
        if not self.decision_failures or self.decision_failed_at is None:
            return True
        delay = timedelta(seconds=self.get_throttle_factor() * 2 ** (self.decision_failures - 1))
        return timezone.now() >= self.decision_failed_at + delay

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
