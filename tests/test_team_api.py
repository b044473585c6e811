"""The team API: members see their own organizations only, with phones masked."""

from __future__ import annotations

from django.test import Client

from tests.base import OnyTestCase


class TeamApiTests(OnyTestCase):
    def test_it_lists_only_the_callers_organizations(self):
        r = self.client_for(self.bob).get("/api/v1/orgs")
        self.assertEqual(r.status_code, 200)
        self.assertEqual(
            r.json()["results"],
            [
                {
                    "id": self.acme.public_id,
                    "slug": "acme",
                    "name": "Acme",
                    "timezone": "UTC",
                    "role": "member",
                }
            ],
        )

    def test_it_lists_members_with_masked_phones(self):
        r = self.client_for(self.carol).get("/api/v1/orgs/acme/members")
        self.assertEqual(r.status_code, 200)
        members = {m["email"]: m for m in r.json()["results"]}
        self.assertEqual(set(members), {"alice@acme.test", "bob@acme.test", "carol@acme.test"})
        self.assertEqual(members["bob@acme.test"]["phone"], "+1 *** *** 0102")
        self.assertEqual(members["bob@acme.test"]["id"], self.bob_m.public_id)
        self.assertNotIn("+14155550102", r.content.decode())

    def test_it_hides_another_orgs_members_for_every_role(self):
        for user in (self.alice, self.bob, self.carol):
            r = self.client_for(user).get("/api/v1/orgs/globex/members")
            self.assertEqual(r.status_code, 404)
            self.assertEqual(r.json()["code"], "not_found")
            self.assertNotIn("globex.test", r.content.decode())

    def test_it_answers_an_unknown_org_like_a_foreign_one(self):
        r = self.client_for(self.alice).get("/api/v1/orgs/nope/members")
        self.assertEqual((r.status_code, r.json()["code"]), (404, "not_found"))

    def test_it_refuses_anonymous_callers(self):
        r = Client().get("/api/v1/orgs")
        self.assertEqual(r.status_code, 403)
        self.assertEqual(r.json()["code"], "not_authenticated")

    def test_it_refuses_a_session_without_a_totp_code(self):
        client = Client()
        client.force_login(self.alice)
        r = client.get("/api/v1/orgs/acme/members")
        self.assertEqual(r.status_code, 403)
        self.assertEqual(r.json()["code"], "not_authenticated")

    def test_it_answers_wrong_methods_with_a_json_code(self):
        r = self.client_for(self.alice).post("/api/v1/orgs", {}, content_type="application/json")
        self.assertEqual(r.status_code, 405)
        self.assertEqual(r.json()["code"], "method_not_allowed")

    def test_it_answers_unknown_api_paths_with_json(self):
        r = self.client_for(self.alice).get("/api/v1/nothing-here")
        self.assertEqual(r.status_code, 404)
        self.assertEqual(r.json(), {"code": "not_found", "detail": "Not found."})


class HealthTests(OnyTestCase):
    def test_it_is_alive(self):
        r = Client().get("/healthz")
        self.assertEqual(r.json(), {"status": "ok"})

    def test_it_is_ready_when_database_and_cache_answer(self):
        r = Client().get("/readyz")
        self.assertEqual((r.status_code, r.json()), (200, {"status": "ok"}))
