"""Phone numbers and emails never reach a log, whichever process writes it."""

from __future__ import annotations

import io
import json
import logging
import logging.config
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.test import Client, SimpleTestCase, TransactionTestCase

from audit.events import SYSTEM
from ony import services as org_services
from ony.celery import app
from ony.logs import RequestIdFilter, formatter
from ony.phone import contains_phone_number
from ony.redaction import RedactingFilter, redact
from tests import log_probe
from tests.base import OnyTestCase, bearer, enroll_device
from tests.servers import ROOT, free_port, get, shared_database_env, start_gunicorn, until

WRITTEN_OUT = [
    "+1 (415) 555-0101",
    "+14155550101",
    "+1-415-555-0101",
    "+1  (415)  555  0101",
    "+44 20 7946 0201",
    "(415) 555-0101",
    "415-555-0101",
    "415.555.0101",
    "(415)555-0101",
    "+1_415_555_0101",
    "+1\u2013415\u2013555\u20130101",
    "\uff0b14155550101",
    "+1,415,555,0101",
    "+44 20 7946 0101",
    "020 7946 0101",
    "tel:4155550101",
    "1 415 5550101",
]
NOT_NUMBERS = [
    "a1b2c3d4e5f6071234567890abcdef",
    "2026-12-01",
    "release-2026-12-01T15:00:00",
    "20261201150000",
    "10.0.0.1",
    "192.168.100.200",
    "v1.2.3",
    "req_0123456789ab",
    "+1 *** *** 0101",
    "1700000000",
    "build 4155550101",
    "1.2.3.4 and 10.20.30.40",
]


class DetectionTests(SimpleTestCase):
    def test_it_finds_a_number_however_it_is_written(self):
        for text in WRITTEN_OUT:
            with self.subTest(text):
                self.assertTrue(contains_phone_number(f"call {text} now"))
                self.assertNotIn("555", redact(f"call {text} now"))
                self.assertIn("0101" if "0101" in text else "0201", redact(text))

    def test_it_leaves_hashes_dates_addresses_and_ids_alone(self):
        for text in NOT_NUMBERS:
            with self.subTest(text):
                self.assertFalse(contains_phone_number(text))
                self.assertEqual(redact(text), text)

    def test_it_masks_email_addresses_plain_or_url_encoded(self):
        self.assertEqual(redact("q=alice%40acme.test and bob@acme.test"), "q=[email] and [email]")

    def test_a_traceback_is_redacted_too(self):
        logger = logging.getLogger("ony.test.redaction")
        stream = io.StringIO()
        handler = logging.StreamHandler(stream)
        handler.addFilter(RedactingFilter())
        logger.addHandler(handler)
        try:
            try:
                raise ValueError("no user alice@acme.test with ony_inv_AbCdEf0123456789xyz")
            except ValueError:
                logger.exception("lookup failed")
        finally:
            logger.removeHandler(handler)
        written = stream.getvalue()
        self.assertIn("ValueError: no user [email] with [redacted]", written)
        self.assertNotIn("alice@", written)

    def test_it_blanks_out_onys_and_the_chat_services_tokens(self):
        lines = {
            '"GET /invite/ony_inv_AbC-d_0123456789abcdefXYZ/ HTTP/1.1"': "GET /invite/[redacted]/",
            "enrolled with ony_enr_0123456789abcdef0123": "enrolled with [redacted]",
            "POST https://api.telegram.org/bot123456789:AAE-xyz_0123456789abcdefghij/sendMessage": (
                "POST https://api.telegram.org/[redacted]/sendMessage"
            ),
            "token xoxb-1234-5678-abcdefgh was refused": "token [redacted] was refused",
            "'url': 'https://t.me/ony_bot?start=tgAbCdEf0123456789'": "?start=[redacted]'",
        }
        for line, starts in lines.items():
            with self.subTest(line):
                self.assertIn(starts, redact(line))


class AuditGuardTests(OnyTestCase):
    def test_a_target_with_a_number_in_any_form_never_reaches_the_chain(self):
        laptop = enroll_device(self.acme)
        for number in WRITTEN_OUT:
            with self.subTest(number):
                body = {
                    "action": "test.run",
                    "target": f"notify {number}",
                    "title": "t",
                    "agent_session_id": "s",
                    "nonce": "phone-target-0001",
                }
                r = Client().post(
                    "/api/v1/handoffs",
                    json.dumps(body),
                    content_type="application/json",
                    **bearer(laptop.device_token),
                )
                self.assertEqual(r.status_code, 400)
                self.assertEqual(r.json()["errors"]["target"][0]["code"], "phone_number")


