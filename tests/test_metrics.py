"""/metrics: handoffs by risk, decision and channel; no ids in labels; optional token."""

from __future__ import annotations

from django.test import Client, override_settings
from prometheus_client import REGISTRY

from handoffs import metrics
from tests.base import OnyTestCase, enroll_device, make_handoff


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


TOKEN = "metrics-test-token"


@override_settings(ONY_METRICS_TOKEN=TOKEN)
class MetricsTests(OnyTestCase):
    def test_it_counts_handoffs_by_risk_decision_and_channel(self):
        device = enroll_device(self.acme).device
        created = value("ony_handoffs_created_total", risk="low")
        decided = value(
            "ony_handoffs_decided_total", risk="low", decision="approve", channel="policy"
        )
        latency = value("ony_handoff_decision_seconds_count", risk="low", channel="policy")
        with self.captureOnCommitCallbacks(execute=True):
            make_handoff(device, "test.run", target="unit", title="Run tests")
        self.assertEqual(value("ony_handoffs_created_total", risk="low"), created + 1)
        self.assertEqual(
            value("ony_handoffs_decided_total", risk="low", decision="approve", channel="policy"),
            decided + 1,
        )
        self.assertEqual(
            value("ony_handoff_decision_seconds_count", risk="low", channel="policy"), latency + 1
        )

    def test_it_exports_no_ids_or_names(self):
        device = enroll_device(self.acme).device
        with self.captureOnCommitCallbacks(execute=True):
            handoff = make_handoff(device, "test.run", target="secret-target", title="t")
        text = Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content.decode()
        for private in (handoff.public_id, device.public_id, "secret-target", "acme", "test.run"):
            self.assertNotIn(private, text)
        self.assertIn("ony_handoffs_created_total", text)

    def test_it_refuses_labels_outside_the_closed_sets(self):
        with self.assertRaises(ValueError):
            metrics.handoff_created("req_123")

    @override_settings(ONY_METRICS_TOKEN="", DEBUG=False)
    def test_without_a_token_it_is_off_outside_debug(self):
        r = Client().get("/metrics")
        self.assertEqual((r.status_code, r.json()["code"]), (404, "metrics_off"))
        self.assertNotIn(b"ony_handoffs", r.content)
        with self.settings(DEBUG=True):
            self.assertEqual(Client().get("/metrics").status_code, 200)

    @override_settings(ONY_METRICS_TOKEN="s3cret-metrics-token")
    def test_it_asks_for_the_token_when_one_is_set(self):
        r = Client().get("/metrics")
        self.assertEqual((r.status_code, r.json()["code"]), (401, "not_authenticated"))
        self.assertEqual(
            Client().get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code, 401
        )
        ok = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-metrics-token")
        self.assertEqual(ok.status_code, 200)
        self.assertIn("ony_handoffs_decided_total", ok.content.decode())
