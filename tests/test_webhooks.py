"""Webhooks end to end, on a real HTTP receiver and the time-skipping Temporal server: every event
arrives exactly once after de-duplication by `webhook-id`, each user's in order, through failed
tries and a continue-as-new; an event that keeps failing is dead-lettered and later ones still
arrive; a signature made with another secret does not verify."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from standardwebhooks import Webhook, WebhookVerificationError
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from activities.webhook_signing import signed_headers, webhook_body
from activities.webhook_starts import start_webhook_delivery
from activities.webhooks import WebhookActivities
from contracts.webhooks import DeliveryPolicy, WebhookDeliveryInput, WebhookDeliveryState
from db.models import EventRow
from settings import WebhookEndpoint
from tests.histories.recording import record_histories
from tests.rows import insert_request, insert_session, user
from tests.served_app import served
from tests.webhook_receiver import FailRule, Receiver, new_secret
from tests.workers import test_worker

# Fast tries, so that the test waits on real HTTP rather than on backoff; small batches, so that
# the cursor moves several times.
POLICY = DeliveryPolicy(
    max_attempts=4,
    backoff_seconds=0.05,
    max_backoff_seconds=0.2,
    timeout_seconds=5,
    poll_seconds=0.5,
    idle_poll_seconds=1,
    batch_size=4,
)
REAL_SECONDS_TO_DELIVER = 60.0


@dataclass
class Delivery:
    """One endpoint's delivery workflow in a test, and the event it started after."""

    endpoint: str
    handle: WorkflowHandle[Any, Any]
    start: int

    async def state(self) -> WebhookDeliveryState:
        """The workflow's `state` query."""
        return await self.handle.query("state", result_type=WebhookDeliveryState)


@asynccontextmanager
async def delivering(
    env: WorkflowEnvironment,
    sessionmaker: async_sessionmaker[AsyncSession],
    receiver: Receiver,
    secret: str,
    policy: DeliveryPolicy = POLICY,
    history_event_budget: int = 2_000,
) -> AsyncIterator[Delivery]:
    """A worker delivering to the receiver, served over HTTP, from the next event on."""
    name = f"test-{uuid.uuid4().hex[:8]}"
    task_queue = f"parley-{uuid.uuid4()}"
    async with served(receiver.app) as base_url:
        endpoint = WebhookEndpoint(name=name, url=f"{base_url}/hooks", secret=SecretStr(secret))
        hooks = WebhookActivities(sessionmaker, [endpoint], policy)
        async with test_worker(env.client, sessionmaker, task_queue, webhooks=hooks):
            handle = await start_webhook_delivery(
                env.client,
                task_queue,
                WebhookDeliveryInput(name, history_event_budget=history_event_budget),
            )
            try:
                delivery = Delivery(name, handle, -1)
                while (state := await delivery.state()).cursor is None:
                    await env.sleep(0.1)
                delivery.start = state.cursor
                yield delivery
            finally:
                await record_histories(env.client, [handle.id])  # for the replay corpus
                # A workflow left running would hold up time skipping for every later test.
                await handle.terminate("the test is over")


def write_events(conn: psycopg.Connection[Any]) -> list[str]:
    """Nine events of three people, each change its own commit: two are paired (waiting,
    scheduled, matched), one joins (the partner hears it), the third cancels."""
    one, two, three = user(), user(), user()
    request_one = insert_request(conn, one, "english", "spanish")
    request_two = insert_request(conn, two, "spanish", "english")
    session = insert_session(conn, (one, request_one), (two, request_two))
    request_three = insert_request(conn, three, "english", "spanish")
    conn.execute("UPDATE sessions SET participant_one_joined_at = now() WHERE id = %s", (session,))
    conn.execute(
        "UPDATE match_requests SET status = 'cancelled', status_reason = 'changed my mind'"
        " WHERE id = %s",
        (request_three,),
    )
    return [one, two, three]


def events_after(conn: psycopg.Connection[Any], after: int) -> list[tuple[int, str]]:
    """(id, user) of every event after `after`, in id order."""
    rows = conn.execute(
        "SELECT id, user_id FROM events WHERE id > %s ORDER BY id", (after,)
    ).fetchall()
    return [(row[0], row[1]) for row in rows]


async def handled_through(
    env: WorkflowEnvironment, delivery: Delivery, last_id: int, runs: int = 0
) -> WebhookDeliveryState:
    """Let Temporal's time run (its polls) until the workflow's cursor passes `last_id` (in its
    `runs`th continued run at least)."""
    deadline = time.monotonic() + REAL_SECONDS_TO_DELIVER
    while time.monotonic() < deadline:
        state = await delivery.state()
        if state.cursor is not None and state.cursor >= last_id and state.runs >= runs:
            return state
        await env.sleep(1)
    raise AssertionError(f"not delivered through event {last_id}: {await delivery.state()}")