@unittest.skipUnless(connection.vendor == "postgresql", "gunicorn needs a database it can share")
class GunicornLogTests(TransactionTestCase):
    def test_access_and_error_logs_mask_numbers_and_emails(self):
        org_services.create_organization(name="Acme", slug="acme", actor=SYSTEM)
        port = free_port()
        with tempfile.TemporaryFile() as log:
            server = start_gunicorn(port, shared_database_env(), log)
            try:
                until(lambda: get(port, "/healthz")[0] == 200, 60, "gunicorn to start")
                get(port, "/admin/ony/membership/?q=alice%40acme.test")
                get(port, "/api/v1/handoffs/+1-415-555-0101")  # 401, logged by Django too
                get(port, "/no/such/page/(415)%20555-0101")
            finally:
                server.terminate()
                server.wait(30)
            log.seek(0)
            output = log.read().decode()
        self.assertIn('"GET /healthz HTTP/1.1" 200', output)  # the access log is on
        self.assertIn("Unauthorized: /api/v1/handoffs/+1 *** *** 0101", output)  # Django's
        for secret in ("alice", "acme.test", "555-0101", "555%20", "415-555"):
            self.assertNotIn(secret, output)

    def test_with_log_format_json_log_lines_are_json_and_name_their_request(self):
        org_services.create_organization(name="Acme", slug="acme", actor=SYSTEM)
        port = free_port()
        # Set in a .env file, which gunicorn's configuration reads as the settings do.
        env_file = Path(tempfile.mkdtemp()) / ".env"
        env_file.write_text("LOG_FORMAT=json\n")
        self.addCleanup(shutil.rmtree, env_file.parent)
        with tempfile.TemporaryFile() as log:
            server = start_gunicorn(
                port, {**shared_database_env(), "ONY_ENV_FILE": str(env_file)}, log
            )
            try:
                until(lambda: get(port, "/healthz")[0] == 200, 60, "gunicorn to start")
                get(port, "/no/such/page/(415)%20555-0101", {"X-Request-ID": "probe-42"})
            finally:
                server.terminate()
                server.wait(30)
            log.seek(0)
            output = log.read().decode()
        # Log lines are JSON; the start-up check's report (a warning about the
        # simulator here) is the check command's text, not a log line.
        lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
        self.assertIn('"message": "Listening at: http://127.0.0.1:', output)
        django = [line for line in lines if line.get("logger") == "django.request"]
        self.assertEqual([line["request_id"] for line in django], ["probe-42"])
        self.assertIn("*** *** 0101", django[0]["message"])
        access = [line for line in lines if line.get("logger") == "gunicorn.access"]
        self.assertTrue(any(line["message"].endswith(" probe-42") for line in access))


@unittest.skipUnless(settings.REDIS_URL, "needs a broker (REDIS_URL)")
class WorkerLogTests(SimpleTestCase):
    def run_probe(self, **env: str) -> tuple[str, str]:
        """(the worker's output, the probe task's id) after it logged a number and an email."""
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "PYTHONPATH": str(ROOT),
            **env,
        }
        command = [sys.executable, "-m", "celery", "-A", "ony", "worker", "--pool", "solo"]
        command += ["--loglevel", "INFO", "--include", "tests.log_probe", "-Q", log_probe.QUEUE]
        command += ["--without-mingle", "--without-gossip", "--without-heartbeat"]
        worker = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        try:
            result = app.send_task(
                "tests.log_text",
                args=["call +1 (415) 555-0101 or write to alice@acme.test"],
                queue=log_probe.QUEUE,
            )
            result.get(timeout=60)
        finally:
            worker.terminate()
            output, _ = worker.communicate(timeout=30)
        return output, result.id

    def test_with_log_format_json_its_lines_are_json_and_name_their_task(self):
        output, task_id = self.run_probe(LOG_FORMAT="json")
        lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
        [probe] = [line for line in lines if line["message"].startswith("probe says:")]
        self.assertEqual(probe["message"], "probe says: call +1 *** *** 0101 or write to [email]")
        self.assertEqual(probe["request_id"], task_id)
        self.assertNotIn("555-0101", output)

    def test_a_real_workers_log_lines_are_masked(self):
        output, _ = self.run_probe()
        self.assertIn("probe says: call +1 *** *** 0101 or write to [email]", output)
        self.assertNotIn("555-0101", output)
        self.assertNotIn("alice@", output)


class JsonLogTests(SimpleTestCase):
    """LOG_FORMAT=json: one JSON object a line, each with the request it belongs to."""

    def capture(self) -> io.StringIO:
        stream = io.StringIO()
        handler = logging.StreamHandler(stream)
        handler.addFilter(RequestIdFilter())
        handler.addFilter(RedactingFilter())
        handler.setFormatter(
            logging.config.DictConfigurator({}).configure_formatter(formatter("json"))
        )
        logger = logging.getLogger("django.request")
        logger.addHandler(handler)
        self.addCleanup(logger.removeHandler, handler)
        return stream

    def test_each_line_is_json_with_the_requests_id_and_masked_text(self):
        stream = self.capture()
        response = Client().get("/no/such/page/(415)%20555-0101")
        [line] = [json.loads(text) for text in stream.getvalue().splitlines()]
        self.assertEqual(set(line), {"time", "level", "logger", "request_id", "message"})
        self.assertEqual(line["request_id"], response["X-Request-ID"])
        self.assertEqual((line["level"], line["logger"]), ("WARNING", "django.request"))
        self.assertIn("*** *** 0101", line["message"])
        self.assertNotIn("555", line["message"])

    def test_a_proxys_plain_request_id_is_kept_and_any_other_replaced(self):
        kept = Client().get("/healthz", HTTP_X_REQUEST_ID="lb-7f3a.9")
        self.assertEqual(kept["X-Request-ID"], "lb-7f3a.9")
        for sent in ("<script>", "x" * 65, "a b"):
            replaced = Client().get("/healthz", HTTP_X_REQUEST_ID=sent)
            self.assertRegex(replaced["X-Request-ID"], r"^[0-9a-f]{16}$")

    def test_outside_a_request_the_id_is_a_dash(self):
        record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello", None, None)
        RequestIdFilter().filter(record)
        self.assertEqual(record.request_id, "-")
