"""What the event triggers write, whatever code changes the rows: a rearrangement, a retry that
changes nothing, a rolled-back change, and ids handed out in commit order."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from tests.rows import insert_pair, insert_request, rearrange_four, user


@pytest.fixture
def conn(database_url: str) -> Iterator[psycopg.Connection[Any]]:
    """A connection to the test database."""
    with psycopg.connect(database_url) as connection:
        yield connection


def events_of(conn: psycopg.Connection[Any], who: str) -> list[tuple[str, Any]]:
    """(type, payload id) of who's events, in id order."""
    rows = conn.execute(
        "SELECT type, payload->>'id' FROM events WHERE user_id = %s ORDER BY id", (who,)
    ).fetchall()
    return [(kind, resource) for kind, resource in rows]


def test_a_rearrangement_tells_the_moved_of_a_new_partner(conn: psycopg.Connection[Any]) -> None:
    four = rearrange_four(conn)
    a, b, c = four.a, four.b, four.c
    assert [kind for kind, _ in events_of(conn, a[0])] == [
        "request.waiting",
        "session.scheduled",
        "request.matched",
        "session.cancelled",
        "session.rearranged",
        "request.matched",
    ]
    assert events_of(conn, a[0])[-2:] == [
        ("session.rearranged", str(four.a_c)),
        ("request.matched", str(a[1])),
    ]
    assert events_of(conn, c[0])[1:] == [
        ("session.scheduled", str(four.a_c)),
        ("request.matched", str(c[1])),
    ]
    assert events_of(conn, b[0])[-2] == ("session.rearranged", str(four.d_b))
    cancelled = conn.execute(
        "SELECT payload->>'cancel_reason' FROM events WHERE type = 'session.cancelled'"
        " AND payload->>'id' = %s",
        (str(four.old),),
    ).fetchall()
    assert cancelled == [("rearranged",), ("rearranged",)]


def test_a_change_retried_or_rolled_back_writes_nothing(conn: psycopg.Connection[Any]) -> None:
    session, a, b = insert_pair(conn)
    conn.commit()
    before = len(events_of(conn, a[0]))
    join = "UPDATE sessions SET participant_two_joined_at = now() WHERE id = %s"
    conn.execute(join, (session,))
    conn.commit()
    conn.execute(join.replace("= now()", "= participant_two_joined_at"), (session,))  # a retry
    conn.execute("UPDATE sessions SET updated_at = now() WHERE id = %s", (session,))
    conn.commit()
    assert events_of(conn, a[0])[before:] == [("session.partner_joined", str(session))]
    assert events_of(conn, b[0])[-1] == ("request.matched", str(b[1]))  # the joiner hears none
    conn.execute("UPDATE sessions SET participant_one_joined_at = now() WHERE id = %s", (session,))
    conn.rollback()
    assert len(events_of(conn, b[0])) == 3
    with pytest.raises(psycopg.IntegrityError, match="never deleted"):
        conn.execute("DELETE FROM events WHERE user_id = %s", (a[0],))


def test_ids_follow_commit_order(database_url: str, conn: psycopg.Connection[Any]) -> None:
    """A transaction that changed its row first but commits last gets the higher id, so a
    reader that saw an id never later finds a smaller one."""
    first, second = user(), user()
    slow = psycopg.connect(database_url)
    slow_request = insert_request(slow, first)  # written first, committed last
    done = threading.Event()

    def quick() -> None:
        with psycopg.connect(database_url) as other:
            insert_request(other, second)
            other.commit()
        done.set()

    thread = threading.Thread(target=quick)
    thread.start()
    assert done.wait(10)
    slow.commit()
    slow.close()
    thread.join()
    ids = dict(
        conn.execute(
            "SELECT user_id, id FROM events WHERE user_id IN (%s, %s)", (first, second)
        ).fetchall()
    )
    assert ids[second] < ids[first], slow_request
