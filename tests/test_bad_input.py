"""Bad input from agents, members, webhooks and dashboard users: a 4xx with a code, never a 500."""

from __future__ import annotations

import json
from urllib.parse import urlencode

from django.conf import settings
from django.test import Client, override_settings

from devices import services as devices
from devices.models import Device
from handoffs.models import Handoff
from ony import api_tokens
from ony.models import Membership
from telephony.conf import provider
from telephony.signatures import sign
from tests.base import OnyTestCase, bearer, enroll_device, make_handoff
from tests.test_admin_roles import org_form


class BadInputTests(OnyTestCase):
    def setUp(self) -> None:
        self.laptop = enroll_device(self.acme)
        self.auth = bearer(self.laptop.device_token)
        self.client = Client(raise_request_exception=False)

    def create(self, body: str | dict) -> tuple[int, dict]:
        raw = body if isinstance(body, str) else json.dumps(body)
        r = self.client.post("/api/v1/handoffs", raw, content_type="application/json", **self.auth)
        return r.status_code, r.json()

    def body(self, **changes: object) -> dict:
        return {
            "action": "test.run",
            "target": "unit",
            "title": "Run tests",
            "agent_session_id": "s",
            "nonce": "bad-input-nonce-1",
            **changes,
        }

    def test_deeply_nested_json_is_400_too_deep(self):
        for depth in (65_000, 20):
            with self.subTest(depth=depth):
                status, body = self.create("[" * depth + "]" * depth)
                self.assertEqual((status, body["code"]), (400, "too_deep"))
        nested = self.body(options=[[[["x"]]]] * 1)
        status, body = self.create(json.dumps(nested).replace('"x"', "[" * 20 + "]" * 20))
        self.assertEqual((status, body["code"]), (400, "too_deep"))
        self.assertFalse(Handoff.objects.exists())

    def test_a_lone_surrogate_is_refused_and_never_echoed(self):
        raw = json.dumps(self.body(risk_hint="\ud800zebra"))
        status, body = self.create(raw)
        self.assertEqual((status, body["code"]), (400, "invalid"))
        [error] = body["errors"]["risk_hint"]
        self.assertEqual(error["code"], "invalid_choice")
        self.assertNotIn("zebra", error["detail"])
        status, body = self.create(json.dumps(self.body(title="Deploy \udc00 now")))
        self.assertEqual(body["errors"]["title"][0]["code"], "invalid_text")
        self.assertFalse(Handoff.objects.exists())

    def test_a_wait_that_is_not_ascii_digits_is_400(self):
        handoff = make_handoff(self.laptop.device)
        for wait in ("²", "٣", "-1", "1e1", "31"):
            with self.subTest(wait=wait):
                r = self.client.get(
                    f"/api/v1/handoffs/{handoff.public_id}/verdict", {"wait": wait}, **self.auth
                )
                self.assertEqual((r.status_code, r.json()["code"]), (400, "invalid_wait"))

    def test_a_nul_character_anywhere_is_400(self):
        _, token = api_tokens.create(self.bob, "cli")
        member = {"HTTP_AUTHORIZATION": f"Token {token}"}
        requests = [
            ("get", "/api/v1/handoffs/req_%00abc/verdict", self.auth),
            ("get", "/api/v1/taxonomy?org=ac%00me", member),
            ("get", "/api/v1/handoffs?org=%00", member),
        ]
        for method, path, headers in requests:
            with self.subTest(path=path):
                r = getattr(self.client, method)(path, **headers)
                self.assertEqual((r.status_code, r.json()["code"]), (400, "invalid_characters"))
        verify = self.client_for(self.alice).get("/admin/audit/auditentry/verify/?org=a%00")
        self.assertEqual(verify.status_code, 400)
        search = self.client_for(self.alice).get("/admin/ony/membership/?q=%00")
        self.assertEqual(search.status_code, 400)

    @override_settings(ONY_TELEPHONY_SIMULATOR=True, SIGNALWIRE_PROJECT="")
    def test_a_nul_in_a_signed_webhook_is_400(self):
        # Signed as the provider would sign them: the NUL meets the code's lookup
        # (a 500 on PostgreSQL before) unless it is refused first.
        key = provider().signing_key
        for path, form in (
            ("/telephony/calls/ab%00cd/answer", {"CallSid": "CA1"}),
            ("/telephony/calls/abc/status", {"CallStatus": "busy\x00"}),
        ):
            with self.subTest(path=path):
                url = settings.ONY_PUBLIC_URL + path
                r = self.client.post(
                    path,
                    urlencode(form),
                    content_type="application/x-www-form-urlencoded",  # as the providers post
                    HTTP_X_SIGNALWIRE_SIGNATURE=sign(key, url, form),
                )
                self.assertEqual((r.status_code, r.json()["code"]), (400, "invalid_characters"))


