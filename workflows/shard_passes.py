"""A matchmaker's passes: pair its shard's pool, or swap partners for someone left alone, and
persist the sessions. The workflow (`workflows/matchmaker.py`) decides when a pass runs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.pairing import PairingActivities
    from activities.pool import PoolActivities
    from contracts.matchmaker import (
        MatchmakerInput,
        PersistPairsInput,
        SeatedEntry,
        StillWaitingInput,
    )
    from contracts.requests import PoolEntry
    from domain.matching import MatchRules, Pair, next_widening, pair_pool
    from domain.rearranging import rearrange
    from domain.shard_pool import ShardPool
    from workflows.activity_calls import run_activity
    from workflows.pass_metrics import PassMetrics
    from workflows.pass_records import dissolution, seated, session_input

# Pairs persisted per activity call: one transaction, bounded payload.
SESSIONS_PER_BATCH = 200


class ShardPasses:
    """Pairing and rearranging passes over one run's shard pool."""

    def __init__(
        self,
        input: MatchmakerInput,
        shard: ShardPool[PoolEntry, SeatedEntry],
        sessions_at: Callable[[datetime], None],
    ) -> None:
        self._input = input
        self._shard = shard
        # Told the slot of each session a pass makes (its sweep and reminders are then due).
        self._sessions_at = sessions_at
        self._metrics = PassMetrics()
        # Pairs of users the database refused to seat together, learnt from refused sessions.
        self._blocked: set[frozenset[str]] = set()

    def rules(self) -> MatchRules:
        """The rules of a pass now: this shard's day, its policy, and who blocks whom."""
        input, policy = self._input, self._input.policy
        waiting = self._shard.waiting.values()
        seated = [e for seat in self._shard.seated.values() for e in (seat.first, seat.second)]
        everyone = [*waiting, *seated]
        blocked = set(self._blocked)
        for entry in everyone:
            blocked.update(frozenset((entry.user_id, other)) for other in entry.blocked_user_ids)
        unreliable = (
            frozenset(e.user_id for e in everyone if e.unreliable)
            if policy.rank_by_reliability
            else frozenset()
        )
        return MatchRules(
            now=workflow.now(),
            slot_minutes=policy.slot_minutes,
            widen_levels_minutes=policy.widen_levels_minutes,
            blocked=frozenset(blocked),
            unreliable=unreliable,
            owned_from=input.day,
            owned_to=input.day_end,
        )

    def _known(self) -> tuple[int, int, int]:
        """What a refused persist can teach: requests gone, seats gone, blocks learnt."""
        return (*self._shard.known(), len(self._blocked))

    def next_widening(self) -> datetime | None:
        """When a pair of the pool now too far apart in level may pair (one timer per shard)."""
        return next_widening([e.request() for e in self._shard.waiting.values()], self.rules())

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
            self._drop_past()
            pairs = pair_pool([e.request() for e in self._shard.waiting.values()], self.rules())
            if not pairs:
                break
            known = self._known()
            all_persisted = True
            for start in range(0, len(pairs), SESSIONS_PER_BATCH):
                batch = pairs[start : start + SESSIONS_PER_BATCH]
                all_persisted &= await self._persist(batch)
            if all_persisted or self._known() == known:
                break

    def _drop_past(self) -> None:
        """Requests whose last slot start has passed can pair no more: they expire."""
        now = workflow.now()
        shard = self._shard
        shard.retire(*(r for r, e in shard.waiting.items() if e.last_start <= now))

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
            self._drop_past()
            result = rearrange(
                [entry.request() for entry in shard.waiting.values()],
                [seated(seat) for seat in self._open_seats()],
                self.rules(),
            )
            if not result.pairs:
                return
            known = self._known()
            if await self._persist(list(result.pairs), result.dissolved):
                return
            if self._known() == known:
                return  # refused, and nothing learnt to try otherwise: wait for news
        self._close_seats()

    async def _persist(self, pairs: list[Pair], dissolved: tuple[str, ...] = ()) -> bool:
        """Persist and start the pairs' sessions (in place of `dissolved`, all or nothing).
        False when a request or session turned out gone: it is dropped, and the caller pairs
        again."""
        shard = self._shard
        entries = shard.with_people_of(dissolved)
        sessions = [session_input(pair, entries, self._input) for pair in pairs]
        summary = f"persist and start {len(sessions)} session(s)"
        if dissolved:
            summary = f"rearrange {len(dissolved)} session(s) into {len(sessions)}"
        result = await run_activity(
            PairingActivities.persist_pairs,
            PersistPairsInput(
                sessions=sessions,
                created_at=workflow.now(),
                dissolved=[dissolution(sid, shard.people_of(sid), sessions) for sid in dissolved],
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
            start = session.spec.scheduled_start
            self._sessions_at(start)
            if self._may_change(start):
                shard.seated[session.spec.session_id] = SeatedEntry(
                    session.spec.session_id, one, two, start
                )
            # Partners moved from dissolved sessions were finished when first seated.
            shard.retire(one.request_id, two.request_id)
        shard.sessions_created += len(created)
        shard.forget_seats(result.stale_session_ids, set(result.dead_request_ids))
        shard.retire(*result.dead_request_ids)
        learnt = {frozenset(users) for users in result.blocked_user_pairs} - self._blocked
        self._blocked |= learnt
        return not (result.dead_request_ids or result.stale_session_ids or learnt)

    def _may_change(self, scheduled_start: datetime) -> bool:
        """Partners of a session may change only before anyone may join it."""
        opens = scheduled_start - timedelta(minutes=self._input.policy.join_opens_minutes)
        return workflow.now() < opens

    def _open_seats(self) -> list[SeatedEntry]:
        return [s for s in self._shard.seated.values() if self._may_change(s.scheduled_start)]

    def _close_seats(self) -> None:
        """Forget the seats whose session may be joined by now: they are final."""
        shard = self._shard
        for session_id, seat in list(shard.seated.items()):
            if not self._may_change(seat.scheduled_start):
                del shard.seated[session_id]

    def may_rearrange(self) -> bool:
        """Whether some seated session may still change partners."""
        return bool(self._open_seats())

    def rearrange_deadline(self) -> datetime | None:
        """When the last seated session that may still change stops being able to."""
        opens = [
            s.scheduled_start - timedelta(minutes=self._input.policy.join_opens_minutes)
            for s in self._open_seats()
        ]
        return max(opens, default=None)
