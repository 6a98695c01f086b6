"""Activities that write sessions: create a pass's sessions, rearrange them, activate, complete."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError, InternalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.common import MetricMeter

from activities.errors import SLOT_STARTED, sqlstate
from activities.requests import request_spec
from contracts.policy import Policy
from contracts.sessions import (
    CreateSessionsInput,
    CreateSessionsResult,
    RearrangeSessionsInput,
    SessionChangeInput,
    SessionInput,
    SessionRowResult,
    SessionSpec,
)
from contracts.statuses import CancelReason, RequestStatus, SessionStatus
from db.models import MatchRequestRow, SessionRow
from observability.business import BusinessMetrics


def _session_values(spec: SessionSpec, created_at: datetime) -> dict[str, object]:
    return {
        "id": uuid.UUID(spec.session_id),
        "participant_one_id": spec.participant_one_id,
        "participant_two_id": spec.participant_two_id,
        "match_request_one_id": uuid.UUID(spec.match_request_one_id),
        "match_request_two_id": uuid.UUID(spec.match_request_two_id),
        "language_one_id": spec.language_one_id,
        "language_two_id": spec.language_two_id,
        "scheduled_start": spec.scheduled_start,
        "scheduled_end": spec.scheduled_start + timedelta(minutes=spec.duration_minutes),
        "duration_minutes": spec.duration_minutes,
        "status": SessionStatus.SCHEDULED,
        "created_at": created_at,
        "updated_at": created_at,
    }


async def _refused_requests(
    db: AsyncSession, spec: SessionSpec, error: IntegrityError | InternalError
) -> list[str]:
    """Which of the pair's requests the matchmaker must drop after the database refused it."""
    both = [spec.match_request_one_id, spec.match_request_two_id]
    if sqlstate(error) == SLOT_STARTED:
        return both  # they expire by their own timers
    dead = await _not_waiting(db, spec)
    if dead:
        return dead
    # Refused for a reason the pool cannot explain (a bug, not a race): drop the pair from this
    # run rather than retry it forever; the next run reloads whatever is still waiting.
    activity.logger.error("session %s refused: %s", spec.session_id, error.orig)
    return both


def _same_pair(row: SessionRow, spec: SessionSpec) -> bool:
    """Whether the row is the session the spec describes (the same two requests)."""
    return (str(row.match_request_one_id), str(row.match_request_two_id)) == (
        spec.match_request_one_id,
        spec.match_request_two_id,
    )


def _claimable() -> ColumnElement[bool]:
    """Waiting, and its owner has not asked to cancel it (the claim trigger's own rule)."""
    return (
        MatchRequestRow.status == RequestStatus.WAITING
    ) & MatchRequestRow.cancel_requested_at.is_(None)


async def _not_waiting(db: AsyncSession, spec: SessionSpec) -> list[str]:
    ids = [uuid.UUID(spec.match_request_one_id), uuid.UUID(spec.match_request_two_id)]
    rows = await db.execute(
        select(MatchRequestRow.id).where(MatchRequestRow.id.in_(ids), ~_claimable())
    )
    return [str(row_id) for (row_id,) in rows]


async def _match_waits(
    db: AsyncSession, session_ids: list[uuid.UUID], leaving_out: frozenset[uuid.UUID] = frozenset()
) -> list[timedelta]:
    """How long each request seated in these sessions waited from booking to this match."""
    if not session_ids:
        return []
    rows = await db.execute(
        select(MatchRequestRow.id, MatchRequestRow.matched_at, MatchRequestRow.created_at).where(
            MatchRequestRow.session_id.in_(session_ids)
        )
    )
    return [
        matched_at - created_at
        for request_id, matched_at, created_at in rows
        if request_id not in leaving_out and matched_at is not None
    ]


async def _requests_of(db: AsyncSession, session_ids: list[uuid.UUID]) -> frozenset[uuid.UUID]:
    """The two requests of each of these sessions."""
    rows = await db.execute(
        select(SessionRow.match_request_one_id, SessionRow.match_request_two_id).where(
            SessionRow.id.in_(session_ids)
        )
    )
    return frozenset(request_id for pair in rows for request_id in pair)


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
        select(MatchRequestRow.id, _claimable(), MatchRequestRow.session_id).where(
            MatchRequestRow.id.in_(ids)
        )
    )
    seated = {uuid.UUID(i) for i in input.dissolved_session_ids}
    return [
        str(request_id)
        for request_id, claimable, session_id in rows
        if not claimable and session_id not in seated
    ]


