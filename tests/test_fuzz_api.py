"""Schemathesis against the published OpenAPI schema: no 5xx, and every answer as documented.

The schema is read from ``/api/schema/`` as a client would read it, and every
operation is called with requests generated from it: valid ones (positive
mode) and ones that break it somewhere (negative mode: a wrong type, a
missing field, a field the schema does not list...). Each request goes with
one of the callers below, drawn like the rest of the request, and each answer
is checked by schemathesis: never a 5xx, a status the operation documents,
its content type, its body against the schema (objects closed), and in
negative mode that the schema-breaking request was refused. On top of that,
an error's ``code`` must be one the operation lists for that status.

Bounded and repeatable: a fixed number of examples per operation and mode,
derandomized (the same examples every run), no deadline. Each example runs
in a savepoint rolled back afterwards, with the cache cleared, so every
request meets the same state and a failure shrinks reliably.

Every operation is fuzzed; two are held in:

- the verdict long-poll (``?wait=``): a wait the server would honour is sent
  as 0 (``capped_wait``), since a real wait takes up to 30 s per request and
  lets go of the database connection the test's transaction lives on;
- the export streams a whole organization's data: it runs as it is, since
  the test's organizations hold a few rows, so each export takes
  milliseconds (the stream is read to its end and checked like any body).
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import schemathesis
from django.core.cache import cache
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from django.test import Client
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from audit import services as audit
from devices import services as devices
from devices.models import Device
from handoffs.models import Handoff, Status
from ony import api_tokens
from ony.models import User
from tests.base import OnyTestCase, bearer, enroll_device, make_handoff, verified_client
from tests.test_api_shapes import documented_codes

#: Generated requests per operation and generation mode, from any caller.
EXAMPLES = 20
#: In positive mode, requests per combination of real ids and a caller meant to call.
EXAMPLES_MADE_TO_PASS = 2
FUZZ = settings(
    derandomize=True,  # no example database (each run is seeded too: ``send_examples``)
    deadline=None,  # nothing here is timed
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
    ],
)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@contextmanager
def rolled_back() -> Iterator[None]:
    """A savepoint undone on the way out, and a fresh cache (rate limits, OTP throttles)."""
    cache.clear()
    with transaction.atomic():
        yield
        transaction.set_rollback(True)
    cache.clear()


def capped_wait(query: dict[str, Any] | None) -> dict[str, Any] | None:
    """``?wait=`` as sent, except that a wait the server would honour becomes 0.

    A long-poll on a pending handoff really waits (up to 30 s) and lets go of
    the database connection while it does, which a test's transaction cannot
    survive; a valid wait only changes how long the same answer takes, so it
    is sent as 0. Invalid values (negative, over 30, not digits) go as
    generated: they are refused before any wait.
    """
    if not query or "wait" not in query:
        return query
    raw = query["wait"]
    text = json.dumps(raw) if not isinstance(raw, str) else raw
    if text.isascii() and text.isdigit() and len(text) <= 2:
        return {**query, "wait": 0}
    return query


#: The callers each security scheme stands for (``nobody`` for operations open to all).
CALLERS_OF_SCHEME = {
    "deviceToken": ["device"],
    "personalToken": ["admin", "member", "viewer"],
    "dashboardSession": ["session"],
}


class FuzzApiTests(OnyTestCase):
    schema: Any
    #: The operations that answered a request with a 2xx at least once.
    served: set[str]

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        served = Client().get("/api/schema/", {"format": "json"})
        assert served.status_code == 200, served.content[:300]
        cls.schema = schemathesis.openapi.from_dict(json.loads(served.content))
        # Django's own WSGI application, as gunicorn runs it: a view's exception
        # is a 500 here, as in production, not an exception in the test.
        cls.schema.app = WSGIHandler()

    def setUp(self) -> None:
        # As Django's test client does: connections are not closed at the ends of
        # requests, so every request runs inside the test's transaction.
        for signal in (request_started, request_finished):
            signal.disconnect(close_old_connections)
            self.addCleanup(signal.connect, close_old_connections)
        cache.clear()
        self.addCleanup(cache.clear)
        self.served = set()
        laptop = enroll_device(self.acme, "laptop", self.alice_m)
        other = enroll_device(self.acme, "other")
        globex = enroll_device(self.globex, "globex")
        self.request_ids = [
            make_handoff(laptop.device).public_id,  # pending: critical, for a person
            make_handoff(laptop.device, "test.run").public_id,  # approved by the policy
            make_handoff(other.device).public_id,  # another device's
            make_handoff(globex.device).public_id,  # another organization's
        ]
        _, self.enrollment_token = devices.create_enrollment_token(self.acme)
        audit.checkpoint(self.acme)

        def token(user: User) -> dict[str, Any]:
            return {"headers": {"Authorization": f"Token {api_tokens.create(user, 'fuzz')[1]}"}}

        session = verified_client(self.bob).cookies["sessionid"].value
        # How each request authenticates: keyword arguments of ``case.call``.
        # ``generated`` keeps whatever the case carries (schemathesis makes up
        # a bearer token for the operations that take one); the others replace it.
        self.callers: dict[str, dict[str, Any]] = {
            "device": {"headers": {"Authorization": f"Bearer {laptop.device_token}"}},
            "member": token(self.bob),
            "admin": token(self.alice),
            "viewer": token(self.carol),
            "session": {"cookies": {"sessionid": session}},
            "nobody": {},
            "generated": {},
        }

    def fuzz(self, operation: Any, mode: GenerationMode) -> None:
        """Generated requests from anyone; in positive mode, also requests made to pass.

        Generated ids, slugs and tokens name nothing that exists (404,
        ``enrollment_token_invalid``), and most callers are not the ones an
        operation serves. So in positive mode each combination of real ids,
        slugs or enrollment token with each caller the operation is meant for
        gets a few generated requests of its own too, and valid requests reach
        the code behind those checks.
        """
        anyone = st.sampled_from(sorted(self.callers))
        cases = operation.as_strategy(generation_mode=mode)
        self.send_examples(operation, mode, cases, anyone, EXAMPLES, mode.value)
        if mode is GenerationMode.NEGATIVE:
            return
        for number, fixed in enumerate(self.real_values(operation)):
            if operation.label == "POST /api/v1/enroll":
                cases = operation.as_strategy(generation_mode=mode).map(self.with_enrollment_token)
            else:
                cases = operation.as_strategy(generation_mode=mode, **fixed)
            for caller in self.meant_for(operation):
                name = f"{number} {caller}"  # not the ids themselves: they differ on each run
                self.send_examples(
                    operation, mode, cases, st.just(caller), EXAMPLES_MADE_TO_PASS, name
                )

    def real_values(self, operation: Any) -> list[dict[str, dict[str, str]]]:
        """Each combination of real values for the operation's path and query parameters."""
        real = {
            "path_parameters": {"request_id": self.request_ids, "slug": ["acme", "globex"]},
            "query": {"org": ["acme", "globex"]},
        }
        combinations: list[dict[str, dict[str, str]]] = [{}]
        for where, values in real.items():
            for parameter in getattr(operation, where):
                if parameter.name in values:
                    combinations = [
                        {**fixed, where: {**fixed.get(where, {}), parameter.name: value}}
                        for fixed in combinations
                        for value in values[parameter.name]
                    ]
        return combinations

    def with_enrollment_token(self, case: Any) -> Any:
        if isinstance(case.body, dict):
            case.body = {**case.body, "token": self.enrollment_token}
        return case

    def meant_for(self, operation: Any) -> list[str]:
        """The callers ``operation``'s security requirements stand for."""
        return [
            caller
            for requirement in operation.definition.raw.get("security", [{}])
            for caller in (
                [c for scheme in requirement for c in CALLERS_OF_SCHEME[scheme]] or ["nobody"]
            )
        ]

    def send_examples(
        self,
        operation: Any,
        mode: GenerationMode,
        cases: st.SearchStrategy[Any],
        callers: st.SearchStrategy[str],
        examples: int,
        name: str,
    ) -> None:
        """Send ``examples`` of ``cases``, each by one of ``callers``, and check each answer.

        The examples are the same on every run: Hypothesis is seeded with the
        operation's label and ``name``.
        """
        checks = [*CHECKS, negative_data_rejection] if mode is GenerationMode.NEGATIVE else CHECKS

        @seed(zlib.crc32(f"{operation.label} {name}".encode()))
        @settings(FUZZ, max_examples=examples)
        @given(case=cases, caller=callers)
        def send(case: Any, caller: str) -> None:
            case.query = capped_wait(case.query)
            if self.schema.is_security_param_negated(case):
                caller = "generated"  # sent without the credentials the schema requires
            if caller != "generated" and case.headers:
                case.headers.pop("Authorization", None)
            with rolled_back():
                response = case.call_and_validate(checks=checks, **self.callers[caller])
            self.assert_code_documented(operation, response)
            if response.status_code < 400:
                self.served.add(operation.label)

        send()

    def assert_code_documented(self, operation: Any, response: Any) -> None:
        """An error's ``code`` is one the operation lists for that status."""
        if response.status_code < 400:
            return
        documented = operation.definition.raw["responses"][str(response.status_code)]
        code = json.loads(response.content)["code"]
        self.assertIn(code, documented_codes(documented["description"]), response.content[:300])

    def operations(self) -> Iterator[Any]:
        for result in self.schema.get_all_operations():
            yield result.ok()

    def test_it_answers_valid_requests_as_documented(self) -> None:
        labels = []
        for operation in self.operations():
            labels.append(operation.label)
            with self.subTest(operation.label):
                self.fuzz(operation, GenerationMode.POSITIVE)
        # The fuzzer got past the checks into every operation at least once.
        self.assertEqual(sorted(set(labels) - self.served), [])

    def test_it_refuses_invalid_requests_as_documented(self) -> None:
        for operation in self.operations():
            if not any(operation.iter_parameters()) and not operation.body:
                continue  # GET /api/v1/audit/public-key: nothing to get wrong
            with self.subTest(operation.label):
                self.fuzz(operation, GenerationMode.NEGATIVE)


