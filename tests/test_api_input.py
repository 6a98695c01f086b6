"""Hostile input through the API: the field and the reason, a body that serialises, never a 500."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from api.main import app as production_app
from db.models import MatchRequestRow
from tests.helpers import Person, Stack, person, slot_ahead
from tests.served_app import app_of, served

# Every operation that takes a body, from the document: a route added later is checked too.
BODY_OPERATIONS = [
    (method.upper(), path)
    for path, operations in production_app.openapi()["paths"].items()
    for method, operation in operations.items()
    if "requestBody" in operation
]
POST_OPERATIONS = [
    path for path, operations in production_app.openapi()["paths"].items() if "post" in operations
]
JSON_HEADERS = {"Content-Type": "application/json"}

# (raw JSON value put in place of a field, the field, the error type)
HOSTILE_VALUES = [
    ("NaN", "native_language_id", "json_number_not_finite"),
    ("Infinity", "preferred_duration_minutes", "json_number_not_finite"),
    ("-Infinity", "preferred_duration_minutes", "json_number_not_finite"),
    ("1e400", "preferred_duration_minutes", "json_number_out_of_range"),
    ("-1e400", "availability_start", "json_number_out_of_range"),
    ("9" * 5000, "preferred_duration_minutes", "json_number_out_of_range"),
    ('"\\ud800"', "availability_start", "json_lone_surrogate"),
    ('"english\\udfff"', "native_language_id", "json_lone_surrogate"),
]


def _booking(slot: Any) -> dict[str, Any]:
    return {
        "native_language_id": "english",
        "learning_language_id": "spanish",
        "proficiency_level": "intermediate",
        "availability_start": slot.isoformat(),
        "preferred_duration_minutes": 60,
    }


def _with_raw(body: dict[str, Any], field: str, raw: str) -> bytes:
    """The body as JSON text, with `field` set to a raw token that json.dumps would not write."""
    return json.dumps({**body, field: "__RAW__"}).replace('"__RAW__"', raw).encode()


async def _path_for(stack: Stack, someone: Person, path: str, minutes: int = 120) -> str:
    """`path` with its ids filled: for a request id, `someone`'s waiting request `minutes` ahead."""
    if "{request_id}" in path:
        slot = await slot_ahead(stack, minutes)
        booked = await someone.book(slot, "german", "french", duration=15)
        assert booked.status_code == 201, booked.text
        path = path.replace("{request_id}", booked.json()["id"])
    return path.replace("{session_id}", str(uuid.uuid4()))


async def _rows_of(stack: Stack, someone: Person) -> int:
    async with stack.sessionmaker() as db:
        count = await db.scalar(
            select(func.count()).where(MatchRequestRow.user_id == someone.user_id)
        )
        return int(count or 0)


def test_the_bodies_checked_are_every_body_the_api_takes() -> None:
    assert ("POST", "/v1/match-requests") in BODY_OPERATIONS
    assert ("POST", "/v1/match-requests/{request_id}/reschedule") in BODY_OPERATIONS


@pytest.mark.parametrize(("method", "path"), BODY_OPERATIONS)
async def test_values_json_cannot_carry_are_a_422_naming_the_field_and_write_nothing(
    stack: Stack, method: str, path: str
) -> None:
    someone = person(stack, "hostile")
    url = await _path_for(stack, someone, path)
    body = _booking(await slot_ahead(stack))
    rows = await _rows_of(stack, someone)
    for raw, field, kind in HOSTILE_VALUES:
        answer = await someone.api.request(
            method,
            url,
            content=_with_raw(body, field, raw),
            headers={**someone.headers, **JSON_HEADERS},
        )
        assert answer.status_code == 422, (raw, answer.text)
        answer.content.decode("utf-8")  # the answer itself is valid UTF-8 JSON
        assert answer.json()["detail"] == [
            {"loc": ["body", field], "msg": answer.json()["detail"][0]["msg"], "type": kind}
        ], raw
    assert await _rows_of(stack, someone) == rows


async def test_a_bad_value_deep_in_the_body_or_in_a_key_is_named_by_its_path(stack: Stack) -> None:
    someone = person(stack, "hostile")
    body = b'{"a": [1, {"b": NaN}], "\\ud800": 1, "c": [[Infinity]]}'
    answer = await someone.api.post(
        "/v1/match-requests", content=body, headers={**someone.headers, **JSON_HEADERS}
    )
    assert answer.status_code == 422
    assert sorted((issue["loc"], issue["type"]) for issue in answer.json()["detail"]) == [
        (["body", "\\ud800"], "json_lone_surrogate"),  # the key, escaped so that it serialises
        (["body", "a", 1, "b"], "json_number_not_finite"),
        (["body", "c", 0, 0], "json_number_not_finite"),
    ]


