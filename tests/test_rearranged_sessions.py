"""Rearranging sessions nobody has joined, so that more people are seated: in Postgres, then
through the API with the matchmaker deciding."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import timedelta
from typing import Any

import psycopg
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from activities.rearranging import rearrange_sessions
from activities.session_rows import session_facts
from activities.settlement import settle_due
from api import receipts
from contracts.naming import session_workflow_id
from contracts.policy import Policy
from contracts.sessions import RearrangeSessionsInput, SessionSpec
from db.models import SessionRow
from tests.helpers import Person, Stack, eventually, is_matched, person, skip_to, slot_ahead
from tests.rows import SLOT, insert_pair, insert_request, status_of, user
from workflows.session import SessionWorkflow


def spec(one: tuple[str, uuid.UUID], two: tuple[str, uuid.UUID]) -> SessionSpec:
    """A new English-Spanish session over two requests, at the rows' slot."""
    return SessionSpec(
        str(uuid.uuid4()), one[0], two[0], str(one[1]), str(two[1]), "english", "spanish", SLOT, 60
    )


def four_people(
    conn: psycopg.Connection[Any],
) -> tuple[uuid.UUID, list[tuple[str, uuid.UUID]], RearrangeSessionsInput]:
    """A and B seated together, C and D waiting; the rearrangement seats A-C and D-B."""
    old, a, b = insert_pair(conn)
    c_user, d_user = user(), user()
    c = (c_user, insert_request(conn, c_user, "spanish", "english"))
    d = (d_user, insert_request(conn, d_user, "english", "spanish"))
    change = RearrangeSessionsInput([str(old)], [spec(a, c), spec(d, b)], SLOT - timedelta(days=1))
    return old, [a, b, c, d], change


def session_of(conn: psycopg.Connection[Any], session_id: uuid.UUID | str) -> tuple[Any, ...]:
    """A session's status and cancel reason."""
    row = conn.execute(
        "SELECT status, cancel_reason FROM sessions WHERE id = %s", (session_id,)
    ).fetchone()
    assert row is not None
    return tuple(row)


