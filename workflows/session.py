"""SessionWorkflow: one conversation from creation through joins, no-show window, start and end."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.errors import NOT_FOUND, STATE_CONFLICT
    from activities.no_shows import NoShowActivities, SessionNoShowInput
    from activities.requests import CreateMatchRequestInput, RequestActivities
    from activities.sessions import (
        CancelSessionInput,
        RecordJoinInput,
        SessionActivities,
        SessionChangeInput,
        SessionRowResult,
    )
    from activities.workflow_starts import StartMatchRequestInput, WorkflowStartActivities
    from domain import session_rules
    from domain.session_rules import Cancellation, Participant, SessionClock
    from workflows import search_attributes
    from workflows.activity_calls import run_activity
    from workflows.contracts import (
        MatchRequestInput,
        RearrangedSignal,
        RequestSpec,
        SessionActionInput,
        SessionInput,
        SessionResult,
        SessionState,
    )

# Internal phases; the in-between ones stop a racing update from acting on a stale status.
SCHEDULED, ACTIVATING, ACTIVE, COMPLETED = "scheduled", "activating", "active", "completed"
CANCELLING, CANCELLED = "cancelling", "cancelled"
PUBLIC_STATUS = {ACTIVATING: SCHEDULED, CANCELLING: SCHEDULED}
# The slot's matchmaker cancels its shard's no-shows at the deadline, all in one transaction
# (activities/no_shows.py); each session's own timer comes this much later, to settle what the
# sweep did not and rematch whoever came, without racing a few hundred timers against it.
SWEEP_HEAD_START = timedelta(seconds=1)
REARRANGED_MESSAGE = (
    "it was rearranged before anyone joined, and you have a new partner in another session"
)


@workflow.defn
class SessionWorkflow:
    """Waits for both participants, cancels on no-show or request, then runs until the end."""

    @workflow.init
    def __init__(self, input: SessionInput) -> None:
        # Set before any handler runs: a join can arrive in the workflow's very first task.
        self._input = input
        self._phase = SCHEDULED
        self._joined: dict[str, datetime] = {}
        self._cancel_by: str | None = None
        self._end_by: str | None = None
        self._cancellation: Cancellation | None = None
        self._rematch_ids: list[str] = []
        self._rematch_refusals: list[str] = []
        self._rearranged_into: list[str] | None = None

    @workflow.run
    async def run(self, input: SessionInput) -> SessionResult:
        """Drive the session's life; every wait is a durable timer."""
        spec = input.spec
        clock = self._clock()
        workflow.set_current_details(
            f"{spec.participant_one_id} ({spec.language_one_id}) with "
            f"{spec.participant_two_id} ({spec.language_two_id}), "
            f"{spec.scheduled_start:%Y-%m-%d %H:%M} UTC for {spec.duration_minutes} min"
        )

        # Only a session both have joined wakes at its start: the rest sleep to the deadline.
        await self._wait_until(
            clock.no_show_at + SWEEP_HEAD_START,
            lambda: self._interrupted() or self._both_present(),
            "no-show deadline (just after the slot's sweep)",
        )
        if not self._interrupted() and self._both_present():
            await self._wait_until(clock.start, self._interrupted, "session start")
        if self._rearranged_into is not None:
            await self._close(session_rules.rearranged())
        elif self._cancel_by is not None:
            await self._cancel(
                session_rules.cancellation(
                    self._participants(), self._cancel_by, frozenset(self._joined), clock,
                    workflow.now(), input.policy.slot_minutes,
                )
            )  # fmt: skip
        elif self._both_present():
            await self._run_active(clock)
        else:
            await self._settle_no_show(clock)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return SessionResult(
            session_id=spec.session_id,
            status=self._public_status(),
            cancel_reason=self._cancellation.reason if self._cancellation else None,
            rematch_request_ids=list(self._rematch_ids),
        )

    async def _run_active(self, clock: SessionClock) -> None:
        self._phase = ACTIVATING
        await run_activity(
            SessionActivities.activate_session,
            SessionChangeInput(self._input.spec.session_id, workflow.now()),
            "both joined: session active",
        )
        self._set_phase(ACTIVE)
        await self._wait_until(clock.end, lambda: self._end_by is not None, "scheduled end")
        await run_activity(
            SessionActivities.complete_session,
            SessionChangeInput(self._input.spec.session_id, workflow.now(), self._end_by),
            "session completed",
        )
        self._set_phase(COMPLETED, f"ended by {self._end_by}" if self._end_by else "ran to its end")

    async def _settle_no_show(self, clock: SessionClock) -> None:
        self._phase = CANCELLING
        facts = await run_activity(
            NoShowActivities.settle_session_no_show,
            SessionNoShowInput(self._input.spec.session_id, workflow.now()),
            "no-show deadline: cancel unless both joined",
        )
        if facts.status == SCHEDULED:
            # Both had joined after all: the second join was being recorded as the timer fired.
            self._adopt_joins(facts)
            await self._run_active(clock)
            return
        await self._close(self._what_happened(facts, None))

    async def _cancel(self, cancellation: Cancellation) -> None:
        spec = self._input.spec
        self._phase = CANCELLING
        facts = await run_activity(
            SessionActivities.cancel_session,
            CancelSessionInput(
                session_id=spec.session_id,
                at=workflow.now(),
                reason=cancellation.reason,
                cancelled_by=cancellation.cancelled_by,
                cancelled_request_ids=list(cancellation.cancelled_request_ids),
                no_show_request_ids=list(cancellation.no_show_request_ids),
            ),
            f"cancel session ({cancellation.reason})",
        )
        await self._close(self._what_happened(facts, cancellation))

    def _what_happened(self, facts: SessionRowResult, ours: Cancellation | None) -> Cancellation:
        """How the database says the session ended: as this workflow asked, or first by the
        matchmaker (rearranged before anyone joined, or swept as a no-show at the deadline)."""
        if facts.cancel_reason == session_rules.REARRANGED:
            return session_rules.rearranged()
        if ours is not None and (facts.cancel_reason, facts.cancelled_by) == (
            ours.reason,
            ours.cancelled_by,
        ):
            return ours
        self._adopt_joins(facts)
        return session_rules.swept(
            self._participants(),
            frozenset(self._joined),
            ours.cancelled_by if ours is not None else None,
            workflow.now(),
            self._input.policy.slot_minutes,
        )

    async def _close(self, cancellation: Cancellation) -> None:
        """Rematch whoever the cancellation lets down, and say how the session ended."""
        self._cancellation = cancellation
        for participant in cancellation.rematch:
            assert cancellation.rematch_slot is not None
            await self._start_rematch(participant, cancellation.rematch_slot)
        who = f" by {cancellation.cancelled_by}" if cancellation.cancelled_by else ""
        rematched = ", ".join(p.user_id for p in cancellation.rematch) or "nobody"
        refused = (
            f"; rematch refused: {'; '.join(self._rematch_refusals)}"
            if self._rematch_refusals
            else ""
        )
        moved = f"; now in {', '.join(self._rearranged_into)}" if self._rearranged_into else ""
        self._set_phase(
            CANCELLED, f"{cancellation.reason}{who}; rematched: {rematched}{refused}{moved}"
        )

    async def _start_rematch(self, participant: Participant, slot: datetime) -> None:
        original = self._original_request(participant)
        request_id = str(workflow.uuid4())
        rematch = replace(
            original,
            request_id=request_id,
            slot_start=slot,
            priority=1,
            idempotency_key=None,
            replaces_request_id=original.request_id,
            origin_session_id=self._input.spec.session_id,
        )
        try:
            # Persist the rematch here, so that a refusal (it overlaps another booking of theirs)
            # is known to the session rather than lost in a workflow nobody watches.
            await run_activity(
                RequestActivities.create_match_request,
                CreateMatchRequestInput(spec=rematch, created_at=workflow.now()),
                f"insert the rematch request of {original.user_id}",
            )
        except ApplicationError as error:
            self._rematch_refusals.append(f"{original.user_id}: {error.message}")
            return
        await run_activity(
            WorkflowStartActivities.start_match_request,
            StartMatchRequestInput(
                request=MatchRequestInput(spec=rematch, policy=self._input.policy),
                summary=f"Priority rematch for {original.user_id} after session "
                f"{self._input.spec.session_id}",
            ),
            f"rematch {original.user_id} at {slot:%H:%M} UTC",
        )
        self._rematch_ids.append(request_id)

    @workflow.query
    def state(self) -> SessionState:
        """The session as this workflow sees it."""
        return SessionState(
            session_id=self._input.spec.session_id,
            status=self._public_status(),
            joined_user_ids=sorted(self._joined),
            cancel_reason=self._cancellation.reason if self._cancellation else None,
            cancelled_by=self._cancellation.cancelled_by if self._cancellation else None,
            rematch_request_ids=list(self._rematch_ids),
            rematch_refusals=list(self._rematch_refusals),
        )

    @workflow.update
    async def join(self, input: SessionActionInput) -> SessionState:
        """Join from the join window on; joining twice is harmless."""
        if input.user_id not in self._joined:
            facts = await run_activity(
                SessionActivities.record_join,
                RecordJoinInput(self._input.spec.session_id, input.user_id, workflow.now()),
                f"{input.user_id} joins",
            )
            if input.user_id not in facts.joined_user_ids:
                why = "the no-show window has closed"
                if facts.cancel_reason == session_rules.REARRANGED:
                    why = REARRANGED_MESSAGE
                raise ApplicationError(f"the session is {facts.status}: {why}", type=STATE_CONFLICT)
            self._joined.setdefault(input.user_id, workflow.now())
        if self._both_present() and workflow.now() >= self._clock().start:
            await workflow.wait_condition(lambda: self._phase not in (SCHEDULED, ACTIVATING))
        return self.state()

    @workflow.update
    async def cancel(self, input: SessionActionInput) -> SessionState:
        """Cancel before the session is active; the partner is rematched."""
        if self._phase not in (SCHEDULED, CANCELLING):
            raise ApplicationError(f"the session is {self._phase}", type=STATE_CONFLICT)
        if self._cancel_by is None and self._phase == SCHEDULED:
            self._cancel_by = input.user_id
        if self._cancel_by != input.user_id:
            raise ApplicationError(self._already_closing(), type=STATE_CONFLICT)
        await workflow.wait_condition(lambda: self._phase in (CANCELLED, ACTIVE, COMPLETED))
        if self._phase != CANCELLED:
            raise ApplicationError(
                "the session became active before the cancellation landed", type=STATE_CONFLICT
            )
        if self._cancellation is not None and self._cancellation.reason == session_rules.REARRANGED:
            raise ApplicationError(f"not cancelled: {REARRANGED_MESSAGE}", type=STATE_CONFLICT)
        return self.state()

    @workflow.signal
    def rearranged(self, signal: RearrangedSignal) -> None:
        """The matchmaker seated both participants in other sessions: this one is over."""
        self._rearranged_into = list(signal.replacement_session_ids)

    @workflow.update
    async def end(self, input: SessionActionInput) -> SessionState:
        """End an active session before its scheduled end."""
        if self._phase not in (ACTIVE, COMPLETED):
            raise ApplicationError(f"the session is {self._phase}", type=STATE_CONFLICT)
        if self._end_by is None:
            self._end_by = input.user_id
        await workflow.wait_condition(lambda: self._phase == COMPLETED)
        return self.state()

    @join.validator
    def _validate_join(self, input: SessionActionInput) -> None:
        self._validate_participant(input.user_id)
        if input.user_id in self._joined and self._phase in (SCHEDULED, ACTIVATING, ACTIVE):
            return
        if self._phase in (ACTIVATING, CANCELLING):
            raise ApplicationError(f"the session is {self._phase}", type=STATE_CONFLICT)
        refusal = session_rules.join_refusal(self._clock(), workflow.now(), self._public_status())
        if refusal:
            raise ApplicationError(refusal, type=STATE_CONFLICT)

    @cancel.validator
    def _validate_cancel(self, input: SessionActionInput) -> None:
        self._validate_participant(input.user_id)
        if self._cancel_by is not None or self._phase == CANCELLING:
            if self._cancel_by == input.user_id:
                return  # a retry of one's own cancellation answers with its outcome
            raise ApplicationError(self._already_closing(), type=STATE_CONFLICT)
        if self._phase == SCHEDULED and workflow.now() >= self._clock().no_show_at:
            # Past the deadline the no-show rules decide, not a late cancel.
            raise ApplicationError(self._already_closing(), type=STATE_CONFLICT)
        refusal = session_rules.cancel_refusal(
            ACTIVE if self._phase == ACTIVATING else self._public_status()
        )
        if refusal:
            raise ApplicationError(refusal, type=STATE_CONFLICT)

    @end.validator
    def _validate_end(self, input: SessionActionInput) -> None:
        self._validate_participant(input.user_id)
        refusal = session_rules.end_refusal(self._public_status())
        if refusal:
            raise ApplicationError(refusal, type=STATE_CONFLICT)

    def _already_closing(self) -> str:
        if self._cancel_by is not None:
            return "your partner already cancelled this session"
        return "the session is being cancelled: the no-show window has closed"

    def _validate_participant(self, user_id: str) -> None:
        if user_id not in (
            self._input.spec.participant_one_id,
            self._input.spec.participant_two_id,
        ):
            raise ApplicationError("no such session", type=NOT_FOUND)

    async def _wait_until(self, instant: datetime, done: Callable[[], bool], summary: str) -> None:
        remaining = (instant - workflow.now()).total_seconds()
        if remaining <= 0:
            return
        try:
            await workflow.wait_condition(
                done,
                timeout=timedelta(seconds=remaining),
                timeout_summary=summary,
            )
        except TimeoutError:
            pass

    def _clock(self) -> SessionClock:
        spec, policy = self._input.spec, self._input.policy
        return SessionClock.for_session(
            spec.scheduled_start,
            spec.duration_minutes,
            policy.join_opens_minutes,
            policy.no_show_grace_seconds,
        )

    def _participants(self) -> tuple[Participant, Participant]:
        spec = self._input.spec
        return (
            Participant(spec.participant_one_id, spec.match_request_one_id),
            Participant(spec.participant_two_id, spec.match_request_two_id),
        )

    def _original_request(self, participant: Participant) -> RequestSpec:
        one = self._input.request_one
        return one if one.request_id == participant.request_id else self._input.request_two

    def _interrupted(self) -> bool:
        return self._cancel_by is not None or self._rearranged_into is not None

    def _adopt_joins(self, facts: SessionRowResult) -> None:
        for user_id in facts.joined_user_ids:
            self._joined.setdefault(user_id, workflow.now())

    def _both_present(self) -> bool:
        return session_rules.both_present(self._participants(), frozenset(self._joined))

    def _public_status(self) -> str:
        return PUBLIC_STATUS.get(self._phase, self._phase)

    def _set_phase(self, phase: str, details: str | None = None) -> None:
        self._phase = phase
        workflow.upsert_search_attributes(search_attributes.status_update(self._public_status()))
        if details:
            workflow.set_current_details(f"{self._public_status()}: {details}")