@pytest.mark.parametrize(("method", "path"), BODY_OPERATIONS)
async def test_a_body_that_is_not_json_is_a_400_saying_why(
    stack: Stack, method: str, path: str
) -> None:
    someone = person(stack, "clumsy")
    url = await _path_for(stack, someone, path)
    for raw, words in [
        (b'{"native_language_id": ', "not valid JSON"),
        (b"{'native_language_id': 'english'}", "not valid JSON"),
        (b"\xff\xfe{}", "not UTF-8"),
    ]:
        answer = await someone.api.request(
            method, url, content=raw, headers={**someone.headers, **JSON_HEADERS}
        )
        assert answer.status_code == 400, (raw, answer.text)
        assert words in answer.json()["detail"]


async def test_a_malformed_idempotency_key_is_a_422_on_every_post(stack: Stack) -> None:
    someone = person(stack, "retrier")
    for n, path in enumerate(POST_OPERATIONS):
        url = await _path_for(stack, someone, path, minutes=120 + 20 * n)
        rows = await _rows_of(stack, someone)
        for key, kind in (("", "string_too_short"), ("k" * 201, "string_too_long")):
            body = _booking(await slot_ahead(stack))
            answer = await someone.post(url, body, **{"Idempotency-Key": key})
            assert answer.status_code == 422, (path, answer.text)
            assert answer.json()["detail"][0]["loc"] == ["header", "Idempotency-Key"]
            assert answer.json()["detail"][0]["type"] == kind
        assert await _rows_of(stack, someone) == rows


async def test_a_body_of_another_type_is_a_422_whose_answer_serialises(stack: Stack) -> None:
    someone = person(stack, "clumsy")
    answer = await someone.api.post(
        "/v1/match-requests",
        content=b"\xff\x00 not text",
        headers={**someone.headers, "Content-Type": "text/plain"},
    )
    assert answer.status_code == 422
    assert all("input" not in issue for issue in answer.json()["detail"])


async def test_the_connection_still_serves_after_a_hostile_body(stack: Stack) -> None:
    someone = person(stack, "hostile")
    async with (
        served(app_of(stack)) as base_url,
        httpx.AsyncClient(base_url=base_url, limits=httpx.Limits(max_connections=1)) as client,
    ):
        for raw in (b'{"native_language_id": NaN}', b'{"availability_start": "\\ud800"}'):
            hostile = await client.post(
                "/v1/match-requests", content=raw, headers={**someone.headers, **JSON_HEADERS}
            )
            assert hostile.status_code == 422
            after = await client.get("/v1/match-requests", headers=someone.headers)
            assert after.status_code == 200, after.text


async def _stream(total: int, chunk: int = 4096) -> AsyncIterator[bytes]:
    """`total` bytes of a JSON string, sent chunk by chunk with no Content-Length."""
    yield b'{"native_language_id": "'
    for _ in range(total // chunk):
        yield b"x" * chunk
    yield b'"}'


async def test_a_streamed_body_over_64_kib_is_a_413_in_process_and_over_http(stack: Stack) -> None:
    someone = person(stack, "streamer")
    answer = await someone.api.post(
        "/v1/match-requests", content=_stream(200_000), headers={**someone.headers, **JSON_HEADERS}
    )
    assert answer.status_code == 413, answer.text
    assert "larger than 65536 bytes" in answer.json()["detail"]
    # Not JSON: FastAPI itself reads this one; the limit must still answer 413, not 400.
    answer = await someone.api.post(
        "/v1/match-requests",
        content=_stream(200_000),
        headers={**someone.headers, "Content-Type": "text/plain"},
    )
    assert answer.status_code == 413, answer.text
    async with (
        served(app_of(stack)) as base_url,
        httpx.AsyncClient(base_url=base_url) as client,
    ):
        answer = await client.post(
            "/v1/match-requests",
            content=_stream(200_000),
            headers={**someone.headers, **JSON_HEADERS},
        )
        assert answer.request.headers.get("Transfer-Encoding") == "chunked"
        assert answer.status_code == 413, answer.text
        assert "larger than 65536 bytes" in answer.json()["detail"]
    assert await _rows_of(stack, someone) == 0


async def test_a_streamed_booking_under_the_limit_is_accepted(stack: Stack) -> None:
    someone = person(stack, "streamer")
    raw = json.dumps(_booking(await slot_ahead(stack))).encode()

    async def stream() -> AsyncIterator[bytes]:
        for start in range(0, len(raw), 16):
            yield raw[start : start + 16]

    answer = await someone.api.post(
        "/v1/match-requests", content=stream(), headers={**someone.headers, **JSON_HEADERS}
    )
    assert answer.status_code == 201, answer.text
