"""MatchmakerWorkflow: one per shard (slot, duration, languages); pairs until the slot starts."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import VersioningBehavior

with workflow.unsafe.imports_passed_through():
    from activities.pairing import PairingActivities
    from activities.pool import PoolActivities
    from activities.settlement import SettlementActivities
    from contracts import naming
    from contracts.matchmaker import (
        DissolvedSession,
        LoadWaitingInput,
        MatchmakerInput,
        MatchmakerResult,
        MatchmakerState,
        PersistPairsInput,
        SeatedEntry,
        SettleShardInput,
        StillWaitingInput,
    )
    from contracts.requests import PoolEntry
    from contracts.sessions import SessionInput, SessionSpec
    from domain.levels import Level
    from domain.matching import Candidate, Pair, pair_pool
    from domain.rearranging import Seated, rearrange
    from domain.shard_pool import ShardPool
    from workflows.activity_calls import run_activity
    from workflows.pass_metrics import PassMetrics

# Pairs persisted per activity call: one transaction, bounded payload.
SESSIONS_PER_BATCH = 200
# The timer that ends the task before a continue-as-new (see `run`).
HAND_OVER_PAUSE = timedelta(milliseconds=1)


def _new_build_is_current() -> bool:
    # Known at the first workflow task after the deployment's current version changed.
    return workflow.info().is_target_worker_deployment_version_changed()


def _candidate(entry: PoolEntry, input: MatchmakerInput) -> Candidate:
    return Candidate(
        request_id=entry.request_id,
        user_id=entry.user_id,
        native_language_id=entry.native_language_id,
        learning_language_id=entry.learning_language_id,
        level=Level(entry.proficiency_level),
        priority=entry.priority,
        waiting_since=entry.waiting_since,
        slot_start=input.slot_start,
        duration_minutes=input.duration_minutes,
    )


def _seat(seat: SeatedEntry, input: MatchmakerInput) -> Seated:
    return Seated(
        seat.session_id, Pair(_candidate(seat.first, input), _candidate(seat.second, input))
    )


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
        self._metrics = PassMetrics()

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
                    with_seated=self._may_rearrange(input),
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
                    await self._pass(input)
            elif workflow.now() >= input.slot_start:
                break
            elif not _new_build_is_current():
                self._quiet_checked = True
                await self._rearrange(input)
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
        workflow.upsert_search_attributes(naming.status_update("awaiting_no_shows"))
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

    async def _pass(self, input: MatchmakerInput) -> None:
        shard = self._shard
        started, pool, made = self._metrics.started(), len(shard.waiting), shard.sessions_created
        try:
            await self._pair(input)
        finally:
            self._metrics.record(started, pool, shard.sessions_created - made)

    async def _pair(self, input: MatchmakerInput) -> None:
        await self._drop_already_finished()
        # Requests that turn out dead (cancelled meanwhile) leave the pool and we pair again.
        while True:
            pairs = pair_pool([_candidate(e, input) for e in self._shard.waiting.values()])
            if not pairs:
                break
            known = self._shard.known()
            all_persisted = True
            for start in range(0, len(pairs), SESSIONS_PER_BATCH):
                batch = pairs[start : start + SESSIONS_PER_BATCH]
                all_persisted &= await self._persist(input, batch)
            if all_persisted or self._shard.known() == known:
                break

    async def _drop_already_finished(self) -> None:
        """Before pairing, drop the requests a repeated signal brought back after an earlier
        execution finished them: only requests older than this run can be such."""
        unsure = self._shard.take_unconfirmed()
        if not unsure:
            return
        confirmed = await run_activity(
            PoolActivities.still_waiting,
            StillWaitingInput(unsure),
            f"check {len(unsure)} request(s) an earlier run may have paired",
        )
        waiting = set(confirmed.request_ids)
        self._shard.retire(*(request_id for request_id in unsure if request_id not in waiting))

    async def _rearrange(self, input: MatchmakerInput) -> None:
        """Seat whoever is left waiting by swapping partners in sessions nobody has joined, as
        long as nobody may join yet; a session joined or cancelled meanwhile is left out."""
        shard = self._shard
        while self._may_rearrange(input) and shard.seated and shard.waiting_on_both_sides():
            result = rearrange(
                [_candidate(entry, input) for entry in shard.waiting.values()],
                [_seat(seat, input) for seat in shard.seated.values()],
            )
            if not result.pairs:
                return
            known = shard.known()
            if await self._persist(input, list(result.pairs), result.dissolved):
                return
            if shard.known() == known:
                return  # refused, and nothing learnt to try otherwise: wait for news
        if not self._may_rearrange(input):
            shard.seated.clear()

    async def _persist(
        self, input: MatchmakerInput, pairs: list[Pair], dissolved: tuple[str, ...] = ()
    ) -> bool:
        """Persist and start the pairs' sessions (in place of `dissolved`, all or nothing).
        False when a request or session turned out gone: it is dropped, and the caller pairs
        again."""
        shard = self._shard
        entries = shard.with_people_of(dissolved)
        sessions = [self._session(input, pair, entries) for pair in pairs]
        summary = f"persist and start {len(sessions)} session(s)"
        if dissolved:
            summary = f"rearrange {len(dissolved)} session(s) into {len(sessions)}"
        result = await run_activity(
            PairingActivities.persist_pairs,
            PersistPairsInput(
                sessions=sessions,
                created_at=workflow.now(),
                dissolved=[self._dissolution(sid, sessions) for sid in dissolved],
            ),
            summary,
        )
        created = set(result.created_session_ids)
        if created and dissolved:
            shard.dissolved(dissolved)
        for session in sessions:
            if session.spec.session_id not in created:
                continue
            one, two = (entries[r.request_id] for r in (session.request_one, session.request_two))
            if self._may_rearrange(input):
                shard.seated[session.spec.session_id] = SeatedEntry(
                    session.spec.session_id, one, two
                )
            # Partners moved from dissolved sessions were finished when first seated.
            shard.retire(one.request_id, two.request_id)
        shard.sessions_created += len(created)
        shard.forget_seats(result.stale_session_ids, set(result.dead_request_ids))
        shard.retire(*result.dead_request_ids)
        return not (result.dead_request_ids or result.stale_session_ids)

    def _dissolution(self, session_id: str, sessions: list[SessionInput]) -> DissolvedSession:
        people = self._shard.people_of(session_id)
        return DissolvedSession(
            session_id,
            [
                s.spec.session_id
                for s in sessions
                if {s.spec.match_request_one_id, s.spec.match_request_two_id} & people
            ],
        )

    def _session(
        self, input: MatchmakerInput, pair: Pair, entries: dict[str, PoolEntry]
    ) -> SessionInput:
        return SessionInput(
            spec=SessionSpec(
                session_id=str(workflow.uuid4()),
                participant_one_id=pair.first.user_id,
                participant_two_id=pair.second.user_id,
                match_request_one_id=pair.first.request_id,
                match_request_two_id=pair.second.request_id,
                language_one_id=pair.first.native_language_id,
                language_two_id=pair.second.native_language_id,
                scheduled_start=input.slot_start,
                duration_minutes=input.duration_minutes,
            ),
            request_one=entries[pair.first.request_id].spec(
                input.slot_start, input.duration_minutes
            ),
            request_two=entries[pair.second.request_id].spec(
                input.slot_start, input.duration_minutes
            ),
            policy=input.policy,
        )

    def _next_rearrangement_due(self, input: MatchmakerInput) -> datetime | None:
        """When the shard will have been quiet long enough to swap partners for someone left
        alone: a burst of bookings pairs naturally, and only what it leaves needs a swap."""
        if self._quiet_checked:
            return None  # tried since the last arrival; the next arrival tries again later
        shard = self._shard
        if not (self._may_rearrange(input) and shard.seated and shard.waiting_on_both_sides()):
            return None
        due = self._last_arrival + timedelta(seconds=input.policy.rearrange_after_quiet_seconds)
        return due if due < self._join_opens(input) else None

    def _may_rearrange(self, input: MatchmakerInput) -> bool:
        # Partners may change only before anyone may join.
        return workflow.now() < self._join_opens(input)

    @staticmethod
    def _join_opens(input: MatchmakerInput) -> datetime:
        return input.slot_start - timedelta(minutes=input.policy.join_opens_minutes)

    def _should_continue_as_new(self, budget: int) -> bool:
        info = workflow.info()
        return (
            info.is_continue_as_new_suggested()
            or info.get_current_history_length() > budget
            # A new build became current: hand over, so that its code pairs from now on.
            or _new_build_is_current()
        )
