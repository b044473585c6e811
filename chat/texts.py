"""What a chat message says: Ony's facts first, the agent's words marked as such, the outcome.

Everything an agent or a device chose (title, summary, target, device name)
is escaped for the service and cut short; in Slack it is plain text, so it
cannot format, link or mention anyone.
"""

from __future__ import annotations

import html
import unicodedata
import zoneinfo
from datetime import datetime
from typing import Any

from chat.models import ChatMessage
from handoffs import selectors
from handoffs.models import Handoff, Status
from handoffs.services import needs_otp
from handoffs.taxonomy import describe_action

TITLE_LIMIT = 150
SUMMARY_LIMIT = 500
FACT_LIMIT = 200

#: How a decision's channel reads after "Approved by Alice".
VIA_WORDS = {
    "ivr": "by phone",
    "dashboard": "in the dashboard",
    "api": "through the API",
    "slack": "in Slack",
    "telegram": "in Telegram",
}


def _cut(text: str, limit: int) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


#: Characters that move or hide text: line and paragraph breaks, controls,
#: and format characters (bidirectional overrides, zero-width ones).
_INVISIBLE = {"Cc", "Cf", "Zl", "Zp"}


def one_line(text: str, limit: int) -> str:
    """``text`` on one line, with nothing that moves or hides text, cut at ``limit``.

    For agent-chosen values shown among Ony's facts (a target, a device
    name): a line break there could forge a fact line of its own.
    """
    visible = "".join(" " if unicodedata.category(c) in _INVISIBLE else c for c in text)
    return _cut(" ".join(visible.split()), limit) or "(none)"


def _words(text: str) -> str:
    """The agent's own text: line breaks kept, other controls and format characters dropped."""
    kept = (c for c in text if c == "\n" or unicodedata.category(c) not in _INVISIBLE)
    return "".join(kept)


def _risk(handoff: Handoff) -> str:
    risk = handoff.risk
    if handoff.hint_mismatch:
        return f"{risk} (the agent said {handoff.risk_hint}: lower than Ony's risk)"
    return risk


def _local(moment: datetime, message: ChatMessage) -> str:
    member = message.member
    name = (member.timezone if member else "") or message.org.timezone or "UTC"
    try:
        zone = zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = zoneinfo.ZoneInfo("UTC")
    return f"{moment.astimezone(zone):%H:%M} ({name})"


def facts(message: ChatMessage) -> list[tuple[str, str]]:
    """Ony's facts about the message's handoff, as ``(label, text)``: all server-derived."""
    handoff = message.handoff
    return [
        ("Device", one_line(handoff.device.name, FACT_LIMIT)),
        ("Action", f"{handoff.action}: {describe_action(handoff.action)}"),
        ("Target", one_line(handoff.target, FACT_LIMIT)),
        ("Risk", _risk(handoff)),
        ("Decide by", _local(handoff.deadline, message)),
    ]


def agent_words(handoff: Handoff) -> str:
    """The agent's title (and summary), cut short; never empty (Slack refuses empty text)."""
    title = _cut(_words(handoff.title), TITLE_LIMIT) or "(no title)"
    summary = _cut(_words(handoff.summary), SUMMARY_LIMIT)
    return f"{title}\n{summary}" if summary else title


def _name(handoff: Handoff) -> str:
    """Who decided, as colleagues know them (never an email address: chat is a third party)."""
    user = handoff.decided_by.user if handoff.decided_by else None
    if user is None:
        return "a member"
    return user.full_name or user.email.split("@", 1)[0]


def outcome(handoff: Handoff) -> str:
    """One line on how the handoff ended ("Approved by Alice by phone.", "Expired.")."""
    if handoff.status == Status.PENDING:
        return "Waiting for a decision."
    if handoff.status == Status.EXPIRED:
        return "Expired: nobody decided in time, so the answer was no."
    if handoff.status == Status.CANCELLED:
        return "Cancelled by the agent."
    verb = "Approved" if handoff.decision == "approve" else "Denied"
    words = VIA_WORDS.get(handoff.decided_via, f"via {handoff.decided_via}")
    return f"{verb} by {_name(handoff)} {words}."


def headline(handoff: Handoff) -> str:
    return f"Ony: {handoff.risk}-risk request {handoff.public_id}"


def code_needed(handoff: Handoff) -> bool:
    return needs_otp(handoff)


