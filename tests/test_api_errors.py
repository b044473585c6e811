"""The API's error format: a stable code and a human detail, for every kind of failure."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.test import SimpleTestCase
from rest_framework import exceptions

from ony.api.errors import exception_handler
from ony.refusal import Refusal


def handle(exc: Exception) -> tuple[int, dict]:
    response = exception_handler(exc, {})
    assert response is not None, f"{exc!r} was not handled"
    return response.status_code, response.data


class ErrorFormatTests(SimpleTestCase):
    def test_it_reports_field_errors_with_codes(self):
        exc = exceptions.ValidationError(
            {"action": [exceptions.ErrorDetail("Too long.", "max_length")]}
        )
        status, body = handle(exc)
        self.assertEqual(status, 400)
        self.assertEqual(body["code"], "invalid")
        self.assertEqual(
            body["errors"], {"action": [{"code": "max_length", "detail": "Too long."}]}
        )

    def test_it_reports_a_single_validation_error_with_its_own_code(self):
        exc = exceptions.ValidationError(exceptions.ErrorDetail("Already used.", "token_used"))
        status, body = handle(exc)
        self.assertEqual((status, body["code"]), (400, "invalid"))
        self.assertEqual(body["errors"], [{"code": "token_used", "detail": "Already used."}])

    def test_it_converts_django_validation_errors(self):
        status, body = handle(DjangoValidationError("An admin is needed.", code="last_admin"))
        self.assertEqual(status, 400)
        self.assertEqual(body["errors"]["non_field_errors"][0]["code"], "last_admin")

    def test_it_converts_django_404(self):
        self.assertEqual(
            handle(Http404("secret detail")), (404, {"code": "not_found", "detail": "Not found."})
        )

    def test_it_keeps_api_exception_codes(self):
        self.assertEqual(handle(exceptions.ParseError())[1]["code"], "parse_error")
        self.assertEqual(handle(exceptions.Throttled(wait=3))[0], 429)
        self.assertEqual(handle(exceptions.Throttled(wait=3))[1]["code"], "throttled")

    def test_it_leaves_unexpected_exceptions_to_django(self):
        self.assertIsNone(exception_handler(RuntimeError("boom"), {}))

    def test_it_answers_a_service_refusal_with_its_code_and_status(self):

        self.assertEqual(
            handle(Refusal("already_decided", "This handoff is already approved.", 409)),
            (409, {"code": "already_decided", "detail": "This handoff is already approved."}),
        )
