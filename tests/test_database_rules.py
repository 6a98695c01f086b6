"""What PostgreSQL itself guarantees, whatever code path writes: triggers and constraints."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

SLOT = datetime(2031, 7, 27, 15, 0, tzinfo=UTC)


@pytest.fixture
def conn(database_url: str) -> Iterator[psycopg.Connection[Any]]:
    """An autocommit connection: every statement stands on its own, as concurrent callers would."""
    with psycopg.connect(database_url, autocommit=True) as connection:
        yield connection


def user() -> str:
    return f"user-{uuid.uuid4().hex[:8]}"


def insert_request(
    conn: psycopg.Connection[Any],
    user_id: str,
    native: str = "english",
    learning: str = "spanish",
    start: datetime = SLOT,
    duration: int = 60,
) -> uuid.UUID:
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
) -> uuid.UUID:
    session_id = uuid.uuid4()
    conn.execute(
        "INSERT INTO sessions (id, participant_one_id, participant_two_id, match_request_one_id,"
        " match_request_two_id, language_one_id, language_two_id, scheduled_start, scheduled_end,"
        " duration_minutes) VALUES (%s, %s, %s, %s, %s, 'english', 'spanish', %s, %s, 60)",
        (session_id, one[0], two[0], one[1], two[1], start, start + timedelta(minutes=60)),
    )
    return session_id


def status_of(conn: psycopg.Connection[Any], request_id: uuid.UUID) -> tuple[Any, ...]:
    row = conn.execute(
        "SELECT status, matched_at IS NOT NULL, session_id FROM match_requests WHERE id = %s",
        (request_id,),
    ).fetchone()
    assert row is not None
    return tuple(row)


def test_creating_a_session_marks_both_requests_matched_in_the_same_transaction(conn) -> None:
    a, b = user(), user()
    ra, rb = insert_request(conn, a), insert_request(conn, b, "spanish", "english")
    session_id = insert_session(conn, (a, ra), (b, rb))
    assert status_of(conn, ra) == ("matched", True, session_id)
    assert status_of(conn, rb) == ("matched", True, session_id)


def test_a_session_over_a_cancelled_request_is_refused_and_nothing_changes(conn) -> None:
    a, b = user(), user()
    ra, rb = insert_request(conn, a), insert_request(conn, b, "spanish", "english")
    conn.execute("UPDATE match_requests SET status = 'cancelled' WHERE id = %s", (rb,))
    with pytest.raises(psycopg.IntegrityError) as refused:
        insert_session(conn, (a, ra), (b, rb))
    assert refused.value.sqlstate == "23P91"
    assert status_of(conn, ra) == ("waiting", False, None)


def test_a_session_whose_slot_has_passed_is_refused(conn) -> None:
    a, b = user(), user()
    past = datetime(2021, 7, 27, 15, 0, tzinfo=UTC)
    ra = insert_request(conn, a, start=past)
    rb = insert_request(conn, b, "spanish", "english", start=past)
    with pytest.raises(psycopg.IntegrityError) as refused:
        insert_session(conn, (a, ra), (b, rb), start=past)
    assert refused.value.sqlstate == "23P94"


def test_one_request_can_never_be_in_two_sessions(conn) -> None:
    a, b, c = user(), user(), user()
    ra = insert_request(conn, a)
    rb = insert_request(conn, b, "spanish", "english")
    rc = insert_request(conn, c, "spanish", "english")
    insert_session(conn, (a, ra), (b, rb))
    with pytest.raises(psycopg.Error):
        insert_session(conn, (a, ra), (c, rc))
    assert status_of(conn, rc) == ("waiting", False, None)


def test_a_session_must_pair_reciprocal_requests_of_its_participants(conn) -> None:
    a, b = user(), user()
    ra, rb = insert_request(conn, a), insert_request(conn, b)  # both english -> spanish
    with pytest.raises(psycopg.IntegrityError):
        insert_session(conn, (a, ra), (b, rb))
    with pytest.raises(psycopg.IntegrityError):
        insert_session(conn, (b, ra), (a, rb))


def test_two_racing_matchmaker_passes_over_one_request_produce_exactly_one_session(
    database_url: str, conn
) -> None:
    a, b, c = user(), user(), user()
    ra = insert_request(conn, a)
    rb = insert_request(conn, b, "spanish", "english")
    rc = insert_request(conn, c, "spanish", "english")
    first = psycopg.connect(database_url)
    second = psycopg.connect(database_url)
    outcome: dict[str, Exception | None] = {}

    def second_pass() -> None:
        try:
            insert_session(second, (a, ra), (c, rc))  # blocks on the first pass's row lock
            second.commit()
            outcome["second"] = None
        except psycopg.Error as error:
            second.rollback()
            outcome["second"] = error

    try:
        insert_session(first, (a, ra), (b, rb))  # holds ra locked, uncommitted
        racer = threading.Thread(target=second_pass)
        racer.start()
        racer.join(timeout=0.5)
        assert racer.is_alive(), "the second pass should wait for the first one's lock"
        first.commit()
        racer.join(timeout=10)
    finally:
        first.close()
        second.close()
    assert isinstance(outcome["second"], psycopg.IntegrityError)
    assert status_of(conn, ra)[0] == "matched" and status_of(conn, rc)[0] == "waiting"
    (sessions,) = conn.execute(
        "SELECT count(*) FROM sessions WHERE %s IN (match_request_one_id, match_request_two_id)",
        (ra,),
    ).fetchone() or (0,)
    assert sessions == 1


def test_a_cancel_racing_a_match_leaves_exactly_one_of_them_done(database_url: str, conn) -> None:
    a, b = user(), user()
    ra, rb = insert_request(conn, a), insert_request(conn, b, "spanish", "english")
    matcher = psycopg.connect(database_url)
    try:
        insert_session(matcher, (a, ra), (b, rb))
        canceller = threading.Thread(
            target=lambda: psycopg.connect(database_url, autocommit=True).execute(
                "UPDATE match_requests SET status = 'cancelled' WHERE id = %s"
                " AND status = 'waiting'",
                (rb,),
            )
        )
        canceller.start()
        canceller.join(timeout=0.5)
        matcher.commit()
        canceller.join(timeout=10)
    finally:
        matcher.close()
    # The cancel waited for the match and then found nothing waiting to cancel.
    assert status_of(conn, rb)[0] == "matched"


def test_a_user_cannot_hold_two_overlapping_live_requests(conn) -> None:
    a = user()
    insert_request(conn, a, start=SLOT)
    with pytest.raises(psycopg.errors.ExclusionViolation):
        insert_request(conn, a, "french", "german", start=SLOT + timedelta(minutes=30))
    insert_request(conn, a, "french", "german", start=SLOT + timedelta(minutes=60))


def test_a_cancelled_request_frees_its_time(conn) -> None:
    a = user()
    first = insert_request(conn, a)
    conn.execute("UPDATE match_requests SET status = 'cancelled' WHERE id = %s", (first,))
    insert_request(conn, a)


def test_a_live_session_holds_its_time_until_it_is_cancelled(conn) -> None:
    a, b = user(), user()
    ra, rb = insert_request(conn, a), insert_request(conn, b, "spanish", "english")
    session_id = insert_session(conn, (a, ra), (b, rb))
    with pytest.raises(psycopg.errors.ExclusionViolation):
        insert_request(conn, a, "french", "german")
    conn.execute(
        "UPDATE sessions SET status = 'cancelled', cancel_reason = 'cancelled_by_user'"
        " WHERE id = %s",
        (session_id,),
    )
    insert_request(conn, a, "french", "german")


def test_rows_are_never_deleted(conn) -> None:
    request_id = insert_request(conn, user())
    with pytest.raises(psycopg.IntegrityError, match="never deleted"):
        conn.execute("DELETE FROM match_requests WHERE id = %s", (request_id,))


def test_statuses_only_move_forward(conn) -> None:
    request_id = insert_request(conn, user())
    conn.execute("UPDATE match_requests SET status = 'expired' WHERE id = %s", (request_id,))
    with pytest.raises(psycopg.IntegrityError, match="cannot go from expired to waiting"):
        conn.execute("UPDATE match_requests SET status = 'waiting' WHERE id = %s", (request_id,))


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("proficiency_level", "fluent"),
        ("preferred_duration_minutes", 5),
        ("priority", 2),
        ("learning_language_id", "english"),
    ],
)
def test_illegal_values_are_refused_by_the_schema(conn, column: str, value: object) -> None:
    request_id = insert_request(conn, user())
    with pytest.raises(psycopg.errors.CheckViolation):
        conn.execute(
            f"UPDATE match_requests SET {column} = %s WHERE id = %s",  # noqa: S608 - fixed names
            (value, request_id),
        )


def test_the_languages_table_knows_at_least_twenty_languages(conn) -> None:
    (count,) = conn.execute("SELECT count(*) FROM languages").fetchone() or (0,)
    assert count >= 20
    assert conn.execute("SELECT 1 FROM languages WHERE id = 'spanish'").fetchone()