class MembershipPageTests(OnyTestCase):
    def test_viewers_and_members_read_a_membership_with_the_phone_masked(self):
        url = f"/admin/ony/membership/{self.alice_m.pk}/change/"
        for user in (self.bob, self.carol):
            with self.subTest(user.email):
                r = self.client_for(user).get(url)
                self.assertEqual(r.status_code, 200)
                self.assertContains(r, "+1 *** *** 0101")
                self.assertNotContains(r, self.alice_m.phone)
                self.assertNotContains(r, "415 555 0101")

    def test_an_admin_sees_the_number_masked_and_may_replace_keep_or_remove_it(self):
        url = f"/admin/ony/membership/{self.bob_m.pk}/change/"
        alice = self.client_for(self.alice)
        page = alice.get(url)
        self.assertContains(page, "Now: +1 *** *** 0102")
        self.assertNotContains(page, self.bob_m.phone)
        form = {"role": "member", "phone": "", "timezone": "", "oncall_order": "2"}
        form |= {"telegram_chat_id": "", "slack_user_id": ""}
        self.assertEqual(alice.post(url, form).status_code, 302)
        self.assertEqual(Membership.objects.get(pk=self.bob_m.pk).phone, "+14155550102")
        self.assertEqual(alice.post(url, {**form, "phone": "+1 (415) 555-0199"}).status_code, 302)
        self.assertEqual(Membership.objects.get(pk=self.bob_m.pk).phone, "+14155550199")
        self.assertEqual(alice.post(url, {**form, "remove_phone": "on"}).status_code, 302)
        self.assertEqual(Membership.objects.get(pk=self.bob_m.pk).phone, "")


class MoreBadInputTests(OnyTestCase):
    """What a red team found answered with a 500; each is a 4xx now, and nothing changes."""

    def setUp(self) -> None:
        self.laptop = enroll_device(self.acme)
        self.auth = bearer(self.laptop.device_token)
        self.client = Client(raise_request_exception=False)

    def test_a_number_where_text_belongs_in_a_list(self):
        body = {"action": "test.run", "target": "t", "title": "t", "agent_session_id": "s"}
        body |= {"nonce": "more-bad-0001", "options": [1, None, {"a": 1}]}
        r = self.client.post(
            "/api/v1/handoffs", json.dumps(body), content_type="application/json", **self.auth
        )
        self.assertEqual(r.status_code, 400, r.content)
        self.assertFalse(Handoff.objects.exists())

    def test_head_on_the_list_by_a_device(self):
        r = self.client.head("/api/v1/handoffs", **self.auth)
        self.assertLess(r.status_code, 500)

    def test_a_phone_number_as_a_device_name(self):
        _, token = devices.create_enrollment_token(self.acme)
        r = self.client.post(
            "/api/v1/enroll",
            json.dumps({"token": token, "name": "Bob 415-555-0199"}),
            content_type="application/json",
        )
        self.assertEqual(r.status_code, 400, r.content)
        self.assertEqual(r.json()["code"], "invalid_name")
        self.assertFalse(Device.objects.filter(name="Bob 415-555-0199").exists())

    def test_odd_risk_overrides_in_the_dashboard(self):
        url = f"/admin/ony/organization/{self.acme.pk}/change/"
        for value in ("null", "[" * 100_000, '{"\\ud800": "high"}', "[]", '""', "7"):
            with self.subTest(value[:10]):
                r = self.client_for(self.alice).post(url, org_form(risk_overrides=value))
                self.assertEqual(r.status_code, 200)  # the form again, with the error
                self.acme.refresh_from_db()
                self.assertEqual(self.acme.risk_overrides, {})

    def test_odd_emails_when_adding_a_member(self):
        for email in ("a" * 250 + "@acme.test", "\u0130@acme.test"):
            with self.subTest(email[:10]):
                r = self.client_for(self.alice).post(
                    "/admin/ony/membership/add/",
                    {"org": self.acme.pk, "email": email, "role": "viewer", "timezone": ""},
                )
                self.assertLess(r.status_code, 500)

    def test_an_admin_action_on_ids_that_are_not_ids(self):
        for selected in ("abc", "1\x00"):
            with self.subTest(selected):
                r = self.client_for(self.alice).post(
                    "/admin/ony/membership/",
                    {"action": "delete_selected", "_selected_action": selected},
                )
                self.assertLess(r.status_code, 500)

    def test_deleting_every_admin_at_once_is_refused_politely(self):
        Membership.objects.filter(pk=self.bob_m.pk).update(role="admin")
        admins = Membership.objects.filter(org=self.acme, role="admin")
        r = self.client_for(self.alice).post(
            "/admin/ony/membership/",
            {
                "action": "delete_selected",
                "_selected_action": [str(m.pk) for m in admins],
                "post": "yes",
            },
        )
        self.assertLess(r.status_code, 500)
        self.assertEqual(Membership.objects.filter(org=self.acme, role="admin").count(), 2)
