"""Input and output shapes of the handoff API (agents and members)."""

from __future__ import annotations

import unicodedata
from typing import Any

from django.core.validators import RegexValidator
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from handoffs import progress
from handoffs.models import Status
from handoffs.taxonomy import ACTION_NAME
from ony.api.output import BlankAsNullField, UtcTimeField, renderer
from ony.api.validation import StrictSerializer
from ony.phone import no_phone_number


def exact_text(value: str) -> None:
    """Strings are compared byte for byte in the verdict: NFC, no control characters.

    Nor lone surrogates (``"\\ud800"`` in JSON): they are not text, and no
    database or canonical JSON takes them.
    """
    if any(unicodedata.category(ch) == "Cs" for ch in value):
        raise ValidationError("Send valid Unicode text.", code="invalid_text")
    if not unicodedata.is_normalized("NFC", value):
        raise ValidationError("Send text in Unicode NFC.", code="not_nfc")
    if any(unicodedata.category(ch) == "Cc" and ch not in "\n\t" for ch in value):
        raise ValidationError("Control characters are not allowed.", code="control_character")


class StrictCharField(serializers.CharField):
    """A string, and only a string: DRF's CharField would turn 7 into "7"."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


def text(max_length: int, *, required: bool = True, **kwargs: Any) -> StrictCharField:
    return StrictCharField(
        max_length=max_length,
        required=required,
        trim_whitespace=False,
        validators=[exact_text, *kwargs.pop("validators", [])],
        **kwargs,
    )


class HandoffInput(StrictSerializer):
    action = text(100, validators=[RegexValidator(ACTION_NAME, code="invalid_action")])
    target = text(255, validators=[no_phone_number])
    title = text(200)
    summary = text(2000, required=False, allow_blank=True)
    options = serializers.ListField(child=text(100), max_length=10, required=False)
    payload = text(65536, required=False, allow_null=True, allow_blank=True)
    risk_hint = serializers.ChoiceField(
        ["low", "medium", "high", "critical"], required=False, allow_blank=True
    )
    agent_session_id = text(128)
    nonce = StrictCharField(
        max_length=128, validators=[RegexValidator(r"^[A-Za-z0-9_-]{8,128}$", code="invalid")]
    )


class DecisionInput(StrictSerializer):
    decision = serializers.ChoiceField(["approve", "deny"])
    otp = serializers.RegexField(r"^\d{6}$", required=False, allow_blank=True)


# Output shapes: the API renders its bodies through these, and the OpenAPI
# schema is generated from them.


class VerdictOutput(serializers.Serializer):
    """The signed verdict (docs/api.md): honour it only if it verifies and binds the request."""

    v = serializers.IntegerField(help_text="Format version: 1.")
    request_id = serializers.CharField()
    device_id = serializers.CharField(help_text="The device whose decision key signed this.")
    agent_session_id = serializers.CharField()
    action = serializers.CharField()
    target = serializers.CharField()
    risk = serializers.CharField(help_text="The server's risk, from the taxonomy.")
    decision = serializers.ChoiceField(["approve", "deny", "ask"])
    decided_via = serializers.CharField(help_text="ivr, dashboard, api, policy, deadline, ...")
    nonce = serializers.CharField(help_text="The nonce the device sent when it asked.")
    issued_at = serializers.CharField()
    expires_at = serializers.CharField(help_text="Not valid after this time.")
    audit_seq = serializers.IntegerField(help_text="The audit entry that recorded the decision.")
    audit_hash = serializers.CharField()
    signature = serializers.CharField(help_text='"hmac-sha256:" + 64 hex digits')


@extend_schema_field(VerdictOutput(allow_null=True))
class SignedVerdictField(serializers.Field):
    """The stored verdict exactly as it was signed (null while pending).

    Passed through untouched: re-rendering it field by field could change
    what the signature covers.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(read_only=True, allow_null=True, **kwargs)

    def to_representation(self, value: dict[str, Any]) -> dict[str, Any]:
        return value


class HandoffOutput(serializers.Serializer):
    """A handoff as the agent sees it; ``verdict`` is null while pending."""

    request_id = serializers.CharField(source="public_id")
    status = serializers.ChoiceField(Status.choices)
    risk = serializers.CharField()
    action = serializers.CharField()
    target = serializers.CharField()
    expires_at = UtcTimeField(source="deadline")
    verdict = SignedVerdictField()


class ChannelProgressOutput(serializers.Serializer):
    """One channel's report: ``people`` it can reach, ``contacted`` so far (calls, messages)."""

    channel = serializers.ChoiceField(["phone", "chat", "dashboard"])
    state = serializers.ChoiceField(progress.STATES)
    people = serializers.IntegerField(min_value=0)
    contacted = serializers.IntegerField(min_value=0)


class ProgressOutput(serializers.Serializer):
    """Where a handoff stands on each channel it went to (none when the policy decided)."""

    request_id = serializers.CharField()
    status = serializers.ChoiceField(Status.choices)
    channels = ChannelProgressOutput(many=True)


class DeviceRef(serializers.Serializer):
    id = serializers.CharField(source="public_id")
    name = serializers.CharField()


class MemberHandoffOutput(HandoffOutput):
    """A handoff as a member sees it: the agent's view plus who asked and why (no payload)."""

    org = serializers.CharField(source="org.slug")
    title = serializers.CharField()
    summary = serializers.CharField()
    options = serializers.ListField(child=serializers.CharField())
    device = DeviceRef()
    agent_session_id = serializers.CharField()
    risk_hint = BlankAsNullField()
    hint_mismatch = serializers.BooleanField()
    has_payload = serializers.BooleanField()
    decided_via = BlankAsNullField()
    decided_by = serializers.CharField(source="decided_by.public_id", allow_null=True)
    created_at = UtcTimeField()


class HandoffListOutput(serializers.Serializer):
    results = MemberHandoffOutput(many=True)


#: ``render_handoff(handoff)``: the agent's view, as a dict.
render_handoff = renderer(HandoffOutput)
#: ``render_member_handoff(handoff)``: a member's view, as a dict.
render_member_handoff = renderer(MemberHandoffOutput)


class ActionOutput(serializers.Serializer):
    action = serializers.CharField()
    category = serializers.CharField(help_text="files, shell, git, packages, network, ...")
    risk = serializers.CharField(help_text="The risk for the caller's organization.")
    base_risk = serializers.CharField(help_text="The taxonomy's own risk, before overrides.")
    description = serializers.CharField()


class TaxonomyOutput(serializers.Serializer):
    version = serializers.IntegerField()
    org = serializers.CharField(allow_null=True)
    unknown_action_risk = serializers.CharField()
    actions = ActionOutput(many=True)


#: ``render_taxonomy(selectors.taxonomy_for(org))``: the taxonomy answer, as a dict.
render_taxonomy = renderer(TaxonomyOutput)
