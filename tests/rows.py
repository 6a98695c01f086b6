"""Rows written straight into PostgreSQL, for tests of what the database and activities do."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

SLOT = datetime(2031, 7, 27, 15, 0, tzinfo=UTC)


def user() -> str:
    """A user id no other test uses."""
    return f"user-{uuid.uuid4().hex[:8]}"


def insert_request(
    conn: psycopg.Connection[Any],
    user_id: str,
    native: str = "english",
    learning: str = "spanish",
    start: datetime = SLOT,
    duration: int = 60,
) -> uuid.UUID:
    """A waiting request, inserted as a booking would."""
    request_id = uuid.uuid4()
    conn.execute(
        "INSERT INTO match_requests (id, user_id, native_language_id, learning_language_id,"
        " proficiency_level, availability_start, availability_end, preferred_duration_minutes)"
        " VALUES (%s, %s, %s, %s, 'intermediate', %s, %s, %s)",
        (request_id, user_id, native, learning, start, start, duration),
    )
    return request_id


def insert_session(
    conn: psycopg.Connection[Any],
    one: tuple[str, uuid.UUID],
    two: tuple[str, uuid.UUID],
    start: datetime = SLOT,
    languages: tuple[str, str] = ("english", "spanish"),
) -> uuid.UUID:
    """A session over two requests, inserted as a matchmaker would (the trigger claims them)."""
    session_id = uuid.uuid4()
    conn.execute(
        "INSERT INTO sessions (id, participant_one_id, participant_two_id, match_request_one_id,"
        " match_request_two_id, language_one_id, language_two_id, scheduled_start, scheduled_end,"
        " duration_minutes) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, 60)",
        (
            session_id,
            one[0],
            two[0],
            one[1],
            two[1],
            *languages,
            start,
            start + timedelta(minutes=60),
        ),  # fmt: skip
    )
    return session_id


def status_of(conn: psycopg.Connection[Any], request_id: uuid.UUID) -> tuple[Any, ...]:
    """A request's status, whether it has matched_at, and its session."""
    row = conn.execute(
        "SELECT status, matched_at IS NOT NULL, session_id FROM match_requests WHERE id = %s",
        (request_id,),
    ).fetchone()
    assert row is not None
    return tuple(row)


def insert_pair(
    conn: psycopg.Connection[Any],
    start: datetime = SLOT,
    languages: tuple[str, str] = ("english", "spanish"),
) -> tuple[uuid.UUID, tuple[str, uuid.UUID], tuple[str, uuid.UUID]]:
    """Two reciprocal requests and their session: (session id, (user, request) for each side)."""
    one_lang, two_lang = languages
    user_one, user_two = user(), user()
    one = (user_one, insert_request(conn, user_one, one_lang, two_lang, start=start))
    two = (user_two, insert_request(conn, user_two, two_lang, one_lang, start=start))
    return insert_session(conn, one, two, start, languages), one, two


Seat = tuple[str, uuid.UUID]


@dataclass(frozen=True)
class Rearranged:
    """A-B seated, then C and D booked, then a swap that seats all four: A-C and D-B."""

    old: uuid.UUID
    a: Seat
    b: Seat
    c: Seat
    d: Seat
    a_c: uuid.UUID
    d_b: uuid.UUID


def rearrange_four(conn: psycopg.Connection[Any]) -> Rearranged:
    """Write a rearrangement as the matchmaker's transaction would, each step committed."""
    old, a, b = insert_pair(conn)
    conn.commit()
    c_user, d_user = user(), user()
    c = (c_user, insert_request(conn, c_user, "spanish", "english"))
    d = (d_user, insert_request(conn, d_user, "english", "spanish"))
    conn.commit()
    conn.execute(
        "UPDATE sessions SET status = 'cancelled', cancel_reason = 'rearranged' WHERE id = %s",
        (old,),
    )
    a_c, d_b = insert_session(conn, a, c), insert_session(conn, d, b)
    conn.commit()
    return Rearranged(old, a, b, c, d, a_c, d_b)
