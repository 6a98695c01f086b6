"""WebhookDeliveryWorkflow: one per configured endpoint (`webhooks-<name>`); delivers every event
in id order, each user's after the one before, retrying with backoff, and dead-letters an event
whose tries run out so that later ones still go."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta
from typing import NoReturn

from temporalio import workflow
from temporalio.common import RetryPolicy, VersioningBehavior
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.webhooks import WebhookActivities
    from contracts.webhooks import (
        PARALLEL_USERS,
        UNKNOWN_ENDPOINT,
        WAKE,
        WEBHOOK_DELIVERY_WORKFLOW,
        DeadLetterInput,
        DeliverEventInput,
        DeliveryPolicy,
        NextEventsInput,
        NextEventsResult,
        WebhookDeliveryInput,
        WebhookDeliveryResult,
        WebhookDeliveryState,
    )
    from workflows.activity_calls import run_activity

# Room beyond the HTTP timeout for reading the event and recording the delivery.
DB_MARGIN = timedelta(seconds=5)
# Idle polls double their interval this many times at most (the cap is the policy's).
MAX_DOUBLINGS = 16


class EndpointGone(Exception):
    """This worker's configuration no longer has the endpoint: stop, do not dead-letter."""


@workflow.defn(name=WEBHOOK_DELIVERY_WORKFLOW, versioning_behavior=VersioningBehavior.PINNED)
class WebhookDeliveryWorkflow:
    """Keeps a cursor (the last event handled) and delivers the events after it, batch by batch;
    sleeps on a durable timer while there is nothing new; continues as new before its history
    grows large, or when a new build becomes current (the next run is that build's)."""

    @workflow.init
    def __init__(self, input: WebhookDeliveryInput) -> None:
        self._input = input
        self._cursor = input.cursor
        self._delivered = input.delivered
        self._dead_lettered = input.dead_lettered
        self._last_dead_letter = input.last_dead_letter
        self._in_flight: set[int] = set()
        self._woken = False

    @workflow.run
    async def run(self, input: WebhookDeliveryInput) -> WebhookDeliveryResult:
        """Deliver until the endpoint leaves the configuration."""
        idle_polls = 0
        while not self._should_continue_as_new():
            batch = await run_activity(
                WebhookActivities.next_webhook_events,
                NextEventsInput(input.endpoint, self._cursor),
                "read the next events",
            )
            if not batch.configured:
                return self._result("the endpoint is no longer configured")
            self._cursor = batch.after
            if batch.events:
                try:
                    await self._deliver(batch)
                except EndpointGone:
                    return self._result("the endpoint left the configuration mid-batch")
                self._cursor = batch.events[-1].id
                idle_polls = 0
            else:
                idle_polls += 1
            self._show()
            if len(batch.events) < batch.policy.batch_size:
                await self._wait(batch.policy, idle_polls)
        self._hand_over()

    async def _deliver(self, batch: NextEventsResult) -> None:
        """Each user's events in order, several users at once."""
        by_user: dict[str, list[int]] = {}
        for event in batch.events:
            by_user.setdefault(event.user_id, []).append(event.id)
        lanes = asyncio.Semaphore(PARALLEL_USERS)

        async def in_order(event_ids: list[int]) -> None:
            async with lanes:
                for event_id in event_ids:
                    await self._deliver_one(event_id, batch.policy)

        await asyncio.gather(*(in_order(ids) for ids in by_user.values()))

    async def _deliver_one(self, event_id: int, policy: DeliveryPolicy) -> None:
        """One event, retried with exponential backoff; dead-lettered once its tries run out."""
        endpoint = self._input.endpoint
        self._in_flight.add(event_id)
        try:
            await workflow.execute_local_activity_method(
                WebhookActivities.deliver_webhook_event,
                DeliverEventInput(endpoint, event_id),
                start_to_close_timeout=timedelta(seconds=policy.timeout_seconds) + DB_MARGIN,
                retry_policy=RetryPolicy(
                    initial_interval=timedelta(seconds=policy.backoff_seconds),
                    backoff_coefficient=2.0,
                    maximum_interval=timedelta(seconds=policy.max_backoff_seconds),
                    maximum_attempts=policy.max_attempts,
                ),
                summary=f"deliver event {event_id}",
            )
            self._delivered += 1
        except (ActivityError, ApplicationError) as error:
            failure = _application_error(error)
            if failure is not None and failure.type == UNKNOWN_ENDPOINT:
                raise EndpointGone() from None
            message = failure.message if failure is not None else str(error)
            await run_activity(
                WebhookActivities.record_webhook_dead_letter,
                DeadLetterInput(endpoint, event_id, policy.max_attempts, message, workflow.now()),
                f"dead-letter event {event_id}",
            )
            self._dead_lettered += 1
            self._last_dead_letter = f"event {event_id}: {message}"
        finally:
            self._in_flight.discard(event_id)

    async def _wait(self, policy: DeliveryPolicy, idle_polls: int) -> None:
        """Sleep (a durable timer) before looking again: longer while nothing comes, shorter on
        the `wake` signal."""
        doublings = min(max(idle_polls - 1, 0), MAX_DOUBLINGS)
        seconds = min(policy.poll_seconds * 2**doublings, policy.idle_poll_seconds)
        try:
            await workflow.wait_condition(
                lambda: self._woken,
                timeout=timedelta(seconds=seconds),
                timeout_summary="no new events: look again",
            )
        except TimeoutError:
            pass  # the usual way: time to look
        self._woken = False

    def _should_continue_as_new(self) -> bool:
        info = workflow.info()
        return (
            info.is_continue_as_new_suggested()
            or info.get_current_history_length() > self._input.history_event_budget
            or info.is_target_worker_deployment_version_changed()
        )

    def _hand_over(self) -> NoReturn:
        """Continue as new from the cursor; deliveries are recorded in Postgres, so a task that
        runs again (the server refused the hand-over) sends nothing twice."""
        workflow.continue_as_new(
            replace(
                self._input,
                cursor=self._cursor,
                delivered=self._delivered,
                dead_lettered=self._dead_lettered,
                last_dead_letter=self._last_dead_letter,
                runs=self._input.runs + 1,
            ),
            # A run is pinned to its build; the next one starts on the current build.
            initial_versioning_behavior=workflow.ContinueAsNewVersioningBehavior.AUTO_UPGRADE,
        )

    def _show(self) -> None:
        """What the Temporal UI shows as the workflow's current details."""
        details = (
            f"webhooks to {self._input.endpoint}: through event {self._cursor}, "
            f"{self._delivered} delivered, {self._dead_lettered} dead-lettered"
        )
        if self._last_dead_letter is not None:
            details += f" (last: {self._last_dead_letter}; see table webhook_dead_letters)"
        workflow.set_current_details(details)

    def _result(self, reason: str) -> WebhookDeliveryResult:
        return WebhookDeliveryResult(
            self._input.endpoint, self._cursor, self._delivered, self._dead_lettered, reason
        )

    @workflow.signal(name=WAKE)
    def wake(self) -> None:
        """Look for new events now rather than at the next poll."""
        self._woken = True

    @workflow.query
    def state(self) -> WebhookDeliveryState:
        """How far deliveries are, what is being tried now, and what was given up on."""
        return WebhookDeliveryState(
            endpoint=self._input.endpoint,
            cursor=self._cursor,
            delivered=self._delivered,
            dead_lettered=self._dead_lettered,
            last_dead_letter=self._last_dead_letter,
            in_flight_event_ids=sorted(self._in_flight),
            runs=self._input.runs,
        )


def _application_error(error: ActivityError | ApplicationError) -> ApplicationError | None:
    # Local activities raise the activity's own error; remote ones wrap it in an ActivityError.
    cause = error.cause if isinstance(error, ActivityError) else error
    return cause if isinstance(cause, ApplicationError) else None
