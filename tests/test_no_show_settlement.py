"""The no-show deadline in Postgres: the shard sweep, a session settling alone, and racing joins."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import psycopg
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from activities.no_shows import NoShowActivities, SessionNoShowInput, ShardNoShowsInput
from activities.sessions import CancelSessionInput, RecordJoinInput, SessionActivities
from tests.rows import SLOT, insert_pair, status_of

ENGLISH_SPANISH = ("english", "spanish")
_slots = itertools.count(1)


@pytest.fixture
def conn(database_url: str) -> Iterator[psycopg.Connection[Any]]:
    """An autocommit connection for setting rows up and reading them back."""
    with psycopg.connect(database_url, autocommit=True) as connection:
        yield connection


def fresh_slot() -> datetime:
    """A slot no other test books, so that a shard sweep sees only this test's sessions."""
    return SLOT + timedelta(days=400, hours=next(_slots))


def session_status(conn: psycopg.Connection[Any], session_id: uuid.UUID) -> tuple[Any, ...]:
    """A session's status, cancel reason and canceller."""
    row = conn.execute(
        "SELECT status, cancel_reason, cancelled_by FROM sessions WHERE id = %s", (session_id,)
    ).fetchone()
    assert row is not None
    return tuple(row)


@contextmanager
def uncommitted(database_url: str, sql: str, params: tuple[Any, ...]) -> Iterator[None]:
    """Another transaction that has run `sql` and holds its row locks until the block ends."""
    with psycopg.connect(database_url) as other:
        other.execute(sql, params)
        yield
        other.commit()


async def still_waiting(task: asyncio.Task[Any]) -> None:
    """Fail unless `task` is still blocked (on a row lock) a moment later."""
    await asyncio.sleep(0.3)
    assert not task.done(), "it should wait for the other transaction's row lock"


async def join(
    sessionmaker: async_sessionmaker[AsyncSession], session_id: uuid.UUID, user_id: str
) -> list[str]:
    """Record a join through the activity; who the row says has joined."""
    facts = await SessionActivities(sessionmaker).record_join(
        RecordJoinInput(str(session_id), user_id, SLOT)
    )
    return facts.joined_user_ids


