"""The API with no worker polling its task queue (yet): on the time-skipping server or the dev
server, and what the tests of that state share."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from httpx import ASGITransport, AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from api.main import create_app
from api.security import mint_token
from db.models import MatchRequestRow
from settings import Settings
from tests.helpers import Person, Stack, eventually, new_calendar_offset, withdraw_waiting
from tests.workers import test_worker

BOUND = 3.0  # seconds: PARLEY_WORKFLOW_CALL_TIMEOUT_SECONDS in these tests


# What "answers within the bound" allows on a loaded 2-core machine: a hang would be minutes.
SLACK = 4.0


@asynccontextmanager
async def without_a_worker(
    env: WorkflowEnvironment,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[tuple[Stack, Callable[..., Worker]]]:
    """The API on a task queue no worker polls yet; and a way to start one (`to_stop`: one that
    will be stopped while workflows still need it)."""
    test_settings = settings.model_copy(
        update={
            "task_queue": f"parley-{uuid.uuid4()}",
            "workflow_call_timeout_seconds": BOUND,
            "receipt_skew_seconds": 0.5,
        }
    )
    app = create_app(
        test_settings, temporal=env.client, sessionmaker=sessionmaker, clock=env.get_current_time
    )
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://parley.test") as api:
        stack = Stack(
            api, env, test_settings, sessionmaker, uuid.uuid4().hex[:8], new_calendar_offset()
        )

        def worker(to_stop: bool = False) -> Worker:
            # No sticky cache for a worker that will stop: the time-skipping server never hands
            # a stopped worker's sticky tasks back to the shared queue, so the next worker
            # replays from history, as after a crash.
            cache = {"max_cached_workflows": 0} if to_stop else {}
            return test_worker(env.client, sessionmaker, test_settings.task_queue, **cache)

        yield stack, worker


@asynccontextmanager
async def on_the_dev_server(
    client: Client,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    **overrides: Any,
) -> AsyncIterator[tuple[Callable[[str], Person], str]]:
    """The API (wall clock) on the dev server, on a fresh task queue no worker polls yet: a way
    to make people, and the task queue."""
    fast = settings.model_copy(
        update={
            "task_queue": f"parley-{uuid.uuid4()}",
            "workflow_call_timeout_seconds": BOUND,
            **overrides,
        }
    )
    app = create_app(fast, temporal=client, sessionmaker=sessionmaker)
    tag = uuid.uuid4().hex[:8]
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://parley.test") as api:

        def someone(name: str) -> Person:
            user = f"{name}-{tag}"
            return Person(user, api, mint_token(user, fast.signing_secret()))

        try:
            yield someone, fast.task_queue
        finally:
            await withdraw_waiting(sessionmaker, tag)


async def timed(call: Any) -> tuple[Any, float]:
    """The answer to an awaited call, and how long it took in real seconds."""
    started = time.monotonic()
    answer = await call
    return answer, time.monotonic() - started


async def requests_of(stack: Stack, user_id: str) -> list[MatchRequestRow]:
    """Every request row of a user, as Postgres holds them."""
    async with stack.sessionmaker() as db:
        rows = await db.scalars(select(MatchRequestRow).where(MatchRequestRow.user_id == user_id))
        return list(rows)


async def pair(one: Person, two: Person, slot: datetime) -> dict[str, Any]:
    first = await one.book(slot, "english", "spanish")
    assert first.status_code == 201, first.text
    assert (await two.book(slot, "spanish", "english")).status_code == 201
    matched = await eventually(
        lambda: one.get(f"/v1/match-requests/{first.json()['id']}"),
        lambda r: r["status"] == "matched",
    )
    return dict((await one.get(f"/v1/sessions/{matched['session_id']}")).json())


async def sleep_until(instant: datetime) -> None:
    await asyncio.sleep(max(0.0, (instant - datetime.now(UTC)).total_seconds()))
