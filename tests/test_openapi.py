"""The OpenAPI schema: valid, complete, every error documented, docs served locally."""

from __future__ import annotations

import tempfile
from pathlib import Path

import yaml
from django.core.management import call_command
from django.test import Client, SimpleTestCase
from django.urls import get_resolver


class OpenApiTests(SimpleTestCase):
    def schema(self) -> dict:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "schema.yaml"
            call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
            return yaml.safe_load(out.read_text())

    def test_it_is_valid_without_warnings_and_lists_every_api_path(self):
        paths = self.schema()["paths"]
        routes = {
            "/"
            + str(p.pattern)
            .replace("<str:request_id>", "{request_id}")
            .replace("<slug:slug>", "{slug}")
            for p in get_resolver().url_patterns
            if str(p.pattern).startswith("api/v1/")
        }
        self.assertEqual(set(paths), routes)

    def test_every_operation_documents_its_errors(self):
        for path, operations in self.schema()["paths"].items():
            for method, operation in operations.items():
                if path == "/api/v1/audit/public-key":
                    continue  # public and parameter-free: nothing to refuse
                with self.subTest(f"{method.upper()} {path}"):
                    statuses = [int(s) for s in operation["responses"] if s.isdigit()]
                    self.assertTrue(any(s >= 400 for s in statuses), operation["responses"].keys())
                    for status, response in operation["responses"].items():
                        if int(status) >= 400:
                            self.assertIn("code:", response["description"])

    def test_it_serves_the_schema_and_the_docs_without_a_cdn(self):
        self.assertEqual(Client().get("/api/schema/").status_code, 200)
        docs = Client().get("/api/docs/")
        self.assertEqual(docs.status_code, 200)
        page = docs.content.decode()
        self.assertIn("swagger-ui", page)
        self.assertNotIn("cdn.jsdelivr.net", page)
