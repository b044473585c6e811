"""The verdict long-poll: answers the moment a decision commits, never later than the deadline."""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
import unittest
from collections.abc import Callable
from datetime import timedelta
from unittest import mock

import redis
from django.conf import settings
from django.db import connection
from django.test import Client, SimpleTestCase, TransactionTestCase
from django.utils import timezone

from audit.events import SYSTEM
from devices.models import Device
from devices.services import Enrolled
from handoffs import services, wakeup
from handoffs.models import Handoff
from ony import services as org_services
from ony.models import Membership
from ony.roles import Role
from tests.base import bearer, enroll_device, make_handoff
from tests.servers import free_port, until


class LongPollTests(TransactionTestCase):
    def setUp(self):
        self.org = org_services.create_organization(name="Acme", slug="acme", actor=SYSTEM)
        self.bob = org_services.add_member(
            self.org, "bob@acme.test", actor=SYSTEM, role=Role.MEMBER
        )
        self.laptop = enroll_device(self.org)
        self.handoff = make_handoff(self.laptop.device, nonce="longpoll-nonce")

    def poll(self, wait: str, token: str | None = None):
        url = f"/api/v1/handoffs/{self.handoff.public_id}/verdict?wait={wait}"
        return Client().get(url, **bearer(token or self.laptop.device_token))

    def approve(self) -> None:
        services.decide(
            self.handoff, "approve", via="dashboard", actor=self.bob.public_id, by=self.bob
        )

    def test_it_returns_within_a_second_of_a_decision_in_another_thread(self):
        def approve_soon() -> None:
            try:
                time.sleep(0.3)
                self.approve()
            finally:
                connection.close()

        thread = threading.Thread(target=approve_soon)
        began = time.monotonic()
        thread.start()
        r = self.poll("30")
        elapsed = time.monotonic() - began
        thread.join()
        self.assertEqual((r.status_code, r.json()["status"]), (200, "approved"))
        self.assertEqual(r.json()["verdict"]["decision"], "approve")
        self.assertLess(elapsed, 1.3)  # decided at 0.3 s; a functional bound of 1 s after that
        self.assertEqual(wakeup.waiters.count(), 0)

    def test_it_answers_at_once_when_already_decided(self):
        self.approve()
        r = self.poll("30")
        self.assertEqual((r.status_code, r.json()["status"]), (200, "approved"))

    def test_it_answers_202_while_still_pending(self):
        r = self.poll("1")
        self.assertEqual((r.status_code, r.json()["status"]), (202, "pending"))
        self.assertIsNone(r.json()["verdict"])
        self.assertEqual(self.poll("0").status_code, 202)

    def test_it_expires_at_the_deadline_while_waiting(self):
        Handoff.objects.filter(pk=self.handoff.pk).update(
            deadline=timezone.now() + timedelta(milliseconds=400)
        )
        r = self.poll("10")
        body = r.json()
        self.assertEqual((r.status_code, body["status"]), (200, "expired"))
        self.assertEqual(
            (body["verdict"]["decision"], body["verdict"]["decided_via"]), ("deny", "deadline")
        )

    def test_it_refuses_a_bad_wait(self):
        for wait in ("31", "-1", "abc", "1.5", ""):
            with self.subTest(wait=wait):
                r = self.poll(wait)
                self.assertEqual((r.status_code, r.json()["code"]), (400, "invalid_wait"))

    def test_another_device_cannot_wait_on_it(self):
        other = enroll_device(self.org, "other")
        r = self.poll("1", other.device_token)
        self.assertEqual((r.status_code, r.json()["code"]), (404, "not_found"))


@unittest.skipUnless(settings.REDIS_URL, "needs REDIS_URL")
class RedisWakeupTests(SimpleTestCase):
    def test_a_decision_published_by_another_process_wakes_the_waiter(self):
        with wakeup.waiting("req_from_elsewhere") as decided:
            # Publish straight to Redis, as another web or worker process does.
            client = redis.Redis.from_url(settings.REDIS_URL)
            client.publish(wakeup.CHANNEL_PREFIX + "req_from_elsewhere", b"1")
            self.assertTrue(decided.wait(2))

    def test_a_message_for_another_request_wakes_nobody(self):
        with wakeup.waiting("req_quiet") as decided:
            redis.Redis.from_url(settings.REDIS_URL).publish(
                wakeup.CHANNEL_PREFIX + "req_loud", b"1"
            )
            self.assertFalse(decided.wait(0.3))


