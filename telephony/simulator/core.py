"""A SignalWire-compatible telephony service, small enough to read, for tests and the demo.

The REST side speaks the Compatibility API the twilio client uses: ``POST
.../2010-04-01/Accounts/{project}/Calls.json`` (Basic auth with the project
and token) answers with a call sid; ``Calls/{sid}.json`` with ``Status``
ends a call; ``Messages.json`` records a text. The phone side is what a
person does with a ringing phone: answer (or let a machine answer), press
keys, stay silent, decline, let it ring out, hang up. The simulator then does
what SignalWire does: fetches the cXML from Ony, follows ``Say``, ``Gather``,
``Redirect`` and ``Hangup``, and posts ``Digits`` and the final status
callback, each signed with the signing key exactly as SignalWire signs them.

It does not depend on Django: ``credentials`` supplies the project, token
and signing key, and two small adapters serve it (``views`` inside Ony,
``server`` on its own).
"""

from __future__ import annotations

import base64
import hmac
import re
import secrets
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from twilio.request_validator import RequestValidator

API = re.compile(
    r"^/?2010-04-01/Accounts/(?P<project>[^/]+)/(?P<rest>Calls|Messages)(?:/(?P<sid>[^/]+))?\.json$"
)
#: Numbers the simulator treats as nonexistent (Twilio's own magic test number among them).
INVALID_NUMBERS = {"+15005550001"}
ENDED = ("completed", "busy", "no-answer", "failed", "canceled")
HTTP_TIMEOUT = 15


class Credentials(NamedTuple):
    project: str
    token: str
    signing_key: str


