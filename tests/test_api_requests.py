"""Booking through the API: validation, ownership, idempotency, double booking, cancel, expiry."""

from __future__ import annotations

from datetime import timedelta

import pytest

from api.security import mint_token
from tests.helpers import Stack, eventually, is_matched, person, skip_to, slot_ahead


async def test_every_endpoint_but_the_public_ones_needs_a_token(stack: Stack) -> None:
    assert (await stack.api.get("/healthz")).status_code == 200
    assert (await stack.api.get("/v1/languages")).status_code == 200
    for method, path in [
        ("GET", "/v1/match-requests"),
        ("POST", "/v1/match-requests"),
        ("GET", "/v1/sessions"),
        ("POST", "/v1/sessions/00000000-0000-0000-0000-000000000000/join"),
    ]:
        answer = await stack.api.request(method, path)
        assert answer.status_code == 401, (method, path)


async def test_readiness_checks_postgres_and_temporal(stack: Stack) -> None:
    ready = await stack.api.get("/readyz")
    assert ready.status_code == 200
    checks = ready.json()["checks"]
    assert (checks["postgres"], checks["temporal"]) == ("ok", "ok")
    # The time-skipping server cannot say who polls; the dev server can (tests/test_faults.py).
    assert "workers" in checks


async def test_an_expired_token_is_refused(stack: Stack) -> None:
    stale = mint_token("user-a", stack.settings.signing_secret(), ttl=timedelta(seconds=-1))
    answer = await stack.api.get("/v1/match-requests", headers={"Authorization": f"Bearer {stale}"})
    assert answer.status_code == 401


async def test_an_oversized_body_is_refused_before_anything_reads_it(stack: Stack) -> None:
    answer = await stack.api.post("/v1/match-requests", content=b"x" * 200_000)
    assert answer.status_code == 413


async def test_paging_far_beyond_the_end_is_a_422_not_a_crash(stack: Stack) -> None:
    a = person(stack, "user-a")
    answer = await a.get("/v1/match-requests", offset=2**63)
    assert answer.status_code == 422


async def test_a_token_whose_subject_has_control_characters_is_refused(stack: Stack) -> None:
    token = mint_token("user\x00a", stack.settings.signing_secret())
    answer = await stack.api.get("/v1/match-requests", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 401


async def test_a_token_signed_with_another_secret_is_refused(stack: Stack) -> None:
    forged = mint_token("intruder", "not-the-secret-but-long-enough-for-hs256!")
    answer = await stack.api.get(
        "/v1/match-requests", headers={"Authorization": f"Bearer {forged}"}
    )
    assert answer.status_code == 401
    assert "invalid bearer token" in answer.json()["detail"]


async def test_languages_are_listed_with_lowercase_english_ids(stack: Stack) -> None:
    languages = (await stack.api.get("/v1/languages")).json()
    ids = {language["id"] for language in languages}
    assert len(ids) >= 20 and {"english", "spanish"} <= ids


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"native_language_id": "klingon"}, "native_language_id", "unknown language"),
        ({"learning_language_id": "english"}, "learning_language_id", "must differ"),
        ({"proficiency_level": "fluent"}, "proficiency_level", "beginner"),
        ({"preferred_duration_minutes": 5}, "preferred_duration_minutes", "15"),
        ({"preferred_duration_minutes": 180}, "preferred_duration_minutes", "120"),
        ({"shift": timedelta(minutes=3)}, "availability_start", "grid"),
        ({"availability_start": "2020-01-01T15:00:00Z"}, "availability_start", "future"),
        ({"shift": timedelta(days=31)}, "availability_start", "30"),
        ({"end_shift": timedelta(minutes=-10)}, "availability_end", "availability_start"),
        ({"end_shift": timedelta(hours=6, minutes=10)}, "availability_end", "6 hours"),
        ({"end_shift": timedelta(minutes=5)}, "availability_end", "grid"),
        ({"availability_start": "tomorrow-ish"}, "availability_start", "datetime"),
        ({"unexpected": 1}, "unexpected", "xtra"),
        ({"availability_start": "9999-12-31T23:50:00-05:00"}, "availability_start", "range"),
    ],
)
async def test_bad_input_is_a_422_that_names_the_field_and_writes_nothing(
    stack: Stack, change: dict, field: str, words: str
) -> None:
    a = person(stack, "user-a")
    slot = await slot_ahead(stack)
    body = {
        "native_language_id": "english",
        "learning_language_id": "spanish",
        "proficiency_level": "intermediate",
        "availability_start": (slot + change.pop("shift", timedelta())).isoformat(),
        "preferred_duration_minutes": 60,
    }
    if "end_shift" in change:
        body["availability_end"] = (slot + change.pop("end_shift")).isoformat()
    body.update(change)
    answer = await a.post("/v1/match-requests", body)
    assert answer.status_code == 422, answer.text
    (problem,) = [p for p in answer.json()["detail"] if p["loc"][-1] == field]
    assert words.lower() in problem["msg"].lower()
    assert (await a.get("/v1/match-requests")).json() == []


async def test_a_time_without_offset_is_read_as_utc_and_answered_in_utc(stack: Stack) -> None:
    a = person(stack, "user-a")
    slot = await slot_ahead(stack)
    answer = await a.book(slot.replace(tzinfo=None), "english", "spanish")
    assert answer.status_code == 201, answer.text
    assert answer.json()["availability_start"] == slot.isoformat().replace("+00:00", "Z")


