"""Webhooks on the real dev server, under Worker Versioning: a worker's start-up starts its
endpoint's delivery workflow, and when a new build becomes current the workflow continues as new
onto it and delivers on, nothing lost or repeated."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from typing import Any

import psycopg
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client

from activities.webhook_starts import start_webhook_deliveries
from activities.webhooks import WebhookActivities
from contracts.webhooks import DeliveryPolicy, WebhookDeliveryState
from settings import WebhookEndpoint
from tests.rows import insert_request, user
from tests.served_app import served
from tests.webhook_receiver import Receiver, new_secret
from tests.workers import dev_worker

POLICY = DeliveryPolicy(poll_seconds=0.2, idle_poll_seconds=0.5)


async def until(check: Callable[[], Any], what: str, seconds: float = 30.0) -> None:
    """Wait (real time) until `check()` holds."""
    deadline = time.monotonic() + seconds
    while not await check():
        assert time.monotonic() < deadline, f"not in {seconds} s: {what}"
        await asyncio.sleep(0.1)


def new_event(conn: psycopg.Connection[Any]) -> int:
    """One new event (a waiting request's), committed; its id."""
    someone = user()
    insert_request(conn, someone)
    row = conn.execute("SELECT max(id) FROM events WHERE user_id = %s", (someone,)).fetchone()
    assert row is not None
    return int(row[0])


async def test_the_worker_starts_the_delivery_and_a_new_build_takes_it_over(
    dev_client: Client,
    sessionmaker: async_sessionmaker[AsyncSession],
    conn: psycopg.Connection[Any],
) -> None:
    secret, name, queue = new_secret(), f"test-{uuid.uuid4().hex[:8]}", f"parley-{uuid.uuid4()}"
    receiver = Receiver(secret, lambda event, nth: False)
    async with served(receiver.app) as base_url:
        endpoint = WebhookEndpoint(name=name, url=f"{base_url}/hooks", secret=SecretStr(secret))
        hooks = WebhookActivities(sessionmaker, [endpoint], POLICY)
        async with dev_worker(dev_client, sessionmaker, queue, "hooks-1", webhooks=hooks):
            # What `python -m worker` does at start-up, twice: the second finds it running.
            (workflow_id,) = await start_webhook_deliveries(dev_client, queue, [name])
            await start_webhook_deliveries(dev_client, queue, [name])
            handle = dev_client.get_workflow_handle(workflow_id)

            async def state() -> WebhookDeliveryState:
                return await handle.query("state", result_type=WebhookDeliveryState)

            try:
                await until(lambda: _started(state), "the first run reads where to start")
                first = new_event(conn)
                await until(lambda: _arrived(receiver, first), "the first event arrives")
                async with dev_worker(dev_client, sessionmaker, queue, "hooks-2", webhooks=hooks):
                    await until(lambda: _runs(state, 1), "the run hands over to the new build")
                    second = new_event(conn)
                    await until(lambda: _arrived(receiver, second), "the second event arrives")
                    description = await handle.describe()
            finally:
                await handle.terminate("the test is over")
    versioning = description.raw_description.workflow_execution_info.versioning_info
    assert versioning.deployment_version.build_id == "hooks-2"
    assert receiver.acknowledged() == {first: 1, second: 1}
    assert not receiver.refused


async def _started(state: Callable[[], Any]) -> bool:
    return (await state()).cursor is not None


async def _runs(state: Callable[[], Any], runs: int) -> bool:
    return bool((await state()).runs >= runs)


async def _arrived(receiver: Receiver, event_id: int) -> bool:
    return event_id in receiver.times()