class UnknownFieldTests(OnyTestCase):
    """Every JSON body the API takes is closed: a field it does not list is refused.

    The schema says so (``additionalProperties: false`` on each request body,
    ``ony.api.schema.ClosedInput``), and the server does it: 400 ``invalid``
    with ``unknown_field`` for the field, and nothing stored.
    """

    UNKNOWN = ["surprise", "Action", "nonce ", "__proto__", ""]

    def test_it_refuses_unknown_fields_in_every_request_body(self) -> None:
        schema = SchemaGenerator().get_schema(request=None, public=True)
        components = schema["components"]["schemas"]
        bodies = {
            f"{method.upper()} {path}": operation["requestBody"]
            for path, operations in schema["paths"].items()
            for method, operation in operations.items()
            if "requestBody" in operation
        }
        for label, body in bodies.items():
            ref = body["content"]["application/json"]["schema"]["$ref"]
            self.assertIs(components[ref.rsplit("/", 1)[-1]]["additionalProperties"], False, label)

        laptop = enroll_device(self.acme)
        pending = make_handoff(laptop.device)
        _, enrollment_token = devices.create_enrollment_token(self.acme)
        member = {"HTTP_AUTHORIZATION": f"Token {api_tokens.create(self.bob, 'fuzz')[1]}"}
        valid: dict[str, tuple[str, dict[str, Any], dict[str, Any]]] = {
            "POST /api/v1/enroll": (
                "/api/v1/enroll",
                {"token": enrollment_token, "name": "laptop"},
                {},
            ),
            "POST /api/v1/handoffs": (
                "/api/v1/handoffs",
                {"action": "test.run", "target": "x", "title": "t", "agent_session_id": "s"},
                bearer(laptop.device_token),
            ),
            "POST /api/v1/handoffs/{request_id}/decision": (
                f"/api/v1/handoffs/{pending.public_id}/decision",
                {"decision": "deny"},
                member,
            ),
        }
        self.assertEqual(sorted(bodies), sorted(valid))  # a new body: add it here
        devices_before, handoffs_before = Device.objects.count(), Handoff.objects.count()
        for label, (url, fields, auth) in valid.items():
            for name in self.UNKNOWN:
                with self.subTest(label, field=name):
                    cache.clear()  # the enrollment rate limit
                    body = {**fields, "nonce": "unknown-field-01", name: "x"}
                    if label != "POST /api/v1/handoffs":
                        del body["nonce"]
                    r = Client().post(
                        url, json.dumps(body), content_type="application/json", **auth
                    )
                    self.assertEqual(r.status_code, 400, r.content)
                    self.assertEqual(r.json()["code"], "invalid")
                    self.assertEqual(r.json()["errors"][name][0]["code"], "unknown_field")
        self.assertEqual(Device.objects.count(), devices_before)
        self.assertEqual(Handoff.objects.count(), handoffs_before)
        pending.refresh_from_db()
        self.assertEqual(pending.status, Status.PENDING)
