"""A matchmaker's passes: pair its shard's pool, or swap partners for someone left alone, and
persist the sessions. The workflow (`workflows/matchmaker.py`) decides when a pass runs."""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.pairing import PairingActivities
    from activities.pool import PoolActivities
    from contracts.matchmaker import (
        DissolvedSession,
        MatchmakerInput,
        PersistPairsInput,
        SeatedEntry,
        StillWaitingInput,
    )
    from contracts.requests import PoolEntry
    from contracts.sessions import SessionInput, SessionSpec
    from domain.matching import Pair, pair_pool
    from domain.rearranging import Seated, rearrange
    from domain.requests import MatchRequest
    from domain.shard_pool import ShardPool
    from workflows.activity_calls import run_activity
    from workflows.pass_metrics import PassMetrics

# Pairs persisted per activity call: one transaction, bounded payload.
SESSIONS_PER_BATCH = 200


def _candidate(entry: PoolEntry, input: MatchmakerInput) -> MatchRequest:
    return entry.request(input.slot_start, input.duration_minutes)


def _seat(seat: SeatedEntry, input: MatchmakerInput) -> Seated:
    return Seated(
        seat.session_id, Pair(_candidate(seat.first, input), _candidate(seat.second, input))
    )


class ShardPasses:
    """Pairing and rearranging passes over one run's shard pool."""

    def __init__(self, input: MatchmakerInput, shard: ShardPool[PoolEntry, SeatedEntry]) -> None:
        self._input = input
        self._shard = shard
        self._metrics = PassMetrics()

    async def run(self) -> None:
        """One pass: pair the pool, persist and start the sessions, count what it took."""
        shard = self._shard
        started, pool, made = self._metrics.started(), len(shard.waiting), shard.sessions_created
        try:
            await self._pair()
        finally:
            self._metrics.record(started, pool, shard.sessions_created - made)

    async def _pair(self) -> None:
        await self._drop_already_finished()
        # Requests that turn out dead (cancelled meanwhile) leave the pool and we pair again.
        while True:
            pairs = pair_pool([_candidate(e, self._input) for e in self._shard.waiting.values()])
            if not pairs:
                break
            known = self._shard.known()
            all_persisted = True
            for start in range(0, len(pairs), SESSIONS_PER_BATCH):
                batch = pairs[start : start + SESSIONS_PER_BATCH]
                all_persisted &= await self._persist(batch)
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

    async def rearrange(self) -> None:
        """Seat whoever is left waiting by swapping partners in sessions nobody has joined, as
        long as nobody may join yet; a session joined or cancelled meanwhile is left out."""
        shard = self._shard
        while self.may_rearrange() and shard.seated and shard.waiting_on_both_sides():
            result = rearrange(
                [_candidate(entry, self._input) for entry in shard.waiting.values()],
                [_seat(seat, self._input) for seat in shard.seated.values()],
            )
            if not result.pairs:
                return
            known = shard.known()
            if await self._persist(list(result.pairs), result.dissolved):
                return
            if shard.known() == known:
                return  # refused, and nothing learnt to try otherwise: wait for news
        if not self.may_rearrange():
            shard.seated.clear()

    async def _persist(self, pairs: list[Pair], dissolved: tuple[str, ...] = ()) -> bool:
        """Persist and start the pairs' sessions (in place of `dissolved`, all or nothing).
        False when a request or session turned out gone: it is dropped, and the caller pairs
        again."""
        shard = self._shard
        entries = shard.with_people_of(dissolved)
        sessions = [self._session(pair, entries) for pair in pairs]
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
            if self.may_rearrange():
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

    def _session(self, pair: Pair, entries: dict[str, PoolEntry]) -> SessionInput:
        input = self._input
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

    def may_rearrange(self) -> bool:
        """Partners may change only before anyone may join."""
        return workflow.now() < self.join_opens()

    def join_opens(self) -> datetime:
        """When the first participant may join: partners may change only before that."""
        input = self._input
        return input.slot_start - timedelta(minutes=input.policy.join_opens_minutes)
