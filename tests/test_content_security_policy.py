"""Every page carries a strict Content-Security-Policy (the browser tests check pages obey it)."""

from __future__ import annotations

from django.test import Client
from django.urls import reverse

from tests.base import OnyTestCase


class ContentSecurityPolicyTests(OnyTestCase):
    def policy(self, response) -> dict[str, list[str]]:
        header = response["Content-Security-Policy"]
        return {
            directive.split()[0]: directive.split()[1:]
            for directive in header.split(";")
            if directive.strip()
        }

    def test_pages_and_the_api_forbid_other_origins_inline_code_and_framing(self):
        for response in (
            Client().get("/admin/login/"),
            self.client_for(self.alice).get(reverse("admin:audit_verify")),
            Client().get("/api/v1/audit/public-key"),
            Client().get("/api/docs/"),
        ):
            with self.subTest(response.request["PATH_INFO"]):
                policy = self.policy(response)
                self.assertEqual(policy["default-src"], ["'self'"])
                self.assertEqual(policy["frame-ancestors"], ["'none'"])
                self.assertEqual(policy["object-src"], ["'none'"])
                self.assertNotIn("'unsafe-inline'", policy["script-src"])
                if response.request["PATH_INFO"] != "/api/docs/":  # Swagger UI styles inline
                    self.assertNotIn("'unsafe-inline'", policy["style-src"])

    def test_inline_blocks_carry_this_responses_nonce(self):
        response = self.client_for(self.alice).get(reverse("admin:audit_verify"))
        [nonce] = [s for s in self.policy(response)["script-src"] if s.startswith("'nonce-")]
        value = nonce.removeprefix("'nonce-").removesuffix("'")
        self.assertContains(response, f'<script nonce="{value}">')
        self.assertContains(response, f'<style nonce="{value}">')
        self.assertNotContains(response, "onchange=")
