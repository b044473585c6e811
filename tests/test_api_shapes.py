"""Served bodies against the OpenAPI schema: every endpoint, every documented status.

The schema is generated from the output serializers the views render with;
this walks each operation through real requests and validates every body
against the schema's response for its status, with no undocumented keys
allowed. Every status an operation documents must be served at least once.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import jsonschema
from django.core.cache import cache
from django.test import Client
from drf_spectacular.generators import SchemaGenerator

from audit import services as audit
from devices import services as devices
from ony import api_tokens
from ony import services as org_services
from ony.api.schema import split_codes
from ony.models import TOTPDevice
from tests.base import OnyTestCase, bearer, current_code, enroll_device, make_handoff


def json_schema(node: Any) -> Any:
    """An OpenAPI 3.0 schema as JSON Schema: ``nullable`` becomes a null branch.

    Nothing else is added: the published schema closes its response objects
    itself (``additionalProperties: false``, ``ony.api.schema``).
    """
    if isinstance(node, list):
        return [json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: json_schema(value) for key, value in node.items()}
    if converted.pop("nullable", False):
        return {"anyOf": [converted, {"type": "null"}]}
    return converted


FORMATS = jsonschema.FormatChecker()


@FORMATS.checks("date-time", raises=ValueError)
def is_utc_time(value: object) -> bool:
    """Ony's times: RFC 3339, UTC, ``Z``."""
    return not isinstance(value, str) or bool(UTC_TIME.fullmatch(value))


UTC_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")


def documented_codes(description: str) -> list[str]:
    """The codes an error response's description lists, without their notes in brackets."""
    return [code.split(" (")[0] for code in split_codes(description.removeprefix("code: "))]


