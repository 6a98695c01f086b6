"""The no-show deadline, enforced in Postgres: sessions someone has not joined are cancelled.

Every session of a slot shares one deadline (start + grace), so each matchmaker settles all of its
shard's sessions in one transaction when the deadline comes, instead of one workflow task per
session on a server that fires a few hundred timers a second. Each session's own durable timer
follows shortly after and settles that session alone if the sweep has not (the same rules, the
same statement), then does what only the session's workflow can: rematch whoever came.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from activities.sessions import SessionRowResult, joined_user_ids, session_facts
from db.models import MatchRequestRow, SessionRow
from domain import session_rules
from domain.session_rules import Participant


@dataclass
class ShardNoShowsInput:
    """A matchmaker's shard (slot, duration, language pair) at its no-show deadline."""

    slot_start: datetime
    duration_minutes: int
    languages: tuple[str, str]
    at: datetime


@dataclass
class ShardNoShowsResult:
    """The sessions this sweep cancelled."""

    cancelled_session_ids: list[str] = field(default_factory=list)


@dataclass
class SessionNoShowInput:
    """One session at its no-show deadline."""

    session_id: str
    at: datetime


def _participants(row: SessionRow) -> tuple[Participant, Participant]:
    return (
        Participant(row.participant_one_id, str(row.match_request_one_id)),
        Participant(row.participant_two_id, str(row.match_request_two_id)),
    )


async def _settle(db: AsyncSession, which: ColumnElement[bool], at: datetime) -> list[str]:
    """Cancel the matching scheduled sessions that someone has not joined; absentees' requests
    become `no_show`. Row locks order this against a join landing at the same moment."""
    rows = (
        await db.scalars(
            select(SessionRow)
            .where(
                which,
                SessionRow.status == "scheduled",
                or_(
                    SessionRow.participant_one_joined_at.is_(None),
                    SessionRow.participant_two_joined_at.is_(None),
                ),
            )
            .order_by(SessionRow.id)
            .with_for_update()
        )
    ).all()
    if not rows:
        return []
    absent = [
        uuid.UUID(participant.request_id)
        for row in rows
        for participant in session_rules.absentees(_participants(row), joined_user_ids(row))
    ]
    await db.execute(
        update(SessionRow)
        .where(SessionRow.id.in_([row.id for row in rows]))
        .values(
            status="cancelled",
            cancel_reason=session_rules.NO_SHOW,
            cancelled_by=None,
            updated_at=at,
        )
    )
    await db.execute(
        update(MatchRequestRow)
        .where(MatchRequestRow.id.in_(absent), MatchRequestRow.status == "matched")
        .values(status="no_show", status_reason=session_rules.NO_SHOW, updated_at=at)
    )
    return [str(row.id) for row in rows]


class NoShowActivities:
    """No-show settlement; settling twice changes nothing the second time."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker

    @activity.defn
    async def settle_shard_no_shows(self, input: ShardNoShowsInput) -> ShardNoShowsResult:
        """Every no-show session of the shard, cancelled in one transaction."""
        one, two = input.languages
        shard = (
            (SessionRow.scheduled_start == input.slot_start)
            & (SessionRow.duration_minutes == input.duration_minutes)
            & SessionRow.language_one_id.in_((one, two))
            & SessionRow.language_two_id.in_((one, two))
        )
        async with self._sessionmaker.begin() as db:
            return ShardNoShowsResult(await _settle(db, shard, input.at))

    @activity.defn
    async def settle_session_no_show(self, input: SessionNoShowInput) -> SessionRowResult:
        """This session cancelled if someone has not joined (unless the sweep did it); its facts."""
        async with self._sessionmaker.begin() as db:
            await _settle(db, SessionRow.id == uuid.UUID(input.session_id), input.at)
            return await session_facts(db, input.session_id)
