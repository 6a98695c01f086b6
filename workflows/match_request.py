"""MatchRequestWorkflow: one request for a slot or a window of slots, from booking to matched,
cancelled or expired."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import VersioningBehavior
from temporalio.exceptions import ApplicationError

from contracts.statuses import RequestStatus

with workflow.unsafe.imports_passed_through():
    from activities.booking import BookingActivities
    from activities.requests import RequestActivities
    from activities.workflow_starts import WorkflowStartActivities
    from contracts import naming
    from contracts.errors import ABANDONED, STATE_CONFLICT, refusal
    from contracts.request_activities import (
        BookInput,
        CloseRequestInput,
        RequestRowResult,
        RescheduleMatchRequestInput,
        StartMatchRequestInput,
    )
    from contracts.requests import (
        CancelRequestedSignal,
        CreatedInput,
        MatchedSignal,
        MatchRequestInput,
        MatchRequestResult,
        MatchRequestState,
        RequestSpec,
        RescheduleRequestInput,
    )
    from workflows.activity_calls import run_activity
    from workflows.request_progress import (
        ABANDONED_STATUS,
        CREATING,
        REFUSED,
        RequestProgress,
        describe,
    )

ArgT = TypeVar("ArgT")

# Refused (Abandoned) when the workflow first runs after the API stopped waiting: it answered 503.
NOT_BOOKED_IN_TIME = "no worker took the booking before the API stopped waiting; nothing was booked"


@workflow.defn(name=naming.MATCH_REQUEST_WORKFLOW, versioning_behavior=VersioningBehavior.PINNED)
class MatchRequestWorkflow:
    """Persists the request, hands it to its matchmaker, waits for a session or the slot."""

    @workflow.init
    def __init__(self, input: MatchRequestInput) -> None:
        # Set before any handler runs: an update can arrive in the workflow's very first task.
        self._spec = input.spec
        self._policy = input.policy
        self._progress = RequestProgress(input.spec)
        self._refusal: ApplicationError | None = None
        self._changing = False
        self._cancel_asked_at: datetime | None = None
        # The latest moment any caller still waits for this booking (None: someone always does).
        self._answer_by = input.answer_by

    @workflow.run
    async def run(self, input: MatchRequestInput) -> MatchRequestResult:
        """Create the row, enqueue it, then wait until matched, cancelled or the window's last
        slot starts."""
        spec = input.spec
        workflow.set_current_details(describe(spec))
        # Whether a worker took the booking in time is decided by the booking activity, in the
        # transaction that would insert the row: a workflow task retried after a crash must not
        # decide otherwise than the attempt whose local activity already wrote.
        decided_in_booking = workflow.patched("abandon-in-booking")
        if not decided_in_booking and self._late():
            return await self._refuse(refusal(ABANDONED, NOT_BOOKED_IN_TIME), ABANDONED_STATUS)
        try:
            row = await run_activity(
                BookingActivities.book_request,
                BookInput(
                    spec=spec,
                    created_at=workflow.now(),
                    policy=input.policy,
                    answer_by=self._answer_by if decided_in_booking else None,
                ),
                "insert match_requests row and signal-with-start the matchmaker",
            )
        except ApplicationError as error:
            status = ABANDONED_STATUS if error.type == ABANDONED else REFUSED
            return await self._refuse(error, status)
        self._progress.adopt(row)
        if self._progress.status == RequestStatus.WAITING:
            await self._wait_for_outcome(spec)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._progress.result()

    def _late(self) -> bool:
        return self._answer_by is not None and workflow.now() > self._answer_by

    async def _refuse(self, error: ApplicationError, status: str) -> MatchRequestResult:
        """End without a row: refused by the database, or abandoned (the caller got a 503)."""
        self._refusal = error
        self._progress.set(status, error.message)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._progress.result()

    async def _wait_for_outcome(self, spec: RequestSpec) -> None:
        while self._progress.status == RequestStatus.WAITING:
            remaining = (spec.last_start - workflow.now()).total_seconds()
            try:
                await workflow.wait_condition(
                    lambda: (
                        self._progress.status != RequestStatus.WAITING
                        or self._cancel_asked_at is not None
                    ),
                    timeout=timedelta(seconds=max(remaining, 0)),
                    timeout_summary="last slot start: expire if still waiting",
                )
            except TimeoutError:
                await self._close(
                    RequestActivities.expire_match_request,
                    "slot started unmatched"
                    if spec.last_start == spec.availability_start
                    else "the window's last slot started unmatched",
                )
                return
            if self._progress.status == RequestStatus.WAITING and self._cancel_asked_at is not None:
                await self._close(RequestActivities.cancel_match_request, "cancelled by user")

    async def _close(
        self,
        method: Callable[[Any, CloseRequestInput], Awaitable[RequestRowResult]],
        reason: str,
    ) -> None:
        """Cancel or expire the row if it still waits (a recorded cancel wins over expiry)."""
        # A reschedule may be writing the row right now; let it finish so we act on its result.
        await workflow.wait_condition(lambda: not self._changing)
        if self._progress.status != RequestStatus.WAITING:
            return
        self._changing = True
        try:
            row = await run_activity(
                method, CloseRequestInput(self._spec.request_id, workflow.now(), reason), reason
            )
        finally:
            self._changing = False
        self._progress.adopt(
            row, reason=reason if row.status != RequestStatus.CANCELLED else "cancelled by user"
        )

    @workflow.signal(name=naming.MATCHED)
    def matched(self, signal: MatchedSignal) -> None:
        """The session that claimed this request tells it so."""
        self._progress.session_id = signal.session_id
        if self._progress.status in (RequestStatus.WAITING, CREATING):
            self._progress.set(RequestStatus.MATCHED, f"session {signal.session_id}")

    @workflow.query
    def state(self) -> MatchRequestState:
        """The request as this workflow sees it."""
        return self._progress.state()

    @workflow.update
    async def created(self, input: CreatedInput) -> MatchRequestState:
        """Answer once the row is durable, or with the refusal that prevented it."""
        # First, before `run` looks: a retry's update-with-start may come after a stale start.
        if input.answer_by is None or self._answer_by is None:
            self._answer_by = None
        else:
            self._answer_by = max(self._answer_by, input.answer_by)
        await workflow.wait_condition(lambda: self._progress.status != CREATING)
        if self._refusal is not None:
            raise self._refusal
        return self.state()

    @workflow.signal
    def cancel_requested(self, signal: CancelRequestedSignal) -> None:
        """The owner's cancel reached Parley; the row already blocks any match from now on."""
        if self._cancel_asked_at is None:
            self._cancel_asked_at = signal.at

    @workflow.update
    async def reschedule(self, input: RescheduleRequestInput) -> MatchRequestState:
        """Replace this waiting request by one for another slot, atomically."""
        old = self._spec
        new_spec = replace(
            old,
            request_id=input.new_request_id,
            availability_start=input.new_availability_start,
            availability_end=input.new_availability_end,
            idempotency_key=input.idempotency_key,
            replaces_request_id=old.request_id,
            origin_session_id=None,
        )
        row = await self._change_waiting(
            "rescheduled",
            RequestActivities.reschedule_match_request,
            # The activity refuses (Abandoned) if the API stopped waiting before it could run, in
            # the transaction that would make the change: a retried task cannot disagree.
            lambda: RescheduleMatchRequestInput(
                old.request_id, new_spec, workflow.now(), input.answer_by
            ),
            f"reschedule to {input.new_availability_start:%Y-%m-%d %H:%M} UTC",
        )
        self._progress.replaced_by = row.request_id
        self._progress.set(RequestStatus.CANCELLED, f"rescheduled to request {row.request_id}")
        await run_activity(
            WorkflowStartActivities.start_match_request,
            StartMatchRequestInput(
                request=MatchRequestInput(spec=new_spec, policy=self._policy),
                summary=f"Rescheduled request of {new_spec.user_id}",
            ),
            "start the replacement request's workflow",
        )
        return self.state()

    @reschedule.validator
    def _validate_reschedule(self, input: RescheduleRequestInput) -> None:
        self._progress.require_owner(input.user_id)
        if self._cancel_asked_at is not None:
            raise ApplicationError("the request is being cancelled", type=STATE_CONFLICT)

    async def _change_waiting(
        self,
        verb: str,
        method: Callable[[Any, ArgT], Awaitable[RequestRowResult]],
        make_arg: Callable[[], ArgT],
        summary: str,
    ) -> RequestRowResult:
        """Write a waiting request's row, one change at a time; a refusal fails the update."""
        await workflow.wait_condition(
            lambda: self._progress.status != CREATING and not self._changing
        )
        self._progress.require_waiting(verb)
        self._changing = True
        try:
            return await run_activity(method, make_arg(), summary)
        finally:
            self._changing = False
