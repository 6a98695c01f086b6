"""Settling sessions in Postgres: the shard sweep, a session alone, receipts, racing joins, and
the let-down partner's rematch booked in the same transaction that cancels the session."""

from __future__ import annotations

import itertools
import uuid
from datetime import datetime, timedelta
from typing import Any

import psycopg
from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from activities.rematches import rematch_request_id
from activities.session_rows import session_facts
from activities.settlement import settle_due
from api import receipts
from contracts.policy import Policy
from db.models import SessionRow
from tests.rows import SLOT, insert_pair, insert_request, status_of

ENGLISH_SPANISH = ("english", "spanish")
POLICY = Policy(slot_minutes=10, join_opens_minutes=5, no_show_grace_seconds=120)
DEADLINE = timedelta(minutes=2)
_slots = itertools.count(1)


def fresh_slot() -> datetime:
    """A slot no other test books, so that a shard sweep sees only this test's sessions."""
    return SLOT + timedelta(days=400, hours=next(_slots))


def shard(slot: datetime) -> ColumnElement[bool]:
    """The English-Spanish, 60-minute sessions of one slot."""
    return (
        (SessionRow.scheduled_start == slot)
        & (SessionRow.duration_minutes == 60)
        & SessionRow.language_one_id.in_(ENGLISH_SPANISH)
        & SessionRow.language_two_id.in_(ENGLISH_SPANISH)
    )


async def sweep(
    sessionmaker: async_sessionmaker[AsyncSession], slot: datetime, at: datetime
) -> list[str]:
    """The shard's settlement at `at`, committed."""
    async with sessionmaker.begin() as db:
        return (await settle_due(db, shard(slot), at, POLICY)).cancelled_session_ids


async def settle_one(
    sessionmaker: async_sessionmaker[AsyncSession], session_id: uuid.UUID, at: datetime
) -> Any:
    """One session's settlement at `at`, committed; what the row says afterwards."""
    async with sessionmaker.begin() as db:
        await settle_due(db, SessionRow.id == session_id, at, POLICY)
        return await session_facts(db, str(session_id))


def session_status(conn: psycopg.Connection[Any], session_id: uuid.UUID) -> tuple[Any, ...]:
    """A session's status, cancel reason and canceller."""
    row = conn.execute(
        "SELECT status, cancel_reason, cancelled_by FROM sessions WHERE id = %s", (session_id,)
    ).fetchone()
    assert row is not None
    return tuple(row)


def rematches_of(conn: psycopg.Connection[Any], session_id: uuid.UUID) -> list[tuple[Any, ...]]:
    """(user, status, priority, slot) of every request booked to make up for this session."""
    return [
        tuple(row)
        for row in conn.execute(
            "SELECT user_id, status, priority, availability_start FROM match_requests"
            " WHERE origin_session_id = %s ORDER BY user_id",
            (session_id,),
        )
    ]


async def join(
    sessionmaker: async_sessionmaker[AsyncSession],
    session_id: uuid.UUID,
    user_id: str,
    at: datetime,
) -> bool:
    """Record a join as the API does; whether the row took it."""
    async with sessionmaker() as db:
        return await receipts.record_join(db, session_id, user_id, at) is not None


