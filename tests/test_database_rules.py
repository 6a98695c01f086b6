"""What PostgreSQL itself guarantees, whatever code path writes: triggers and constraints."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest

from tests.rows import insert_request, insert_session, status_of, user


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


def test_a_new_session_may_take_the_requests_of_one_rearranged_in_the_same_transaction(
    database_url: str, conn
) -> None:
    a, b, c, d = user(), user(), user(), user()
    ra, rb = insert_request(conn, a), insert_request(conn, b, "spanish", "english")
    rc, rd = insert_request(conn, c, "spanish", "english"), insert_request(conn, d)
    old = insert_session(conn, (a, ra), (b, rb))
    with psycopg.connect(database_url) as matchmaker:
        matchmaker.execute(
            "UPDATE sessions SET status = 'cancelled', cancel_reason = 'rearranged' WHERE id = %s",
            (old,),
        )
        first = insert_session(matchmaker, (a, ra), (c, rc))
        second = insert_session(matchmaker, (d, rd), (b, rb))
        matchmaker.commit()
    assert [status_of(conn, r) for r in (ra, rc)] == [("matched", True, first)] * 2
    assert [status_of(conn, r) for r in (rd, rb)] == [("matched", True, second)] * 2
    with pytest.raises(psycopg.errors.ExclusionViolation):
        insert_request(conn, a, "french", "german")  # a's time is held by the new session


def test_a_request_of_a_session_cancelled_otherwise_cannot_be_taken(conn) -> None:
    a, b, c = user(), user(), user()
    ra, rb = insert_request(conn, a), insert_request(conn, b, "spanish", "english")
    rc = insert_request(conn, c)
    old = insert_session(conn, (a, ra), (b, rb))
    conn.execute(
        "UPDATE sessions SET status = 'cancelled', cancel_reason = 'cancelled_by_user'"
        " WHERE id = %s",
        (old,),
    )
    # b's request sits in the other column this time, so only the claim trigger can refuse it.
    with pytest.raises(psycopg.IntegrityError) as refused:
        insert_session(conn, (b, rb), (c, rc), languages=("spanish", "english"))
    assert refused.value.sqlstate == "23P91"
    assert status_of(conn, rc) == ("waiting", False, None)
    assert status_of(conn, rb)[2] == old


def _rearranging(database_url: str, old: Any, *new: tuple[Any, Any]) -> psycopg.Error | None:
    """Dissolve `old` and insert sessions over the given (user, request) pairs, in one
    transaction; the error the commit raised, if any."""
    with psycopg.connect(database_url) as matchmaker:
        try:
            matchmaker.execute(
                "UPDATE sessions SET status = 'cancelled', cancel_reason = 'rearranged'"
                " WHERE id = %s",
                (old,),
            )
            for one, two in new:
                insert_session(matchmaker, one, two)
            matchmaker.commit()
        except psycopg.Error as error:
            return error
    return None


def test_a_rearrangement_that_leaves_someone_without_a_session_is_refused_at_commit(
    database_url: str, conn
) -> None:
    a, b, c = user(), user(), user()
    ra, rb = insert_request(conn, a), insert_request(conn, b, "spanish", "english")
    rc = insert_request(conn, c, "spanish", "english")
    old = insert_session(conn, (a, ra), (b, rb))
    refused = _rearranging(database_url, old, ((a, ra), (c, rc)))  # b is left out
    assert refused is not None and refused.sqlstate == "23P95"
    assert status_of(conn, rb)[2] == status_of(conn, ra)[2] == old
    assert status_of(conn, rc) == ("waiting", False, None)


def test_a_session_someone_joined_cannot_be_rearranged(database_url: str, conn) -> None:
    a, b, c, d = user(), user(), user(), user()
    ra, rb = insert_request(conn, a), insert_request(conn, b, "spanish", "english")
    rc, rd = insert_request(conn, c, "spanish", "english"), insert_request(conn, d)
    old = insert_session(conn, (a, ra), (b, rb))
    conn.execute("UPDATE sessions SET participant_one_joined_at = now() WHERE id = %s", (old,))
    refused = _rearranging(database_url, old, ((a, ra), (c, rc)), ((d, rd), (b, rb)))
    assert refused is not None and refused.sqlstate == "23P95"
    assert status_of(conn, ra)[2] == old
