"""While Redis (the shared cache) is down, counters go on in each process: no 500 for it."""

from __future__ import annotations

from django.test import Client, override_settings

from devices import services as devices
from handoffs import wakeup
from handoffs.models import Handoff, Status
from ony import cache as shared_cache
from ony import ratelimit
from tests.base import OnyTestCase, bearer, enroll_device, make_handoff

#: A Redis cache where nothing listens (port 1 refuses at once).
NO_REDIS = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",
        "KEY_PREFIX": "ony",
    }
}


@override_settings(CACHES=NO_REDIS)
class CacheOutageTests(OnyTestCase):
    def setUp(self) -> None:
        shared_cache.LOCAL.clear()
        shared_cache._last_warning = 0.0  # as if this process had not warned yet

    def test_it_counts_rates_in_the_process_and_says_so_once(self):
        rate = ratelimit.Rate(2, 60)
        with self.assertLogs("ony.cache", "WARNING") as logs:
            allowed = [ratelimit.allow("outage-test", rate) for _ in range(3)]
            self.assertTrue(ratelimit.first_refusal("outage-test", rate))
            self.assertFalse(ratelimit.first_refusal("outage-test", rate))
        self.assertEqual(allowed, [True, True, False])
        self.assertLessEqual(len(logs.records), 1)

    def test_wait_slots_are_counted_and_given_back_in_the_process(self):
        with wakeup.wait_slot(7, 1) as first, wakeup.wait_slot(7, 1) as second:
            self.assertEqual((first, second), (True, False))
        with wakeup.wait_slot(7, 1) as again:  # both given back
            self.assertTrue(again)

    @override_settings(ONY_MAX_WAITS_PER_DEVICE=1)
    def test_a_device_past_its_wait_cap_still_gets_429_not_500(self):
        laptop = enroll_device(self.acme)
        handoff = make_handoff(laptop.device)
        url = f"/api/v1/handoffs/{handoff.public_id}/verdict?wait=1"
        with wakeup.wait_slot(laptop.device.pk, 1):  # another wait of this device
            refused = Client().get(url, **bearer(laptop.device_token))
        self.assertEqual((refused.status_code, refused.json()["code"]), (429, "too_many_waits"))
        waited = Client().get(url, **bearer(laptop.device_token))
        self.assertEqual(waited.status_code, 202, waited.content)

    def test_enrolling_is_still_throttled_not_500(self):
        statuses = []
        for n in range(11):  # ONY_ENROLL_RATE: 10 a minute from one address
            _, token = devices.create_enrollment_token(self.acme)
            body = {"token": token, "name": f"laptop-{n}"}
            statuses.append(Client().post("/api/v1/enroll", body, "application/json").status_code)
        self.assertEqual(statuses, [201] * 10 + [429])

    def test_readiness_says_degraded_and_keeps_the_node(self):
        r = Client().get("/readyz")
        self.assertEqual(
            (r.status_code, r.json()), (200, {"status": "degraded", "failed": ["cache"]})
        )

    @override_settings(ONY_PHONE_HANDOFF_RATE="1/minute", ONY_TELEPHONY_SIMULATOR=False)
    def test_agents_get_answers_not_500s_and_the_phone_rate_still_holds(self):
        laptop = enroll_device(self.acme)
        client = Client()
        body = {
            "action": "db.migrate",
            "target": "orders-db",
            "title": "Migrate",
            "agent_session_id": "s",
        }
        first = client.post(
            "/api/v1/handoffs", {**body, "nonce": "outage-1"}, "application/json",
            **bearer(laptop.device_token),
        )  # fmt: skip
        self.assertEqual(first.status_code, 201, first.content)
        handoff = Handoff.objects.get(public_id=first.json()["request_id"])
        self.assertEqual(handoff.status, Status.PENDING)

        waited = client.get(
            f"/api/v1/handoffs/{handoff.public_id}/verdict?wait=0", **bearer(laptop.device_token)
        )
        self.assertEqual(waited.status_code, 202, waited.content)

        second = client.post(
            "/api/v1/handoffs", {**body, "nonce": "outage-2"}, "application/json",
            **bearer(laptop.device_token),
        )  # fmt: skip
        self.assertEqual((second.status_code, second.json()["code"]), (429, "throttled"))
        self.assertEqual(Handoff.objects.count(), 1)
