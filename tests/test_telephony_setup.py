"""Which provider is used, the check that refuses a server that cannot phone, the simulator API."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import tempfile
import threading
import unittest

from django.db import connection
from django.test import SimpleTestCase, TestCase, TransactionTestCase, override_settings
from twilio.rest import Client

from audit.events import SYSTEM
from ony import services as org_services
from ony.models.org import Route
from telephony import client
from telephony.checks import check_provider
from telephony.conf import provider
from telephony.simulator import Simulator, credentials, simulator
from telephony.simulator.server import serve
from tests.servers import ROOT, free_port, get, shared_database_env, start_gunicorn, until

SIGNALWIRE = {
    "SIGNALWIRE_PROJECT": "PJ-project",
    "SIGNALWIRE_TOKEN": "PT-token",
    "SIGNALWIRE_SPACE": "example.signalwire.com",
    "SIGNALWIRE_SIGNING_KEY": "PSK-signing",
    "SIGNALWIRE_FROM_NUMBER": "+14155550199",
}


class ProviderTests(SimpleTestCase):
    @override_settings(**SIGNALWIRE, ONY_TELEPHONY_API_URL="")
    def test_it_points_the_twilio_client_at_signalwire(self):
        current = provider()
        self.assertEqual(current.kind, "signalwire")
        self.assertEqual(current.signing_key, "PSK-signing")
        twilio = client.twilio_client(current)
        self.assertIsInstance(twilio, Client)
        self.assertEqual(twilio.api.base_url, "https://example.signalwire.com/api/laml")

    @override_settings(
        SIGNALWIRE_PROJECT="AC123", SIGNALWIRE_TOKEN="auth", SIGNALWIRE_SPACE="",
        SIGNALWIRE_SIGNING_KEY="", ONY_TELEPHONY_API_URL="",
    )  # fmt: skip
    def test_without_a_space_it_is_twilio_signed_with_the_auth_token(self):
        current = provider()
        self.assertEqual(
            (current.kind, current.api_base_url, current.signing_key), ("twilio", "", "auth")
        )
        self.assertEqual(client.twilio_client(current).api.base_url, "https://api.twilio.com")

    @override_settings(
        SIGNALWIRE_PROJECT="", ONY_TELEPHONY_SIMULATOR=True, ONY_TELEPHONY_API_URL=""
    )
    def test_the_simulator_has_credentials_of_its_own(self):
        current = provider()
        self.assertEqual(current.kind, "simulator")
        self.assertTrue(current.api_base_url.endswith("/telephony/simulator"))
        from django.conf import settings

        self.assertNotIn(current.token, settings.SECRET_KEY)
        self.assertNotEqual(current.token, current.signing_key)

    @override_settings(SIGNALWIRE_PROJECT="", ONY_TELEPHONY_SIMULATOR=False)
    def test_nothing_configured_means_no_provider(self):
        self.assertIsNone(provider())
        with self.assertRaises(client.NotConfigured):
            client.twilio_client()


class NoOrganizationCheckTests(TestCase):
    @override_settings(DEBUG=False, SIGNALWIRE_PROJECT="", ONY_TELEPHONY_SIMULATOR=False)
    def test_no_organization_needs_no_provider(self):
        self.assertEqual(check_provider(databases=["default"]), [])


class SystemCheckTests(TestCase):
    def setUp(self):
        self.org = org_services.create_organization(name="Acme", slug="acme", actor=SYSTEM)

    def ids(self, **kwargs) -> list[str]:
        return [message.id for message in check_provider(**kwargs)]

    @override_settings(DEBUG=False, SIGNALWIRE_PROJECT="", ONY_TELEPHONY_SIMULATOR=False)
    def test_phone_routes_without_a_provider_are_an_error(self):
        self.assertEqual(self.ids(databases=["default"]), ["telephony.E001"])
        self.assertEqual(self.ids(), [])  # without a database the check cannot look

    @override_settings(DEBUG=False, SIGNALWIRE_PROJECT="", ONY_TELEPHONY_SIMULATOR=False)
    def test_an_org_that_phones_only_about_critical_still_needs_a_provider(self):
        org_services.update_organization(self.org, actor=SYSTEM, policy_high=Route.ASK)
        self.assertEqual(self.ids(databases=["default"]), ["telephony.E001"])  # the floor

    @override_settings(DEBUG=False, **SIGNALWIRE)
    def test_a_provider_satisfies_it(self):
        self.assertEqual(self.ids(databases=["default"]), [])

    @override_settings(DEBUG=False, SIGNALWIRE_PROJECT="", ONY_TELEPHONY_SIMULATOR=True)
    def test_the_simulator_outside_debug_is_a_warning(self):
        self.assertEqual(self.ids(databases=["default"]), ["telephony.W001"])

    @override_settings(DEBUG=True, SIGNALWIRE_PROJECT="", ONY_TELEPHONY_SIMULATOR=False)
    def test_debug_is_left_alone(self):
        self.assertEqual(self.ids(databases=["default"]), [])


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@override_settings(
    SIGNALWIRE_PROJECT="", ONY_TELEPHONY_SIMULATOR=True, ONY_PUBLIC_URL="http://testserver"
)
class SimulatorApiTests(TestCase):
    def setUp(self):
        simulator.reset()
        self.addCleanup(simulator.reset)
        self.creds = credentials()
        self.url = f"/telephony/simulator/2010-04-01/Accounts/{self.creds.project}/Calls.json"
        self.form = {"To": "+14155550101", "From": "+15005550006", "Url": "http://testserver/x"}

    def test_it_creates_a_call_like_signalwire(self):
        response = self.client.post(
            self.url, self.form, HTTP_AUTHORIZATION=basic(self.creds.project, self.creds.token)
        )
        self.assertEqual(response.status_code, 201)
        body = response.json()
        self.assertTrue(body["sid"].startswith("CA"))
        self.assertEqual(body["status"], "queued")
        self.assertEqual(simulator.calls[body["sid"]].status, "ringing")

    def test_it_refuses_wrong_credentials(self):
        response = self.client.post(
            self.url, self.form, HTTP_AUTHORIZATION=basic(self.creds.project, "wrong")
        )
        self.assertEqual((response.status_code, response.json()["code"]), (401, 20003))
        self.assertEqual(simulator.calls, {})

    def test_it_refuses_invalid_numbers_with_twilios_code(self):
        response = self.client.post(
            self.url,
            {**self.form, "To": "+15005550001"},
            HTTP_AUTHORIZATION=basic(self.creds.project, self.creds.token),
        )
        self.assertEqual((response.status_code, response.json()["code"]), (400, 21211))

    def test_it_refuses_bad_parameters_with_a_400(self):
        auth = basic(self.creds.project, self.creds.token)
        for form in ({**self.form, "Timeout": "soon"}, {"To": "+14155550101"}):
            response = self.client.post(self.url, form, HTTP_AUTHORIZATION=auth)
            self.assertEqual(response.status_code, 400, form)
        self.assertEqual(simulator.calls, {})

    @override_settings(ONY_TELEPHONY_SIMULATOR=False)
    def test_it_is_off_without_the_setting(self):
        response = self.client.post(
            self.url, self.form, HTTP_AUTHORIZATION=basic(self.creds.project, self.creds.token)
        )
        self.assertEqual(response.status_code, 404)


class StandaloneSimulatorTests(SimpleTestCase):
    def test_the_twilio_client_places_a_call_on_the_standalone_server(self):
        own = Simulator(credentials)
        port = free_port()
        server = serve(own, "127.0.0.1", port, key="softphone-key")
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)

        with override_settings(
            SIGNALWIRE_PROJECT="",
            ONY_TELEPHONY_SIMULATOR=True,
            ONY_TELEPHONY_API_URL=f"http://127.0.0.1:{port}",
        ):
            sid = client.create_call(
                "+14155550101",
                url="http://127.0.0.1:1/answer",
                status_callback="http://127.0.0.1:1/status",
                ring_seconds=20,
            )
            with self.assertRaises(client.InvalidNumber):
                client.create_call(
                    "+15005550001", url="http://x/", status_callback="", ring_seconds=5
                )
            own.fail_next(503)
            with self.assertRaises(client.TemporaryError):
                client.create_call(
                    "+14155550101", url="http://x/", status_callback="", ring_seconds=5
                )
        self.assertEqual(own.calls[sid].status, "ringing")

        import urllib.error
        import urllib.request

        with self.assertRaises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/phone/calls", timeout=5)
        self.assertEqual(refused.exception.code, 403)
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/phone/calls", headers={"X-Softphone-Key": "softphone-key"}
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            self.assertIn(sid, response.read().decode())


class InvalidNumberFlagTests(TestCase):
    def setUp(self):
        self.org = org_services.create_organization(name="Acme", slug="acme", actor=SYSTEM)
        self.alice = org_services.add_member(
            self.org, "alice@acme.test", actor=SYSTEM, role="admin", phone="+14155550101"
        )
        org_services.flag_phone_invalid(self.alice, actor=SYSTEM)
        self.alice.refresh_from_db()

    def test_a_flagged_number_is_not_called(self):
        self.assertIsNotNone(self.alice.phone_invalid_at)
        self.assertFalse(self.alice.callable)

    def test_changing_other_fields_keeps_the_flag(self):
        org_services.update_member(self.alice, actor=SYSTEM, oncall_order=2)
        self.alice.refresh_from_db()
        self.assertIsNotNone(self.alice.phone_invalid_at)

    def test_a_new_number_clears_it(self):
        org_services.update_member(self.alice, actor=SYSTEM, phone="+1 415 555 0109")
        self.alice.refresh_from_db()
        self.assertIsNone(self.alice.phone_invalid_at)
        self.assertTrue(self.alice.callable)


@unittest.skipUnless(connection.vendor == "postgresql", "gunicorn needs a database it can share")
class GunicornRefusesTests(TransactionTestCase):
    def test_gunicorn_refuses_to_start_with_phone_routes_and_no_provider(self):
        org_services.create_organization(name="Acme", slug="acme", actor=SYSTEM)
        env = {**shared_database_env(), "ONY_TELEPHONY_SIMULATOR": "0", "SIGNALWIRE_PROJECT": ""}
        with tempfile.TemporaryFile() as log:
            server = start_gunicorn(free_port(), env, log)
            try:
                returncode = server.wait(timeout=60)
            finally:
                server.kill()
            log.seek(0)
            output = log.read().decode()
        self.assertNotEqual(returncode, 0)
        self.assertIn("telephony.E001", output)
        self.assertIn("acme", output)


class SimulatorCommandTests(SimpleTestCase):
    def test_manage_py_telephony_simulator_serves_the_api_and_a_softphone(self):
        port = free_port()
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"}
        server = subprocess.Popen(
            [sys.executable, "manage.py", "telephony_simulator", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        self.addCleanup(server.wait, 10)
        self.addCleanup(server.terminate)
        until(lambda: get(port, "/")[0] == 200, 30, "the simulator to start")

        status, page = get(port, "/")
        self.assertIn(b"Softphone", page)
        self.assertIn(b"X-Softphone-Key", page)
        self.assertEqual(get(port, "/phone/calls")[0], 403)  # no key
        creds = credentials()
        status, _ = get(port, f"/2010-04-01/Accounts/{creds.project}/Calls.json")
        self.assertEqual(status, 401)  # Basic auth first, as SignalWire
