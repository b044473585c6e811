"""Log lines: plain or JSON (``LOG_FORMAT``), each with the request or task it belongs to.

Every handler of Ony's (Django's, gunicorn's, the Celery worker's) gets the
same two filters: ``RequestIdFilter`` puts ``request_id`` on each record
(the id of the request or Celery task being handled, ``-`` outside one),
and ``ony.redaction.RedactingFilter`` masks phone numbers, emails and
credentials before any formatter sees the text.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from pythonjsonlogger.json import JsonFormatter

from ony.redaction import redact

#: The request (or task) being handled in this thread or context.
current_request_id: ContextVar[str] = ContextVar("ony_request_id", default="-")

#: An id a proxy in front may pass on (``X-Request-ID``); anything else is replaced.
REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
HEADER = "X-Request-ID"

PLAIN = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
#: The fields of a JSON line (python-json-logger), in this order, and their names there.
JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s"
JSON_RENAMES = {"asctime": "time", "levelname": "level", "name": "logger"}
#: The keys a JSON line may have.
JSON_KEYS = frozenset(
    {"time", "level", "logger", "request_id", "message", "exc_info", "stack_info"}
)
FORMATS = ("plain", "json")


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to every record (``-`` outside a request or task)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id.get()
        return True


class JsonLines(JsonFormatter):
    """python-json-logger's lines with Ony's fields only, tracebacks redacted.

    Extra attributes are left out (Django's ``django.request`` lines carry
    the request object, whose text holds the unredacted path), and the
    traceback it formats itself goes through ``redact`` as messages do.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("rename_fields", JSON_RENAMES)
        super().__init__(JSON_FIELDS, *args, **kwargs)

    def add_fields(self, log_record: dict[str, Any], record: Any, message_dict: Any) -> None:
        super().add_fields(log_record, record, message_dict)
        for key in [key for key in log_record if key not in JSON_KEYS]:
            del log_record[key]

    def formatException(self, ei: Any) -> Any:
        return redact(str(super().formatException(ei)))

    def formatStack(self, stack_info: str) -> Any:
        return redact(str(super().formatStack(stack_info)))


def formatter(log_format: str, plain: str = PLAIN) -> dict[str, Any]:
    """A ``dictConfig`` formatter: JSON lines, or ``plain``'s text format."""
    if log_format == "json":
        return {"()": "ony.logs.JsonLines"}
    return {"format": plain}


def filters() -> dict[str, Any]:
    """The two filters every handler carries, for ``dictConfig``."""
    return {
        "request_id": {"()": "ony.logs.RequestIdFilter"},
        "redact": {"()": "ony.redaction.RedactingFilter"},
    }


def new_request_id() -> str:
    return uuid.uuid4().hex[:16]


def request_id_middleware(get_response: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """Give each request an id (the proxy's ``X-Request-ID`` when it is a plain one):
    on its log lines, and back in the response's ``X-Request-ID`` header.

    The id stays set until the response is closed (``forget_request_id`` on
    ``request_finished``): Django logs a 4xx or 5xx after the middleware has
    returned.
    """

    def middleware(request: Any) -> Any:
        given = request.headers.get(HEADER, "")
        request_id = given if REQUEST_ID.match(given) else new_request_id()
        current_request_id.set(request_id)
        response = get_response(request)
        response[HEADER] = request_id
        return response

    return middleware


def forget_request_id(**kwargs: Any) -> None:
    """``request_finished``: lines after the response belong to no request."""
    current_request_id.set("-")
