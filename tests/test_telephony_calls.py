"""Approval calls through the real twilio client against the simulator, end to end."""

from __future__ import annotations

import contextlib
from datetime import timedelta
from unittest import mock

from django.utils import timezone
from prometheus_client import REGISTRY

from audit.events import SYSTEM
from audit.models import AuditEntry
from devices.models import Device
from handoffs import services as handoffs
from handoffs.models import Handoff, Status
from ony import services as org_services
from ony.models import Membership
from ony.roles import Role
from telephony import services
from telephony.models import CallAttempt, CallStatus, Outcome
from telephony.simulator import SimulatorError, simulator
from tests.base import enroll_device
from tests.servers import until
from tests.telephony import (
    ALICE_PHONE,
    BOB_PHONE,
    CAROL_PHONE,
    TelephonyTestCase,
    migration_handoff,
)


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def events(org, subject: str) -> list[tuple[str, str]]:
    entries = AuditEntry.objects.filter(org=org, subject=subject).order_by("seq")
    return [(entry.event, entry.actor) for entry in entries]


class KeypadTests(TelephonyTestCase):
    def at_the_code_prompt(self):
        """A critical request's call to Alice, answered, 1 pressed: the code is asked for."""
        asking = self.ask(action="mystery.action")
        call = self.ringing(ALICE_PHONE)
        simulator.answer(call.sid)
        simulator.press(call.sid, "1")
        return asking, call

    def test_it_rings_the_first_approver_and_1_approves(self):
        ended = metric("ony_calls_ended_total", status="completed", outcome="approved")
        asking = self.ask(title="Ship release 42")
        call = self.ringing(ALICE_PHONE)
        simulator.answer(call.sid)

        said = " ".join(call.prompt)
        self.assertIn("build-laptop", said)
        self.assertIn("Ship release 42", said)
        self.assertIn("database migrate", said)
        self.assertIn("orders-db", said)
        self.assertIn("Risk: high", said)
        self.assertIn("Press 1 to approve", said)

        simulator.press(call.sid, "1")
        outcome = asking.outcome()
        self.assertTrue(outcome.approved, outcome)
        self.assertEqual(outcome.verdict["decided_via"], "ivr")

        handoff = self.handoff()
        self.assertEqual(handoff.status, Status.APPROVED)
        self.assertEqual(handoff.decided_by, self.alice_m)
        self.assertEqual(call.status, "completed")
        self.assertEqual(call.callbacks[-1]["CallStatus"], "completed")
        until(lambda: self.attempts()[0].ended, 10, "the call to end")
        [attempt] = self.attempts()
        self.assertEqual((attempt.member, attempt.outcome), (self.alice_m, Outcome.APPROVED))
        self.assertEqual(attempt.status, CallStatus.COMPLETED)
        trail = events(self.acme, handoff.public_id)
        self.assertIn(("call.placed", "system"), trail)
        self.assertIn(("handoff.decided", self.alice_m.public_id), trail)
        self.assertEqual(simulator.ringing(to=BOB_PHONE), [])
        self.assertEqual(
            metric("ony_calls_ended_total", status="completed", outcome="approved"), ended + 1
        )

    def test_it_denies_on_2(self):
        asking = self.ask()
        call = self.ringing(ALICE_PHONE)
        simulator.answer(call.sid)
        simulator.press(call.sid, "2")

        outcome = asking.outcome()
        self.assertEqual(outcome.decision, "deny")
        self.assertEqual(outcome.verdict["decided_via"], "ivr")
        self.assertEqual(self.handoff().status, Status.DENIED)

    def test_9_denies_and_freezes_the_device(self):
        asking = self.ask()
        call = self.ringing(ALICE_PHONE)
        simulator.answer(call.sid)
        simulator.press(call.sid, "9")

        self.assertFalse(asking.outcome().approved)
        handoff = self.handoff()
        self.assertEqual((handoff.status, handoff.decided_via), (Status.DENIED, "ivr"))
        device = Device.objects.get(pk=self.laptop.device.pk)
        self.assertIsNotNone(device.frozen_at)
        self.assertEqual(device.frozen_reason, "unexpected_request")
        self.assertIn("frozen", " ".join(call.prompt))

    def test_star_repeats_and_other_keys_are_not_choices(self):
        asking = self.ask(title="Ship it")
        call = self.ringing(ALICE_PHONE)
        simulator.answer(call.sid)
        simulator.press(call.sid, "*")
        self.assertIn("Ship it", " ".join(call.prompt))
        simulator.press(call.sid, "5")
        self.assertIn("not one of the choices", " ".join(call.prompt))
        self.assertEqual(self.handoff().status, Status.PENDING)
        simulator.press(call.sid, "2")
        self.assertEqual(asking.outcome().decision, "deny")

    def test_critical_needs_the_approvers_totp_code(self):
        asking = self.ask(action="mystery.action", title="Something new")
        call = self.ringing(ALICE_PHONE)
        simulator.answer(call.sid)
        self.assertIn("Risk: critical", " ".join(call.prompt))
        simulator.press(call.sid, "1")
        self.assertIn("6 digit code", " ".join(call.prompt))
        self.assertEqual(self.handoff().status, Status.PENDING)

        simulator.press(call.sid, self.wrong_code_of(self.alice_m))
        self.assertIn("not valid", " ".join(call.prompt))
        self.assertEqual(self.handoff().status, Status.PENDING)

        self.typing_takes_a_while(self.alice_m)  # past the throttle after a wrong code
        simulator.press(call.sid, self.code_of(self.alice_m))
        outcome = asking.outcome()
        self.assertTrue(outcome.approved, outcome)
        handoff = self.handoff()
        self.assertEqual((handoff.decided_via, handoff.decided_by), ("ivr", self.alice_m))
        trail = events(self.acme, handoff.public_id)
        self.assertEqual(trail.count(("otp.failed", self.alice_m.public_id)), 1)

    def test_two_wrong_codes_deny(self):
        asking, call = self.at_the_code_prompt()
        simulator.press(call.sid, self.wrong_code_of(self.alice_m))
        self.typing_takes_a_while(self.alice_m)
        simulator.press(call.sid, self.wrong_code_of(self.alice_m))

        self.assertEqual(asking.outcome().decision, "deny")
        handoff = self.handoff()
        self.assertEqual((handoff.status, handoff.decided_via), (Status.DENIED, "ivr"))
        until(lambda: self.attempts()[0].ended, 10, "the call to end")
        self.assertEqual(self.attempts()[0].outcome, Outcome.OTP_FAILED)
        self.assertEqual(simulator.ringing(to=BOB_PHONE), [])

    def test_a_code_too_soon_after_a_wrong_one_is_asked_again_not_counted(self):
        asking, call = self.at_the_code_prompt()
        simulator.press(call.sid, self.wrong_code_of(self.alice_m))
        simulator.press(call.sid, self.code_of(self.alice_m))  # within the throttle's delay
        self.assertIn("Too soon after a wrong code", " ".join(call.prompt))
        self.assertEqual(self.handoff().status, Status.PENDING)
        self.assertEqual(self.attempts()[0].otp_failures, 1)

        self.typing_takes_a_while(self.alice_m)
        simulator.press(call.sid, self.code_of(self.alice_m))
        self.assertTrue(asking.outcome().approved)

    def test_a_used_code_cannot_approve_again(self):
        first = self.ask(action="mystery.action", target="one")
        call = self.ringing(ALICE_PHONE)
        code = self.code_of(self.alice_m)
        simulator.answer(call.sid)
        simulator.press(call.sid, "1")
        simulator.press(call.sid, code)
        self.assertTrue(first.outcome().approved)

        Handoff.objects.all().delete()
        second = self.ask(action="mystery.action", target="two")
        call = self.ringing(ALICE_PHONE)
        simulator.answer(call.sid)
        simulator.press(call.sid, "1")
        simulator.press(call.sid, code)  # the same code, still within its 30 s window
        self.assertIn("not valid", " ".join(call.prompt))
        self.typing_takes_a_while(self.alice_m)
        simulator.press(call.sid, self.wrong_code_of(self.alice_m))
        self.assertEqual(second.outcome().decision, "deny")


