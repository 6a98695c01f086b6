"""Whom a new booking could ever pair with, and the parked requests among them.

A booking wakes its matchmaker only when someone it could pair with is waiting, or seated in a
session a swap could still free; otherwise it parks (`match_requests.matchmaker_told_at` stays
empty) and the next booking that could pair with it carries it to the matchmaker. The looks here
are wider than any pass's rules (levels as far apart as widening ever allows, blocks and slot
bookability ignored), so a parked request is one no pass could have used.

Why nothing is lost between two bookings that arrive together: each commits its row before it
looks, so of two such bookings the later look sees the earlier row.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.requests import RequestSpec
from contracts.statuses import RequestStatus, SessionStatus
from db.models import MatchRequestRow, SessionRow
from domain.levels import Level, levels_within

WAITING = MatchRequestRow.status == RequestStatus.WAITING
PARKED = MatchRequestRow.matchmaker_told_at.is_(None)


def could_pair_with(
    spec: RequestSpec, now: datetime, level_steps: int
) -> list[ColumnElement[bool]]:
    """Requests `spec` could pair with under the widest rules: reversed languages, the same
    duration, windows sharing a slot start still ahead, levels within `level_steps`."""
    return [
        MatchRequestRow.native_language_id == spec.learning_language_id,
        MatchRequestRow.learning_language_id == spec.native_language_id,
        MatchRequestRow.preferred_duration_minutes == spec.preferred_duration_minutes,
        MatchRequestRow.availability_start <= spec.last_start,
        MatchRequestRow.availability_end >= spec.availability_start,
        MatchRequestRow.availability_end > now,
        MatchRequestRow.proficiency_level.in_(
            [str(level) for level in levels_within(Level(spec.proficiency_level), level_steps)]
        ),
        MatchRequestRow.user_id != spec.user_id,
        MatchRequestRow.cancel_requested_at.is_(None),
    ]


def open_to_swaps(now: datetime, join_opens: timedelta) -> list[ColumnElement[bool]]:
    """Sessions whose partners a matchmaker may still swap: scheduled, nobody joined or asked
    to cancel, and joining not yet open."""
    return [
        SessionRow.status == SessionStatus.SCHEDULED,
        SessionRow.scheduled_start > now + join_opens,
        SessionRow.participant_one_joined_at.is_(None),
        SessionRow.participant_two_joined_at.is_(None),
        SessionRow.cancel_requested_by.is_(None),
    ]


async def parked_counterparts(
    db: AsyncSession, spec: RequestSpec, now: datetime, level_steps: int
) -> Sequence[MatchRequestRow]:
    """The parked requests `spec` could pair with, longest waiting first."""
    rows = await db.scalars(
        select(MatchRequestRow)
        .where(WAITING, PARKED, *could_pair_with(spec, now, level_steps))
        .order_by(MatchRequestRow.created_at, MatchRequestRow.id)
    )
    return rows.all()


async def has_counterpart(
    db: AsyncSession, spec: RequestSpec, now: datetime, level_steps: int, join_opens: timedelta
) -> bool:
    """Whether anyone `spec` could pair with is waiting, or seated in a session nobody has
    joined that swaps may still change (a swap could free them for `spec`)."""
    waiting = exists().where(WAITING, *could_pair_with(spec, now, level_steps))
    seated = exists().where(
        MatchRequestRow.status == RequestStatus.MATCHED,
        *could_pair_with(spec, now, level_steps),
        SessionRow.id == MatchRequestRow.session_id,
        *open_to_swaps(now, join_opens),
    )
    return bool(await db.scalar(select(waiting | seated)))


async def mark_told(db: AsyncSession, request_ids: Sequence[uuid.UUID], at: datetime) -> None:
    """Record that a matchmaker now holds these requests (a request keeps its first mark)."""
    await db.execute(
        update(MatchRequestRow)
        .where(MatchRequestRow.id.in_(request_ids), PARKED)
        .values(matchmaker_told_at=at)
    )
