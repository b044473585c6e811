"""The softphone: staff with TOTP see the calls Ony placed to them and answer them in a browser."""

from __future__ import annotations

import pytest
from django.test import override_settings

from audit.events import SYSTEM
from handoffs.models import Handoff, Status
from ony import services as org_services
from ony.models import TOTPDevice
from ony.roles import Role
from telephony.models import CallAttempt
from telephony.simulator import simulator
from telephony.simulator.core import Call
from tests.base import OnyTestCase, current_code, enroll_device, make_person
from tests.browser import page, screenshots  # noqa: F401  (fixture)
from tests.celery_worker import running_worker
from tests.servers import until
from tests.telephony import migration_handoff
from tests.test_browser_dashboard import log_in

SIMULATOR = {"ONY_TELEPHONY_SIMULATOR": True, "SIGNALWIRE_PROJECT": ""}


def ring(member) -> str:
    """A call to ``member`` about a new handoff of their org, as Ony would place it."""
    handoff = migration_handoff(enroll_device(member.org).device, f"ring-{member.pk}")
    attempt = CallAttempt.objects.create(org=member.org, handoff=handoff, member=member)
    call = Call(
        sid=f"CA{len(simulator.calls):032d}",
        to=member.phone,
        from_="+15005550006",
        url=f"http://testserver/telephony/calls/{attempt.code}/answer",
        status_callback="",
        machine_detection=True,
    )
    simulator.calls[call.sid] = call
    return call.sid


@override_settings(**SIMULATOR)
class SoftphoneAccessTests(OnyTestCase):
    def setUp(self):
        simulator.reset()
        self.addCleanup(simulator.reset)
        self.to_alice = ring(self.alice_m)
        self.to_gina = ring(self.gina_m)

    def test_staff_with_totp_get_the_page(self):
        response = self.client_for(self.alice).get("/telephony/softphone/")
        self.assertContains(response, "Softphone")

    def test_a_password_alone_is_not_enough(self):
        self.client.force_login(self.alice)
        response = self.client.get("/telephony/simulator/phone/calls")
        self.assertEqual(response.status_code, 403)

    def test_anonymous_people_go_to_the_login(self):
        response = self.client.get("/telephony/softphone/")
        self.assertEqual(response.status_code, 302)
        self.assertIn("/admin/login/", response["Location"])

    def test_each_person_sees_only_the_calls_placed_to_them(self):
        calls = self.client_for(self.alice).get("/telephony/simulator/phone/calls").json()["calls"]
        self.assertEqual([c["sid"] for c in calls], [self.to_alice])
        self.assertEqual(calls[0]["to"], "+1 *** *** 0101")

        calls = self.client_for(self.gina).get("/telephony/simulator/phone/calls").json()["calls"]
        self.assertEqual([c["sid"] for c in calls], [self.to_gina])

    def test_typing_someone_elses_number_shows_none_of_their_calls(self):
        org_services.update_member(self.gina_m, actor=SYSTEM, phone=self.alice_m.phone)
        gina = self.client_for(self.gina)
        calls = gina.get("/telephony/simulator/phone/calls").json()["calls"]
        self.assertNotIn(self.to_alice, [c["sid"] for c in calls])
        answered = gina.post(f"/telephony/simulator/phone/calls/{self.to_alice}/answer")
        self.assertEqual(answered.status_code, 404)
        self.assertEqual(simulator.calls[self.to_alice].status, "ringing")

    def test_a_call_says_which_request_it_is_about(self):
        handoff = migration_handoff(enroll_device(self.acme).device, "softphone-1", "Add a table")
        attempt = CallAttempt.objects.create(org=self.acme, handoff=handoff, member=self.alice_m)
        simulator.calls[
            self.to_alice
        ].url = f"http://testserver/telephony/calls/{attempt.code}/answer"
        [call] = self.client_for(self.alice).get("/telephony/simulator/phone/calls").json()["calls"]
        self.assertEqual(
            call["request"],
            {
                "request_id": handoff.public_id,
                "title": "Add a table",
                "action": "db.migrate",
                "target": "orders-db",
                "risk": "high",
                "status": "pending",
                "outcome": "",
                "url": f"/admin/handoffs/handoff/{handoff.pk}/change/",
            },
        )

    def test_nobody_answers_someone_elses_call(self):
        url = f"/telephony/simulator/phone/calls/{self.to_gina}/decline"
        response = self.client_for(self.alice).post(url)
        self.assertEqual(response.status_code, 404)
        self.assertEqual(simulator.calls[self.to_gina].status, "ringing")

    def test_it_checks_the_keys(self):
        client = self.client_for(self.alice)
        url = f"/telephony/simulator/phone/calls/{self.to_alice}/"
        response = client.post(url + "press", {"keys": "1"})
        self.assertEqual(response.status_code, 409)  # ringing: nobody listens for keys yet
        response = client.post(url + "explode")
        self.assertEqual(response.status_code, 409)

    @override_settings(ONY_TELEPHONY_SIMULATOR=False)
    def test_it_is_off_without_the_simulator(self):
        response = self.client_for(self.alice).get("/telephony/softphone/")
        self.assertEqual(response.status_code, 404)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_it_answers_an_approval_call_in_the_browser(live_server, page, settings, tmp_path):  # noqa: F811
    settings.ONY_TELEPHONY_SIMULATOR = True
    settings.SIGNALWIRE_PROJECT = ""
    settings.ONY_PUBLIC_URL = live_server.url
    simulator.reset()
    acme = org_services.create_organization(name="Acme", slug="acme", actor=SYSTEM)
    alice = make_person(acme, "alice@acme.test", Role.ADMIN, "+14155550101")
    org_services.update_member(alice, actor=SYSTEM, oncall_order=1)
    laptop = enroll_device(acme, name="ci-runner")

    log_in(
        page, live_server, "alice@acme.test", current_code(TOTPDevice.objects.get(user=alice.user))
    )
    page.goto(f"{live_server.url}/telephony/softphone/")
    with running_worker():
        migration_handoff(laptop.device, "softphone-1", title="Add the invoices table")
        page.wait_for_selector(".call.ringing .about")
        about = page.locator(".call.ringing .about").inner_text()
        assert "db.migrate on orders-db" in about and "high" in about.lower()
        screenshots(page, tmp_path, "softphone-ringing")
        page.click("button[name=answer]")
        voice = page.locator(".voice")
        assert "Add the invoices table" in voice.inner_text()
        assert "ci-runner" in voice.inner_text()
        page.click("button[name=key-1]")
        until(lambda: Handoff.objects.get().status != Status.PENDING, 15, "the decision")

    handoff = Handoff.objects.get()
    assert (handoff.status, handoff.decided_via, handoff.decided_by) == (
        Status.APPROVED,
        "ivr",
        alice,
    )
    page.wait_for_selector(".call.completed")
    page.wait_for_selector(".call.completed .about")
    assert "approved" in page.locator(".call.completed .about").inner_text().lower()
    screenshots(page, tmp_path, "softphone-ended")
    page.click(".call.completed a.open")
    assert "Approved via ivr" in page.locator("#decided").inner_text()
    simulator.reset()
