"""Webhook delivery's activities: read the next events, POST one event, record a dead letter.

Endpoints (URL and secret) come from the worker's configuration, looked up by name, so neither
enters a workflow history; so does each event's body, read from Postgres at every try.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import NoReturn

import httpx
from sqlalchemy import func, select, union_all
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

from activities.webhook_signing import signed_headers, webhook_body
from contracts.webhooks import (
    UNKNOWN_ENDPOINT,
    DeadLetterInput,
    DeadLetterResult,
    DeliverEventInput,
    DeliverEventResult,
    DeliveryPolicy,
    EventRef,
    NextEventsInput,
    NextEventsResult,
)
from db.models import EventRow, WebhookDeadLetterRow, WebhookDeliveryRow
from settings import Settings, WebhookEndpoint

log = logging.getLogger("parley.webhooks")

DELIVERIES = "parley_webhook_deliveries"
DEAD_LETTERS = "parley_webhook_dead_letters"
DELIVERY_FAILED = "WebhookDeliveryFailed"


class WebhookActivities:
    """Delivery to the configured endpoints; every write is idempotent by (endpoint, event)."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        endpoints: Sequence[WebhookEndpoint] = (),
        policy: DeliveryPolicy | None = None,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._endpoints = {endpoint.name: endpoint for endpoint in endpoints}
        self._policy = policy or DeliveryPolicy()

    @classmethod
    def configured(
        cls, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
    ) -> WebhookActivities:
        """The endpoints and delivery policy of `PARLEY_WEBHOOKS` and `PARLEY_WEBHOOK_*`."""
        policy = DeliveryPolicy(
            max_attempts=settings.webhook_max_attempts,
            backoff_seconds=settings.webhook_backoff_seconds,
            # Temporal refuses a retry policy whose maximum interval is below its first one.
            max_backoff_seconds=max(
                settings.webhook_max_backoff_seconds, settings.webhook_backoff_seconds
            ),
            timeout_seconds=settings.webhook_timeout_seconds,
            poll_seconds=settings.webhook_poll_seconds,
            idle_poll_seconds=settings.webhook_idle_poll_seconds,
        )
        return cls(sessionmaker, settings.webhooks, policy)

    @property
    def endpoint_names(self) -> list[str]:
        """The names of the configured endpoints."""
        return sorted(self._endpoints)

    @activity.defn
    async def next_webhook_events(self, input: NextEventsInput) -> NextEventsResult:
        """The next batch of events after `after`, in id order, which is commit order (migration
        0007), so no event can later appear behind the batch and each user's stay in order."""
        if input.endpoint not in self._endpoints:
            return NextEventsResult(input.after or 0, configured=False, policy=self._policy)
        async with self._sessionmaker() as db:
            after = input.after
            if after is None:
                after = await _start_after(db, input.endpoint)
            rows = await db.execute(
                select(EventRow.id, EventRow.user_id)
                .where(EventRow.id > after)
                .order_by(EventRow.id)
                .limit(self._policy.batch_size)
            )
            events = [EventRef(id=row.id, user_id=row.user_id) for row in rows]
        return NextEventsResult(after, events, policy=self._policy)

    @activity.defn
    async def deliver_webhook_event(self, input: DeliverEventInput) -> DeliverEventResult:
        """POST the event, signed; a 2xx answer is recorded and returned. Anything else raises,
        for the workflow's retry policy to try again; an event already recorded is not sent."""
        endpoint = self._endpoint(input.endpoint)
        attempt = activity.info().attempt
        async with self._sessionmaker() as db:
            done = await db.get(WebhookDeliveryRow, (input.endpoint, input.event_id))
            if done is not None:
                return DeliverEventResult(input.event_id, done.status_code, done.attempt, True)
            event = await db.get(EventRow, input.event_id)
        if event is None:
            raise ApplicationError(f"no event {input.event_id}", non_retryable=True)
        body = webhook_body(event)
        # The time of this try, on the wall clock receivers check timestamps against.
        headers = signed_headers(
            endpoint.secret.get_secret_value(), event.id, body, datetime.now(UTC)
        )
        try:
            async with httpx.AsyncClient(timeout=self._policy.timeout_seconds) as http:
                answer = await http.post(endpoint.url, content=body.encode(), headers=headers)
        except httpx.HTTPError as error:
            self._failed(input, attempt, f"{type(error).__name__}: {error}")
        if not answer.is_success:
            self._failed(input, attempt, f"HTTP {answer.status_code}")
        async with self._sessionmaker.begin() as db:
            recorded = await db.scalar(
                insert(WebhookDeliveryRow)
                .values(
                    endpoint=input.endpoint,
                    event_id=input.event_id,
                    attempt=attempt,
                    status_code=answer.status_code,
                    delivered_at=datetime.now(UTC),
                )
                .on_conflict_do_nothing()
                .returning(WebhookDeliveryRow.event_id)
            )
        if recorded is not None:
            _count(DELIVERIES, input.endpoint, "delivered")
        return DeliverEventResult(input.event_id, answer.status_code, attempt)

    @activity.defn
    async def record_webhook_dead_letter(self, input: DeadLetterInput) -> DeadLetterResult:
        """Record that the endpoint was given up on for this event (once, by its primary key)."""
        async with self._sessionmaker.begin() as db:
            recorded = await db.scalar(
                insert(WebhookDeadLetterRow)
                .values(
                    endpoint=input.endpoint,
                    event_id=input.event_id,
                    attempts=input.attempts,
                    last_error=input.error,
                    dead_lettered_at=input.at,
                )
                .on_conflict_do_nothing()
                .returning(WebhookDeadLetterRow.event_id)
            )
        if recorded is None:
            return DeadLetterResult(recorded=False)
        _count(DEAD_LETTERS, input.endpoint, "dead_lettered")
        log.error(
            "webhook %s: event %s dead-lettered after %s attempts: %s",
            input.endpoint,
            input.event_id,
            input.attempts,
            input.error,
        )
        return DeadLetterResult(recorded=True)

    def _endpoint(self, name: str) -> WebhookEndpoint:
        endpoint = self._endpoints.get(name)
        if endpoint is None:
            # Not a delivery failure: the workflow stops rather than dead-letter the event.
            raise ApplicationError(
                f"no webhook endpoint {name!r} is configured", type=UNKNOWN_ENDPOINT
            )
        return endpoint

    def _failed(self, input: DeliverEventInput, attempt: int, error: str) -> NoReturn:
        _count(DELIVERIES, input.endpoint, "failed")
        log.warning(
            "webhook %s: event %s, attempt %s failed: %s",
            input.endpoint,
            input.event_id,
            attempt,
            error,
        )
        # Benign: the SDK logs it at DEBUG, without a traceback; the line above says it once.
        raise ApplicationError(
            f"{error} from webhook endpoint {input.endpoint}",
            type=DELIVERY_FAILED,
            category=ApplicationErrorCategory.BENIGN,
        )


async def _start_after(db: AsyncSession, endpoint: str) -> int:
    """Where an endpoint's first run starts: after the last event it was delivered or given up
    on, or, for a new endpoint, after the latest event (it receives what happens from now)."""
    handled = union_all(
        select(WebhookDeliveryRow.event_id).where(WebhookDeliveryRow.endpoint == endpoint),
        select(WebhookDeadLetterRow.event_id).where(WebhookDeadLetterRow.endpoint == endpoint),
    ).subquery()
    resumed = await db.scalar(select(func.max(handled.c.event_id)))
    if resumed is not None:
        return int(resumed)
    return int(await db.scalar(select(func.coalesce(func.max(EventRow.id), 0))) or 0)


def _count(name: str, endpoint: str, outcome: str) -> None:
    """One more on the worker's Prometheus endpoint (a counter; nothing without telemetry)."""
    what = "Webhook tries, by endpoint and outcome"
    if name == DEAD_LETTERS:
        what = "Events given up on after their last try, by endpoint"
    counter = activity.metric_meter().create_counter(name, what)
    counter.add(1, {"endpoint": endpoint, "outcome": outcome})
