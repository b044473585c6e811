"""Canonical JSON, shared by signed verdicts and the audit chain (standard library only).

``canonical(obj)`` is ``json.dumps(obj, sort_keys=True, separators=(",", ":"),
ensure_ascii=False, allow_nan=False)`` encoded as UTF-8, over a restricted
profile on which it equals RFC 8785 (JCS):

- dicts with ASCII string keys, lists, strings, ints with
  ``|x| <= 2**53 - 1``, booleans and None;
- strings are NFC-normalised and may hold neither U+0000 nor lone surrogates;
- anything else (floats, NaN, bytes, dates, sets, ...) raises ``ValueError``
  before anything is hashed.

The connector imports this module, so it must never import Django.
"""

from __future__ import annotations

import json
import unicodedata

TYPE_CHECKING = False  # the connector imports this: keep typing out of its start-up
if TYPE_CHECKING:
    from typing import Any

MAX_SAFE_INTEGER = 2**53 - 1


def _string(value: str, where: str) -> str:
    if value.isascii():  # the common case: already NFC, no surrogates possible
        if "\x00" in value:
            raise ValueError(f"{where}: U+0000 is not allowed")
        return str(value)
    if "\x00" in value:
        raise ValueError(f"{where}: U+0000 is not allowed")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"{where}: lone surrogates are not allowed") from None
    return unicodedata.normalize("NFC", value)


def normalize(value: Any, where: str = "$") -> Any:
    """A copy of ``value`` with strings NFC-normalised; ``ValueError`` off the profile."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise ValueError(f"{where}: integer beyond 2**53 - 1")
        return int(value)
    if isinstance(value, str):
        return _string(value, where)
    if isinstance(value, list | tuple):
        return [normalize(item, f"{where}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, dict):
        result = {}
        for key, item in value.items():
            if not isinstance(key, str) or not key.isascii():
                raise ValueError(f"{where}: keys must be ASCII strings, not {key!r}")
            result[_string(key, where)] = normalize(item, f"{where}.{key}")
        return result
    raise ValueError(f"{where}: {type(value).__name__} is not allowed in canonical JSON")


def encode(normalized: Any) -> bytes:
    """The canonical bytes of a value that ``normalize`` already returned."""
    return json.dumps(
        normalized, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def canonical(value: Any) -> bytes:
    """The canonical UTF-8 bytes of ``value`` (see the module docstring)."""
    return encode(normalize(value))
