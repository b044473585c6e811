"""An organization's data as one JSON document, streamed in constant memory.

The document (``"format": "ony-export-v1"``, docs/data.md) holds the
organization and its policy, members (names, emails, roles, masked phones),
devices, handoffs with their decisions and signed verdicts, call attempts,
chat messages, and every audit entry with its canonical text and hashes plus
the signed checkpoints, so ``manage.py verify_chain --from-export FILE`` can
verify it without a database.

Never in it: TOTP secrets, password hashes, API and device token hashes,
decision keys, chat ids, call codes and keypad steps. Payloads only when
asked for and still retained. Rows are read with ``iterator()`` a chunk at a
time and written one by one, so memory does not grow with the org.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone

from audit import services as audit
from audit import signing
from audit.events import Event
from audit.exports import FORMAT
from audit.models import AuditEntry, Checkpoint
from chat.models import ChatMessage
from devices.models import Device
from handoffs.models import Handoff
from handoffs.taxonomy import Risk
from ony.models import Membership, Organization
from ony.models.tenancy import has_role
from ony.refusal import Refusal
from ony.roles import MANAGE
from ony.selectors import organization_of
from telephony.models import CallAttempt

CHUNK = 500
RISKS = [risk.label for risk in Risk]


def audited_document(org: Organization, *, actor: str, payloads: bool = False) -> Iterator[str]:
    """Audit an export of ``org`` by ``actor`` (``export.created``); the document's text.

    The entry, and a checkpoint signed at it, are committed before the first
    byte is produced, and the document's chain ends with them: an export
    always shows that it was made, and where its chain ends.
    """
    with transaction.atomic():
        data = {"with_payloads": payloads}
        entry = audit.append(org, Event.EXPORT_CREATED, actor, org.public_id, data)
        # Signed at the export's own entry: an export whose chain was cut
        # short of it cannot pass for a whole one (audit.exports).
        audit.checkpoint(org)
    return document(org, through_seq=entry.seq, payloads=payloads)


def document(org: Organization, *, through_seq: int, payloads: bool) -> Iterator[str]:
    """The export's JSON text in pieces, all read from one moment: the chain up to ``through_seq``.

    Every section is read in one read-only REPEATABLE READ transaction
    (PostgreSQL; inside a caller's transaction, the caller's), so changes
    made while the download runs (a decision, an erasure, retention) are in
    none of it. The transaction ends with the generator, however it ends.
    """
    own_transaction = not connection.in_atomic_block
    with transaction.atomic():
        if own_transaction and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        yield from _sections(Organization.objects.get(pk=org.pk), through_seq, payloads)


def _sections(org: Organization, through_seq: int, payloads: bool) -> Iterator[str]:
    yield "{" + _pair("format", FORMAT) + "," + _pair("exported_at", timezone.now())
    yield "," + _pair("organization", organization(org))
    yield from _array("members", map(member, _rows(_members(org))))
    yield from _array("devices", map(device, _rows(_devices(org))))
    yield from _array("handoffs", (handoff(h, payloads) for h in _rows(_handoffs(org, payloads))))
    yield from _array("call_attempts", map(call_attempt, _rows(_calls(org))))
    yield from _array("chat_messages", map(chat_message, _rows(_chats(org))))
    yield ',"audit":{' + _pair("org", org.public_id)
    yield "," + _pair("checkpoint_public_key", signing.public_key_b64())
    yield from _array("entries", map(audit_entry, _rows(_entries(org, through_seq))))
    yield from _array("checkpoints", map(checkpoint, _rows(_checkpoints(org, through_seq))))
    yield "}}\n"


def organization(org: Organization) -> dict[str, Any]:
    return {
        "id": org.public_id,
        "name": org.name,
        "slug": org.slug,
        "timezone": org.timezone,
        "created_at": org.created_at,
        "policy": {risk: org.route(risk) for risk in RISKS},
        "deadline_seconds": {risk: org.deadline_seconds(risk) for risk in RISKS},
        "chat": {risk: org.chat_route(risk) for risk in RISKS},
        "risk_overrides": org.risk_overrides,
        "viewers_read_payloads": org.viewers_read_payloads,
        "retention_days": {
            "payloads": org.payload_retention_days,
            "details": org.detail_retention_days,
        },
    }


def member(m: Membership) -> dict[str, Any]:
    """A member; an erased one keeps only its id, role and when it was erased."""
    if m.user is None:
        return {"id": m.public_id, "role": m.role, "erased_at": m.erased_at}
    return {
        "id": m.public_id,
        "name": m.user.full_name,
        "email": m.user.email,
        "active": m.user.is_active,
        "role": m.role,
        "phone": m.masked_phone,
        "timezone": m.timezone,
        "oncall_order": m.oncall_order,
        "chat_linked": {"slack": bool(m.slack_user_id), "telegram": bool(m.telegram_chat_id)},
        "created_at": m.created_at,
    }


def device(d: Device) -> dict[str, Any]:
    return {
        "id": d.public_id,
        "name": d.name,
        "owner": d.owner.public_id if d.owner else None,
        "created_at": d.created_at,
        "last_seen_at": d.last_seen_at,
        "revoked_at": d.revoked_at,
        "frozen_at": d.frozen_at,
        "frozen_reason": d.frozen_reason,
    }


def handoff(h: Handoff, payloads: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": h.public_id,
        "device": h.device.public_id,
        "agent_session_id": h.agent_session_id,
        "action": h.action,
        "target": h.target,
        "risk": h.risk,
        "risk_hint": h.risk_hint,
        "hint_mismatch": h.hint_mismatch,
        "title": h.title,
        "summary": h.summary,
        "options": h.options,
        "payload_sha256": h.payload_sha256 or None,
        "payload_scrubbed_at": h.payload_scrubbed_at,
        "status": h.status,
        "deadline": h.deadline,
        "decision": h.decision,
        "decided_via": h.decided_via,
        "decided_by": h.decided_by.public_id if h.decided_by else None,
        "decided_at": h.decided_at,
        "verdict": h.verdict,
        "created_at": h.created_at,
    }
    if payloads:
        body["payload"] = h.payload  # None once scrubbed
    return body


def call_attempt(c: CallAttempt) -> dict[str, Any]:
    return {
        "handoff": c.handoff.public_id,
        "member": c.member.public_id if c.member else None,
        "round": c.round,
        "position": c.position,
        "status": c.status,
        "answered_by": c.answered_by,
        "outcome": c.outcome,
        "created_at": c.created_at,
        "ended_at": c.ended_at,
    }


def chat_message(m: ChatMessage) -> dict[str, Any]:
    return {
        "handoff": m.handoff.public_id,
        "member": m.member.public_id if m.member else None,
        "service": m.service,
        "status": m.status,
        "created_at": m.created_at,
        "sent_at": m.sent_at,
        "closed_at": m.closed_at,
    }


def audit_entry(e: AuditEntry) -> dict[str, Any]:
    return {
        "seq": e.seq,
        "key_id": e.key_id,
        "prev_hash": bytes(e.prev_hash).hex(),
        "hash": bytes(e.hash).hex(),
        "canonical": e.canonical,
        "event": e.event,
        "actor": e.actor,
        "subject": e.subject,
    }


def checkpoint(c: Checkpoint) -> dict[str, Any]:
    return {"seq": c.seq, "hash": bytes(c.hash).hex(), "note": c.note, "signature": c.signature}


def _members(org: Organization) -> Iterable[Membership]:
    return Membership.all_objects.for_org(org).select_related("user").order_by("pk")


def _devices(org: Organization) -> Iterable[Device]:
    return Device.objects.for_org(org).select_related("owner").order_by("pk")


def _handoffs(org: Organization, payloads: bool) -> Iterable[Handoff]:
    rows = Handoff.objects.for_org(org).select_related("device", "decided_by").order_by("pk")
    return rows if payloads else rows.defer("payload")  # not even decrypted


def _calls(org: Organization) -> Iterable[CallAttempt]:
    rows = CallAttempt.objects.for_org(org).select_related("handoff", "member")
    return rows.order_by("pk")


def _chats(org: Organization) -> Iterable[ChatMessage]:
    rows = ChatMessage.objects.for_org(org).select_related("handoff", "member")
    return rows.order_by("pk")


def _entries(org: Organization, through_seq: int) -> Iterable[AuditEntry]:
    return AuditEntry.objects.for_org(org).filter(seq__lte=through_seq).order_by("seq")


def _checkpoints(org: Organization, through_seq: int) -> Iterable[Checkpoint]:
    return Checkpoint.objects.for_org(org).filter(seq__lte=through_seq).order_by("seq")


def _rows(queryset: Any) -> Iterator[Any]:
    return queryset.iterator(chunk_size=CHUNK)


def _json(value: Any) -> str:
    return json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False, separators=(",", ":"))


def _pair(name: str, value: Any) -> str:
    return f"{_json(name)}:{_json(value)}"


def _array(name: str, items: Iterable[dict[str, Any]]) -> Iterator[str]:
    """``,"name":[item,item,...]``, an item at a time."""
    yield f",{_json(name)}:["
    first = True
    for item in items:
        yield ("" if first else ",") + _json(item)
        first = False
    yield "]"


def exportable_org(user: Any, slug: str) -> Organization:
    """``user``'s organization ``slug`` if they may export it (its admins, superusers).

    Raises ``Http404`` for an org they do not belong to (whether or not it
    exists) and ``Refusal`` ``not_an_admin`` (403) for one they belong to in
    another role.
    """
    org = organization_of(user, slug)
    if not has_role(user, org, MANAGE):
        raise Refusal("not_an_admin", "Only the organization's admins may export its data.", 403)
    return org


def for_person(user: Any, slug: str, *, payloads: bool) -> tuple[Organization, Iterator[str]]:
    """``user``'s export of their organization ``slug``: the org and the audited document.

    Refused as ``exportable_org`` refuses (404, or 403 ``not_an_admin``);
    the export is audited in the name of ``user``'s membership there.
    """
    org = exportable_org(user, slug)
    actor = audit.actor_for(user, org)
    return org, audited_document(org, actor=actor, payloads=payloads)
