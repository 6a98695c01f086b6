"""The matchmaker's one activity per batch of pairs: persist their sessions, then start them.

Persisting and starting in one activity halves the events and the task round trips of a pass.
"""

from __future__ import annotations

import uuid

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError, InternalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from activities.base import StartingActivities
from activities.errors import BLOCKED_PAIR, SLOT_STARTED, sqlstate
from activities.meeting_rooms import DEFAULT_ROOMS, MeetingRooms
from activities.rearranging import rearrange_sessions
from activities.session_rows import (
    match_waits,
    not_waiting,
    same_pair,
    session_values,
    sessions_as_written,
)
from activities.workflow_starts import WorkflowStartActivities
from contracts.matchmaker import PersistPairsInput
from contracts.sessions import (
    CreateSessionsInput,
    CreateSessionsResult,
    RearrangeSessionsInput,
    SessionSpec,
    StartSessionsInput,
)
from db.models import SessionRow
from observability.business import NO_METRICS, BusinessMetrics


async def _refused_requests(
    db: AsyncSession, spec: SessionSpec, error: IntegrityError | InternalError
) -> list[str]:
    """Which of the pair's requests the matchmaker must drop after the database refused it."""
    both = [spec.match_request_one_id, spec.match_request_two_id]
    if sqlstate(error) == SLOT_STARTED:
        return both  # they expire by their own timers
    if sqlstate(error) == BLOCKED_PAIR:
        return []  # not a bug: a block made since the pool read its people (see the caller)
    dead = await not_waiting(db, spec)
    if dead:
        return dead
    # Refused for a reason the pool cannot explain (a bug, not a race): drop the pair from this
    # run rather than retry it forever; the next run reloads whatever is still waiting.
    activity.logger.error("session %s refused: %s", spec.session_id, error.orig)
    return both


async def create_sessions(
    sessionmaker: async_sessionmaker[AsyncSession],
    input: CreateSessionsInput,
    metrics: BusinessMetrics = NO_METRICS,
    rooms: MeetingRooms = DEFAULT_ROOMS,
) -> CreateSessionsResult:
    """Insert each pair's session; the database trigger claims both requests or refuses."""
    result = CreateSessionsResult()
    inserted: list[uuid.UUID] = []
    async with sessionmaker.begin() as db:
        for spec in input.sessions:
            existing = await db.get(SessionRow, uuid.UUID(spec.session_id))
            if existing is not None:
                if same_pair(existing, spec):
                    result.created_session_ids.append(spec.session_id)  # a retry
                else:
                    result.foreign_session_ids.append(spec.session_id)
                    result.dead_request_ids.extend(await not_waiting(db, spec))
                continue
            try:
                async with db.begin_nested():
                    await db.execute(
                        insert(SessionRow)
                        .values(**session_values(spec, input.created_at, rooms))
                        .on_conflict_do_nothing(index_elements=["id"])
                    )
            except (IntegrityError, InternalError) as error:
                if sqlstate(error) == BLOCKED_PAIR:
                    # The matchmaker learns the block and pairs both again without it.
                    result.blocked_user_pairs.append(
                        sorted((spec.participant_one_id, spec.participant_two_id))
                    )
                result.dead_request_ids.extend(await _refused_requests(db, spec, error))
                continue
            result.created_session_ids.append(spec.session_id)
            inserted.append(uuid.UUID(spec.session_id))
        waits = await match_waits(db, inserted)
    # Counted once committed, and only what this call inserted (a retry finds them made).
    metrics.sessions_created(len(inserted))
    metrics.matched(waits)
    return result


class PairingActivities(StartingActivities):
    """Composes the session writes and the workflow starts; both are safe to retry."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        starts: WorkflowStartActivities,
        metrics: BusinessMetrics | None = None,
        rooms: MeetingRooms = DEFAULT_ROOMS,
    ) -> None:
        super().__init__(sessionmaker, starts, metrics)
        self._rooms = rooms

    @activity.defn
    async def persist_pairs(self, input: PersistPairsInput) -> CreateSessionsResult:
        """Insert the sessions in one transaction, then start the workflows of those that exist
        (and end the workflows of the sessions they replace)."""
        specs = [session.spec for session in input.sessions]
        if input.dissolved:
            created = await rearrange_sessions(
                self._sessionmaker,
                RearrangeSessionsInput(
                    [session.session_id for session in input.dissolved], specs, input.created_at
                ),
                self._metrics,
                self._rooms,
            )
        else:
            created = await create_sessions(
                self._sessionmaker,
                CreateSessionsInput(sessions=specs, created_at=input.created_at),
                self._metrics,
                self._rooms,
            )
        ids = set(created.created_session_ids)
        started = [session for session in input.sessions if session.spec.session_id in ids]
        if created.foreign_session_ids and input.sessions:
            # Sessions an earlier attempt of this task wrote with other pairs: real sessions,
            # whose workflows that attempt may not have started.
            async with self._sessionmaker() as db:
                started += await sessions_as_written(
                    db, created.foreign_session_ids, input.sessions[0].policy
                )
        if started:
            await self._starts.start_sessions(StartSessionsInput(sessions=started))
        if started and input.dissolved:
            await self._starts.tell_rearranged(input.dissolved)
        return created
