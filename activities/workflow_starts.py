"""Activities that start or signal workflows where workflow code cannot, or should not, by
the typed references of `contracts/workflow_refs.py` (activities may not import `workflows`).

Starting sessions and rematches here (instead of as child workflows) keeps the matchmaker's
history small and lets a started workflow outlive whoever asked for it without a parent link.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from temporalio import activity
from temporalio.client import Client
from temporalio.common import (
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from contracts import naming
from contracts.matchmaker import (
    DissolvedSession,
    EnqueueRequestResult,
    EnqueueRequestsInput,
    MatchmakerInput,
)
from contracts.naming import match_request_workflow_id, matchmaker_workflow_id, session_workflow_id
from contracts.request_activities import StartMatchRequestInput, StartMatchRequestResult
from contracts.requests import MatchedSignal, MatchRequestInput
from contracts.sessions import (
    RearrangedSignal,
    SessionInput,
    StartSessionsInput,
    StartSessionsResult,
)
from contracts.statuses import RequestStatus, SessionStatus
from contracts.workflow_refs import MatchmakerRef, MatchRequestRef, SessionRef, signal_name
from domain.matching import language_pair

ArgT = TypeVar("ArgT")
SignalT = TypeVar("SignalT")

# Bounded fan-out: a hot slot can create hundreds of sessions in one pass.
PARALLEL_STARTS = 32


class WorkflowStartActivities:
    """Idempotent starts: a retry finds the workflow running (or finished) and does nothing."""

    def __init__(self, client: Client) -> None:
        self._client = client

    async def enqueue_requests(self, input: EnqueueRequestsInput) -> EnqueueRequestResult:
        """Signal-with-start the shard's matchmaker; a repeated signal is ignored by request id."""
        first = input.signal.entries[0]
        languages = language_pair(first.native_language_id, first.learning_language_id)
        workflow_id = matchmaker_workflow_id(input.day, input.duration_minutes, languages)
        await self._client.start_workflow(
            MatchmakerRef.run,
            MatchmakerInput(
                day=input.day,
                duration_minutes=input.duration_minutes,
                language_one_id=languages[0],
                language_two_id=languages[1],
                policy=input.policy,
            ),
            id=workflow_id,
            task_queue=activity.info().task_queue,
            start_signal=signal_name(MatchmakerRef.add_requests),
            start_signal_args=[input.signal],
            search_attributes=naming.initial(naming.MATCHMAKER, [], input.day, "matching"),
            static_summary=f"Matchmaker for {input.day:%Y-%m-%d} (UTC), "
            f"{input.duration_minutes} min, {languages[0]} and {languages[1]}",
        )
        return EnqueueRequestResult(matchmaker_workflow_id=workflow_id)

    async def start_sessions(self, input: StartSessionsInput) -> StartSessionsResult:
        """Start each session's workflow unless it exists, and tell both requests they matched.

        Signalling from here rather than from the session workflow keeps four events and a
        workflow task per pair out of the session's history.
        """
        gate = asyncio.Semaphore(PARALLEL_STARTS)

        async def start(session: SessionInput) -> str:
            spec = session.spec
            async with gate:
                workflow_id = await self._start_once(
                    SessionRef.run,
                    session,
                    workflow_id=session_workflow_id(spec.session_id),
                    attributes=naming.initial(
                        naming.SESSION,
                        [spec.participant_one_id, spec.participant_two_id],
                        spec.scheduled_start,
                        SessionStatus.SCHEDULED,
                    ),
                    summary=f"Session {spec.participant_one_id} with {spec.participant_two_id}, "
                    f"{spec.scheduled_start:%Y-%m-%d %H:%M} UTC",
                )
                signal = MatchedSignal(session_id=spec.session_id)
                for request_id in (spec.match_request_one_id, spec.match_request_two_id):
                    await self._tell_matched(request_id, signal)
                return workflow_id

        return StartSessionsResult(list(await asyncio.gather(*map(start, input.sessions))))

    async def tell_rearranged(self, dissolved: list[DissolvedSession]) -> None:
        """Tell each dissolved session's workflow where its people sit now."""
        for session in dissolved:
            await self._signal_if_running(
                session_workflow_id(session.session_id),
                SessionRef.rearranged,
                RearrangedSignal(replacement_session_ids=session.replacement_session_ids),
            )

    @activity.defn
    async def start_match_request(self, input: StartMatchRequestInput) -> StartMatchRequestResult:
        """Start a request's workflow unless it already exists."""
        return StartMatchRequestResult(
            workflow_id=await self.start_request(input.request, input.summary)
        )

    async def start_request(self, request: MatchRequestInput, summary: str) -> str:
        """Start a request's workflow unless it already exists (inside another activity)."""
        spec = request.spec
        return await self._start_once(
            MatchRequestRef.run,
            request,
            workflow_id=match_request_workflow_id(spec.request_id),
            attributes=naming.initial(
                naming.MATCH_REQUEST,
                [spec.user_id],
                spec.availability_start,
                RequestStatus.WAITING,
            ),
            summary=summary,
        )

    async def _tell_matched(self, request_id: str, signal: MatchedSignal) -> None:
        # A request that already ended needs no telling: it read its row when it closed, or
        # (re-seated by a rearrangement) it was told of its first session then.
        await self._signal_if_running(
            match_request_workflow_id(request_id), MatchRequestRef.matched, signal
        )

    async def _signal_if_running(
        self, workflow_id: str, signal: Callable[[Any, SignalT], None], arg: SignalT
    ) -> None:
        try:
            await self._client.get_workflow_handle(workflow_id).signal(signal, arg)
        except RPCError as error:
            if error.status != RPCStatusCode.NOT_FOUND:
                raise

    async def _start_once(
        self,
        workflow: Callable[[Any, ArgT], Awaitable[Any]],
        arg: ArgT,
        *,
        workflow_id: str,
        attributes: TypedSearchAttributes,
        summary: str,
    ) -> str:
        try:
            await self._client.start_workflow(
                workflow,
                arg,
                id=workflow_id,
                task_queue=activity.info().task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                search_attributes=attributes,
                static_summary=summary,
                # This worker runs the new workflow's first task itself, handed back with the
                # start: one history write and one task dispatch fewer per workflow.
                request_eager_start=True,
            )
        except WorkflowAlreadyStartedError:
            pass  # it ran and finished already: starting it again would repeat its effects
        return workflow_id