class ApiShapeTests(OnyTestCase):
    # The generated OpenAPI schema's parts, set once by setUpClass.
    paths: dict[str, Any]
    components: dict[str, Any]

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        schema = SchemaGenerator().get_schema(request=None, public=True)
        cls.paths = schema["paths"]
        cls.components = json_schema(schema["components"])

    def setUp(self) -> None:
        cache.clear()  # rate limits start afresh
        self.addCleanup(cache.clear)
        self.served: set[tuple[str, str, str]] = set()
        self.laptop = enroll_device(self.acme, "laptop", self.alice_m)
        self.device = self.laptop.device
        _, self.bob_token = api_tokens.create(self.bob, "shapes")

    def call(
        self, method: str, template: str, status: int, path: str = "", **kwargs: Any
    ) -> dict[str, Any]:
        """Send one request, check its status, and validate its body against the schema."""
        client = kwargs.pop("client", None) or Client()
        body = kwargs.pop("json", None)
        if body is not None:
            kwargs.update(data=json.dumps(body), content_type="application/json")
        response = getattr(client, method)(path or template, **kwargs)
        content = b"".join(response.streaming_content) if response.streaming else response.content
        self.assertEqual(response.status_code, status, content)
        operation = self.paths[template][method]
        documented = operation["responses"].get(str(status))
        self.assertIsNotNone(documented, f"{method.upper()} {template} {status} undocumented")
        schema = copy.deepcopy(documented["content"]["application/json"]["schema"])
        schema = {**json_schema(schema), "components": self.components}
        served = json.loads(content)
        try:
            jsonschema.validate(served, schema, format_checker=FORMATS)
        except jsonschema.ValidationError as exc:
            self.fail(f"{method.upper()} {template} {status}: {exc.message}\n{served}")
        if status >= 400:
            self.assertIn(served["code"], documented_codes(documented["description"]))
        self.served.add((method, template, str(status)))
        return served

    def device_auth(self, token: str | None = None) -> dict[str, str]:
        return bearer(token or self.laptop.device_token)

    def member_auth(self) -> dict[str, str]:
        return {"HTTP_AUTHORIZATION": f"Token {self.bob_token}"}

    def create_body(self, **changes: Any) -> dict[str, Any]:
        return {
            "action": "deploy.production",
            "target": "prod-api",
            "title": "Deploy",
            "summary": "Release 1.2.3",
            "agent_session_id": "sess_1",
            "nonce": "shapes-nonce-0001",
            **changes,
        }

    def test_it_serves_every_documented_status_in_its_documented_shape(self):
        self.walk_enrollment_and_device()
        self.walk_audit()
        self.walk_taxonomy()
        self.walk_handoffs()
        self.walk_team()
        self.walk_export()
        self.walk_refused_characters()
        documented = {
            (method, path, status)
            for path, operations in self.paths.items()
            for method, operation in operations.items()
            for status in operation["responses"]
        }
        missing = documented - self.served
        self.assertEqual(sorted(missing), [])

    def walk_enrollment_and_device(self) -> None:
        _, token = devices.create_enrollment_token(self.acme, created_by=self.alice_m)
        enroll = "/api/v1/enroll"
        enrolled = self.call("post", enroll, 201, json={"token": token, "name": "ci"})
        self.assertEqual(enrolled["org_slug"], "acme")
        self.call("post", enroll, 400, json={"token": token})  # used already
        self.call("post", enroll, 415, data="token=x", content_type="text/plain")
        for _ in range(10):
            Client().post(enroll, "{}", content_type="application/json")
        self.call("post", enroll, 429, json={"token": "ony_enr_x"})

        me = self.call("get", "/api/v1/device", 200, **self.device_auth())
        self.assertEqual(me["device_id"], self.device.public_id)
        self.call("get", "/api/v1/device", 401)
        frozen = enroll_device(self.acme, "frozen")
        devices.freeze(frozen.device, actor="system", reason="test")
        self.call("get", "/api/v1/device", 403, **self.device_auth(frozen.device_token))

    def walk_audit(self) -> None:
        self.call("get", "/api/v1/audit/public-key", 200)
        checkpoint = "/api/v1/audit/checkpoint"
        self.call("get", checkpoint, 401)
        fresh = org_services.create_organization(name="Fresh", slug="fresh", actor="system")
        fresh_device = enroll_device(fresh)  # its org has no checkpoint yet
        self.call("get", checkpoint, 404, **self.device_auth(fresh_device.device_token))
        audit.checkpoint(self.acme)
        note = self.call("get", checkpoint, 200, **self.device_auth())
        self.assertEqual(note["org"], self.acme.public_id)
        frozen = enroll_device(self.acme, "frozen-2")
        devices.freeze(frozen.device, actor="system", reason="test")
        self.call("get", checkpoint, 403, **self.device_auth(frozen.device_token))

    def walk_taxonomy(self) -> None:
        taxonomy = "/api/v1/taxonomy"
        self.call("get", taxonomy, 200, **self.device_auth())
        self.call("get", taxonomy, 200, path=f"{taxonomy}?org=acme", **self.member_auth())
        self.call("get", taxonomy, 404, path=f"{taxonomy}?org=globex", **self.member_auth())
        self.call("get", taxonomy, 401)
        frozen = enroll_device(self.acme, "frozen-taxonomy")
        devices.freeze(frozen.device, actor="system", reason="test")
        self.call("get", taxonomy, 403, **self.device_auth(frozen.device_token))

    def walk_handoffs(self) -> None:
        handoffs = "/api/v1/handoffs"
        auth = self.device_auth()
        created = self.call("post", handoffs, 201, json=self.create_body(), **auth)
        self.assertIsNone(created["verdict"])
        self.call("post", handoffs, 200, json=self.create_body(), **auth)
        approved = self.call(
            "post",
            handoffs,
            201,
            json=self.create_body(action="test.run", nonce="shapes-nonce-0002"),
            **auth,
        )
        self.assertEqual(approved["verdict"]["decided_via"], "policy")
        self.call("post", handoffs, 400, json=self.create_body(action="NOT AN ACTION"), **auth)
        self.call("post", handoffs, 401, json=self.create_body())
        self.call("post", handoffs, 413, json=self.create_body(payload="x" * 300_000), **auth)
        self.call("post", handoffs, 415, data="x", content_type="text/plain", **auth)
        with self.settings(ONY_PHONE_HANDOFF_RATE="0/minute"):  # phone-routed: none allowed
            self.call(
                "post", handoffs, 429, json=self.create_body(nonce="shapes-nonce-0003"), **auth
            )
        frozen = enroll_device(self.acme, "frozen-3")
        devices.freeze(frozen.device, actor="system", reason="test")
        self.call(
            "post", handoffs, 403, json=self.create_body(), **self.device_auth(frozen.device_token)
        )

        listed = self.call("get", handoffs, 200, **self.member_auth())
        self.assertEqual(len(listed["results"]), 2)
        self.call("get", handoffs, 200, path=f"{handoffs}?status=pending", **self.member_auth())
        self.call("get", handoffs, 400, path=f"{handoffs}?status=nope", **self.member_auth())
        self.call("get", handoffs, 401)
        self.call("get", handoffs, 403, **auth)

        self.walk_one_handoff(created["request_id"])

    def walk_one_handoff(self, request_id: str) -> None:
        auth, member = self.device_auth(), self.member_auth()
        detail = "/api/v1/handoffs/{request_id}"
        at = detail.format(request_id=request_id)
        self.assertIsNone(self.call("get", detail, 200, path=at, **auth)["verdict"])
        self.assertEqual(self.call("get", detail, 200, path=at, **member)["org"], "acme")
        self.call("get", detail, 404, path=detail.format(request_id="req_000000000000"), **auth)
        self.call("get", detail, 401, path=at)
        frozen = enroll_device(self.acme, "frozen-4")
        devices.freeze(frozen.device, actor="system", reason="test")
        self.call("get", detail, 403, path=at, **self.device_auth(frozen.device_token))

        progress = detail + "/progress"
        channels = self.call("get", progress, 200, path=at + "/progress", **auth)["channels"]
        self.assertEqual(channels[-1]["channel"], "dashboard")
        self.call("get", progress, 200, path=at + "/progress", **member)
        self.call("get", progress, 401, path=at + "/progress")
        self.call(
            "get", progress, 403, path=at + "/progress", **self.device_auth(frozen.device_token)
        )
        self.call(
            "get", progress, 404, path=detail.format(request_id="req_x") + "/progress", **auth
        )

        verdict = detail + "/verdict"
        self.call("get", verdict, 202, path=at + "/verdict?wait=0", **auth)
        self.call("get", verdict, 400, path=at + "/verdict?wait=99", **auth)
        with self.settings(ONY_MAX_WAITS_PER_DEVICE=0):
            self.call("get", verdict, 429, path=at + "/verdict?wait=1", **auth)
        self.call("get", verdict, 401, path=at + "/verdict")
        self.call("get", verdict, 403, path=at + "/verdict", **member)
        self.call("get", verdict, 404, path=detail.format(request_id="req_x") + "/verdict", **auth)

        decision = detail + "/decision"
        self.call(
            "post", decision, 400, path=at + "/decision", json={"decision": "approve"}, **member
        )
        carol = {"HTTP_AUTHORIZATION": f"Token {api_tokens.create(self.carol, 'c')[1]}"}
        self.call("post", decision, 403, path=at + "/decision", json={"decision": "deny"}, **carol)
        self.call("post", decision, 401, path=at + "/decision", json={"decision": "deny"})
        self.call(
            "post", decision, 404, path=detail.format(request_id="req_x") + "/decision",
            json={"decision": "deny"}, **member,
        )  # fmt: skip
        bob_device = self.bob_m.person.totpdevice_set.get()
        code = current_code(bob_device)
        wrong = str((int(code) + 500_000) % 1_000_000).zfill(6)
        approve = {"decision": "approve"}
        self.call(
            "post", decision, 403, path=at + "/decision", json={**approve, "otp": wrong}, **member
        )
        self.call(
            "post", decision, 429, path=at + "/decision", json={**approve, "otp": code}, **member
        )
        TOTPDevice.objects.filter(pk=bob_device.pk).update(decision_failed_at=None)  # time passes
        decided = self.call(
            "post", decision, 200, path=at + "/decision",
            json={"decision": "approve", "otp": code}, **member,
        )  # fmt: skip
        self.assertEqual(decided["decided_by"], self.bob_m.public_id)
        self.call("post", decision, 409, path=at + "/decision", json={"decision": "deny"}, **member)
        self.assertEqual(
            self.call("get", verdict, 200, path=at + "/verdict", **auth)["status"], "approved"
        )

        cancel = detail + "/cancel"
        self.call("post", cancel, 409, path=at + "/cancel", **auth)
        pending = make_handoff(self.device, nonce="shapes-nonce-cancel")
        at_pending = detail.format(request_id=pending.public_id)
        self.assertEqual(
            self.call("post", cancel, 200, path=at_pending + "/cancel", **auth)["status"],
            "cancelled",
        )
        self.call("post", cancel, 401, path=at_pending + "/cancel")
        self.call("post", cancel, 403, path=at_pending + "/cancel", **member)
        self.call("post", cancel, 404, path=detail.format(request_id="req_x") + "/cancel", **auth)

    def walk_team(self) -> None:
        session = self.client_for(self.bob)  # the dashboard's session, verified with TOTP
        orgs = self.call("get", "/api/v1/orgs", 200, client=session)
        self.assertEqual([o["slug"] for o in orgs["results"]], ["acme"])
        self.call("get", "/api/v1/orgs", 403)
        members = "/api/v1/orgs/{slug}/members"
        at = "/api/v1/orgs/acme/members"
        listed = self.call("get", members, 200, path=at, client=session)
        self.assertIn("+1 *** *** 0102", [m["phone"] for m in listed["results"]])
        self.call("get", members, 404, path="/api/v1/orgs/globex/members", client=session)
        self.call("get", members, 403, path=at)

    def walk_refused_characters(self) -> None:
        """A NUL character in the query is refused before any view, on every operation."""
        for template, operations in self.paths.items():
            path = template.replace("{request_id}", "req_x").replace("{slug}", "acme")
            for method in operations:
                self.call(method, template, 400, path=path + "?q=%00", **self.device_auth())

    def walk_export(self) -> None:
        export = "/api/v1/export"
        alice = self.client_for(self.alice)
        document = self.call("get", export, 200, path=export + "?org=acme", client=alice)
        self.assertEqual(document["organization"]["slug"], "acme")
        self.call("get", export, 400, path=export + "?org=acme&payloads=maybe", client=alice)
        self.call("get", export, 401, path=export + "?org=acme", HTTP_AUTHORIZATION="Token nope")
        self.call("get", export, 403, path=export + "?org=acme", **self.member_auth())
        self.call("get", export, 404, path=export + "?org=globex", client=alice)