@unittest.skipUnless(connection.vendor == "postgresql", "needs PostgreSQL")
class WithoutPubSubTests(TransactionTestCase):
    """Redis down: no wake-up crosses processes, so a waiter looks at the database itself."""

    def test_a_decision_nobody_could_publish_is_seen_within_about_a_second(self):
        bob, laptop, handoff = acme_waiting("no-pubsub-nonce")
        answers: list[Handoff] = []
        wait = waiting_for(laptop.device, handoff, answers)

        with (
            mock.patch.object(wakeup, "listening", return_value=False),
            mock.patch.object(wakeup, "publish"),  # decided in "another process", unheard
        ):
            waiter = threading.Thread(target=wait)
            waiter.start()
            until(lambda: wakeup.waiters.count() == 1, 10, "the waiter")
            services.decide(handoff, "approve", via="dashboard", actor=bob.public_id, by=bob)
            # Not the 30 s wait: it looked again within about a second.
            until(lambda: not waiter.is_alive(), 5, "the waiter to see the decision")
        [answer] = answers
        self.assertEqual(answer.status, "approved")


REDIS_SERVER = shutil.which("redis-server")


@unittest.skipUnless(REDIS_SERVER, "needs redis-server")
class RedisGoingAwayTests(TransactionTestCase):
    """A waiter already waiting when this process's listener loses Redis, with a Redis of the
    test's own (killed under it): the decision's publish is lost, and it still sees it."""

    def test_a_waiter_waiting_when_pubsub_goes_down_sees_a_decision_within_about_a_second(self):
        port = free_port()
        command = [str(REDIS_SERVER), "--port", str(port), "--bind", "127.0.0.1"]
        redis_server = subprocess.Popen(
            [*command, "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.addCleanup(lambda: (redis_server.kill(), redis_server.wait(10)))
        url = f"redis://127.0.0.1:{port}/0"
        until(lambda: _answers(url), 10, "the test's Redis")
        bob, laptop, handoff = acme_waiting("redis-going-away")
        answers: list[Handoff] = []
        wait = waiting_for(laptop.device, handoff, answers)

        self.addCleanup(forget_listener)  # it would go on reconnecting to the dead Redis
        with self.settings(REDIS_URL=url):
            waiter = threading.Thread(target=wait)
            waiter.start()
            until(lambda: wakeup.waiters.count() == 1 and wakeup.listening(), 10, "the waiter")
            redis_server.kill()
            redis_server.wait(10)
            until(lambda: not wakeup.listening(), 10, "the listener to notice")
            with mock.patch.object(wakeup, "publish"):  # decided in another process: unheard
                services.decide(handoff, "approve", via="dashboard", actor=bob.public_id, by=bob)
            # Not the 30 s wait: it was woken when pub/sub went, and looks every second.
            until(lambda: not waiter.is_alive(), 5, "the waiter to see the decision")
        [answer] = answers
        self.assertEqual(answer.status, "approved")


def acme_waiting(nonce: str) -> tuple[Membership, Enrolled, Handoff]:
    """Acme with Bob (who decides) and a device's pending request."""
    org = org_services.create_organization(name="Acme", slug="acme", actor=SYSTEM)
    bob = org_services.add_member(org, "bob@acme.test", actor=SYSTEM, role=Role.MEMBER)
    laptop = enroll_device(org)
    return bob, laptop, make_handoff(laptop.device, nonce=nonce)


def waiting_for(device: Device, handoff: Handoff, answers: list[Handoff]) -> Callable[[], None]:
    """A thread's body: wait up to 30 s for ``handoff``'s verdict, into ``answers``."""

    def wait() -> None:
        try:
            answers.append(services.wait_for_verdict(device, handoff.public_id, 30))
        finally:
            connection.close()

    return wait


def forget_listener() -> None:
    """Stop this process's wake-up listener; the next wait starts one for its own Redis."""
    if wakeup._listener is not None:
        wakeup._listener.stop()
        wakeup._listener = None


def _answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_timeout=1).ping())
    except redis.RedisError:
        return False
