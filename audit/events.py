"""What may be written to the audit chain: a closed list of events, and id shapes.

Actors are pseudonymous ids, never an email or a phone number, so erasing a
person's data never touches the chain: ``mem_...`` (a member of the org),
``dev_...`` (a device), ``usr_...`` (an installation operator acting on an org
they do not belong to) or ``system``.
"""

from __future__ import annotations

import re
from enum import StrEnum


class Event(StrEnum):
    ORG_CREATED = "org.created"
    ORG_UPDATED = "org.updated"
    MEMBER_INVITED = "member.invited"
    MEMBER_ADDED = "member.added"
    MEMBER_UPDATED = "member.updated"
    MEMBER_ROLE_CHANGED = "member.role_changed"
    MEMBER_REMOVED = "member.removed"
    MEMBER_ERASED = "member.erased"
    DEVICE_ENROLLED = "device.enrolled"
    DEVICE_REVOKED = "device.revoked"
    DEVICE_FROZEN = "device.frozen"
    DEVICE_UNFROZEN = "device.unfrozen"
    DEVICE_THROTTLED = "device.throttled"
    HANDOFF_CREATED = "handoff.created"
    HANDOFF_DECIDED = "handoff.decided"
    HANDOFF_EXPIRED = "handoff.expired"
    HANDOFF_CANCELLED = "handoff.cancelled"
    CALL_PLACED = "call.placed"
    CALL_STATUS = "call.status"
    CHAT_LINKED = "chat.linked"
    CHAT_UNLINKED = "chat.unlinked"
    CHAT_SENT = "chat.sent"
    CHAT_CLICKED = "chat.clicked"
    OTP_FAILED = "otp.failed"
    PAYLOAD_SCRUBBED = "payload.scrubbed"
    EXPORT_CREATED = "export.created"


SYSTEM = "system"
# Ids need no JSON escaping, which lets the verifier compare a row's columns
# with its canonical text by plain prefix and suffix (see audit.verification).
ACTOR = re.compile(r"^(system|(mem|dev|usr)_[0-9a-z]{1,32})$")
SUBJECT = re.compile(r"^([a-z]{2,8}_[0-9a-z]{1,32})?$")
# Keys that suggest a secret or a payload; data holds neither.
FORBIDDEN_DATA_KEYS = frozenset(
    {
        "password",
        "secret",
        "token",
        "device_token",
        "decision_key",
        "key",
        "otp_code",
        "code",
        "payload",
        "phone",
        "email",
    }
)