class EscalationTests(TelephonyTestCase):
    def test_no_answer_goes_to_the_next_approver(self):
        asking = self.ask()
        simulator.no_answer(self.ringing(ALICE_PHONE).sid)
        call = self.ringing(BOB_PHONE)
        simulator.answer(call.sid)
        simulator.press(call.sid, "1")

        self.assertTrue(asking.outcome().approved)
        self.assertEqual(self.handoff().decided_by, self.bob_m)
        first, second = self.attempts()
        self.assertEqual((first.member, first.status), (self.alice_m, CallStatus.NO_ANSWER))
        self.assertEqual((second.member, second.outcome), (self.bob_m, Outcome.APPROVED))

    def test_busy_goes_to_the_next_approver_and_the_list_repeats(self):
        asking = self.ask()
        simulator.decline(self.ringing(ALICE_PHONE).sid)
        simulator.decline(self.ringing(BOB_PHONE).sid)
        call = self.ringing(ALICE_PHONE)  # round two; Carol, a viewer, is never phoned
        simulator.answer(call.sid)
        simulator.press(call.sid, "2")

        self.assertEqual(asking.outcome().decision, "deny")
        rounds = [(a.member, a.round, a.status) for a in self.attempts()]
        self.assertEqual(
            rounds[:2],
            [(self.alice_m, 0, CallStatus.BUSY), (self.bob_m, 0, CallStatus.BUSY)],
        )
        self.assertEqual(rounds[2][:2], (self.alice_m, 1))
        self.assertFalse(any(c.to == CAROL_PHONE for c in simulator.calls.values()))

    def test_a_machine_answering_goes_to_the_next_approver(self):
        asking = self.ask()
        call = self.ringing(ALICE_PHONE)
        simulator.answer(call.sid, answered_by="machine_start")
        self.assertEqual(call.status, "completed")
        self.assertEqual(call.prompt, [])  # nothing is read to a voicemail box

        bob_call = self.ringing(BOB_PHONE)
        simulator.answer(bob_call.sid)
        simulator.press(bob_call.sid, "1")
        self.assertTrue(asking.outcome().approved)
        self.assertEqual(self.attempts()[0].outcome, Outcome.MACHINE)

    def test_silence_twice_hangs_up_and_escalates(self):
        asking = self.ask()
        call = self.ringing(ALICE_PHONE)
        simulator.answer(call.sid)
        simulator.silence(call.sid)
        self.assertIn("Press 1 to approve", " ".join(call.prompt))
        simulator.silence(call.sid)
        self.assertEqual(call.status, "completed")
        self.assertIn("No answer received", " ".join(call.prompt))

        bob_call = self.ringing(BOB_PHONE)
        simulator.answer(bob_call.sid)
        simulator.press(bob_call.sid, "2")
        self.assertEqual(asking.outcome().decision, "deny")
        self.assertEqual(self.attempts()[0].outcome, Outcome.NO_INPUT)

    def test_the_deadline_passes_with_nobody_answering(self):
        asking = self.ask()
        call = self.ringing(ALICE_PHONE)
        Handoff.objects.update(deadline=timezone.now() - timedelta(seconds=1))
        handoffs.expire_overdue()  # 1, or 0 when the agent's own long-poll read expired it first
        simulator.settle()  # the hang-up's callback, before this thread reads the database

        outcome = asking.outcome()
        self.assertEqual(outcome.decision, "deny")
        self.assertEqual(outcome.verdict["decided_via"], "deadline")  # signed, verified
        self.assertEqual(self.handoff().status, Status.EXPIRED)
        until(lambda: call.status == "canceled", 10, "the ringing call to be canceled")
        until(lambda: self.attempts()[0].ended, 10, "the attempt to end")
        self.assertEqual(len(self.attempts()), 1)  # nobody else is phoned

    def test_a_decision_in_the_dashboard_hangs_up_the_ringing_call(self):
        asking = self.ask()
        call = self.ringing(ALICE_PHONE)
        handoffs.decide_as_member(self.bob_m.user, self.handoff(), "deny")
        simulator.settle()

        self.assertEqual(asking.outcome().decision, "deny")
        until(lambda: call.status == "canceled", 10, "the ringing call to be canceled")
        until(lambda: self.attempts()[0].ended, 10, "the attempt to end")
        self.assertEqual(len(self.attempts()), 1)

    def test_digits_after_a_dashboard_decision_change_nothing(self):
        asking = self.ask()
        call = self.ringing(ALICE_PHONE)
        simulator.answer(call.sid)
        handoffs.decide_as_member(self.bob_m.user, self.handoff(), "deny")
        simulator.settle()
        self.assertEqual(asking.outcome().decision, "deny")
        decided = events(self.acme, self.handoff().public_id)

        with contextlib.suppress(SimulatorError):  # unless Ony's hang-up got there first
            simulator.press(call.sid, "1")
        handoff = self.handoff()
        self.assertEqual((handoff.status, handoff.decided_by), (Status.DENIED, self.bob_m))
        until(lambda: call.status == "completed", 10, "the call to end")
        trail = events(self.acme, handoff.public_id)
        self.assertEqual(
            [e for e in trail if e[0] == "handoff.decided"],
            [e for e in decided if e[0] == "handoff.decided"],
        )