class SimulatorError(Exception):
    """The phone side asked for something the call cannot do now."""


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """Providers do not follow redirects on webhooks; neither does the simulator."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirects)


@dataclass
class Call:
    sid: str
    to: str
    from_: str
    url: str
    status_callback: str
    machine_detection: bool
    status: str = "ringing"
    answered_by: str = ""
    transcript: list[str] = field(default_factory=list)  # everything the voice said
    prompt: list[str] = field(default_factory=list)  # what it said since the last key
    gather: dict[str, Any] | None = None
    fallthrough: list[tuple[ET.Element, str]] = field(default_factory=list)
    keys: str = ""
    callbacks: list[dict[str, str]] = field(default_factory=list)  # status callbacks posted
    created: float = field(default_factory=time.time)

    @property
    def ended(self) -> bool:
        return self.status in ENDED

    def as_dict(self) -> dict[str, Any]:
        return {
            "sid": self.sid,
            "to": self.to,
            "from": self.from_,
            "status": self.status,
            "answered_by": self.answered_by or None,
            "prompt": list(self.prompt),
            "transcript": list(self.transcript),
            "waiting_for_keys": self.gather is not None,
            "num_digits": self.gather["numDigits"] if self.gather else None,
        }


@dataclass
class Message:
    sid: str
    to: str
    from_: str
    body: str


class Simulator:
    def __init__(self, credentials: Callable[[], Credentials]) -> None:
        self.credentials = credentials
        self._lock = threading.Lock()
        self.calls: dict[str, Call] = {}
        self.messages: list[Message] = []
        # (HTTP status, code, message) to answer the next Calls.json requests with
        self.failures: list[tuple[int, int, str]] = []
        self._background: list[threading.Thread] = []

    def settle(self) -> None:
        """Wait until the status callbacks still on their way have been answered."""
        for thread in list(self._background):
            thread.join(HTTP_TIMEOUT)

    def reset(self) -> None:
        """Forget every call, after the callbacks still on their way have arrived."""
        self.settle()
        with self._lock:
            self._background.clear()
            self.calls.clear()
            self.messages.clear()
            self.failures.clear()

    def fail_next(self, status: int = 503, code: int = 20500, message: str = "Unavailable") -> None:
        """Answer the next Calls.json request with this error (tests of retries)."""
        with self._lock:
            self.failures.append((status, code, message))

    # --- the REST side ---------------------------------------------------------------

    def rest(
        self, method: str | None, path: str, authorization: str, form: dict[str, list[str]]
    ) -> tuple[int, dict]:
        """One Compatibility API request; returns (HTTP status, JSON body)."""
        match = API.match(path)
        if match is None:
            return 404, _error(404, 20404, "The requested resource was not found")
        creds = self.credentials()
        if not _basic_auth_ok(authorization, creds) or match["project"] != creds.project:
            return 401, _error(401, 20003, "Authentication Error - invalid username")
        if method != "POST":
            return 405, _error(405, 20004, "Method not allowed")
        values = {name: items[-1] for name, items in form.items() if items}
        if match["rest"] == "Messages":
            return self._message(values)
        if match["sid"]:
            return self._update(match["sid"], values)
        return self._create(values)

    def _create(self, values: dict[str, str]) -> tuple[int, dict]:
        with self._lock:
            if self.failures:
                status, code, message = self.failures.pop(0)
                return status, _error(status, code, message)
        to = values.get("To", "")
        if not re.fullmatch(r"\+[1-9]\d{6,14}", to) or to in INVALID_NUMBERS:
            return 400, _error(400, 21211, f"Invalid 'To' Phone Number: {to[:3]}...")
        if not values.get("Url") or not values.get("From"):
            return 400, _error(400, 21205, "Url and From are required")
        if not (values.get("Timeout") or "60").isdigit():
            return 400, _error(400, 21207, "Timeout must be a number of seconds")
        call = Call(
            sid="CA" + secrets.token_hex(16),
            to=to,
            from_=values["From"],
            url=values["Url"],
            status_callback=values.get("StatusCallback", ""),
            machine_detection=values.get("MachineDetection", "") in ("Enable", "DetectMessageEnd"),
        )
        with self._lock:
            self.calls[call.sid] = call
        return 201, self._resource(call, "queued")

    def _resource(self, call: Call, status: str | None = None) -> dict:
        creds = self.credentials()
        return {
            "sid": call.sid,
            "account_sid": creds.project,
            "to": call.to,
            "from": call.from_,
            "status": status or call.status,
            "direction": "outbound-api",
            "api_version": "2010-04-01",
            "uri": f"/api/laml/2010-04-01/Accounts/{creds.project}/Calls/{call.sid}.json",
        }

    def _update(self, sid: str, values: dict[str, str]) -> tuple[int, dict]:
        call = self.calls.get(sid)
        if call is None:
            return 404, _error(404, 20404, "The requested resource was not found")
        wanted = values.get("Status", "")
        if wanted not in ("canceled", "completed"):
            return 400, _error(400, 21218, "Invalid Status")
        with self._lock:
            ringing = call.status == "ringing"
        if wanted == "canceled" and not ringing:
            return 200, self._resource(call)  # canceling only stops a call that still rings
        # SignalWire reports the end asynchronously, as it happens on the network.
        final = "canceled" if ringing else "completed"
        thread = threading.Thread(target=self._end, args=(call, final), daemon=True)
        with self._lock:
            self._background = [t for t in self._background if t.is_alive()] + [thread]
        thread.start()
        return 200, self._resource(call, final)

    def _message(self, values: dict[str, str]) -> tuple[int, dict]:
        message = Message(
            "SM" + secrets.token_hex(16),
            values.get("To", ""),
            values.get("From", ""),
            values.get("Body", ""),
        )
        with self._lock:
            self.messages.append(message)
        return 201, {
            "sid": message.sid,
            "to": message.to,
            "from": message.from_,
            "body": message.body,
            "status": "queued",
        }

    # --- the phone side ----------------------------------------------------------------

    def ringing(self, to: str | None = None) -> list[Call]:
        with self._lock:
            return [c for c in self.calls.values() if c.status == "ringing" and to in (None, c.to)]

    def call(self, sid: str) -> Call:
        call = self.calls.get(sid)
        if call is None:
            raise SimulatorError("no such call")
        return call

    def answer(self, sid: str, answered_by: str = "human") -> Call:
        """Pick up (``answered_by``: human, machine_start, fax): Ony's cXML is fetched and run."""
        call = self.call(sid)
        with self._lock:
            if call.status != "ringing":
                raise SimulatorError(f"the call is {call.status}")
            call.status = "in-progress"
            call.answered_by = answered_by if call.machine_detection else ""
        self._run(self._fetch(call, call.url, {}), call.url, call)
        return call

    def press(self, sid: str, keys: str) -> Call:
        """Press ``keys`` on the keypad; a full ``Gather`` posts its ``Digits``."""
        call = self.call(sid)
        for key in keys:
            gather = call.gather
            if call.ended or gather is None:
                raise SimulatorError("nobody is listening for keys")
            if key == gather["finishOnKey"]:
                self._submit(call, gather)
                continue
            call.keys += key
            if len(call.keys) >= gather["numDigits"]:
                self._submit(call, gather)
        return call

    def silence(self, sid: str) -> Call:
        """Let the current ``Gather`` time out: the document goes on after it."""
        call = self.call(sid)
        if call.ended or call.gather is None:
            raise SimulatorError("nobody is listening for keys")
        if call.keys:
            self._submit(call, call.gather)
            return call
        gather, verbs = call.gather, call.fallthrough
        call.gather, call.fallthrough = None, []
        if gather["actionOnEmptyResult"]:
            self._run(self._fetch(call, gather["action"], {"Digits": ""}), gather["action"], call)
        else:
            self._run_verbs(verbs, call)
        return call

    def decline(self, sid: str) -> Call:
        return self._ring_out(sid, "busy")

    def no_answer(self, sid: str) -> Call:
        return self._ring_out(sid, "no-answer")

    def hang_up(self, sid: str) -> Call:
        """The person hangs up mid-call."""
        call = self.call(sid)
        if call.status != "in-progress":
            raise SimulatorError(f"the call is {call.status}")
        self._end(call, "completed")
        return call

    def _ring_out(self, sid: str, status: str) -> Call:
        call = self.call(sid)
        if call.status != "ringing":
            raise SimulatorError(f"the call is {call.status}")
        self._end(call, status)
        return call

    # --- running cXML ------------------------------------------------------------------

    def _submit(self, call: Call, gather: dict[str, Any]) -> None:
        """Post the keys pressed so far to ``gather`` (the call's current Gather)."""
        digits = call.keys
        call.gather, call.fallthrough, call.keys, call.prompt = None, [], "", []
        self._run(self._fetch(call, gather["action"], {"Digits": digits}), gather["action"], call)

    def _run(self, document: str | None, url: str, call: Call) -> None:
        if document is None or call.ended:
            return
        root = ET.fromstring(document)  # noqa: S314 (only ever Ony's own responses)
        if root.tag != "Response":
            self._end(call, "failed")
            return
        self._run_verbs([(verb, url) for verb in root], call)

    def _run_verbs(self, verbs: list[tuple[ET.Element, str]], call: Call) -> None:
        for index, (verb, base) in enumerate(verbs):
            if call.ended:
                return
            if verb.tag == "Say":
                self._say(call, verb.text or "")
            elif verb.tag == "Gather":
                for child in verb:
                    if child.tag == "Say":
                        self._say(call, child.text or "")
                call.gather = {
                    "action": urllib.parse.urljoin(base, verb.get("action") or base),
                    "numDigits": int(verb.get("numDigits") or 99),
                    "finishOnKey": verb.get("finishOnKey", "#"),
                    "actionOnEmptyResult": verb.get("actionOnEmptyResult") == "true",
                }
                call.fallthrough = verbs[index + 1 :]
                return
            elif verb.tag == "Redirect":
                target = urllib.parse.urljoin(base, (verb.text or "").strip())
                self._run(self._fetch(call, target, {}), target, call)
                return
            elif verb.tag in ("Hangup", "Reject"):
                break
        self._end(call, "completed")

    def _say(self, call: Call, text: str) -> None:
        call.prompt.append(text)
        call.transcript.append(text)

    # --- webhooks ---------------------------------------------------------------------

    def _params(self, call: Call, status: str) -> dict[str, str]:
        params = {
            "AccountSid": self.credentials().project,
            "ApiVersion": "2010-04-01",
            "CallSid": call.sid,
            "CallStatus": status,
            "Direction": "outbound-api",
            "From": call.from_,
            "To": call.to,
        }
        if call.answered_by:
            params["AnsweredBy"] = call.answered_by
        return params

    def _fetch(self, call: Call, url: str, extra: dict[str, str]) -> str | None:
        """POST for cXML (Ony asks for POST everywhere); a failure ends the call as ``failed``."""
        params = {**self._params(call, "in-progress"), **extra}
        status, body = self.send(url, params)
        if status != 200:
            self._end(call, "failed")
            return None
        return body

    def send(self, url: str, params: dict[str, str]) -> tuple[int, str]:
        """One signed webhook POST, as SignalWire sends it; (status, body), never redirected."""
        if not url.startswith(("http://", "https://")):
            return 0, ""
        signature = RequestValidator(self.credentials().signing_key).compute_signature(url, params)
        request = urllib.request.Request(  # noqa: S310 (http or https, checked above)
            url,
            data=urllib.parse.urlencode(params).encode(),
            method="POST",
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-SignalWire-Signature": signature,
                "X-Twilio-Signature": signature,
                "User-Agent": "SignalWire-Simulator",
            },
        )
        try:
            with _opener.open(request, timeout=HTTP_TIMEOUT) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(errors="replace")
        except OSError:
            return 0, ""

    def _end(self, call: Call, status: str) -> None:
        """End the call once and post its final status callback."""
        with self._lock:
            if call.ended:
                return
            call.status, call.gather, call.fallthrough = status, None, []
        if call.status_callback:
            params = self._params(call, status)
            if status == "completed":
                params["CallDuration"] = str(max(1, int(time.time() - call.created)))
            call.callbacks.append(params)
            self.send(call.status_callback, params)


def _basic_auth_ok(header: str, creds: Credentials) -> bool:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        user, _, password = base64.b64decode(encoded).decode().partition(":")
    except ValueError:
        return False
    return hmac.compare_digest(user, creds.project) and hmac.compare_digest(password, creds.token)


def _error(status: int, code: int, message: str) -> dict:
    return {
        "status": status,
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
    }
