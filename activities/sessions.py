"""Activities that write sessions and the request statuses a session's end implies."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, case, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError, InternalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from activities.errors import SLOT_STARTED, refusal_from_database, sqlstate
from db.models import MatchRequestRow, SessionRow
from domain.session_rules import NO_SHOW, REARRANGED
from workflows.contracts import SessionSpec


@dataclass
class CreateSessionsInput:
    """A batch of pairs from one matchmaker pass, persisted in one transaction."""

    sessions: list[SessionSpec]
    created_at: datetime


@dataclass
class CreateSessionsResult:
    """Which sessions exist now, which requests turned out not to be waiting any more, and
    (for a rearrangement) which sessions could no longer be dissolved."""

    created_session_ids: list[str] = field(default_factory=list)
    dead_request_ids: list[str] = field(default_factory=list)
    stale_session_ids: list[str] = field(default_factory=list)


@dataclass
class RearrangeSessionsInput:
    """Dissolve these sessions and seat their people, and some waiting ones, in new sessions:
    all of it in one transaction, or none of it."""

    dissolved_session_ids: list[str]
    sessions: list[SessionSpec]
    at: datetime


@dataclass
class RecordJoinInput:
    """A participant joined."""

    session_id: str
    user_id: str
    at: datetime


@dataclass
class SessionChangeInput:
    """Move a session forward: `active`, or `completed` (with who ended it)."""

    session_id: str
    at: datetime
    by_user_id: str | None = None


@dataclass
class CancelSessionInput:
    """Cancel a scheduled session and mark its requests, all in one transaction."""

    session_id: str
    at: datetime
    reason: str
    cancelled_by: str | None
    cancelled_request_ids: list[str] = field(default_factory=list)
    no_show_request_ids: list[str] = field(default_factory=list)


@dataclass
class SessionRowResult:
    """A session as the database holds it after the activity: the facts its workflow adopts,
    since the slot's no-show sweep may have closed it first."""

    session_id: str
    status: str
    cancel_reason: str | None = None
    cancelled_by: str | None = None
    joined_user_ids: list[str] = field(default_factory=list)


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
        "status": "scheduled",
        "created_at": created_at,
        "updated_at": created_at,
    }


def _first_stamp(applies: ColumnElement[bool], column: Any, at: datetime) -> Any:
    """The column's value, or `at` when this participant's stamp is still empty."""
    return case((applies & column.is_(None), at), else_=column)


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


async def _not_waiting(db: AsyncSession, spec: SessionSpec) -> list[str]:
    ids = [uuid.UUID(spec.match_request_one_id), uuid.UUID(spec.match_request_two_id)]
    rows = await db.execute(
        select(MatchRequestRow.id).where(
            MatchRequestRow.id.in_(ids), MatchRequestRow.status != "waiting"
        )
    )
    return [str(row_id) for (row_id,) in rows]


async def _mark(
    db: AsyncSession, request_ids: list[str], status: str, reason: str, at: datetime
) -> None:
    """Move the matched requests among `request_ids` to `status`."""
    if request_ids:
        await db.execute(
            update(MatchRequestRow)
            .where(
                MatchRequestRow.id.in_([uuid.UUID(i) for i in request_ids]),
                MatchRequestRow.status == "matched",
            )
            .values(status=status, status_reason=reason, updated_at=at)
        )


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
        select(MatchRequestRow.id, MatchRequestRow.status, MatchRequestRow.session_id).where(
            MatchRequestRow.id.in_(ids)
        )
    )
    seated = {uuid.UUID(i) for i in input.dissolved_session_ids}
    return [
        str(request_id)
        for request_id, status, session_id in rows
        if status != "waiting" and session_id not in seated
    ]


