"""SessionWorkflow: one conversation from creation through joins, no-show window, start and end."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import VersioningBehavior

with workflow.unsafe.imports_passed_through():
    from activities.sessions import SessionActivities
    from activities.settlement import SettlementActivities
    from contracts import naming
    from contracts.sessions import (
        RearrangedSignal,
        SessionChangeInput,
        SessionInput,
        SessionReceiptSignal,
        SessionResult,
        SessionRowResult,
        SessionState,
        SettleSessionInput,
    )
    from contracts.statuses import CancelReason, SessionStatus
    from domain import session_rules
    from domain.session_rules import Participant, SessionClock
    from workflows.activity_calls import run_activity

# The day's matchmaker settles the slot's sessions of its whole shard at the deadline in one
# transaction (activities/settlement.py); each session's own timer comes this much later, to
# settle what the sweep did not, without racing a few hundred timers against it.
AFTER_THE_SWEEP = timedelta(seconds=1)


@workflow.defn(name=naming.SESSION_WORKFLOW, versioning_behavior=VersioningBehavior.PINNED)
class SessionWorkflow:
    """Waits for both participants, settles a cancel or a no-show, then runs until the end.

    Joins, cancels and ends reach it as signals the API sends after recording them on the
    session's row (receipts), so a worker outage never loses them: whatever runs later, this
    workflow or the slot's sweep, judges them by when they reached Parley.
    """

    @workflow.init
    def __init__(self, input: SessionInput) -> None:
        # Set before any handler runs: a signal can arrive in the workflow's very first task.
        self._input = input
        self._phase: str = SessionStatus.SCHEDULED
        self._joined: dict[str, datetime] = {}
        self._cancel_asked = False
        self._canceller: str | None = None
        self._end_asked = False
        self._rearranged_into: list[str] | None = None
        self._facts: SessionRowResult | None = None

    @workflow.run
    async def run(self, input: SessionInput) -> SessionResult:
        """Drive the session's life; every wait is a durable timer."""
        spec = input.spec
        workflow.set_current_details(
            f"{spec.participant_one_id} ({spec.language_one_id}) with "
            f"{spec.participant_two_id} ({spec.language_two_id}), "
            f"{spec.scheduled_start:%Y-%m-%d %H:%M} UTC for {spec.duration_minutes} min"
        )
        while self._phase == SessionStatus.SCHEDULED:
            await self._next_step()
        await workflow.wait_condition(workflow.all_handlers_finished)
        facts = self._facts
        return SessionResult(
            session_id=spec.session_id,
            status=self._phase,
            cancel_reason=facts.cancel_reason if facts else None,
            rematch_request_ids=list(facts.rematch_request_ids) if facts else [],
        )

    async def _next_step(self) -> None:
        clock = self._clock()
        # Only a session both have joined wakes at its start: the rest sleep to the deadline.
        await self._wait_until(
            self._settle_at(clock),
            lambda: self._interrupted() or self._both_present(),
            "no-show deadline (just after the slot's sweep)",
        )
        if self._rearranged_into is not None:
            # The matchmaker's transaction already closed the row; nobody is let down.
            spec = self._input.spec
            rearranged = SessionRowResult(
                spec.session_id, SessionStatus.CANCELLED, CancelReason.REARRANGED
            )
            self._close(rearranged, "rearranged before anyone joined")
            return
        if not self._cancel_asked and self._both_present():
            await self._wait_until(clock.start, self._interrupted, "session start")
            if not self._interrupted():
                facts = await run_activity(
                    SessionActivities.activate_session,
                    SessionChangeInput(self._input.spec.session_id, workflow.now()),
                    "both joined: session active",
                )
                if facts.status == SessionStatus.ACTIVE:
                    await self._run_active(clock)
                    return
                # A cancel was recorded first: settle it below.
        facts = await self._settle()
        self._adopt_joins(facts)
        if facts.status == SessionStatus.CANCELLED:
            self._close(facts, None)
        elif not self._both_present() and workflow.now() >= self._settle_at(clock):
            raise RuntimeError(f"session {facts.session_id} is due but was not settled: {facts}")
        else:
            self._cancel_asked = False  # nothing was due yet: wait for what comes next

    async def _settle(self) -> SessionRowResult:
        return await run_activity(
            SettlementActivities.settle_session,
            SettleSessionInput(self._input.spec.session_id, workflow.now(), self._input.policy),
            "settle: a recorded cancel, or the no-show deadline",
        )

    async def _run_active(self, clock: SessionClock) -> None:
        self._set_phase(SessionStatus.ACTIVE)
        await self._wait_until(clock.end, lambda: self._end_asked, "scheduled end")
        facts = await run_activity(
            SessionActivities.complete_session,
            SessionChangeInput(self._input.spec.session_id, workflow.now()),
            "session completed",
        )
        self._facts = facts
        self._set_phase(
            SessionStatus.COMPLETED, "ended early" if self._end_asked else "ran to its end"
        )

    def _close(self, facts: SessionRowResult, why: str | None) -> None:
        """Say how the session ended, as the row says (whoever settled it)."""
        self._facts = facts
        who = f" by {facts.cancelled_by}" if facts.cancelled_by else ""
        rematched = ", ".join(facts.rematch_request_ids) or "nobody"
        refused = f"; rematch refused: {facts.rematch_refusal}" if facts.rematch_refusal else ""
        moved = f"; now in {', '.join(self._rearranged_into)}" if self._rearranged_into else ""
        self._set_phase(
            SessionStatus.CANCELLED,
            f"{why or facts.cancel_reason}{who}; rematch requests: {rematched}{refused}{moved}",
        )

    @workflow.query
    def state(self) -> SessionState:
        """The session as this workflow sees it."""
        facts = self._facts
        return SessionState(
            session_id=self._input.spec.session_id,
            status=self._phase,
            joined_user_ids=sorted(self._joined),
            cancel_reason=facts.cancel_reason if facts else None,
            cancelled_by=facts.cancelled_by if facts else None,
            rematch_request_ids=list(facts.rematch_request_ids) if facts else [],
            rematch_refusals=[facts.rematch_refusal] if facts and facts.rematch_refusal else [],
        )

    @workflow.signal
    def joined(self, signal: SessionReceiptSignal) -> None:
        """A participant's join reached Parley at `signal.at` and is on the row."""
        self._joined.setdefault(signal.user_id, signal.at)
        if self._canceller not in (None, signal.user_id):
            # A cancel made after the start waited to see whether the partner comes: they did.
            self._cancel_asked = True

    @workflow.signal
    def cancel_requested(self, signal: SessionReceiptSignal) -> None:
        """A participant's cancel reached Parley and is on the row: settle it now."""
        self._cancel_asked = True
        self._canceller = signal.user_id

    @workflow.signal
    def end_requested(self, signal: SessionReceiptSignal) -> None:
        """A participant's end of an active session reached Parley and is on the row."""
        self._end_asked = True

    @workflow.signal(name=naming.REARRANGED)
    def rearranged(self, signal: RearrangedSignal) -> None:
        """The matchmaker seated both participants in other sessions: this one is over."""
        self._rearranged_into = list(signal.replacement_session_ids)

    async def _wait_until(self, instant: datetime, done: Callable[[], bool], summary: str) -> None:
        remaining = (instant - workflow.now()).total_seconds()
        if remaining <= 0 or done():
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

    def _settle_at(self, clock: SessionClock) -> datetime:
        skew = timedelta(seconds=self._input.policy.receipt_skew_seconds)
        return clock.no_show_at + skew + AFTER_THE_SWEEP

    def _participants(self) -> tuple[Participant, Participant]:
        spec = self._input.spec
        return (
            Participant(spec.participant_one_id, spec.match_request_one_id),
            Participant(spec.participant_two_id, spec.match_request_two_id),
        )

    def _interrupted(self) -> bool:
        return self._cancel_asked or self._rearranged_into is not None

    def _adopt_joins(self, facts: SessionRowResult) -> None:
        for user_id in facts.joined_user_ids:
            self._joined.setdefault(user_id, workflow.now())

    def _both_present(self) -> bool:
        return session_rules.both_present(self._participants(), frozenset(self._joined))

    def _set_phase(self, phase: str, details: str | None = None) -> None:
        self._phase = phase
        workflow.upsert_search_attributes(naming.status_update(phase))
        if details:
            workflow.set_current_details(f"{phase}: {details}")