class SessionActivities:
    """Session writes; each is safe to retry."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        metrics: BusinessMetrics | None = None,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._metrics = metrics or BusinessMetrics(MetricMeter.noop)

    @activity.defn
    async def create_sessions(self, input: CreateSessionsInput) -> CreateSessionsResult:
        """Insert each pair's session; the database trigger claims both requests or refuses."""
        result = CreateSessionsResult()
        inserted: list[uuid.UUID] = []
        async with self._sessionmaker.begin() as db:
            for spec in input.sessions:
                existing = await db.get(SessionRow, uuid.UUID(spec.session_id))
                if existing is not None:
                    if _same_pair(existing, spec):
                        result.created_session_ids.append(spec.session_id)  # a retry
                    else:
                        result.foreign_session_ids.append(spec.session_id)
                        result.dead_request_ids.extend(await _not_waiting(db, spec))
                    continue
                try:
                    async with db.begin_nested():
                        await db.execute(
                            insert(SessionRow)
                            .values(**_session_values(spec, input.created_at))
                            .on_conflict_do_nothing(index_elements=["id"])
                        )
                except (IntegrityError, InternalError) as error:
                    result.dead_request_ids.extend(await _refused_requests(db, spec, error))
                    continue
                result.created_session_ids.append(spec.session_id)
                inserted.append(uuid.UUID(spec.session_id))
            waits = await _match_waits(db, inserted)
        # Counted once committed, and only what this call inserted (a retry finds them made).
        self._metrics.sessions_created(len(inserted))
        self._metrics.matched(waits)
        return result

    @activity.defn
    async def rearrange_sessions(self, input: RearrangeSessionsInput) -> CreateSessionsResult:
        """Cancel the old sessions as `rearranged` and insert the new ones, or change nothing and
        say why: a session someone has joined or cancelled meanwhile, or a request gone."""
        new_ids = [uuid.UUID(spec.session_id) for spec in input.sessions]
        try:
            async with self._sessionmaker.begin() as db:
                rows = await db.scalars(select(SessionRow).where(SessionRow.id.in_(new_ids)))
                existing = {row.id: row for row in rows}
                foreign = [
                    spec
                    for spec in input.sessions
                    if uuid.UUID(spec.session_id) in existing
                    and not _same_pair(existing[uuid.UUID(spec.session_id)], spec)
                ]
                if foreign:
                    # An earlier attempt of this task rearranged otherwise: nothing to do here.
                    dead = [r for spec in foreign for r in await _not_waiting(db, spec)]
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
                        [_session_values(spec, input.at) for spec in input.sessions]
                    )
                )
                waits = await _match_waits(db, new_ids, leaving_out=reseated)
        except _Abandoned as abandoned:
            return abandoned.result
        except (IntegrityError, InternalError) as error:
            async with self._sessionmaker() as db:
                gone = await _gone(db, input)
            if not gone:
                # Refused for a reason the pool cannot explain (a bug, not a race): change
                # nothing, and let the matchmaker carry on without this rearrangement.
                activity.logger.error("rearrangement refused: %s", error.orig)
            return CreateSessionsResult(dead_request_ids=gone)
        self._metrics.session_ended(CancelReason.REARRANGED, len(dissolved))
        self._metrics.sessions_created(len(new_ids))
        self._metrics.matched(waits)  # those who were waiting; the re-seated were matched before
        return CreateSessionsResult(created_session_ids=[str(i) for i in new_ids])

    async def as_written(self, session_ids: list[str], policy: Policy) -> list[SessionInput]:
        """These sessions' workflow inputs, read back from their rows."""
        async with self._sessionmaker() as db:
            return await sessions_as_written(db, session_ids, policy)

    @activity.defn
    async def activate_session(self, input: SessionChangeInput) -> SessionRowResult:
        """scheduled -> active once both have joined and nobody asked to cancel; `actual_start` is
        when the second of them was there (the start at the earliest), however late this runs. A
        retry finds it active and changes nothing; a recorded cancel leaves it scheduled."""
        async with self._sessionmaker.begin() as db:
            await db.execute(
                update(SessionRow)
                .where(
                    SessionRow.id == uuid.UUID(input.session_id),
                    SessionRow.status == SessionStatus.SCHEDULED,
                    SessionRow.cancel_requested_by.is_(None),
                    SessionRow.participant_one_joined_at.is_not(None),
                    SessionRow.participant_two_joined_at.is_not(None),
                )
                .values(
                    status=SessionStatus.ACTIVE,
                    actual_start=func.greatest(
                        SessionRow.scheduled_start,
                        SessionRow.participant_one_joined_at,
                        SessionRow.participant_two_joined_at,
                    ),
                    updated_at=input.at,
                )
            )
            return await session_facts(db, input.session_id)

    @activity.defn
    async def complete_session(self, input: SessionChangeInput) -> SessionRowResult:
        """active -> completed: at the end asked for (when that reached Parley), else at `at`."""
        async with self._sessionmaker.begin() as db:
            changed = await db.scalar(
                update(SessionRow)
                .where(
                    SessionRow.id == uuid.UUID(input.session_id),
                    SessionRow.status == SessionStatus.ACTIVE,
                )
                .values(
                    status=SessionStatus.COMPLETED,
                    actual_end=func.coalesce(SessionRow.end_requested_at, input.at),
                    ended_by=SessionRow.end_requested_by,
                    updated_at=input.at,
                )
                .returning(SessionRow.id)
            )
            facts = await session_facts(db, input.session_id)
        if changed is not None:
            self._metrics.session_ended(SessionStatus.COMPLETED)
        return facts


