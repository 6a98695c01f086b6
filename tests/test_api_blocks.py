"""Block lists through the API, and the database refusing a session between a blocked pair."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import psycopg
import pytest

from tests.helpers import Stack, book_pair, person, slot_ahead
from tests.rows import SLOT, insert_pair, insert_request, insert_session, status_of

BLOCKED_PAIR = "23P97"


def _pair_requests(
    conn: psycopg.Connection[Any], one: str, two: str, hours: int = 0
) -> tuple[tuple[str, uuid.UUID], tuple[str, uuid.UUID]]:
    start = SLOT + timedelta(hours=hours)
    return (
        (one, insert_request(conn, one, "english", "spanish", start=start)),
        (two, insert_request(conn, two, "spanish", "english", start=start)),
    )


async def test_block_list_and_unblock(stack: Stack) -> None:
    a, b, c = person(stack, "a"), person(stack, "b"), person(stack, "c")
    made = await a.post("/v1/blocks", {"user_id": b.user_id})
    assert made.status_code == 201, made.text
    block = made.json()
    assert block["user_id"] == b.user_id and block["scheduled_sessions_kept"] == []
    assert "not cancelled" in block["note"]
    assert (await a.post("/v1/blocks", {"user_id": c.user_id})).status_code == 201
    listed = (await a.get("/v1/blocks")).json()
    assert [x["user_id"] for x in listed] == [c.user_id, b.user_id]  # newest first
    lifted = await a.api.delete(f"/v1/blocks/{b.user_id}", headers=a.headers)
    assert lifted.status_code == 204 and lifted.content == b""
    assert [x["user_id"] for x in (await a.get("/v1/blocks")).json()] == [c.user_id]
    again = await a.api.delete(f"/v1/blocks/{b.user_id}", headers=a.headers)
    assert again.status_code == 404
    # A lifted block can be made again: a new block, not the old one.
    assert (await a.post("/v1/blocks", {"user_id": b.user_id})).status_code == 201


async def test_any_user_id_can_be_blocked_and_lifted(stack: Stack) -> None:
    a = person(stack, "a")
    for odd in ("x/y", "with space", "ünïcødé", "%2F"):
        assert (await a.post("/v1/blocks", {"user_id": odd})).status_code == 201
        path = "/v1/blocks/" + quote(odd, safe="/")
        assert (await a.api.delete(path, headers=a.headers)).status_code == 204, odd
    assert (await a.get("/v1/blocks")).json() == []


async def test_blocking_twice_answers_the_same_block(stack: Stack) -> None:
    a, b = person(stack, "a"), person(stack, "b")
    first = await a.post("/v1/blocks", {"user_id": b.user_id})
    second = await a.post("/v1/blocks", {"user_id": b.user_id})
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json() == second.json()
    assert len((await a.get("/v1/blocks")).json()) == 1


async def test_each_user_sees_and_lifts_only_their_own_blocks(stack: Stack) -> None:
    a, b, mallory = person(stack, "a"), person(stack, "b"), person(stack, "mallory")
    assert (await a.post("/v1/blocks", {"user_id": b.user_id})).status_code == 201
    assert (await mallory.get("/v1/blocks")).json() == []
    assert (await b.get("/v1/blocks")).json() == []  # blocked, but b blocks nobody
    # Nobody but `a` can lift a's block, not even the one blocked.
    for other in (mallory, b):
        lifted = await other.api.delete(f"/v1/blocks/{b.user_id}", headers=other.headers)
        assert lifted.status_code == 404
    assert [x["user_id"] for x in (await a.get("/v1/blocks")).json()] == [b.user_id]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"user_id": ""},
        {"user_id": "   "},
        {"user_id": "x" * 201},
        {"user_id": 7},
        {"user_id": "a\nb"},
        {"user_id": "ok", "extra": 1},
    ],  # fmt: skip
)
async def test_bad_bodies_are_422_naming_the_field(stack: Stack, body: dict[str, Any]) -> None:
    a = person(stack, "a")
    refused = await a.post("/v1/blocks", body)
    assert refused.status_code == 422, refused.text
    field = "extra" if "extra" in body else "user_id"
    assert ["body", field] in [issue["loc"] for issue in refused.json()["detail"]]


async def test_blocking_yourself_is_422_naming_user_id(stack: Stack) -> None:
    a = person(stack, "a")
    refused = await a.post("/v1/blocks", {"user_id": a.user_id})
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["loc"] == ["body", "user_id"]
    assert "yourself" in refused.json()["detail"][0]["msg"]


async def test_blocks_need_a_token(stack: Stack) -> None:
    assert (await stack.api.get("/v1/blocks")).status_code == 401
    assert (await stack.api.post("/v1/blocks", json={"user_id": "x"})).status_code == 401
    assert (await stack.api.delete("/v1/blocks/x")).status_code == 401


async def test_blocking_keeps_a_scheduled_session_and_says_so(stack: Stack) -> None:
    a, b = person(stack, "a"), person(stack, "b")
    _, _, session = await book_pair(stack, a, b, await slot_ahead(stack))
    made = await a.post("/v1/blocks", {"user_id": b.user_id})
    assert made.status_code == 201, made.text
    assert made.json()["scheduled_sessions_kept"] == [session["id"]]
    assert (await a.get(f"/v1/sessions/{session['id']}")).json()["status"] == "scheduled"
    assert (await a.get("/v1/blocks")).json()[0]["scheduled_sessions_kept"] == [session["id"]]


@pytest.mark.parametrize("blocker_is_one", [True, False])
async def test_the_database_refuses_a_session_between_a_blocked_pair_either_way(
    stack: Stack, conn: psycopg.Connection[Any], blocker_is_one: bool
) -> None:
    a, b = person(stack, "a"), person(stack, "b")
    assert (await a.post("/v1/blocks", {"user_id": b.user_id})).status_code == 201
    one, two = (
        _pair_requests(conn, a.user_id, b.user_id)
        if blocker_is_one
        else _pair_requests(conn, b.user_id, a.user_id)
    )
    with pytest.raises(psycopg.IntegrityError) as refused:
        insert_session(conn, one, two)
    assert refused.value.sqlstate == BLOCKED_PAIR
    assert "blocked" in str(refused.value)
    assert status_of(conn, one[1]) == ("waiting", False, None)
    # Lifted, the same two requests pair.
    assert (await a.api.delete(f"/v1/blocks/{b.user_id}", headers=a.headers)).status_code == 204
    session_id = insert_session(conn, one, two)
    assert status_of(conn, two[1]) == ("matched", True, session_id)


async def test_a_block_of_someone_else_does_not_refuse_a_session(
    stack: Stack, conn: psycopg.Connection[Any]
) -> None:
    a, b, c = person(stack, "a"), person(stack, "b"), person(stack, "c")
    assert (await a.post("/v1/blocks", {"user_id": c.user_id})).status_code == 201
    one, two = _pair_requests(conn, a.user_id, b.user_id)
    insert_session(conn, one, two)


def test_block_rows_are_never_deleted_and_never_block_oneself(
    conn: psycopg.Connection[Any],
) -> None:
    me = f"user-{uuid.uuid4().hex[:8]}"
    with pytest.raises(psycopg.IntegrityError):
        conn.execute(
            "INSERT INTO user_blocks (id, user_id, blocked_user_id) VALUES (%s, %s, %s)",
            (uuid.uuid4(), me, me),
        )
    conn.execute(
        "INSERT INTO user_blocks (id, user_id, blocked_user_id) VALUES (%s, %s, 'other')",
        (uuid.uuid4(), me),
    )
    with pytest.raises(psycopg.Error) as refused:
        conn.execute("DELETE FROM user_blocks WHERE user_id = %s", (me,))
    assert refused.value.sqlstate == "23P93"
    with pytest.raises(psycopg.IntegrityError):  # one active block per pair
        conn.execute(
            "INSERT INTO user_blocks (id, user_id, blocked_user_id) VALUES (%s, %s, 'other')",
            (uuid.uuid4(), me),
        )


async def test_racing_blocks_of_one_pair_make_one_block(stack: Stack) -> None:
    a, b = person(stack, "a"), person(stack, "b")
    answers = await asyncio.gather(
        *(a.post("/v1/blocks", {"user_id": b.user_id}) for _ in range(4))
    )
    assert sorted(answer.status_code for answer in answers) == [200, 200, 200, 201]
    assert len({answer.json()["blocked_at"] for answer in answers}) == 1


async def test_a_block_waits_for_a_session_being_written_and_lists_it(
    stack: Stack, conn: psycopg.Connection[Any], database_url: str
) -> None:
    a, b = person(stack, "a"), person(stack, "b")
    one, two = _pair_requests(conn, a.user_id, b.user_id)
    with psycopg.connect(database_url) as writer:  # a matchmaker's transaction, still open
        session_id = insert_session(writer, one, two)
        blocking = asyncio.create_task(a.post("/v1/blocks", {"user_id": b.user_id}))
        await asyncio.sleep(0.5)
        assert not blocking.done()  # it waits for the session to commit or roll back
        writer.commit()
    made = await blocking
    assert made.status_code == 201, made.text
    assert made.json()["scheduled_sessions_kept"] == [str(session_id)]


def test_a_rearrangement_into_a_blocked_pair_is_refused(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:  # one transaction, as a rearrangement is
        old, a, b = insert_pair(conn)
        c_user = f"user-{uuid.uuid4().hex[:8]}"
        c = (c_user, insert_request(conn, c_user, "spanish", "english"))
        conn.execute(
            "INSERT INTO user_blocks (id, user_id, blocked_user_id) VALUES (%s, %s, %s)",
            (uuid.uuid4(), c_user, a[0]),
        )
        conn.commit()
        conn.execute(
            "UPDATE sessions SET status = 'cancelled', cancel_reason = 'rearranged' WHERE id = %s",
            (old,),
        )
        with pytest.raises(psycopg.IntegrityError) as refused:
            insert_session(conn, a, c)
        assert refused.value.sqlstate == BLOCKED_PAIR
