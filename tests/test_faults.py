"""When no worker runs: every state change answers within the bound, nothing a user did is lost,
and nothing is done after a 503 said it was not (joins: tests/test_join_without_a_worker.py)."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from httpx import ASGITransport, AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from api.main import create_app
from contracts.naming import match_request_workflow_id
from domain.slots import next_slot_after
from settings import Settings
from tests.helpers import Person, Stack, book_pair, eventually, person, settle, slot_ahead
from tests.no_worker import (
    BOUND,
    SLACK,
    on_the_dev_server,
    pair,
    requests_of,
    timed,
    without_a_worker,
)
from tests.workers import dev_worker, test_worker


async def test_a_booking_no_worker_takes_in_time_answers_503_and_books_nothing_later(
    env: WorkflowEnvironment, settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with without_a_worker(env, settings, sessionmaker) as (stack, worker):
        a = person(stack, "user-a")
        slot = await slot_ahead(stack)
        key = {"Idempotency-Key": "book-1"}
        body = {
            "native_language_id": "english",
            "learning_language_id": "spanish",
            "proficiency_level": "intermediate",
            "availability_start": slot.isoformat(),
        }
        refused, took = await timed(a.post("/v1/match-requests", body, **key))
        assert refused.status_code == 503, refused.text
        assert took < BOUND + SLACK and refused.headers["Retry-After"]
        async with worker():
            # The worker comes back to a booking every caller has given up on: it books nothing.
            handle = env.client.get_workflow_handle(
                match_request_workflow_id(str(_derived_id(a, "book-1")))
            )
            await _until_closed(handle)
            assert (await handle.result())["status"] == "abandoned"
            assert await requests_of(stack, a.user_id) == []
            # The retry with the same key books it, once.
            first = await a.post("/v1/match-requests", body, **key)
            again = await a.post("/v1/match-requests", body, **key)
            assert first.status_code == again.status_code == 201, first.text
            assert first.json()["id"] == again.json()["id"]
            assert len(await requests_of(stack, a.user_id)) == 1
            await settle(stack)


async def test_cancels_are_recorded_at_once_without_a_worker_and_carried_out_later(
    dev_client: Client, settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with on_the_dev_server(dev_client, settings, sessionmaker) as (someone, queue):
        a, b, c = someone("user-a"), someone("user-b"), someone("user-c")
        slot = next_slot_after(datetime.now(UTC) + timedelta(hours=1), settings.slot_minutes)
        async with dev_worker(dev_client, sessionmaker, queue):
            session = await pair(a, b, slot)
            waiting = (await c.book(slot + timedelta(hours=2), "french", "german")).json()
            moving = (await c.book(slot + timedelta(hours=4), "french", "german")).json()
        # No worker from here on.
        cancelled, took = await timed(b.post(f"/v1/sessions/{session['id']}/cancel"))
        assert cancelled.status_code == 202 and took < BOUND + SLACK, cancelled.text
        assert cancelled.json()["cancel_requested_by"] == b.user_id
        assert cancelled.json()["status"] == "scheduled"
        withdrawn, took = await timed(c.post(f"/v1/match-requests/{waiting['id']}/cancel"))
        assert withdrawn.status_code == 202 and took < BOUND + SLACK, withdrawn.text
        assert withdrawn.json()["cancel_requested_at"] is not None
        moved, took = await timed(
            c.post(
                f"/v1/match-requests/{moving['id']}/reschedule",
                {"availability_start": (slot + timedelta(hours=6)).isoformat()},
            )
        )
        assert moved.status_code == 503 and took < BOUND + SLACK, moved.text
        async with dev_worker(dev_client, sessionmaker, queue):
            # Carried out as recorded: B's cancel before the start rematches A into the slot.
            done = await eventually(
                lambda: a.get(f"/v1/sessions/{session['id']}"),
                lambda s: s["status"] == "cancelled",
            )
            assert (done["cancel_reason"], done["cancelled_by"]) == ("cancelled_by_user", b.user_id)
            rematch = await eventually(
                lambda: a.get("/v1/match-requests", status="waiting"), lambda rows: len(rows) == 1
            )
            assert rematch[0]["priority"] == 1
            assert rematch[0]["availability_start"] == session["scheduled_start"]
            await eventually(
                lambda: c.get(f"/v1/match-requests/{waiting['id']}"),
                lambda r: r["status"] == "cancelled",
            )
            # The reschedule that got a 503 never happens: the request still waits where it was.
            await asyncio.sleep(1.0)
            still = (await c.get(f"/v1/match-requests/{moving['id']}")).json()
            assert still["status"] == "waiting"
            assert still["availability_start"] == moving["availability_start"]


async def test_the_let_down_partners_request_is_visible_with_the_cancellation(
    stack: Stack,
) -> None:
    a, b = person(stack, "user-a"), person(stack, "user-b")
    slot = await slot_ahead(stack)
    _, _, session = await book_pair(stack, a, b, slot)
    cancelled = await b.post(f"/v1/sessions/{session['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    waiting = (await a.get("/v1/match-requests", status="waiting")).json()
    assert len(waiting) == 1 and waiting[0]["priority"] == 1
    assert waiting[0]["origin_session_id"] == session["id"]

    # And at a no-show deadline: whenever a read shows the session cancelled, the next read
    # shows the new request, in every poll (both written in one transaction).
    c, d = person(stack, "user-c"), person(stack, "user-d")
    later = slot + timedelta(hours=3)
    _, _, other = await book_pair(stack, c, d, later)
    await _skip_to(stack, later - timedelta(minutes=1))
    assert (await c.post(f"/v1/sessions/{other['id']}/join")).status_code == 200
    await _skip_to(stack, later + timedelta(minutes=2))  # the deadline; settled 2-3 s later
    skipping = asyncio.create_task(_skip_to(stack, later + timedelta(minutes=2, seconds=10)))
    seen_cancelled = 0
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and seen_cancelled < 3:
        shown = (await c.get(f"/v1/sessions/{other['id']}")).json()
        rematches = (await c.get("/v1/match-requests", status="waiting")).json()
        if shown["status"] == "cancelled":
            seen_cancelled += 1
            assert [r["origin_session_id"] for r in rematches] == [other["id"]], rematches
        await asyncio.sleep(0.02)
    await skipping
    assert seen_cancelled == 3


async def test_a_user_holds_at_most_the_live_request_cap_even_when_creates_race(
    env: WorkflowEnvironment, settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    capped = settings.model_copy(update={"max_live_requests": 3})
    async with without_a_worker(env, capped, sessionmaker) as (stack, _):
        queue = stack.settings.task_queue
        async with test_worker(env.client, sessionmaker, queue, max_live_requests=3):
            a = person(stack, "user-a")
            slot = await slot_ahead(stack)
            booked = [
                await a.book(slot + timedelta(hours=2 * n), "english", "spanish") for n in range(3)
            ]
            assert [r.status_code for r in booked] == [201, 201, 201]
            over = await a.book(slot + timedelta(hours=8), "english", "spanish")
            assert over.status_code == 409 and "PARLEY_MAX_LIVE_REQUESTS=3" in over.json()["detail"]
            assert (
                await a.post(f"/v1/match-requests/{booked[0].json()['id']}/cancel")
            ).status_code == 200
            racing = await asyncio.gather(
                *(
                    a.book(slot + timedelta(hours=10 + 2 * n), "english", "spanish")
                    for n in range(2)
                )
            )
            assert sorted(r.status_code for r in racing) == [201, 409]
            live = [r for r in await requests_of(stack, a.user_id) if r.status == "waiting"]
            assert len(live) == 3
            await settle(stack)


async def test_creates_are_rate_limited_per_user_across_api_processes(
    env: WorkflowEnvironment, settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    limited = settings.model_copy(update={"rate_limit_per_minute": 4})
    async with without_a_worker(env, limited, sessionmaker) as (stack, worker):
        # A second API process: its own app, the same database.
        other_app = create_app(
            stack.settings,
            temporal=env.client,
            sessionmaker=sessionmaker,
            clock=env.get_current_time,
        )
        async with (
            worker(),
            AsyncClient(transport=ASGITransport(app=other_app), base_url="http://two.test") as two,
        ):
            a = person(stack, "user-a")
            a_two = Person(a.user_id, two, a.token)
            slot = await slot_ahead(stack)
            answers = [
                await (a if n % 2 else a_two).book(
                    slot + timedelta(hours=2 * n), "english", "spanish"
                )
                for n in range(5)
            ]
            assert [r.status_code for r in answers] == [201, 201, 201, 201, 429]
            assert 1 <= int(answers[-1].headers["Retry-After"]) <= 15
            assert "PARLEY_RATE_LIMIT_PER_MINUTE" in answers[-1].json()["detail"]
            # Someone else is not limited by A's calls.
            b = person(stack, "user-b")
            assert (await b.book(slot, "spanish", "english")).status_code == 201
            await settle(stack)


async def test_readiness_says_whether_any_worker_polls_the_task_queue(
    dev_client: Client, settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    queue = settings.model_copy(update={"task_queue": f"parley-{uuid.uuid4()}"})
    app = create_app(queue, temporal=dev_client, sessionmaker=sessionmaker)
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://parley.test") as api:
        alone = await api.get("/readyz")
        assert alone.status_code == 200 and alone.json()["status"] == "degraded"
        assert alone.json()["checks"]["workers"].startswith("none polling")
        async with dev_worker(dev_client, sessionmaker, queue.task_queue):
            served = await eventually(lambda: api.get("/readyz"), lambda h: h["status"] == "ok")
            assert served["checks"]["workers"] == "1 polling"


def _derived_id(who: Person, key: str) -> uuid.UUID:
    from api.routes.booking import IDEMPOTENCY_NAMESPACE

    return uuid.uuid5(IDEMPOTENCY_NAMESPACE, f"{who.user_id}\n{key}")


async def _skip_to(stack: Stack, instant: datetime) -> None:
    now = await stack.env.get_current_time()
    if instant > now:
        await stack.env.sleep((instant - now).total_seconds())


async def _until_closed(handle: Any) -> None:
    for _ in range(200):
        if (await handle.describe()).status != WorkflowExecutionStatus.RUNNING:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{handle.id} still running")
