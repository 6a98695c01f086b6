"""Webhook activities are idempotent by (endpoint, event): a delivery already recorded is not
sent again, a dead letter is recorded once, and a new run resumes after what was handled."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import psycopg
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.testing import ActivityEnvironment

from activities.webhooks import WebhookActivities
from contracts.webhooks import DeadLetterInput, DeliverEventInput, NextEventsInput
from settings import WebhookEndpoint
from tests.rows import insert_request, user
from tests.served_app import served
from tests.webhook_receiver import Receiver, new_secret


def new_events(conn: psycopg.Connection[Any], count: int) -> list[int]:
    """`count` new events (one waiting request each, committed on its own), oldest first."""
    for _ in range(count):
        insert_request(conn, user())
    rows = conn.execute("SELECT id FROM events ORDER BY id DESC LIMIT %s", (count,)).fetchall()
    return sorted(row[0] for row in rows)


async def test_a_delivered_event_is_not_sent_again_and_a_new_run_resumes_after_it(
    sessionmaker: async_sessionmaker[AsyncSession], conn: psycopg.Connection[Any]
) -> None:
    secret, name = new_secret(), f"test-{uuid.uuid4().hex[:8]}"
    receiver = Receiver(secret, lambda event, nth: False)
    first, second, third = new_events(conn, 3)
    async with served(receiver.app) as base_url:
        endpoint = WebhookEndpoint(name=name, url=f"{base_url}/hooks", secret=SecretStr(secret))
        hooks = WebhookActivities(sessionmaker, [endpoint])
        run = ActivityEnvironment().run
        # A new endpoint starts after the latest event: it hears what happens from now on.
        assert (await run(hooks.next_webhook_events, NextEventsInput(name, None))).after == third
        sent = await run(hooks.deliver_webhook_event, DeliverEventInput(name, first))
        again = await run(hooks.deliver_webhook_event, DeliverEventInput(name, first))
    assert (sent.already, again.already, again.status_code) == (False, True, 204)
    assert receiver.times() == {first: 1}

    dead = DeadLetterInput(name, second, 3, "HTTP 500", datetime.now(UTC))
    assert (await run(hooks.record_webhook_dead_letter, dead)).recorded
    assert not (await run(hooks.record_webhook_dead_letter, dead)).recorded
    # A run started afresh (its workflow was terminated) resumes after what it handled.
    resumed = await run(hooks.next_webhook_events, NextEventsInput(name, None))
    assert (resumed.after, [event.id for event in resumed.events]) == (second, [third])


async def test_an_endpoint_missing_from_the_configuration_is_said_so(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    hooks = WebhookActivities(sessionmaker)
    batch = await ActivityEnvironment().run(hooks.next_webhook_events, NextEventsInput("gone", 41))
    assert (batch.configured, batch.after, batch.events) == (False, 41, [])
