"""Activity that hands a waiting request to its slot's matchmaker."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from temporalio import activity
from temporalio.client import Client

from workflows import search_attributes
from workflows.contracts import MatchmakerInput, Policy, PoolEntry
from workflows.ids import matchmaker_workflow_id


@dataclass
class EnqueueRequestInput:
    """Add one request to the matchmaker of its slot and duration, starting it if needed."""

    slot_start: datetime
    duration_minutes: int
    policy: Policy
    entry: PoolEntry


@dataclass
class EnqueueRequestResult:
    """The matchmaker that now holds the request."""

    matchmaker_workflow_id: str


class MatchmakingActivities:
    """Talks to Temporal on the workflows' behalf where workflow code cannot (signal-with-start)."""

    def __init__(self, client: Client) -> None:
        self._client = client

    @activity.defn
    async def enqueue_request(self, input: EnqueueRequestInput) -> EnqueueRequestResult:
        """Signal-with-start the slot's matchmaker; a repeated signal is ignored by request id."""
        workflow_id = matchmaker_workflow_id(input.slot_start, input.duration_minutes)
        await self._client.start_workflow(
            "MatchmakerWorkflow",
            MatchmakerInput(
                slot_start=input.slot_start,
                duration_minutes=input.duration_minutes,
                policy=input.policy,
            ),
            id=workflow_id,
            task_queue=activity.info().task_queue,
            start_signal="add_request",
            start_signal_args=[input.entry],
            search_attributes=search_attributes.initial([], input.slot_start, "matching"),
            static_summary=f"Matchmaker for {input.slot_start:%Y-%m-%d %H:%M} UTC, "
            f"{input.duration_minutes} min",
        )
        return EnqueueRequestResult(matchmaker_workflow_id=workflow_id)