class ProviderErrorTests(TelephonyTestCase):
    def test_a_temporary_provider_error_is_retried(self):
        simulator.fail_next(503, 20500, "Service unavailable")
        asking = self.ask()
        call = self.ringing(ALICE_PHONE)
        until(lambda: self.attempts()[0].call_sid, 10, "the call sid to be saved")
        [attempt] = self.attempts()
        self.assertEqual((attempt.provider_tries, attempt.call_sid), (1, call.sid))
        simulator.answer(call.sid)
        simulator.press(call.sid, "2")
        self.assertEqual(asking.outcome().decision, "deny")

    def test_an_invalid_number_is_not_retried_and_is_flagged(self):
        Membership.objects.filter(pk=self.alice_m.pk).update(phone="+15005550001")
        asking = self.ask()
        call = self.ringing(BOB_PHONE)
        first = self.attempts()[0]
        self.assertEqual((first.outcome, first.provider_tries), (Outcome.INVALID_NUMBER, 0))
        self.assertIsNotNone(Membership.objects.get(pk=self.alice_m.pk).phone_invalid_at)
        self.assertIn(("member.updated", "system"), events(self.acme, self.alice_m.public_id))
        simulator.answer(call.sid)
        simulator.press(call.sid, "2")
        self.assertEqual(asking.outcome().decision, "deny")

    def test_a_number_that_cannot_take_calls_gets_a_text(self):
        simulator.fail_next(400, 21215, "Geo permissions do not allow this call")
        asking = self.ask()
        call = self.ringing(BOB_PHONE)
        [message] = simulator.messages
        self.assertEqual(message.to, ALICE_PHONE)
        self.assertIn(self.handoff().public_id, message.body)
        page = f"/admin/handoffs/handoff/{self.handoff().pk}/change/"  # that handoff's page
        self.assertIn(self.live_server_url + page, message.body)
        self.assertEqual(self.attempts()[0].outcome, Outcome.TEXTED)
        simulator.answer(call.sid)
        simulator.press(call.sid, "2")
        self.assertEqual(asking.outcome().decision, "deny")