async def sessions_as_written(
    db: AsyncSession, session_ids: list[str], policy: Policy
) -> list[SessionInput]:
    """What each of these sessions' workflows must be started with, from the rows."""
    rows = await db.scalars(
        select(SessionRow).where(SessionRow.id.in_([uuid.UUID(i) for i in session_ids]))
    )
    inputs = []
    for row in rows:
        one = await db.get(MatchRequestRow, row.match_request_one_id)
        two = await db.get(MatchRequestRow, row.match_request_two_id)
        assert one is not None and two is not None
        inputs.append(
            SessionInput(
                spec=SessionSpec(
                    session_id=str(row.id),
                    participant_one_id=row.participant_one_id,
                    participant_two_id=row.participant_two_id,
                    match_request_one_id=str(row.match_request_one_id),
                    match_request_two_id=str(row.match_request_two_id),
                    language_one_id=row.language_one_id,
                    language_two_id=row.language_two_id,
                    scheduled_start=row.scheduled_start,
                    duration_minutes=row.duration_minutes,
                ),
                request_one=request_spec(one),
                request_two=request_spec(two),
                policy=policy,
            )
        )
    return inputs


async def session_facts(db: AsyncSession, session_id: str) -> SessionRowResult:
    """The session's row as it stands in this transaction."""
    row = await db.get(SessionRow, uuid.UUID(session_id), populate_existing=True)
    if row is None:
        return SessionRowResult(session_id=session_id, status="missing")
    rematches = await db.scalars(
        select(MatchRequestRow.id)
        .where(MatchRequestRow.origin_session_id == row.id)
        .order_by(MatchRequestRow.id)
    )
    return SessionRowResult(
        session_id=session_id,
        status=row.status,
        cancel_reason=row.cancel_reason,
        cancelled_by=row.cancelled_by,
        joined_user_ids=sorted(joined_user_ids(row)),
        cancel_requested_by=row.cancel_requested_by,
        rematch_request_ids=[str(i) for i in rematches],
        rematch_refusal=row.rematch_refusal,
    )


def joined_user_ids(row: SessionRow) -> frozenset[str]:
    """The participants whose join the row records."""
    stamps = (
        (row.participant_one_id, row.participant_one_joined_at),
        (row.participant_two_id, row.participant_two_joined_at),
    )
    return frozenset(user for user, joined_at in stamps if joined_at is not None)
