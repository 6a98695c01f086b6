"""When the database refuses a pair, the matchmaker drops only the request it cannot claim."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import psycopg
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from activities.pairing import create_sessions
from contracts.sessions import CreateSessionsInput, SessionSpec
from tests.rows import SLOT, insert_request, insert_session, user


async def test_a_request_whose_owner_asked_to_cancel_is_dropped_and_its_partner_is_kept(
    conn: psycopg.Connection[Any], sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    slot = SLOT + timedelta(days=500)
    a, b = user(), user()
    ra = insert_request(conn, a, start=slot)
    rb = insert_request(conn, b, "spanish", "english", start=slot)
    # A's cancel has reached Parley; A's workflow has not carried it out yet.
    conn.execute("UPDATE match_requests SET cancel_requested_at = now() WHERE id = %s", (ra,))
    spec = SessionSpec(str(uuid.uuid4()), a, b, str(ra), str(rb), "english", "spanish", slot, 60)
    result = await create_sessions(
        sessionmaker, CreateSessionsInput([spec], slot - timedelta(days=1))
    )
    assert result.created_session_ids == []
    assert result.dead_request_ids == [str(ra)]  # B stays in the pool, free to pair again


async def test_an_id_an_earlier_attempt_gave_another_pair_is_reported_foreign_not_reused(
    conn: psycopg.Connection[Any], sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    slot = SLOT + timedelta(days=501)
    a, b, c = user(), user(), user()
    ra = insert_request(conn, a, start=slot)
    rb = insert_request(conn, b, "spanish", "english", start=slot)
    rc = insert_request(conn, c, "spanish", "english", start=slot)
    # A first attempt of a matchmaker's task seated A with B under this id, then the task was
    # retried and paired A with C instead, under the same id.
    earlier = insert_session(conn, (a, ra), (b, rb), slot)
    retried = SessionSpec(str(earlier), a, c, str(ra), str(rc), "english", "spanish", slot, 60)
    result = await create_sessions(
        sessionmaker, CreateSessionsInput([retried], slot - timedelta(days=1))
    )
    assert result.created_session_ids == [] and result.foreign_session_ids == [str(earlier)]
    assert result.dead_request_ids == [str(ra)]  # A sits in the earlier session; C stays free


async def test_a_blocked_pair_is_reported_to_the_matchmaker_and_not_logged_as_a_bug(
    conn: psycopg.Connection[Any],
    sessionmaker: async_sessionmaker[AsyncSession],
    caplog: pytest.LogCaptureFixture,
) -> None:
    slot = SLOT + timedelta(days=502)
    a, b = user(), user()
    ra = insert_request(conn, a, start=slot)
    rb = insert_request(conn, b, "spanish", "english", start=slot)
    conn.execute(
        "INSERT INTO user_blocks (id, user_id, blocked_user_id) VALUES (%s, %s, %s)",
        (uuid.uuid4(), b, a),
    )
    spec = SessionSpec(str(uuid.uuid4()), a, b, str(ra), str(rb), "english", "spanish", slot, 60)
    result = await create_sessions(
        sessionmaker, CreateSessionsInput([spec], slot - timedelta(days=1))
    )
    assert result.created_session_ids == [] and result.dead_request_ids == []
    assert result.blocked_user_pairs == [sorted((a, b))]
    assert not [record for record in caplog.records if record.levelname == "ERROR"]
