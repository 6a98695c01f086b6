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
from workflows.contracts import SessionSpec


@dataclass
class CreateSessionsInput:
    """A batch of pairs from one matchmaker pass, persisted in one transaction."""

    sessions: list[SessionSpec]
    created_at: datetime


@dataclass
class CreateSessionsResult:
    """Which sessions exist now, and which requests turned out not to be waiting any more."""

    created_session_ids: list[str] = field(default_factory=list)
    dead_request_ids: list[str] = field(default_factory=list)


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
    """A session's status as the database holds it after the activity."""

    session_id: str
    status: str


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
    async def record_join(self, input: RecordJoinInput) -> SessionRowResult:
        """Stamp the participant's first join time."""
        is_one = SessionRow.participant_one_id == input.user_id
        is_two = SessionRow.participant_two_id == input.user_id
        async with self._sessionmaker.begin() as db:
            await db.execute(
                update(SessionRow)
                .where(SessionRow.id == uuid.UUID(input.session_id), is_one | is_two)
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
                    for status, ids in (
                        ("cancelled", input.cancelled_request_ids),
                        ("no_show", input.no_show_request_ids),
                    ):
                        if ids:
                            await db.execute(
                                update(MatchRequestRow)
                                .where(
                                    MatchRequestRow.id.in_([uuid.UUID(i) for i in ids]),
                                    MatchRequestRow.status == "matched",
                                )
                                .values(
                                    status=status, status_reason=input.reason, updated_at=input.at
                                )
                            )
                return await self._status(db, input.session_id)
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
        status = await db.scalar(
            select(SessionRow.status).where(SessionRow.id == uuid.UUID(session_id))
        )
        return SessionRowResult(session_id=session_id, status=status or "missing")
