"""MatchmakerWorkflow: one per shard (slot, duration, languages); pairs until the slot starts."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import VersioningBehavior

with workflow.unsafe.imports_passed_through():
    from activities.pool import PoolActivities
    from activities.settlement import SettlementActivities
    from contracts import naming
    from contracts.matchmaker import (
        LoadWaitingInput,
        MatchmakerInput,
        MatchmakerResult,
        MatchmakerState,
        SeatedEntry,
        SettleShardInput,
    )
    from contracts.requests import PoolEntry
    from domain.shard_pool import ShardPool
    from workflows.activity_calls import run_activity
    from workflows.shard_passes import ShardPasses

# The timer that ends the task before a continue-as-new (see `run`).
HAND_OVER_PAUSE = timedelta(milliseconds=1)


def _new_build_is_current() -> bool:
    # Known at the first workflow task after the deployment's current version changed.
    return workflow.info().is_target_worker_deployment_version_changed()


@workflow.defn(name=naming.MATCHMAKER_WORKFLOW, versioning_behavior=VersioningBehavior.PINNED)
class MatchmakerWorkflow:
    """Coalesces arriving requests into passes; each makes a maximum pairing and persists it."""

    @workflow.init
    def __init__(self, input: MatchmakerInput) -> None:
        self._shard: ShardPool[PoolEntry, SeatedEntry] = ShardPool(
            workflow.now(), input.sessions_created, input.sessions_rearranged
        )
        self._dirty = False
        self._last_arrival = workflow.now()
        self._quiet_checked = False
        self._input = input
        self._passes = ShardPasses(input, self._shard)

    @workflow.run
    async def run(self, input: MatchmakerInput) -> MatchmakerResult:
        """Load the slot's waiting requests, then pair on every change until the slot starts."""
        workflow.set_current_details(
            f"pairing {input.duration_minutes}-minute {input.language_one_id}/"
            f"{input.language_two_id} requests for {input.slot_start:%Y-%m-%d %H:%M} UTC"
        )
        if workflow.now() < input.slot_start:
            loaded = await run_activity(
                PoolActivities.load_waiting_requests,
                LoadWaitingInput(
                    input.slot_start,
                    input.duration_minutes,
                    input.languages,
                    with_seated=self._passes.may_rearrange(),
                ),
                "load the shard's waiting requests and sessions",
            )
            self._shard.load(loaded.entries, loaded.seated)
            self._dirty = bool(self._shard.waiting)
        while workflow.now() < input.slot_start:
            wake, why = input.slot_start, "slot start: stop matching"
            due = self._next_rearrangement_due(input)
            if due is not None and due < wake:
                wake, why = due, "quiet: swap partners for whoever is left alone"
            timed_out = False
            try:
                # Repeated signals for known requests grow the history without a pass, so a
                # long history wakes the loop too.
                await workflow.wait_condition(
                    lambda: self._dirty or self._should_continue_as_new(input.history_event_budget),
                    timeout=max(wake - workflow.now(), timedelta(0)),
                    timeout_summary=why,
                )
            except TimeoutError:
                timed_out = True
            if not timed_out:
                # Under a new current build the next run pairs, with that build's code: it reloads
                # the pool from Postgres, so nothing that arrived is lost.
                if self._dirty and not _new_build_is_current():
                    self._dirty = False
                    await self._passes.run()
            elif workflow.now() >= input.slot_start:
                break
            elif not _new_build_is_current():
                self._quiet_checked = True
                await self._passes.rearrange()
            if self._should_continue_as_new(input.history_event_budget):
                # The server refuses a continue-as-new whose task saw signals land meanwhile, and
                # the task is then run again: a pass's local activities in it would write again,
                # pairing differently. A timer ends this task first, so the hand-over's own task
                # runs no activity.
                await workflow.sleep(HAND_OVER_PAUSE, summary="hand over to a new run")
                await workflow.wait_condition(workflow.all_handlers_finished)
                handover = self._shard.handover()
                workflow.continue_as_new(
                    replace(
                        input,
                        sessions_created=handover.sessions_created,
                        sessions_rearranged=handover.sessions_rearranged,
                        runs=input.runs + 1,
                    ),
                    # A run is pinned to its build; the next one starts on the current build.
                    initial_versioning_behavior=workflow.ContinueAsNewVersioningBehavior.AUTO_UPGRADE,
                )
        no_shows = await self._sweep_no_shows(input)
        workflow.upsert_search_attributes(naming.status_update("closed"))
        return MatchmakerResult(
            sessions_created=self._shard.sessions_created,
            sessions_rearranged=self._shard.sessions_rearranged,
            left_unmatched=len(self._shard.waiting),
            no_shows_cancelled=no_shows,
        )

    async def _sweep_no_shows(self, input: MatchmakerInput) -> int:
        """Just after the slot's no-show deadline (by the receipt skew, so that a join that
        reached Parley in time has committed), settle every due session of this shard in one
        transaction, rematches included; the sessions' own timers follow."""
        policy = input.policy
        deadline = input.slot_start + timedelta(
            seconds=policy.no_show_grace_seconds + policy.receipt_skew_seconds
        )
        if self._shard.sessions_created == 0 or workflow.now() >= deadline:
            return 0
        workflow.upsert_search_attributes(naming.status_update(naming.AWAITING_NO_SHOWS))
        workflow.set_current_details(f"no-show sweep at {deadline:%H:%M:%S} UTC")
        await workflow.sleep(deadline - workflow.now(), summary="the slot's no-show deadline")
        swept = await run_activity(
            SettlementActivities.settle_shard,
            SettleShardInput(
                input.slot_start, input.duration_minutes, input.languages, workflow.now(), policy
            ),
            "settle the shard's no-shows and recorded cancels; book the rematches",
        )
        workflow.set_current_details(
            f"no-show sweep cancelled {len(swept.cancelled_session_ids)}, "
            f"rematched {len(swept.rematch_request_ids)}"
        )
        return len(swept.cancelled_session_ids)

    @workflow.signal(name=naming.ADD_REQUEST)
    def add_request(self, entry: PoolEntry) -> None:
        """A request joins the pool; repeats of a known request are ignored."""
        if not self._shard.add(entry):
            return
        self._dirty = True
        self._last_arrival = workflow.now()
        self._quiet_checked = False

    @workflow.signal
    def hand_over(self) -> None:
        """Wake the run so that it sees a new current build and hands over to it."""
        # Nothing to do here: a handled signal makes the run check its wait condition again,
        # which looks for a new build. Without it an idle run stays on its build until its next
        # timer, maybe the slot's start (an unknown signal is only buffered, and wakes nothing).

    @workflow.query
    def state(self) -> MatchmakerState:
        """The pool as it stands."""
        return MatchmakerState(
            slot_start=self._input.slot_start,
            duration_minutes=self._input.duration_minutes,
            language_one_id=self._input.language_one_id,
            language_two_id=self._input.language_two_id,
            waiting_request_ids=sorted(self._shard.waiting),
            sessions_created=self._shard.sessions_created,
            sessions_rearranged=self._shard.sessions_rearranged,
            runs=self._input.runs,
        )

    def _next_rearrangement_due(self, input: MatchmakerInput) -> datetime | None:
        """When the shard will have been quiet long enough to swap partners for someone left
        alone: a burst of bookings pairs naturally, and only what it leaves needs a swap."""
        if self._quiet_checked:
            return None  # tried since the last arrival; the next arrival tries again later
        shard = self._shard
        if not (self._passes.may_rearrange() and shard.seated and shard.waiting_on_both_sides()):
            return None
        due = self._last_arrival + timedelta(seconds=input.policy.rearrange_after_quiet_seconds)
        return due if due < self._passes.join_opens() else None

    def _should_continue_as_new(self, budget: int) -> bool:
        info = workflow.info()
        return (
            info.is_continue_as_new_suggested()
            or info.get_current_history_length() > budget
            # A new build became current: hand over, so that its code pairs from now on.
            or _new_build_is_current()
        )