# Slack: Block Kit. Agent and device text only ever in plain_text objects.


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": False}


def mrkdwn_escape(text: str) -> str:
    """Text for Slack's mrkdwn: ``&``, ``<`` and ``>`` escaped, so no link or mention forms."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_blocks(message: ChatMessage, *, buttons: bool) -> list[dict[str, Any]]:
    """The message's blocks: facts, the agent's words, then buttons or the outcome."""
    handoff = message.handoff
    fields = [_plain(f"{label}: {text}") for label, text in facts(message)]
    link = mrkdwn_escape(selectors.page_url(handoff))
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": _plain(headline(handoff))},
        {"type": "section", "fields": fields},
        {"type": "context", "elements": [_plain("The agent's description, in its own words:")]},
        {"type": "section", "text": _plain(agent_words(handoff))},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": f"<{link}|Open in Ony>"}]},
    ]
    if not buttons:
        blocks.append({"type": "section", "text": _plain(outcome(handoff))})
        return blocks
    if code_needed(handoff):
        note = "Approving asks for your 6-digit authenticator code."
        blocks.append({"type": "context", "elements": [_plain(note)]})
    blocks.append(
        {
            "type": "actions",
            "block_id": "ony_decision",
            "elements": [
                _slack_button("Approve", "ony_approve", message.code, "primary"),
                _slack_button("Deny", "ony_deny", message.code, "danger"),
            ],
        }
    )
    return blocks


def _slack_button(label: str, action_id: str, value: str, style: str) -> dict[str, Any]:
    return {
        "type": "button",
        "text": _plain(label),
        "action_id": action_id,
        "value": value,
        "style": style,
    }


def slack_text(message: ChatMessage, *, closed: bool = False) -> str:
    """The notification's text (what a lock screen shows). Slack reads it as mrkdwn, so
    the target is escaped: no mention, no link."""
    handoff = message.handoff
    if closed:
        return f"{headline(handoff)}: {outcome(handoff)}"
    target = mrkdwn_escape(one_line(handoff.target, 80))
    return f"{headline(handoff)}: {handoff.action} on {target}"


#: The code dialog's ids: what a ``view_submission`` carries back.
CODE_VIEW = "ony_code"
CODE_BLOCK = "ony_code_block"
CODE_INPUT = "ony_code_input"


def slack_code_view(message: ChatMessage) -> dict[str, Any]:
    """The modal asking for the authenticator code (``private_metadata``: the message's code)."""
    handoff = message.handoff
    return {
        "type": "modal",
        "callback_id": CODE_VIEW,
        "private_metadata": message.code,
        "title": _plain("Approve with a code"),
        "submit": _plain("Approve"),
        "close": _plain("Cancel"),
        "blocks": [
            {
                "type": "section",
                "text": _plain(
                    f"{handoff.public_id}: {handoff.action} on {one_line(handoff.target, 80)}, "
                    f"{handoff.risk} risk."
                ),
            },
            {
                "type": "input",
                "block_id": CODE_BLOCK,
                "label": _plain("Authenticator code"),
                "element": {
                    "type": "plain_text_input",
                    "action_id": CODE_INPUT,
                    "min_length": 6,
                    "max_length": 6,
                    "placeholder": _plain("123456"),
                },
            },
        ],
    }


# Telegram: its HTML subset, everything escaped.


def telegram_html(message: ChatMessage, *, closed: bool = False) -> str:
    handoff = message.handoff
    lines = [f"<b>{html.escape(headline(handoff))}</b>"]
    lines += [f"{label}: {html.escape(text)}" for label, text in facts(message)]
    lines += [
        "",
        "<i>The agent's description, in its own words:</i>",
        f"<blockquote>{html.escape(agent_words(handoff))}</blockquote>",
        f'<a href="{html.escape(selectors.page_url(handoff))}">Open in Ony</a>',
    ]
    if closed:
        lines += ["", f"<b>{html.escape(outcome(handoff))}</b>"]
    elif code_needed(handoff):
        lines += ["", "Approving asks for your 6-digit authenticator code."]
    return "\n".join(lines)


def telegram_code_prompt(handoff: Handoff) -> str:
    return (
        f"To approve {html.escape(handoff.public_id)} ({html.escape(handoff.action)}), "
        "reply to this message with your 6-digit authenticator code. "
        "Ony deletes your reply once it has read it."
    )
