"""What PostgreSQL itself guarantees of a user's rows and of each row: no two live bookings
overlap, rows are never deleted, statuses only move forward, illegal values are refused; and
the languages are there."""

from __future__ import annotations

from datetime import timedelta

import psycopg
import pytest

from tests.rows import SLOT, insert_request, insert_session, user


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
