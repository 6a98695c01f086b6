"""MatchmakerWorkflow: one per shard (UTC day, duration, languages); pairs until its last slot
starts and sweeps each slot's no-shows."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import VersioningBehavior

with workflow.unsafe.imports_passed_through():
    from activities.pool import PoolActivities
    from contracts import naming
    from contracts.matchmaker import (
        AddRequestsSignal,
        LoadWaitingInput,
        MatchmakerInput,
        MatchmakerResult,
        MatchmakerState,
        SeatedEntry,
    )
    from contracts.requests import PoolEntry
    from domain.shard_pool import ShardPool
    from workflows.activity_calls import run_activity
    from workflows.no_show_sweeps import NoShowSweeps
    from workflows.session_reminders import SessionReminders
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
        # A signal the pool cannot place arrived: load the pool from Postgres before pairing.
        self._reload = False
        self._last_arrival = workflow.now()
        self._quiet_checked = False
        self._awaiting_no_shows = False
        self._input = input
        self._sweeps = NoShowSweeps(input)
        self._reminders = SessionReminders(input)
        self._passes = ShardPasses(input, self._shard, self._sessions_at)

    @workflow.run
    async def run(self, input: MatchmakerInput) -> MatchmakerResult:
        """Load the day's waiting requests, pair on every change until its last slot starts, and
        sweep each slot's no-shows at its deadline."""
        workflow.set_current_details(
            f"pairing {input.duration_minutes}-minute {input.language_one_id}/"
            f"{input.language_two_id} requests for {input.day:%Y-%m-%d} (UTC)"
        )
        await self._load(input)
        self._dirty = bool(self._shard.waiting)
        no_shows = 0
        while workflow.now() < input.last_slot or self._sweeps.due:
            wake, why = self._next_wake(input)
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
            if timed_out:
                no_shows += await self._on_timer(input)
            # Under a new current build the next run pairs, with that build's code: it reloads
            # the pool from Postgres, so nothing that arrived is lost.
            elif self._dirty and not _new_build_is_current():
                self._dirty = False
                if self._reload:
                    self._reload = False
                    await self._load(input)
                if workflow.now() < input.last_slot:
                    await self._passes.run()
            if self._should_continue_as_new(input.history_event_budget):
                await self._hand_over(input)
        workflow.upsert_search_attributes(naming.status_update("closed"))
        return MatchmakerResult(
            sessions_created=self._shard.sessions_created,
            sessions_rearranged=self._shard.sessions_rearranged,
            left_unmatched=len(self._shard.waiting),
            no_shows_cancelled=no_shows,
        )

    async def _load(self, input: MatchmakerInput) -> None:
        """Take in what Postgres shows of the shard: waiting requests, seats, due sweeps."""
        loaded = await run_activity(
            PoolActivities.load_waiting_requests,
            LoadWaitingInput(
                input.day, input.duration_minutes, input.languages, workflow.now(), input.policy
            ),
            "load the shard's waiting requests, open sessions and due sweeps",
        )
        self._shard.load(loaded.entries, loaded.seated)
        for slot in loaded.sweeps_due:
            self._sessions_at(slot)

    def _sessions_at(self, slot: datetime) -> None:
        """Sessions are (or were made) at `slot`: its no-show sweep and reminders are due."""
        self._sweeps.due.add(slot)
        self._reminders.sessions_at(slot)

    def _next_wake(self, input: MatchmakerInput) -> tuple[datetime, str]:
        """The earliest of: a slot's no-show sweep or reminder, a widening of levels, the moment
        pairs across midnight become this shard's, a quiet spell to swap partners in, the day's
        last slot."""
        now = workflow.now()
        moments = self._sweeps.moments() + self._reminders.moments(now)
        if now < input.last_slot:
            moments.append((input.last_slot, "the day's last slot starts: stop pairing"))
            if self._shard.waiting:
                widening = self._passes.next_widening()
                if widening is not None:
                    moments.append((widening, "levels widen for a waiting pair: pair again"))
                handover = input.day - timedelta(minutes=input.policy.slot_minutes)
                if now < handover and any(
                    e.request().availability_start < input.day for e in self._shard.waiting.values()
                ):
                    moments.append((handover, "yesterday's last slot passes: pair across it"))
            due = self._next_rearrangement_due(input)
            if due is not None:
                moments.append((due, "quiet: swap partners for whoever is left alone"))
        return min(moments, key=lambda moment: moment[0])

    async def _on_timer(self, input: MatchmakerInput) -> int:
        """Do whatever came due: sweeps first (they are deadlines), reminders, then pairing."""
        now = workflow.now()
        no_shows = await self._sweeps.run_due(now)
        await self._reminders.send_due(now)
        if now >= input.last_slot:
            if self._sweeps.due and not self._awaiting_no_shows:
                # Once: each upsert is a history event and a billed action.
                self._awaiting_no_shows = True
                workflow.upsert_search_attributes(naming.status_update(naming.AWAITING_NO_SHOWS))
            return no_shows
        if _new_build_is_current():
            return no_shows  # the next run pairs, with the new build's code
        due = self._next_rearrangement_due(input)
        if due is not None and due <= now:
            self._quiet_checked = True
            await self._passes.rearrange()
        elif self._shard.waiting:
            await self._passes.run()
        return no_shows

    async def _hand_over(self, input: MatchmakerInput) -> None:
        """Continue as new: the next run reloads the pool, the seats and the due sweeps."""
        # The server refuses a continue-as-new whose task saw signals land meanwhile, and the task
        # is then run again: a pass's local activities in it would write again, pairing
        # differently. A timer ends this task first, so the hand-over's own task runs no activity.
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

    @workflow.signal(name=naming.ADD_REQUESTS)
    def add_requests(self, signal: AddRequestsSignal) -> None:
        """A booking joins the pool with the parked requests it could pair with; `reload` when
        more were parked than the signal carries."""
        for entry in signal.entries:
            self._add(entry)
        if signal.reload:
            self._reload = self._dirty = True

    @workflow.signal(name=naming.ADD_REQUEST)
    def add_request(self, entry: PoolEntry) -> None:
        """A request joins the pool (as builds before 0.5.0 send it)."""
        self._add(entry)

    def _add(self, entry: PoolEntry) -> None:
        """Pool a request; repeats of a known request are ignored."""
        if not entry.placed:
            # From a 0.2.0 worker, without its window: Postgres has it, so read the pool again.
            self._reload = self._dirty = True
            return
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
        # timer, maybe its day's last slot start (an unknown signal is only buffered, and wakes
        # nothing).

    @workflow.query
    def state(self) -> MatchmakerState:
        """The pool as it stands."""
        return MatchmakerState(
            day=self._input.day,
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
        deadline = self._passes.rearrange_deadline()
        if deadline is None or not shard.waiting_on_both_sides():
            return None
        due = self._last_arrival + timedelta(seconds=input.policy.rearrange_after_quiet_seconds)
        return due if due < deadline else None

    def _should_continue_as_new(self, budget: int) -> bool:
        info = workflow.info()
        return (
            info.is_continue_as_new_suggested()
            or info.get_current_history_length() > budget
            # A new build became current: hand over, so that its code pairs from now on.
            or _new_build_is_current()
        )