async def test_the_shard_sweep_cancels_the_sessions_someone_has_not_joined_and_rematches_who_came(
    conn: psycopg.Connection[Any], sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    slot = fresh_slot()
    full, (full_one, _), (full_two, _) = insert_pair(conn, slot)
    half, (half_one, half_one_request), (_, half_two_request) = insert_pair(conn, slot)
    empty, (_, empty_one_request), (_, empty_two_request) = insert_pair(conn, slot)
    elsewhere, (_, elsewhere_request), _ = insert_pair(conn, slot, ("french", "german"))
    for session_id, user_id in ((full, full_one), (full, full_two), (half, half_one)):
        assert await join(sessionmaker, session_id, user_id, slot)

    swept = await sweep(sessionmaker, slot, slot + DEADLINE)

    assert sorted(swept) == sorted([str(half), str(empty)])
    assert session_status(conn, half) == ("cancelled", "no_show", None)
    assert session_status(conn, empty) == ("cancelled", "no_show", None)
    assert session_status(conn, full)[0] == "scheduled"
    assert session_status(conn, elsewhere)[0] == "scheduled"
    assert status_of(conn, half_one_request)[0] == "matched"  # came: not a no-show
    for absentee in (half_two_request, empty_one_request, empty_two_request):
        assert status_of(conn, absentee)[0] == "no_show"
    assert status_of(conn, elsewhere_request)[0] == "matched"
    assert rematches_of(conn, half) == [(half_one, "waiting", 1, slot + timedelta(minutes=10))]
    assert rematches_of(conn, empty) == []
    assert await sweep(sessionmaker, slot, slot + DEADLINE) == []
    assert len(rematches_of(conn, half)) == 1


async def test_the_rematch_commits_with_the_cancellation_never_apart(
    database_url: str,
    conn: psycopg.Connection[Any],
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    slot = fresh_slot()
    session_id, (one, _), _ = insert_pair(conn, slot)
    assert await join(sessionmaker, session_id, one, slot)
    async with sessionmaker.begin() as db:
        settled = await settle_due(db, shard(slot), slot + DEADLINE, POLICY)
        assert settled.cancelled_session_ids == [str(session_id)]
        # Not yet committed: another reader sees neither the cancellation nor the rematch.
        with psycopg.connect(database_url, autocommit=True) as reader:
            assert session_status(reader, session_id)[0] == "scheduled"
            assert rematches_of(reader, session_id) == []
    assert session_status(conn, session_id)[0] == "cancelled"
    assert [r[0] for r in rematches_of(conn, session_id)] == [one]


async def test_a_session_settles_alone_with_the_same_rules_and_reports_what_happened(
    conn: psycopg.Connection[Any], sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    slot = fresh_slot()
    session_id, (one, _), (_, two_request) = insert_pair(conn, slot)
    assert await join(sessionmaker, session_id, one, slot)
    facts = await settle_one(sessionmaker, session_id, slot + DEADLINE)
    assert (facts.status, facts.cancel_reason, facts.joined_user_ids) == (
        "cancelled",
        "no_show",
        [one],
    )
    assert facts.rematch_request_ids == [rematch_request_id(str(session_id), one)]
    assert status_of(conn, two_request)[0] == "no_show"
    assert await settle_one(sessionmaker, session_id, slot + DEADLINE) == facts


async def test_before_the_deadline_a_session_nobody_cancelled_is_left_alone(
    conn: psycopg.Connection[Any], sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    slot = fresh_slot()
    session_id, _, _ = insert_pair(conn, slot)
    facts = await settle_one(sessionmaker, session_id, slot + DEADLINE - timedelta(seconds=1))
    assert facts.status == "scheduled" and facts.rematch_request_ids == []


async def test_a_session_both_have_joined_is_left_scheduled(
    conn: psycopg.Connection[Any], sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    slot = fresh_slot()
    session_id, (one, _), (two, _) = insert_pair(conn, slot)
    for user_id in (one, two):
        assert await join(sessionmaker, session_id, user_id, slot)
    facts = await settle_one(sessionmaker, session_id, slot + DEADLINE)
    assert facts.status == "scheduled" and facts.joined_user_ids == sorted([one, two])


async def test_a_cancel_recorded_before_the_start_is_judged_then_however_late_it_is_settled(
    conn: psycopg.Connection[Any], sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    slot = fresh_slot()
    session_id, (one, _), (two, two_request) = insert_pair(conn, slot)
    async with sessionmaker() as db:
        recorded = await receipts.record_session_cancel(
            db, session_id, two, slot - timedelta(minutes=1)
        )
    assert recorded is not None
    # No worker ran until well after the deadline: the sweep carries the cancel out as it was.
    assert await sweep(sessionmaker, slot, slot + timedelta(minutes=7)) == [str(session_id)]
    assert session_status(conn, session_id) == ("cancelled", "cancelled_by_user", two)
    assert status_of(conn, two_request)[0] == "cancelled"
    # The slot has started by now, so the partner is rematched into the next one.
    assert rematches_of(conn, session_id) == [(one, "waiting", 1, slot + timedelta(minutes=10))]


async def test_a_rematch_that_would_double_book_is_refused_and_recorded_on_the_session(
    conn: psycopg.Connection[Any], sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    slot = fresh_slot()
    session_id, (one, _), _ = insert_pair(conn, slot)
    insert_request(conn, one, "english", "french", start=slot + timedelta(minutes=60))
    assert await join(sessionmaker, session_id, one, slot)
    facts = await settle_one(sessionmaker, session_id, slot + timedelta(minutes=55))
    assert facts.status == "cancelled" and facts.rematch_request_ids == []
    assert facts.rematch_refusal is not None and "overlaps" in facts.rematch_refusal
