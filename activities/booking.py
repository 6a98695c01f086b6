"""A request workflow's first step in one activity: insert the row, then hand it to its matchmaker.

One activity where there were two takes a workflow task and an activity round trip off the path
from a booking to its match.
"""

from __future__ import annotations

from temporalio import activity

from activities.requests import RequestActivities
from activities.workflow_starts import WorkflowStartActivities
from contracts.matchmaker import EnqueueRequestInput
from contracts.requests import BookInput, CreateMatchRequestInput, PoolEntry, RequestRowResult
from contracts.statuses import RequestStatus


class BookingActivities:
    """Composes the request insert and the matchmaker signal; both are safe to retry."""

    def __init__(self, requests: RequestActivities, starts: WorkflowStartActivities) -> None:
        self._requests = requests
        self._starts = starts

    @activity.defn
    async def book_request(self, input: BookInput) -> RequestRowResult:
        """Insert the row (or find it); if it is waiting, signal-with-start its matchmaker. A row
        not yet made when every caller has stopped waiting is not made (Abandoned)."""
        row = await self._requests.create_match_request(
            CreateMatchRequestInput(
                spec=input.spec, created_at=input.created_at, answer_by=input.answer_by
            )
        )
        activity.logger.info(
            "request %s of %s for %s is %s",
            row.request_id,
            input.spec.user_id,
            input.spec.slot_start.isoformat(),
            row.status,
        )
        if row.status == RequestStatus.WAITING:
            await self._starts.enqueue_request(
                EnqueueRequestInput(
                    slot_start=input.spec.slot_start,
                    duration_minutes=input.spec.duration_minutes,
                    policy=input.policy,
                    entry=PoolEntry.of(input.spec, waiting_since=input.created_at),
                )
            )
        return row
