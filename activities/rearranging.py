"""A rearrangement in one transaction: dissolve sessions nobody joined, seat their people anew."""

from __future__ import annotations

import uuid

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError, InternalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from activities.errors import BLOCKED_PAIR, EXCLUSION_VIOLATION, sqlstate
from activities.meeting_rooms import DEFAULT_ROOMS, MeetingRooms
from activities.session_rows import (
    claimable,
    match_waits,
    not_waiting,
    same_pair,
    session_values,
)
from contracts.sessions import (
    CreateSessionsResult,
    RearrangeSessionsInput,
)
from contracts.statuses import CancelReason, SessionStatus
from db.blocks import blocked_pairs_among
from db.models import MatchRequestRow, SessionRow
from observability.business import NO_METRICS, BusinessMetrics


async def _requests_of(db: AsyncSession, session_ids: list[uuid.UUID]) -> frozenset[uuid.UUID]:
    """The two requests of each of these sessions."""
    rows = await db.execute(
        select(SessionRow.match_request_one_id, SessionRow.match_request_two_id).where(
            SessionRow.id.in_(session_ids)
        )
    )
    return frozenset(request_id for pair in rows for request_id in pair)


async def _blocked(
    sessionmaker: async_sessionmaker[AsyncSession], input: RearrangeSessionsInput
) -> list[list[str]]:
    """The new pairs whose people block each other (a block made since the pool was read)."""
    pairs = [frozenset((s.participant_one_id, s.participant_two_id)) for s in input.sessions]
    async with sessionmaker() as db:
        blocked = await blocked_pairs_among(db, {user for pair in pairs for user in pair})
    return [sorted(pair) for pair in pairs if pair in blocked]


class _Abandoned(Exception):
    """Roll the transaction back and answer with this result."""

    def __init__(self, result: CreateSessionsResult) -> None:
        super().__init__("rearrangement abandoned")
        self.result = result


async def _gone(db: AsyncSession, input: RearrangeSessionsInput) -> list[str]:
    """Requests of a refused rearrangement that are neither waiting nor in a dissolved session."""
    ids = {
        uuid.UUID(i)
        for spec in input.sessions
        for i in (spec.match_request_one_id, spec.match_request_two_id)
    }
    rows = await db.execute(
        select(MatchRequestRow.id, claimable(), MatchRequestRow.session_id).where(
            MatchRequestRow.id.in_(ids)
        )
    )
    seated = {uuid.UUID(i) for i in input.dissolved_session_ids}
    return [
        str(request_id)
        for request_id, claimable, session_id in rows
        if not claimable and session_id not in seated
    ]


async def rearrange_sessions(
    sessionmaker: async_sessionmaker[AsyncSession],
    input: RearrangeSessionsInput,
    metrics: BusinessMetrics = NO_METRICS,
    rooms: MeetingRooms = DEFAULT_ROOMS,
) -> CreateSessionsResult:
    """Cancel the old sessions as `rearranged` and insert the new ones, or change nothing and
    say why: a session someone has joined or cancelled meanwhile, or a request gone."""
    new_ids = [uuid.UUID(spec.session_id) for spec in input.sessions]
    try:
        async with sessionmaker.begin() as db:
            rows = await db.scalars(select(SessionRow).where(SessionRow.id.in_(new_ids)))
            existing = {row.id: row for row in rows}
            foreign = [
                spec
                for spec in input.sessions
                if uuid.UUID(spec.session_id) in existing
                and not same_pair(existing[uuid.UUID(spec.session_id)], spec)
            ]
            if foreign:
                # An earlier attempt of this task rearranged otherwise: nothing to do here.
                dead = [r for spec in foreign for r in await not_waiting(db, spec)]
                raise _Abandoned(
                    CreateSessionsResult(
                        stale_session_ids=list(input.dissolved_session_ids),
                        foreign_session_ids=[spec.session_id for spec in foreign],
                        dead_request_ids=dead,
                    )
                )
            if set(existing) == set(new_ids):
                # A retry of a rearrangement that committed.
                return CreateSessionsResult(created_session_ids=[str(i) for i in new_ids])
            dissolved = set(
                await db.scalars(
                    update(SessionRow)
                    .where(
                        SessionRow.id.in_([uuid.UUID(i) for i in input.dissolved_session_ids]),
                        SessionRow.status == SessionStatus.SCHEDULED,
                        SessionRow.participant_one_joined_at.is_(None),
                        SessionRow.participant_two_joined_at.is_(None),
                        SessionRow.cancel_requested_by.is_(None),
                    )
                    .values(
                        status=SessionStatus.CANCELLED,
                        cancel_reason=CancelReason.REARRANGED,
                        updated_at=input.at,
                    )
                    .returning(SessionRow.id)
                )
            )
            stale = [i for i in input.dissolved_session_ids if uuid.UUID(i) not in dissolved]
            if stale:
                raise _Abandoned(CreateSessionsResult(stale_session_ids=stale))
            reseated = await _requests_of(db, list(dissolved))
            await db.execute(
                insert(SessionRow).values(
                    [session_values(spec, input.at, rooms) for spec in input.sessions]
                )
            )
            waits = await match_waits(db, new_ids, leaving_out=reseated)
    except _Abandoned as abandoned:
        return abandoned.result
    except (IntegrityError, InternalError) as error:
        if sqlstate(error) == BLOCKED_PAIR:
            return CreateSessionsResult(blocked_user_pairs=await _blocked(sessionmaker, input))
        if sqlstate(error) == EXCLUSION_VIOLATION:
            # A swap moved someone to another slot of their window, which they have booked
            # since their match freed it: no bug, and nothing changes.
            activity.logger.info("rearrangement refused: it would double-book someone")
            return CreateSessionsResult()
        async with sessionmaker() as db:
            gone = await _gone(db, input)
        if not gone:
            # Refused for a reason the pool cannot explain (a bug, not a race): change
            # nothing, and let the matchmaker carry on without this rearrangement.
            activity.logger.error("rearrangement refused: %s", error.orig)
        return CreateSessionsResult(dead_request_ids=gone)
    metrics.session_ended(CancelReason.REARRANGED, len(dissolved))
    metrics.sessions_created(len(new_ids))
    metrics.matched(waits)  # those who were waiting; the re-seated were matched before
    return CreateSessionsResult(created_session_ids=[str(i) for i in new_ids])
