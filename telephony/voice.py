"""What the approver hears: cXML documents built with twilio's ``VoiceResponse``.

Every prompt is a ``<Gather>`` whose ``action`` carries the attempt's current
step token; when the approver stays silent the document falls through to a
``<Redirect>`` to the silence URL, as SignalWire and Twilio do.
"""

from __future__ import annotations

import re
import unicodedata

from django.conf import settings
from django.urls import reverse
from twilio.twiml.voice_response import Gather, VoiceResponse

from handoffs.models import Handoff
from handoffs.taxonomy import ACTIONS
from telephony.models import CallAttempt

GATHER_TIMEOUT_SECONDS = 8
OTP_DIGITS = 6
MENU = (
    "Press 1 to approve. Press 2 to deny. Press star to hear this again. "
    "Press 9 if you did not expect this request: it will be denied and the device frozen."
)


def webhook_url(name: str, attempt: CallAttempt, *, step: bool = False) -> str:
    """The absolute URL of one of ``attempt``'s webhooks, as the provider must request it."""
    url = settings.ONY_PUBLIC_URL + reverse(f"telephony:{name}", args=[attempt.code])
    return f"{url}?step={attempt.step}" if step else url


def _spoken(text: str, limit: int = 160) -> str:
    """Agent-supplied text, shortened for the voice; XML escaping is VoiceResponse's job."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


#: Parts of action names a voice would spell out or garble, as words.
SPOKEN_WORDS = {
    "db": "database",
    "infra": "infrastructure",
    "mcp": "M C P",
    "readonly": "read only",
}


def spoken_action(action: str) -> str:
    """An action's name as words: ``git.push_force`` -> "git push, force".

    The family and the verb are said together; what qualifies the verb comes
    after a pause (a comma).
    """
    parts = []
    for part in action.split("."):
        words = [SPOKEN_WORDS.get(word, word) for word in part.split("_") if word]
        if words:
            parts.append(", ".join(words))
    return " ".join(parts)


def _action_words(action: str) -> str:
    """The action as Ony names it: said as a known action, or as one Ony does not know.

    An unknown action's name is the agent's choice (``risk.low.press.one``),
    so it is never said as if it were Ony's own word for it.
    """
    words = spoken_action(action)
    return words if action in ACTIONS else f"one Ony does not know, named {words}"


#: The most of the agent's own title the call reads out.
AGENT_WORDS_LIMIT = 120

#: Phrases that frame Ony's part of the call; the agent's words never contain
#: them, so that they cannot end the agent's part early or open a fake one.
_FRAMING = re.compile(
    r"end\W*of\W*the\W*agent\W*s\W*words|this\W*is\W*ony|once\W*more\W*from\W*ony",
    re.IGNORECASE,
)


#: A dot or an underscore inside a word ("git.push_force"): said as a space,
#: not read out as "dot" and "underscore". Digits keep theirs ("v1.2.3").
_NAME_JOINER = re.compile(r"(?<=[A-Za-z])[._](?=[A-Za-z])")


def _agents(text: str, limit: int) -> str:
    """Agent-chosen text, shortened, without Ony's framing phrases, names said as words."""
    text = _NAME_JOINER.sub(" ", unicodedata.normalize("NFKC", text))
    while _FRAMING.search(text):  # removing one may join the halves of another
        text = _FRAMING.sub(" ", text)
    return _spoken(text, limit)


def facts(handoff: Handoff) -> str:
    """Ony's own words, said first: only what the server decided, the action and its risk.

    The device name and the target are chosen on the agent's machine, so they
    are read out with the agent's words, not here.
    """
    return (
        f"This is Ony, with an approval request. Action: {_action_words(handoff.action)}. "
        f"Risk: {handoff.risk}."
    )


def agent_words(handoff: Handoff) -> str:
    """What the agent's machine chose, introduced as such, cut short and closed.

    The device's name, the target and the title come between Ony's facts and
    Ony's reminder of them, so whatever they claim, it is heard as the
    agent's and is followed by Ony's action and risk.
    """
    return (
        "The agent's words follow. "
        f"Device: {_agents(handoff.device.name, 60)}. "
        f"Target: {_agents(handoff.target, 80)}. "
        f"Description: {_agents(handoff.title, AGENT_WORDS_LIMIT)}. "
        "End of the agent's words."
    )


def risk_reminder(handoff: Handoff) -> str:
    """Said just before every menu: Ony's facts once more."""
    return f"Once more, from Ony: action {_action_words(handoff.action)}, risk {handoff.risk}."


def _say(node: VoiceResponse | Gather, words: str) -> None:
    """``<Say>`` in the configured voice (``ONY_CALL_VOICE``), else the provider's default."""
    if settings.ONY_CALL_VOICE:
        node.say(words, voice=settings.ONY_CALL_VOICE)
    else:
        node.say(words)


def _gather(response: VoiceResponse, attempt: CallAttempt, num_digits: int) -> Gather:
    gather = Gather(
        input="dtmf",
        num_digits=num_digits,
        timeout=GATHER_TIMEOUT_SECONDS,
        action=webhook_url("keys", attempt, step=True),
        method="POST",
        action_on_empty_result=False,
    )
    response.append(gather)
    response.redirect(webhook_url("silence", attempt, step=True), method="POST")
    return gather


def menu(attempt: CallAttempt, *, preface: str = "", repeat_request: bool = True) -> str:
    response = VoiceResponse()
    gather = _gather(response, attempt, 1)
    if preface:
        _say(gather, preface)
    if repeat_request:
        _say(gather, facts(attempt.handoff))
        _say(gather, agent_words(attempt.handoff))
    _say(gather, risk_reminder(attempt.handoff))
    _say(gather, MENU)
    return str(response)


def ask_code(attempt: CallAttempt, *, preface: str = "") -> str:
    response = VoiceResponse()
    gather = _gather(response, attempt, OTP_DIGITS)
    if preface:
        _say(gather, preface)
    _say(gather, "This action is critical. Enter the 6 digit code from your authenticator app.")
    return str(response)


def goodbye(words: str) -> str:
    response = VoiceResponse()
    _say(response, words)
    response.hangup()
    return str(response)


def hang_up() -> str:
    response = VoiceResponse()
    response.hangup()
    return str(response)
