"""A service's refusal: a stable code for programs, a detail for people, an HTTP status.

Services raise it (or a subclass) without knowing about HTTP frameworks; the
API's error handler turns it into ``{"code", "detail"}`` with that status.
"""

from __future__ import annotations


class Refusal(Exception):
    def __init__(self, code: str, detail: str, status: int = 400) -> None:
        super().__init__(detail)
        self.code, self.detail, self.status = code, detail, status
