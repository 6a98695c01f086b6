"""Strict JSON bodies: 400 for a body that is not JSON, 422 naming any value Parley cannot keep.

Python's `json` module accepts `NaN`, `Infinity`, numbers that overflow a float and lone UTF-16
surrogates (`"\\ud800"`). None of them can be stored in Postgres or written back out as JSON, so
they are refused while the body is parsed, each named by its path in the document.
"""

from __future__ import annotations

import email.message
import json
import math
import re
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from fastapi import HTTPException, Request, status
from fastapi.exceptions import RequestValidationError

# Parley's bodies are flat; anything deeper is an attack on the parser, not a booking.
MAX_DEPTH = 32
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True)
class _Refused:
    """Stands in for a number the parser met but Parley refuses, until the walk names its path."""

    kind: str
    reason: str


class NotJson(ValueError):
    """The body is not a JSON document at all."""


class UnacceptableJson(ValueError):
    """The body is JSON, but some values in it cannot be accepted."""

    def __init__(self, issues: list[dict[str, Any]]) -> None:
        super().__init__(issues)
        self.issues = issues


def _constant(name: str) -> _Refused:
    return _Refused("json_number_not_finite", f"{name} is not a number JSON allows")


def _float(text: str) -> float | _Refused:
    value = float(text)
    if math.isfinite(value):
        return value
    return _Refused("json_number_out_of_range", "the number does not fit in a 64-bit float")


def _int(text: str) -> int | _Refused:
    try:
        return int(text)
    except ValueError:  # more digits than Python converts (sys.get_int_max_str_digits)
        return _Refused("json_number_out_of_range", "the integer has too many digits")


def printable(text: str) -> str:
    """`text` with any lone surrogate written as an escape, so that it encodes as UTF-8."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _issue(path: list[str | int], kind: str, reason: str) -> dict[str, Any]:
    return {"type": kind, "loc": ["body", *path], "msg": reason}


def _walk(document: Any) -> Iterator[dict[str, Any]]:
    """Every refused value in the document, breadth first (no recursion: depth is the input's)."""
    pending: deque[tuple[list[str | int], Any]] = deque([([], document)])
    while pending:
        path, value = pending.popleft()
        if isinstance(value, _Refused):
            yield _issue(path, value.kind, value.reason)
        elif isinstance(value, str):
            if _LONE_SURROGATE.search(value):
                yield _issue(path, "json_lone_surrogate", "the string holds a lone surrogate")
        elif isinstance(value, dict | list):
            if len(path) >= MAX_DEPTH:
                yield _issue(path, "json_too_deep", f"nested deeper than {MAX_DEPTH} levels")
                continue
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                if isinstance(key, str) and _LONE_SURROGATE.search(key):  # object keys
                    yield _issue(
                        [*path, printable(key)],
                        "json_lone_surrogate",
                        "the key holds a lone surrogate",
                    )
                pending.append(([*path, key], item))


def parse_strict(raw: bytes) -> Any:
    """The document in `raw`; NotJson or UnacceptableJson (with every bad value) otherwise."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise NotJson(f"the body is not UTF-8 ({error.reason} at byte {error.start})") from None
    try:
        document = json.loads(text, parse_constant=_constant, parse_float=_float, parse_int=_int)
    except json.JSONDecodeError as error:
        raise NotJson(f"the body is not valid JSON: {error}") from None
    except RecursionError:
        too_deep = _issue([], "json_too_deep", f"nested deeper than {MAX_DEPTH} levels")
        raise UnacceptableJson([too_deep]) from None
    issues = list(_walk(document))
    if issues:
        raise UnacceptableJson(issues)
    return document


def is_json(content_type: str | None) -> bool:
    """Whether FastAPI reads a body of this type as JSON (`application/json`, `...+json`)."""
    if not content_type:
        return False
    message = email.message.Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )


async def check_json_body(request: Request) -> None:
    """Refuse the request's JSON body unless every value in it can be accepted."""
    if not is_json(request.headers.get("content-type")):
        return
    raw = await request.body()  # Starlette keeps it: FastAPI reads the same bytes next
    if not raw:
        return
    try:
        parse_strict(raw)
    except NotJson as error:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(error)) from None
    except UnacceptableJson as error:
        raise RequestValidationError(error.issues) from None