async def test_a_rearrangement_moves_both_people_and_seats_two_more_in_one_transaction(
    conn: psycopg.Connection[Any], sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    old, (a, b, c, d), change = four_people(conn)
    result = await rearrange_sessions(sessionmaker, change)
    new_ids = [s.session_id for s in change.sessions]
    assert result.created_session_ids == new_ids and not result.stale_session_ids
    assert session_of(conn, old) == ("cancelled", "rearranged")
    assert [session_of(conn, i) for i in new_ids] == [("scheduled", None)] * 2
    assert (
        status_of(conn, a[1]) == status_of(conn, c[1]) == ("matched", True, uuid.UUID(new_ids[0]))
    )
    assert (
        status_of(conn, d[1]) == status_of(conn, b[1]) == ("matched", True, uuid.UUID(new_ids[1]))
    )
    again = await rearrange_sessions(sessionmaker, change)
    assert again.created_session_ids == new_ids  # a retry finds it done
    # Had the old session's workflow missed its signal, its deadline would find it rearranged.
    async with sessionmaker.begin() as db:
        await settle_due(db, SessionRow.id == old, SLOT + timedelta(minutes=2), Policy())
        facts = await session_facts(db, str(old))
    assert facts.cancel_reason == "rearranged" and facts.rematch_request_ids == []
    assert [session_of(conn, i) for i in new_ids] == [("scheduled", None)] * 2


async def test_a_session_someone_joined_is_never_rearranged(
    conn: psycopg.Connection[Any], sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    old, (a, _, c, d), change = four_people(conn)
    async with sessionmaker() as db:
        assert await receipts.record_join(db, old, a[0], SLOT) is not None
    result = await rearrange_sessions(sessionmaker, change)
    assert result.stale_session_ids == [str(old)] and result.created_session_ids == []
    assert session_of(conn, old) == ("scheduled", None)
    assert status_of(conn, c[1])[0] == status_of(conn, d[1])[0] == "waiting"


async def test_a_session_someone_asked_to_cancel_is_never_rearranged(
    conn: psycopg.Connection[Any], sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    old, (_, b, c, d), change = four_people(conn)
    async with sessionmaker() as db:
        cancelled = await receipts.record_session_cancel(db, old, b[0], SLOT - timedelta(hours=1))
    assert cancelled is not None
    result = await rearrange_sessions(sessionmaker, change)
    assert result.stale_session_ids == [str(old)] and result.created_session_ids == []
    assert session_of(conn, old) == ("scheduled", None)
    assert status_of(conn, c[1])[0] == status_of(conn, d[1])[0] == "waiting"
    # The database refuses it too, whatever code would try.
    with pytest.raises(psycopg.IntegrityError, match="cancel recorded"):
        conn.execute(
            "UPDATE sessions SET status = 'cancelled', cancel_reason = 'rearranged' WHERE id = %s",
            (old,),
        )


async def test_a_rearrangement_over_a_request_cancelled_meanwhile_changes_nothing(
    conn: psycopg.Connection[Any], sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    old, (a, _, c, d), change = four_people(conn)
    conn.execute("UPDATE match_requests SET status = 'cancelled' WHERE id = %s", (c[1],))
    result = await rearrange_sessions(sessionmaker, change)
    assert result.dead_request_ids == [str(c[1])] and result.created_session_ids == []
    assert session_of(conn, old) == ("scheduled", None)
    assert status_of(conn, a[1])[2] == old and status_of(conn, d[1])[0] == "waiting"


async def _stays_waiting(who: Person, request_id: str, seconds: float = 1.0) -> None:
    """Fail if the request stops waiting within `seconds` (a swap takes milliseconds)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert (await who.get(f"/v1/match-requests/{request_id}")).json()["status"] == "waiting"
        await asyncio.sleep(0.1)


async def _let_them_wait(stack: Stack) -> None:
    """Skip past the quiet after which partners may be swapped for someone left alone."""
    wait = timedelta(seconds=stack.settings.rearrange_after_quiet_seconds + 1)
    await skip_to(stack, await stack.env.get_current_time() + wait)


async def _book(p: Person, slot: Any, native: str, learning: str, level: str) -> str:
    response = await p.book(slot, native, learning, level=level)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def test_the_matchmaker_swaps_partners_when_that_seats_two_more_people(
    stack: Stack,
) -> None:
    a, b, c, d = (person(stack, name) for name in ("a", "b", "c", "d"))
    slot = await slot_ahead(stack)
    request_a = await _book(a, slot, "english", "spanish", "intermediate")
    await _book(b, slot, "spanish", "english", "upper_intermediate")
    first = await eventually(lambda: a.get(f"/v1/match-requests/{request_a}"), is_matched)

    # Spanish elementary and English advanced cannot pair with each other, but each can with
    # one of the pair already seated.
    request_c = await _book(c, slot, "spanish", "english", "elementary")
    request_d = await _book(d, slot, "english", "spanish", "advanced")
    # Nobody is swapped for while requests keep arriving: only once the slot has gone quiet.
    await _stays_waiting(c, request_c)
    await _let_them_wait(stack)
    matched_c = await eventually(lambda: c.get(f"/v1/match-requests/{request_c}"), is_matched)
    matched_d = await eventually(lambda: d.get(f"/v1/match-requests/{request_d}"), is_matched)

    now_a = (await a.get(f"/v1/match-requests/{request_a}")).json()
    assert now_a["status"] == "matched" and now_a["session_id"] == matched_c["session_id"]
    assert matched_d["session_id"] != matched_c["session_id"]
    old = (await a.get(f"/v1/sessions/{first['session_id']}")).json()
    assert (old["status"], old["cancel_reason"]) == ("cancelled", "rearranged")
    for who, match in ((c, matched_c), (d, matched_d)):
        session = (await who.get(f"/v1/sessions/{match['session_id']}")).json()
        assert session["status"] == "scheduled"
    ended = await stack.env.client.get_workflow_handle_for(
        SessionWorkflow.run, session_workflow_id(first["session_id"])
    ).result()
    assert ended.cancel_reason == "rearranged" and ended.rematch_request_ids == []


async def test_nobody_is_rearranged_once_joining_has_opened(stack: Stack) -> None:
    a, b, c, d = (person(stack, name) for name in ("a", "b", "c", "d"))
    slot = await slot_ahead(stack)
    request_a = await _book(a, slot, "english", "spanish", "intermediate")
    await _book(b, slot, "spanish", "english", "upper_intermediate")
    first = await eventually(lambda: a.get(f"/v1/match-requests/{request_a}"), is_matched)
    await skip_to(stack, slot - timedelta(minutes=4))  # the join window opened a minute ago
    request_c = await _book(c, slot, "spanish", "english", "elementary")
    request_d = await _book(d, slot, "english", "spanish", "advanced")
    await _let_them_wait(stack)
    for who, request_id in ((c, request_c), (d, request_d)):
        await _stays_waiting(who, request_id)
    kept = (await a.get(f"/v1/match-requests/{request_a}")).json()
    assert kept["session_id"] == first["session_id"]
