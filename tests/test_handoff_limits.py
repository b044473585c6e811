"""Limits one device cannot talk around: phone-routed creates per minute, waits at once."""

from __future__ import annotations

import json
import time
from contextlib import ExitStack
from unittest import mock

from django.core.cache import cache
from django.test import Client, override_settings

from audit.models import AuditEntry
from handoffs import wakeup
from handoffs.models import Handoff
from tests.base import OnyTestCase, bearer, enroll_device, make_handoff, run_together


@override_settings(ONY_PHONE_HANDOFF_RATE="3/minute")
class PhoneRateTests(OnyTestCase):
    def setUp(self) -> None:
        cache.clear()
        self.addCleanup(cache.clear)
        self.laptop = enroll_device(self.acme)

    def create(self, action: str, nonce: str, token: str | None = None):
        body = {"action": action, "target": "prod", "title": "t", "agent_session_id": "s"}
        return Client().post(
            "/api/v1/handoffs",
            json.dumps({**body, "nonce": nonce}),
            content_type="application/json",
            **bearer(token or self.laptop.device_token),
        )

    def test_a_device_may_not_flood_people_with_calls(self):
        statuses = [self.create("db.migrate", f"flood-nonce-{n:04d}").status_code for n in range(6)]
        self.assertEqual(statuses, [201, 201, 201, 429, 429, 429])
        refused = self.create("deploy.production", "flood-nonce-0099")
        self.assertEqual((refused.status_code, refused.json()["code"]), (429, "throttled"))
        self.assertEqual(Handoff.objects.for_org(self.acme).count(), 3)
        [throttled] = AuditEntry.objects.for_org(self.acme).filter(event="device.throttled")
        self.assertEqual(throttled.subject, self.laptop.device.public_id)  # once per window
        self.assertEqual(throttled.data, {"limit": 3, "seconds": 60})

    def test_what_needs_no_person_and_other_devices_are_not_held_back(self):
        for n in range(3):
            self.create("db.migrate", f"busy-nonce-{n:04d}")
        self.assertEqual(self.create("test.run", "low-nonce-0001").status_code, 201)
        other = enroll_device(self.acme, "other")
        self.assertEqual(
            self.create("db.migrate", "other-nonce-01", other.device_token).status_code, 201
        )

    def test_a_retry_of_a_handoff_it_already_made_still_gets_it(self):
        first = self.create("db.migrate", "retry-nonce-0001").json()
        for n in range(3):
            self.create("db.migrate", f"more-nonce-{n:04d}")
        again = self.create("db.migrate", "retry-nonce-0001")
        self.assertEqual(
            (again.status_code, again.json()["request_id"]), (200, first["request_id"])
        )


@override_settings(ONY_MAX_WAITS_PER_DEVICE=2)
class WaitCapTests(OnyTestCase):
    def setUp(self) -> None:
        cache.clear()
        self.addCleanup(cache.clear)
        self.laptop = enroll_device(self.acme)

    def poll(self, handoff: Handoff, wait: int = 1):
        return Client().get(
            f"/api/v1/handoffs/{handoff.public_id}/verdict",
            {"wait": wait},
            **bearer(self.laptop.device_token),
        )

    def test_a_device_gets_so_many_waits_at_once_and_no_more(self):
        handoff = make_handoff(self.laptop.device)
        with wakeup.wait_slot(self.laptop.device.pk, 2), wakeup.wait_slot(self.laptop.device.pk, 2):
            r = self.poll(handoff)  # two waits are open: a third is refused before it waits
            self.assertEqual((r.status_code, r.json()["code"]), (429, "too_many_waits"))
            other = enroll_device(self.acme, "other")
            r = Client().get(
                f"/api/v1/handoffs/{make_handoff(other.device).public_id}/verdict?wait=1",
                **bearer(other.device_token),
            )
            self.assertEqual(r.status_code, 202)  # another device's waits are its own
            self.assertEqual(self.poll(handoff, wait=0).status_code, 202)  # no wait, no slot
        self.assertEqual(self.poll(handoff).status_code, 202)  # slots given back

    def test_slots_are_given_back_whatever_happens(self):
        device_pk = self.laptop.device.pk
        errors: list[BaseException] = []

        def hold() -> None:
            try:
                with wakeup.wait_slot(device_pk, 2) as granted:
                    assert granted
                    raise RuntimeError("the wait failed")
            except RuntimeError:
                pass
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        run_together(hold, hold)
        self.assertEqual(errors, [])
        with wakeup.wait_slot(device_pk, 2) as first, wakeup.wait_slot(device_pk, 2) as second:
            self.assertEqual((first, second), (True, True))

    def test_it_forgets_the_slots_of_a_dead_process_though_the_device_keeps_asking(self):
        device_pk = self.laptop.device.pk
        leaked = ExitStack()  # never closed: a process that died holding two waits
        self.addCleanup(cache.clear)
        with mock.patch.object(wakeup, "WAIT_SLOT_TTL_SECONDS", 1):
            leaked.enter_context(wakeup.wait_slot(device_pk, 2))
            leaked.enter_context(wakeup.wait_slot(device_pk, 2))
            for _ in range(2):  # refused asks do not keep the leaked count alive
                with wakeup.wait_slot(device_pk, 2) as granted:
                    self.assertFalse(granted)
                time.sleep(0.6)
            with wakeup.wait_slot(device_pk, 2) as granted:
                self.assertTrue(granted)