class OneCallAtATimeTests(TelephonyTestCase):
    def test_a_busy_approver_is_passed_over_and_a_request_waits_while_all_are_busy(self):
        first = migration_handoff(self.laptop.device, "line-0001", title="First")
        simulator.answer(self.ringing(ALICE_PHONE).sid)  # Alice is on the first call
        second = migration_handoff(self.laptop.device, "line-0002", title="Second")
        bob_call = self.ringing(BOB_PHONE)  # not Alice, who is busy: Bob, who is free
        third = migration_handoff(self.laptop.device, "line-0003", title="Third")
        self.assertEqual(self.attempts(handoff=third), [])  # both busy: it waits in line
        self.assertEqual(len(simulator.ringing(ALICE_PHONE)), 0)

        [alice_call] = [c for c in simulator.calls.values() if c.to == ALICE_PHONE]
        simulator.press(alice_call.sid, "1")  # her call ends: the third is her next
        until(lambda: Handoff.objects.get(pk=first.pk).status == Status.APPROVED, 10, "approval")
        third_call = self.ringing(ALICE_PHONE)
        self.assertIn("Third", " ".join(simulator.answer(third_call.sid).prompt))
        self.assertEqual([a.member for a in self.attempts(handoff=third)], [self.alice_m])
        self.assertEqual([a.member for a in self.attempts(handoff=second)], [self.bob_m])
        self.assertEqual(bob_call.status, "ringing")

    def test_one_person_in_two_organizations_gets_one_call_at_a_time(self):
        globex = org_services.create_organization(name="Globex", slug="globex", actor=SYSTEM)
        alice_at_globex = org_services.add_member(
            globex,
            "alice@acme.test",
            actor=SYSTEM,
            role=Role.ADMIN,
            phone=ALICE_PHONE,
            oncall_order=1,
        )
        shared_line = org_services.add_member(
            globex,
            "desk@globex.test",
            actor=SYSTEM,
            role=Role.MEMBER,
            phone=BOB_PHONE,
            oncall_order=2,
        )
        for member in (alice_at_globex, shared_line):
            org_services.ensure_totp_device(member.user)
        globex_laptop = enroll_device(globex, name="globex-laptop")

        migration_handoff(self.laptop.device, "acme-0001", title="Acme's")
        simulator.answer(self.ringing(ALICE_PHONE).sid)  # Alice talks to Ony about Acme's
        migration_handoff(self.laptop.device, "acme-0002", title="Acme's second")
        simulator.answer(self.ringing(BOB_PHONE).sid)  # Bob's line is busy too
        globexs = migration_handoff(globex_laptop.device, "globex-0001", title="Globex's")
        until(lambda: CallAttempt.objects.count() == 2, 10, "two calls")
        # Globex's approvers are Alice (the same person) and a desk line (Bob's
        # number): both are talking, so Globex's request waits in line.
        self.assertEqual(self.attempts(handoff=globexs), [])
        self.assertEqual(len(simulator.ringing(ALICE_PHONE)), 0)
        self.assertEqual(len(simulator.ringing(BOB_PHONE)), 0)

    def test_many_requests_at_once_ring_each_approver_once(self):
        for n in range(6):  # as fast as an agent can ask
            migration_handoff(self.laptop.device, f"flood-{n:04d}", title=f"Request {n}")
        self.ringing(ALICE_PHONE)
        self.ringing(BOB_PHONE)  # the next request goes to the next approver who is free
        until(lambda: CallAttempt.objects.count() == 2, 10, "two calls")
        self.assertEqual(len(simulator.ringing(ALICE_PHONE)), 1)
        self.assertEqual(len(simulator.ringing(BOB_PHONE)), 1)
        self.assertEqual(
            sorted(a.member_id for a in CallAttempt.objects.all()),
            sorted([self.alice_m.pk, self.bob_m.pk]),
        )


class LostTaskTests(TelephonyTestCase):
    def test_the_sweep_starts_the_calls_of_a_handoff_whose_task_was_lost(self):
        with mock.patch("ony.queue._send"):  # the broker took nothing when it committed
            handoff = migration_handoff(self.laptop.device, "lost-0001", title="Lost")
        self.assertEqual(self.attempts(), [])
        self.assertEqual(services.resume_escalations(), 0)  # too soon: its task may yet run
        Handoff.objects.filter(pk=handoff.pk).update(
            created_at=timezone.now() - services.UNSTARTED_AFTER - timedelta(seconds=1)
        )
        self.assertEqual(services.resume_escalations(), 1)
        call = self.ringing(ALICE_PHONE)
        self.assertIn("Lost", " ".join(simulator.answer(call.sid).prompt))
        self.assertEqual(services.resume_escalations(), 0)  # begun: never rung twice
        self.assertEqual(len(self.attempts(handoff=handoff)), 1)
