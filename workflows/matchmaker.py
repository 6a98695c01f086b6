"""MatchmakerWorkflow: one per slot and duration; pairs waiting requests until the slot starts."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.pairing import PairingActivities, PersistPairsInput
    from activities.requests import LoadWaitingInput, RequestActivities
    from domain.levels import Level
    from domain.matching import Candidate, Pair, pair_pool
    from workflows import search_attributes
    from workflows.activity_calls import run_activity
    from workflows.contracts import (
        MatchmakerInput,
        MatchmakerResult,
        MatchmakerState,
        PoolEntry,
        SessionInput,
        SessionSpec,
    )

# Continue-as-new comes well before Temporal's limits; the next run reloads the pool from
# Postgres, so a signal that lands during the hand-over is never lost.
# Pairs persisted per activity call: one transaction, bounded payload.
SESSIONS_PER_BATCH = 200


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


@workflow.defn
class MatchmakerWorkflow:
    """Coalesces arriving requests into passes; each makes a maximum pairing and persists it."""

    @workflow.init
    def __init__(self, input: MatchmakerInput) -> None:
        self._pool: dict[str, PoolEntry] = {}
        self._finished: set[str] = set()
        self._dirty = False
        self._sessions_created = input.sessions_created
        self._input = input

    @workflow.run
    async def run(self, input: MatchmakerInput) -> MatchmakerResult:
        """Load the slot's waiting requests, then pair on every change until the slot starts."""
        workflow.set_current_details(
            f"pairing {input.duration_minutes}-minute {input.language_one_id}/"
            f"{input.language_two_id} requests for {input.slot_start:%Y-%m-%d %H:%M} UTC"
        )
        if workflow.now() < input.slot_start:
            loaded = await run_activity(
                RequestActivities.load_waiting_requests,
                LoadWaitingInput(input.slot_start, input.duration_minutes, input.languages),
                "load the slot's waiting requests",
            )
            for entry in loaded.entries:
                self._pool.setdefault(entry.request_id, entry)
            self._dirty = bool(self._pool)
        while workflow.now() < input.slot_start:
            remaining = (input.slot_start - workflow.now()).total_seconds()
            try:
                await workflow.wait_condition(
                    lambda: self._dirty,
                    timeout=timedelta(seconds=remaining),
                    timeout_summary="slot start: stop matching",
                )
            except TimeoutError:
                break
            self._dirty = False
            await self._pass(input)
            if self._should_continue_as_new(input.history_event_budget):
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(
                    replace(input, sessions_created=self._sessions_created, runs=input.runs + 1)
                )
        workflow.upsert_search_attributes(search_attributes.status_update("closed"))
        return MatchmakerResult(
            sessions_created=self._sessions_created, left_unmatched=len(self._pool)
        )

    @workflow.signal
    def add_request(self, entry: PoolEntry) -> None:
        """A request joins the pool; repeats of a known request are ignored."""
        if entry.request_id in self._finished or entry.request_id in self._pool:
            return
        self._pool[entry.request_id] = entry
        self._dirty = True

    @workflow.query
    def state(self) -> MatchmakerState:
        """The pool as it stands."""
        return MatchmakerState(
            slot_start=self._input.slot_start,
            duration_minutes=self._input.duration_minutes,
            language_one_id=self._input.language_one_id,
            language_two_id=self._input.language_two_id,
            waiting_request_ids=sorted(self._pool),
            sessions_created=self._sessions_created,
            runs=self._input.runs,
        )

    async def _pass(self, input: MatchmakerInput) -> None:
        # Requests that turn out dead (cancelled meanwhile) leave the pool and we pair again.
        while True:
            pairs = pair_pool([_candidate(e, input) for e in self._pool.values()])
            if not pairs:
                return
            lost_any = False
            for start in range(0, len(pairs), SESSIONS_PER_BATCH):
                lost_any |= await self._persist(input, pairs[start : start + SESSIONS_PER_BATCH])
            if not lost_any:
                return

    async def _persist(self, input: MatchmakerInput, pairs: list[Pair]) -> bool:
        sessions = [
            SessionInput(
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
                request_one=self._pool[pair.first.request_id].spec(
                    input.slot_start, input.duration_minutes
                ),
                request_two=self._pool[pair.second.request_id].spec(
                    input.slot_start, input.duration_minutes
                ),
                policy=input.policy,
            )
            for pair in pairs
        ]
        result = await run_activity(
            PairingActivities.persist_pairs,
            PersistPairsInput(sessions=sessions, created_at=workflow.now()),
            f"persist and start {len(sessions)} session(s)",
        )
        created = set(result.created_session_ids)
        for session in sessions:
            if session.spec.session_id in created:
                for request_id in (session.request_one.request_id, session.request_two.request_id):
                    self._pool.pop(request_id)
                    self._finished.add(request_id)
        self._sessions_created += len(created)
        for request_id in result.dead_request_ids:
            self._pool.pop(request_id, None)
            self._finished.add(request_id)
        return bool(result.dead_request_ids)

    def _should_continue_as_new(self, budget: int) -> bool:
        info = workflow.info()
        return info.is_continue_as_new_suggested() or info.get_current_history_length() > budget
