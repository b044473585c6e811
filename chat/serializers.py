"""The parts of Slack's and Telegram's wire formats Ony reads, validated before use.

Ids and codes must have the shape the service gives them (checked by
pattern, so nothing odd reaches a query); everything else in a payload is
ignored.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from chat import texts

MESSAGE_CODE = r"^[A-Za-z0-9_-]{22}$"
SLACK_ID = r"^[A-Z0-9]{2,32}$"


class SlackUser(serializers.Serializer):
    id = serializers.RegexField(SLACK_ID)


class SlackAction(serializers.Serializer):
    action_id = serializers.ChoiceField(choices=["ony_approve", "ony_deny"])
    value = serializers.RegexField(MESSAGE_CODE)


class SlackBlockActions(serializers.Serializer):
    """A click on a message's button (``type: block_actions``)."""

    user = SlackUser()
    trigger_id = serializers.RegexField(r"^[0-9A-Za-z._-]{1,255}$")
    actions = serializers.ListField(child=SlackAction(), min_length=1, max_length=1)


class SlackView(serializers.Serializer):
    callback_id = serializers.ChoiceField(choices=[texts.CODE_VIEW])
    private_metadata = serializers.RegexField(MESSAGE_CODE)
    state = serializers.DictField()


class SlackViewSubmission(serializers.Serializer):
    """The code dialog's submission (``type: view_submission``)."""

    user = SlackUser()
    view = SlackView()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        values = attrs["view"]["state"].get("values")
        block = values.get(texts.CODE_BLOCK) if isinstance(values, dict) else None
        field = block.get(texts.CODE_INPUT) if isinstance(block, dict) else None
        value = field.get("value") if isinstance(field, dict) else None
        # Only digits are ever a code; anything else is answered as a wrong code.
        attrs["otp"] = value if isinstance(value, str) and value.isascii() else ""
        return attrs


class TelegramUser(serializers.Serializer):
    id = serializers.IntegerField(min_value=1, max_value=2**53)


class TelegramChat(serializers.Serializer):
    id = serializers.IntegerField(min_value=-(2**53), max_value=2**53)
    type = serializers.CharField(max_length=16)


class TelegramRepliedTo(serializers.Serializer):
    message_id = serializers.IntegerField(min_value=1, max_value=2**53)


class WithSender(serializers.Serializer):
    """Telegram names the sender ``from``, a Python keyword: the field is added by name."""

    sender_required = True

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        fields["from"] = TelegramUser(required=self.sender_required)
        return fields


class TelegramMessage(WithSender):
    # Posts in channels have no sender; Ony answers none of them.
    sender_required = False

    message_id = serializers.IntegerField(min_value=1, max_value=2**53)
    chat = TelegramChat()
    text = serializers.CharField(
        required=False, allow_blank=True, trim_whitespace=False, max_length=4096
    )
    reply_to_message = TelegramRepliedTo(required=False)


class TelegramCallback(WithSender):
    id = serializers.RegexField(r"^[0-9A-Za-z_-]{1,64}$")
    # Absent for games; Ony's buttons always carry it. DRF's metaclass moves declared
    # fields out of the class body, so at run time this never hides Serializer.data.
    data = serializers.RegexField(  # type: ignore[assignment]
        r"^[ad]:[A-Za-z0-9_-]{22}$", required=False
    )


class TelegramUpdate(serializers.Serializer):
    update_id = serializers.IntegerField(min_value=0, max_value=2**53)
    message = TelegramMessage(required=False)
    callback_query = TelegramCallback(required=False)
