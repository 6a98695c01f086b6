"""A worker's LISTEN wakes the webhook deliveries when events commit: with polls an hour apart
and Temporal's clock standing still, the events still arrive, in real time."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import replace
from typing import Any

import psycopg
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.testing import WorkflowEnvironment

from activities.webhook_wakes import wake_on_events
from tests.test_webhooks import POLICY, delivering, events_after, write_events
from tests.webhook_receiver import Receiver, new_secret

HOUR_POLLS = replace(POLICY, poll_seconds=3600, idle_poll_seconds=3600)


async def test_committed_events_wake_an_idle_delivery_without_waiting_for_its_poll(
    env: WorkflowEnvironment,
    sessionmaker: async_sessionmaker[AsyncSession],
    conn: psycopg.Connection[Any],
    database_url: str,
) -> None:
    secret = new_secret()
    receiver = Receiver(secret, lambda event, nth: False)
    async with delivering(env, sessionmaker, receiver, secret, HOUR_POLLS) as hooks:
        waking = asyncio.create_task(wake_on_events(database_url, env.client, [hooks.endpoint]))
        try:
            await asyncio.sleep(1)  # listening
            write_events(conn)
            expected = [event_id for event_id, _ in events_after(conn, hooks.start)]
            deadline = time.monotonic() + 30
            # Queries only: Temporal's clock does not move, so no poll timer can fire.
            while ((state := await hooks.state()).cursor or 0) < expected[-1]:
                assert time.monotonic() < deadline, f"not woken: {state}"
                await asyncio.sleep(0.2)
        finally:
            waking.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await waking
    assert sorted(a.webhook_id for a in receiver.distinct()) == expected