async def test_the_shard_sweep_cancels_only_the_sessions_someone_has_not_joined(
    conn: psycopg.Connection[Any], sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    slot = fresh_slot()
    full, (full_one, _), (full_two, _) = insert_pair(conn, slot)
    half, (half_one, half_one_request), (_, half_two_request) = insert_pair(conn, slot)
    empty, (_, empty_one_request), (_, empty_two_request) = insert_pair(conn, slot)
    elsewhere, (_, elsewhere_request), _ = insert_pair(conn, slot, ("french", "german"))
    for session_id, user_id in ((full, full_one), (full, full_two), (half, half_one)):
        await join(sessionmaker, session_id, user_id)

    sweep = NoShowActivities(sessionmaker).settle_shard_no_shows
    at = slot + timedelta(minutes=2)
    swept = await sweep(ShardNoShowsInput(slot, 60, ENGLISH_SPANISH, at))

    assert sorted(swept.cancelled_session_ids) == sorted([str(half), str(empty)])
    assert session_status(conn, half) == ("cancelled", "no_show", None)
    assert session_status(conn, empty) == ("cancelled", "no_show", None)
    assert session_status(conn, full)[0] == "scheduled"
    assert session_status(conn, elsewhere)[0] == "scheduled"
    assert status_of(conn, half_one_request)[0] == "matched"  # came: the session rematches them
    for absentee in (half_two_request, empty_one_request, empty_two_request):
        assert status_of(conn, absentee)[0] == "no_show"
    assert status_of(conn, elsewhere_request)[0] == "matched"
    again = await sweep(ShardNoShowsInput(slot, 60, ENGLISH_SPANISH, at))
    assert again.cancelled_session_ids == []


async def test_a_session_settles_alone_with_the_same_rules_and_reports_what_happened(
    conn: psycopg.Connection[Any], sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    slot = fresh_slot()
    session_id, (one, _), (_, two_request) = insert_pair(conn, slot)
    await join(sessionmaker, session_id, one)
    settle = NoShowActivities(sessionmaker).settle_session_no_show
    facts = await settle(SessionNoShowInput(str(session_id), slot + timedelta(minutes=2)))
    assert (facts.status, facts.cancel_reason, facts.joined_user_ids) == (
        "cancelled",
        "no_show",
        [one],
    )
    assert status_of(conn, two_request)[0] == "no_show"
    assert await settle(SessionNoShowInput(str(session_id), slot)) == facts


async def test_a_session_both_have_joined_is_left_scheduled(
    conn: psycopg.Connection[Any], sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    slot = fresh_slot()
    session_id, (one, _), (two, _) = insert_pair(conn, slot)
    for user_id in (one, two):
        await join(sessionmaker, session_id, user_id)
    facts = await NoShowActivities(sessionmaker).settle_session_no_show(
        SessionNoShowInput(str(session_id), slot + timedelta(minutes=2))
    )
    assert facts.status == "scheduled" and facts.joined_user_ids == sorted([one, two])


async def test_a_join_after_the_sweep_is_not_recorded(
    conn: psycopg.Connection[Any], sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    slot = fresh_slot()
    session_id, (one, _), _ = insert_pair(conn, slot)
    await NoShowActivities(sessionmaker).settle_shard_no_shows(
        ShardNoShowsInput(slot, 60, ENGLISH_SPANISH, slot + timedelta(minutes=2))
    )
    assert await join(sessionmaker, session_id, one) == []
    assert session_status(conn, session_id)[0] == "cancelled"


async def test_a_cancel_landing_after_the_sweep_still_takes_the_cancellers_request_out(
    conn: psycopg.Connection[Any], sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    slot = fresh_slot()
    session_id, (one, one_request), (_, two_request) = insert_pair(conn, slot)
    await join(sessionmaker, session_id, one)
    deadline = slot + timedelta(minutes=2)
    await NoShowActivities(sessionmaker).settle_shard_no_shows(
        ShardNoShowsInput(slot, 60, ENGLISH_SPANISH, deadline)
    )
    assert status_of(conn, one_request)[0] == "matched"  # came: the sweep leaves them matched
    facts = await SessionActivities(sessionmaker).cancel_session(
        CancelSessionInput(
            session_id=str(session_id),
            at=deadline,
            reason="no_show",
            cancelled_by=one,
            cancelled_request_ids=[str(one_request)],
            no_show_request_ids=[str(two_request)],
        )
    )
    assert (facts.status, facts.cancel_reason, facts.cancelled_by) == ("cancelled", "no_show", None)
    assert status_of(conn, one_request)[0] == "cancelled"
    assert status_of(conn, two_request)[0] == "no_show"


async def test_a_join_waiting_on_the_sweeps_row_lock_finds_the_session_closed(
    database_url: str,
    conn: psycopg.Connection[Any],
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    slot = fresh_slot()
    session_id, (one, _), _ = insert_pair(conn, slot)
    sweep = "UPDATE sessions SET status = 'cancelled', cancel_reason = 'no_show' WHERE id = %s"
    with uncommitted(database_url, sweep, (session_id,)):
        joining = asyncio.create_task(join(sessionmaker, session_id, one))
        await still_waiting(joining)
    assert await joining == []


async def test_a_sweep_waiting_on_a_joins_row_lock_spares_the_session_it_completes(
    database_url: str,
    conn: psycopg.Connection[Any],
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    slot = fresh_slot()
    session_id, (one, _), _ = insert_pair(conn, slot)
    await join(sessionmaker, session_id, one)
    second_join = "UPDATE sessions SET participant_two_joined_at = %s WHERE id = %s"
    with uncommitted(database_url, second_join, (slot, session_id)):
        sweeping = asyncio.create_task(
            NoShowActivities(sessionmaker).settle_shard_no_shows(
                ShardNoShowsInput(slot, 60, ENGLISH_SPANISH, slot + timedelta(minutes=2))
            )
        )
        await still_waiting(sweeping)
    assert (await sweeping).cancelled_session_ids == []
    assert session_status(conn, session_id)[0] == "scheduled"
    joined = conn.execute(
        "SELECT participant_one_joined_at IS NOT NULL AND participant_two_joined_at IS NOT NULL"
        " FROM sessions WHERE id = %s",
        (session_id,),
    ).fetchone()
    assert joined == (True,)  # both came: the session's workflow activates it
