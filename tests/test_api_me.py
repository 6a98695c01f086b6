"""`GET /v1/me`: the no-show record, counted exactly from the sessions rows."""

from __future__ import annotations

import itertools
import uuid
from datetime import datetime, timedelta
from typing import Any

import psycopg

from db.reliability import record_of, unreliable_among
from domain.reliability import ReliabilityRecord
from tests.helpers import Person, Stack, person
from tests.rows import SLOT, insert_request, insert_session, user

# Each history row is booked in its own far-future slot (so that none overlaps another in its
# owner's calendar), then moved to the time the test needs and settled as it ended.
_slots = itertools.count()


def past_session(
    conn: psycopg.Connection[Any], me: str, start: datetime, outcome: str, me_first: bool = True
) -> uuid.UUID:
    """A session of `me` with a new partner at `start`, ended as `outcome`: completed,
    no_show_me, no_show_partner, cancelled or scheduled."""
    partner = user()
    slot = SLOT + timedelta(hours=next(_slots))
    mine = (me, insert_request(conn, me, "english", "spanish", start=slot))
    theirs = (partner, insert_request(conn, partner, "spanish", "english", start=slot))
    one, two = (mine, theirs) if me_first else (theirs, mine)
    languages = ("english", "spanish") if me_first else ("spanish", "english")
    session_id = insert_session(conn, one, two, start=slot, languages=languages)
    me_col, partner_col = ("one", "two") if me_first else ("two", "one")
    conn.execute(
        "UPDATE sessions SET scheduled_start = %s, scheduled_end = %s WHERE id = %s",
        (start, start + timedelta(minutes=60), session_id),
    )
    joined = {"completed": (me_col, partner_col), "no_show_me": (partner_col,),
              "no_show_partner": (me_col,), "cancelled": (), "scheduled": ()}[outcome]  # fmt: skip
    for col in joined:
        conn.execute(
            f"UPDATE sessions SET participant_{col}_joined_at = %s WHERE id = %s",
            (start, session_id),
        )
    if outcome == "completed":
        conn.execute(
            "UPDATE sessions SET status = 'active', actual_start = %s WHERE id = %s",
            (start, session_id),
        )
        conn.execute(
            "UPDATE sessions SET status = 'completed', actual_end = %s WHERE id = %s",
            (start + timedelta(minutes=60), session_id),
        )
    elif outcome != "scheduled":
        reason = "cancelled_by_user" if outcome == "cancelled" else "no_show"
        conn.execute(
            "UPDATE sessions SET status = 'cancelled', cancel_reason = %s WHERE id = %s",
            (reason, session_id),
        )
    return session_id


async def reliability(p: Person) -> dict[str, Any]:
    """The caller's record as `/v1/me` answers it."""
    answer = await p.get("/v1/me")
    assert answer.status_code == 200, answer.text
    assert answer.json()["user_id"] == p.user_id
    record: dict[str, Any] = answer.json()["reliability"]
    return record


async def test_a_new_user_has_an_empty_record(stack: Stack) -> None:
    assert await reliability(person(stack, "new")) == {
        "window_days": 90, "sessions": 0, "no_shows": 0, "recent_sessions": 0,
        "recent_no_shows": 0, "matched_after_others": False,
    }  # fmt: skip
    assert (await stack.api.get("/v1/me")).status_code == 401


async def test_the_record_counts_exactly_what_the_rows_say(
    stack: Stack, conn: psycopg.Connection[Any]
) -> None:
    me = person(stack, "me")
    now = await stack.env.get_current_time()
    day = timedelta(days=1)
    past_session(conn, me.user_id, now - 10 * day, "completed")
    past_session(conn, me.user_id, now - 9 * day, "no_show_partner", me_first=False)
    past_session(conn, me.user_id, now - 8 * day, "no_show_me", me_first=False)
    past_session(conn, me.user_id, now - 7 * day, "cancelled")  # not a session held: not counted
    past_session(conn, me.user_id, now - 91 * day, "no_show_me")  # forgiven: too old
    past_session(conn, me.user_id, now + day, "no_show_me")  # in the future: not counted yet
    past_session(conn, me.user_id, now + 2 * day, "scheduled")
    assert await reliability(me) == {
        "window_days": 90, "sessions": 3, "no_shows": 1, "recent_sessions": 3,
        "recent_no_shows": 1, "matched_after_others": False,
    }  # fmt: skip


async def test_two_no_shows_among_the_last_five_put_you_after_the_others(
    stack: Stack, conn: psycopg.Connection[Any]
) -> None:
    me = person(stack, "me")
    now = await stack.env.get_current_time()
    day = timedelta(days=1)
    # The oldest no-show falls out of the last five once five sessions follow it.
    past_session(conn, me.user_id, now - 30 * day, "no_show_me")
    for n in range(5):
        past_session(conn, me.user_id, now - (20 - n) * day, "completed", me_first=n % 2 == 0)
    record = await reliability(me)
    assert (record["sessions"], record["no_shows"]) == (6, 1)
    assert (record["recent_sessions"], record["recent_no_shows"]) == (5, 0)
    past_session(conn, me.user_id, now - 5 * day, "no_show_me")
    record = await reliability(me)
    assert (record["recent_no_shows"], record["matched_after_others"]) == (1, False)
    past_session(conn, me.user_id, now - 4 * day, "no_show_me", me_first=False)
    record = await reliability(me)
    assert (record["sessions"], record["no_shows"]) == (8, 3)
    assert (record["recent_sessions"], record["recent_no_shows"]) == (5, 2)
    assert record["matched_after_others"] is True
    # Five kept sessions later, the record mends.
    for n in range(4):
        past_session(conn, me.user_id, now - (3 - n) * day + timedelta(hours=n), "completed")
    assert (await reliability(me))["matched_after_others"] is True  # one no-show still in five
    past_session(conn, me.user_id, now - timedelta(hours=1), "completed")
    assert (await reliability(me))["matched_after_others"] is False


async def test_the_pool_query_names_exactly_the_unreliable(
    stack: Stack, conn: psycopg.Connection[Any]
) -> None:
    now = await stack.env.get_current_time()
    flaky, steady, fresh = user(), user(), user()
    for n, outcome in enumerate(["no_show_me", "completed", "no_show_me"]):
        past_session(conn, flaky, now - timedelta(days=n + 1), outcome, me_first=n == 1)
    for n in range(3):
        past_session(conn, steady, now - timedelta(days=n + 1), "no_show_partner")
    async with stack.sessionmaker() as db:
        assert await unreliable_among(db, [flaky, steady, fresh], now) == {flaky}
        assert await unreliable_among(db, [], now) == set()
        assert await record_of(db, steady, now) == ReliabilityRecord(3, 0, 3, 0)
        assert await record_of(db, fresh, now) == ReliabilityRecord()