async def test_someone_elses_request_is_a_404_for_reading_and_for_acting(stack: Stack) -> None:
    a, mallory = person(stack, "user-a"), person(stack, "mallory")
    slot = await slot_ahead(stack)
    request_id = (await a.book(slot, "english", "spanish")).json()["id"]
    assert (await mallory.get(f"/v1/match-requests/{request_id}")).status_code == 404
    assert (await mallory.post(f"/v1/match-requests/{request_id}/cancel")).status_code == 404
    assert (await mallory.get("/v1/match-requests")).json() == []
    assert (await a.get(f"/v1/match-requests/{request_id}")).json()["status"] == "waiting"


async def test_an_idempotency_key_makes_a_retry_return_the_same_request(stack: Stack) -> None:
    a = person(stack, "user-a")
    slot = await slot_ahead(stack)
    body = {
        "native_language_id": "english",
        "learning_language_id": "spanish",
        "proficiency_level": "intermediate",
        "availability_start": slot.isoformat(),
    }
    first = await a.post("/v1/match-requests", body, **{"Idempotency-Key": "k-1"})
    again = await a.post("/v1/match-requests", body, **{"Idempotency-Key": "k-1"})
    assert first.status_code == again.status_code == 201, again.text
    assert first.json()["id"] == again.json()["id"]
    assert len((await a.get("/v1/match-requests")).json()) == 1
    other = await a.post(
        "/v1/match-requests",
        {**body, "learning_language_id": "french"},
        **{"Idempotency-Key": "k-1"},
    )
    assert other.status_code == 409


async def test_an_overlapping_booking_is_a_409_and_leaves_the_first_alone(stack: Stack) -> None:
    a = person(stack, "user-a")
    slot = await slot_ahead(stack)
    first = await a.book(slot, "english", "spanish")
    assert first.status_code == 201
    overlapping = await a.book(slot + timedelta(minutes=30), "english", "french")
    assert overlapping.status_code == 409, overlapping.text
    assert "overlap" in overlapping.json()["detail"]
    later = await a.book(slot + timedelta(minutes=60), "english", "french")
    assert later.status_code == 201
    statuses = sorted(r["status"] for r in (await a.get("/v1/match-requests")).json())
    assert statuses == ["waiting", "waiting"]


async def test_a_waiting_request_is_cancelled_once_and_a_retry_only_reports_it(
    stack: Stack,
) -> None:
    a = person(stack, "user-a")
    slot = await slot_ahead(stack)
    request_id = (await a.book(slot, "english", "spanish")).json()["id"]
    cancelled = await a.post(f"/v1/match-requests/{request_id}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["cancel_requested_at"] is not None
    again = await a.post(f"/v1/match-requests/{request_id}/cancel")
    assert again.status_code == 200 and again.json() == cancelled.json()
    # A request that ended otherwise (here: rescheduled away) cannot be cancelled.
    other = (await a.book(slot + timedelta(minutes=120), "english", "spanish")).json()["id"]
    moved = await a.post(
        f"/v1/match-requests/{other}/reschedule",
        {"availability_start": (slot + timedelta(minutes=240)).isoformat()},
    )
    assert moved.status_code == 201, moved.text
    assert (await a.post(f"/v1/match-requests/{other}/cancel")).status_code == 409


async def test_a_matched_request_cannot_be_cancelled_or_rescheduled(stack: Stack) -> None:
    a, b = person(stack, "user-a"), person(stack, "user-b")
    slot = await slot_ahead(stack)
    request_id = (await a.book(slot, "english", "spanish")).json()["id"]
    await b.book(slot, "spanish", "english")
    await eventually(lambda: a.get(f"/v1/match-requests/{request_id}"), is_matched)
    assert (await a.post(f"/v1/match-requests/{request_id}/cancel")).status_code == 409
    moved = await a.post(
        f"/v1/match-requests/{request_id}/reschedule",
        {"availability_start": (slot + timedelta(hours=1)).isoformat()},
    )
    assert moved.status_code == 409
    assert len((await a.get("/v1/match-requests")).json()) == 1


async def test_an_unmatched_request_expires_when_its_slot_starts(stack: Stack) -> None:
    a = person(stack, "user-a")
    slot = await slot_ahead(stack)
    request_id = (await a.book(slot, "english", "swahili")).json()["id"]
    await skip_to(stack, slot + timedelta(seconds=1))
    expired = await eventually(
        lambda: a.get(f"/v1/match-requests/{request_id}"), lambda r: r["status"] == "expired"
    )
    assert expired["matched_at"] is None


async def test_levels_more_than_one_step_apart_are_not_paired(stack: Stack) -> None:
    a, b, c = person(stack, "user-a"), person(stack, "user-b"), person(stack, "user-c")
    slot = await slot_ahead(stack)
    far = (await a.book(slot, "english", "spanish", level="beginner")).json()["id"]
    await b.book(slot, "spanish", "english", level="upper_intermediate")
    near = (await c.book(slot, "english", "spanish", level="advanced")).json()["id"]
    await eventually(lambda: c.get(f"/v1/match-requests/{near}"), is_matched)
    assert (await a.get(f"/v1/match-requests/{far}")).json()["status"] == "waiting"