class SessionActivities:
    """Session writes; each is safe to retry."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker

    @activity.defn
    async def create_sessions(self, input: CreateSessionsInput) -> CreateSessionsResult:
        """Insert each pair's session; the database trigger claims both requests or refuses."""
        result = CreateSessionsResult()
        async with self._sessionmaker.begin() as db:
            for spec in input.sessions:
                if await db.get(SessionRow, uuid.UUID(spec.session_id)) is not None:
                    result.created_session_ids.append(spec.session_id)
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
        return result

    @activity.defn
    async def rearrange_sessions(self, input: RearrangeSessionsInput) -> CreateSessionsResult:
        """Cancel the old sessions as `rearranged` and insert the new ones, or change nothing and
        say why: a session someone has joined or cancelled meanwhile, or a request gone."""
        new_ids = [uuid.UUID(spec.session_id) for spec in input.sessions]
        try:
            async with self._sessionmaker.begin() as db:
                existing = await db.scalars(select(SessionRow.id).where(SessionRow.id.in_(new_ids)))
                if set(existing) == set(new_ids):
                    # A retry of a rearrangement that committed.
                    return CreateSessionsResult(created_session_ids=[str(i) for i in new_ids])
                dissolved = set(
                    await db.scalars(
                        update(SessionRow)
                        .where(
                            SessionRow.id.in_([uuid.UUID(i) for i in input.dissolved_session_ids]),
                            SessionRow.status == "scheduled",
                            SessionRow.participant_one_joined_at.is_(None),
                            SessionRow.participant_two_joined_at.is_(None),
                        )
                        .values(status="cancelled", cancel_reason=REARRANGED, updated_at=input.at)
                        .returning(SessionRow.id)
                    )
                )
                stale = [i for i in input.dissolved_session_ids if uuid.UUID(i) not in dissolved]
                if stale:
                    raise _Abandoned(CreateSessionsResult(stale_session_ids=stale))
                await db.execute(
                    insert(SessionRow).values(
                        [_session_values(spec, input.at) for spec in input.sessions]
                    )
                )
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
        return CreateSessionsResult(created_session_ids=[str(i) for i in new_ids])

    @activity.defn
    async def record_join(self, input: RecordJoinInput) -> SessionRowResult:
        """Stamp the participant's first join time, unless the session has closed meanwhile
        (the slot's no-show sweep): the row lock orders a join and the sweep, either way."""
        is_one = SessionRow.participant_one_id == input.user_id
        is_two = SessionRow.participant_two_id == input.user_id
        async with self._sessionmaker.begin() as db:
            await db.execute(
                update(SessionRow)
                .where(
                    SessionRow.id == uuid.UUID(input.session_id),
                    SessionRow.status == "scheduled",
                    is_one | is_two,
                )
                .values(
                    participant_one_joined_at=_first_stamp(
                        is_one, SessionRow.participant_one_joined_at, input.at
                    ),
                    participant_two_joined_at=_first_stamp(
                        is_two, SessionRow.participant_two_joined_at, input.at
                    ),
                    updated_at=input.at,
                )
            )
            return await self._status(db, input.session_id)

    @activity.defn
    async def activate_session(self, input: SessionChangeInput) -> SessionRowResult:
        """scheduled -> active with actual_start; a retry finds it active and changes nothing."""
        return await self._advance(input, "scheduled", status="active", actual_start=input.at)

    @activity.defn
    async def complete_session(self, input: SessionChangeInput) -> SessionRowResult:
        """active -> completed with actual_end and who ended it, if anyone did."""
        return await self._advance(
            input, "active", status="completed", actual_end=input.at, ended_by=input.by_user_id
        )

    @activity.defn
    async def cancel_session(self, input: CancelSessionInput) -> SessionRowResult:
        """Cancel the session and mark its requests `cancelled` or `no_show` together."""
        try:
            async with self._sessionmaker.begin() as db:
                changed = await db.execute(
                    update(SessionRow)
                    .where(
                        SessionRow.id == uuid.UUID(input.session_id),
                        SessionRow.status == "scheduled",
                    )
                    .values(
                        status="cancelled",
                        cancel_reason=input.reason,
                        cancelled_by=input.cancelled_by,
                        updated_at=input.at,
                    )
                    .returning(SessionRow.id)
                )
                if changed.first() is not None:
                    await _mark(
                        db, input.cancelled_request_ids, "cancelled", input.reason, input.at
                    )
                    await _mark(db, input.no_show_request_ids, "no_show", input.reason, input.at)
                    return await self._status(db, input.session_id)
                facts = await self._status(db, input.session_id)
                if input.cancelled_by and (facts.cancel_reason, facts.cancelled_by) == (
                    NO_SHOW,
                    None,
                ):
                    # The deadline's sweep got there first; the canceller's request still leaves.
                    why = "cancelled by user as the no-show deadline passed"
                    await _mark(db, input.cancelled_request_ids, "cancelled", why, input.at)
                return facts
        except (IntegrityError, InternalError) as error:
            raise refusal_from_database(error) from None

    async def _advance(
        self, input: SessionChangeInput, from_status: str, **values: object
    ) -> SessionRowResult:
        async with self._sessionmaker.begin() as db:
            await db.execute(
                update(SessionRow)
                .where(
                    SessionRow.id == uuid.UUID(input.session_id), SessionRow.status == from_status
                )
                .values(updated_at=input.at, **values)
            )
            return await self._status(db, input.session_id)

    async def _status(self, db: AsyncSession, session_id: str) -> SessionRowResult:
        return await session_facts(db, session_id)


async def session_facts(db: AsyncSession, session_id: str) -> SessionRowResult:
    """The session's row as it stands in this transaction."""
    row = await db.get(SessionRow, uuid.UUID(session_id), populate_existing=True)
    if row is None:
        return SessionRowResult(session_id=session_id, status="missing")
    return SessionRowResult(
        session_id=session_id,
        status=row.status,
        cancel_reason=row.cancel_reason,
        cancelled_by=row.cancelled_by,
        joined_user_ids=sorted(joined_user_ids(row)),
    )


def joined_user_ids(row: SessionRow) -> frozenset[str]:
    """The participants whose join the row records."""
    stamps = (
        (row.participant_one_id, row.participant_one_joined_at),
        (row.participant_two_id, row.participant_two_joined_at),
    )
    return frozenset(user for user, joined_at in stamps if joined_at is not None)