def in_order_per_user(receiver: Receiver, expected: list[tuple[int, str]]) -> None:
    """Each user's events, as a de-duplicating receiver kept them, are that user's in id order."""
    for who in {user_id for _, user_id in expected}:
        kept = [a.webhook_id for a in receiver.distinct() if a.user_id == who]
        assert kept == [event_id for event_id, user_id in expected if user_id == who], who


async def test_every_event_arrives_once_after_de_duplication_and_in_order_per_user(
    env: WorkflowEnvironment,
    sessionmaker: async_sessionmaker[AsyncSession],
    conn: psycopg.Connection[Any],
) -> None:
    secret = new_secret()
    # Every even event is refused twice after it arrived: its third try is its first 2xx.
    fails: FailRule = lambda event, nth: event["id"] % 2 == 0 and nth <= 2  # noqa: E731
    receiver = Receiver(secret, fails)
    async with delivering(env, sessionmaker, receiver, secret, history_event_budget=30) as hooks:
        write_events(conn)
        expected = events_after(conn, hooks.start)
        # Its small history budget makes the run continue as new on the way.
        state = await handled_through(env, hooks, expected[-1][0], runs=1)

    ids = [event_id for event_id, _ in expected]
    assert len(ids) == 9
    assert not receiver.refused
    assert sorted(a.webhook_id for a in receiver.distinct()) == ids
    assert receiver.acknowledged() == {event_id: 1 for event_id in ids}
    assert {receiver.times()[i] for i in ids} == {1, 3}  # the failed tries were tried again
    in_order_per_user(receiver, expected)
    assert (state.delivered, state.dead_lettered) == (9, 0)
    dead = conn.execute(
        "SELECT count(*) FROM webhook_dead_letters WHERE endpoint = %s", (hooks.endpoint,)
    ).fetchone()
    assert dead == (0,)


async def test_an_event_that_keeps_failing_is_dead_lettered_and_later_ones_still_arrive(
    env: WorkflowEnvironment,
    sessionmaker: async_sessionmaker[AsyncSession],
    conn: psycopg.Connection[Any],
) -> None:
    secret = new_secret()
    poisoned: list[str] = []
    fails: FailRule = lambda event, _: [event["user_id"], event["type"]] == poisoned  # noqa: E731
    receiver = Receiver(secret, fails)
    policy = replace(POLICY, max_attempts=3)
    async with delivering(env, sessionmaker, receiver, secret, policy) as hooks:
        one = user()
        poisoned[:] = [one, "request.waiting"]  # the first event of someone paired later
        request_one = insert_request(conn, one, "english", "spanish")
        two = user()
        request_two = insert_request(conn, two, "spanish", "english")
        insert_session(conn, (one, request_one), (two, request_two))
        expected = events_after(conn, hooks.start)
        state = await handled_through(env, hooks, expected[-1][0])

    poison = expected[0][0]
    error = f"HTTP 500 from webhook endpoint {hooks.endpoint}"
    assert expected[0][1] == one
    assert receiver.times()[poison] == 3
    dead = conn.execute(
        "SELECT event_id, attempts, last_error FROM webhook_dead_letters WHERE endpoint = %s",
        (hooks.endpoint,),
    ).fetchall()
    assert [tuple(row) for row in dead] == [(poison, 3, error)]
    later = [event_id for event_id, _ in expected[1:]]
    assert receiver.acknowledged() == {event_id: 1 for event_id in later}
    assert any(user_id == one for _, user_id in expected[1:]), "the same user's later events"
    assert (state.delivered, state.dead_lettered) == (len(later), 1)
    assert (
        state.last_dead_letter == f"event {poison}: HTTP 500 from webhook endpoint {hooks.endpoint}"
    )


def test_a_signature_made_with_another_secret_does_not_verify() -> None:
    secret = new_secret()
    event = EventRow(
        id=42,
        user_id="user-a",
        type="request.waiting",
        occurred_at=datetime(2031, 7, 27, 15, tzinfo=UTC),
        payload={"id": "r-1", "status": "waiting"},
    )
    body = webhook_body(event)
    now = datetime.now(UTC)
    headers = signed_headers(secret, event.id, body, now)

    assert headers["webhook-id"] == "42"
    assert headers["webhook-timestamp"] == str(int(now.timestamp()))
    # The spec's signature, computed by hand: v1,base64(HMAC-SHA256(key, "id.timestamp.body")).
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"42.{headers['webhook-timestamp']}.{body}".encode()
    by_hand = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    assert headers["webhook-signature"] == f"v1,{by_hand}"
    assert Webhook(secret).verify(body, headers) == json.loads(body)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body.replace("waiting", "matched"), headers)
