"""The no-show deadline end to end: the matchmaker's sweep, then each session's own timer."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from functools import partial

import psycopg
from sqlalchemy import select

from api.policy import workflow_policy
from contracts.naming import session_workflow_id
from contracts.requests import RequestSpec
from contracts.sessions import SessionInput, SessionSpec
from db.models import SessionRow
from tests.helpers import Person, Stack, book_pair, eventually, person, skip_to, slot_ahead
from tests.rows import insert_request, insert_session
from workflows.session import SessionWorkflow

GRACE = timedelta(minutes=2)


def has_status(status: str, resource: dict) -> bool:
    """Whether the API shows the resource in this status."""
    return resource["status"] == status


async def _waiting(p: Person) -> list[dict]:
    return (await p.get("/v1/match-requests", status="waiting")).json()


async def test_the_matchmaker_cancels_its_slots_no_shows_at_the_deadline_all_at_once(
    stack: Stack,
) -> None:
    slot = await slot_ahead(stack)
    people = [person(stack, f"user-{n}") for n in range(6)]
    sessions = [(await book_pair(stack, people[n], people[n + 1], slot))[2] for n in range(0, 6, 2)]
    full, half, empty = sessions
    await skip_to(stack, slot - timedelta(minutes=1))
    for who, session in ((people[0], full), (people[1], full), (people[2], half)):
        assert (await who.post(f"/v1/sessions/{session['id']}/join")).status_code == 200

    # Time runs to just past the deadline: the matchmaker's sweep cancels both sessions someone
    # missed in one transaction (the sessions' own timers come a second later).
    sweep = slot + GRACE + timedelta(seconds=stack.settings.receipt_skew_seconds)
    await skip_to(stack, sweep + timedelta(milliseconds=200))
    for owner, session, status in (
        (people[2], half, "cancelled"),
        (people[4], empty, "cancelled"),
        (people[0], full, "active"),
    ):
        await eventually(
            partial(owner.get, f"/v1/sessions/{session['id']}"),
            partial(has_status, status),
        )
    async with stack.sessionmaker() as db:
        stamps = set(
            await db.scalars(
                select(SessionRow.updated_at).where(
                    SessionRow.id.in_([uuid.UUID(half["id"]), uuid.UUID(empty["id"])])
                )
            )
        )
    assert len(stamps) == 1 and stamps.pop() < sweep + timedelta(seconds=1)
    late = await people[3].post(f"/v1/sessions/{half['id']}/join")
    assert late.status_code == 409 and "no-show window has closed" in late.json()["detail"]

    # Then each cancelled session's own timer rematches whoever came, into the next slot.
    await skip_to(stack, sweep + timedelta(seconds=5))
    rematch = await eventually(lambda: people[2].get("/v1/match-requests", status="waiting"), bool)
    assert rematch[0]["priority"] == 1
    assert datetime.fromisoformat(rematch[0]["availability_start"]) > slot
    for nobody in (people[3], people[4], people[5]):
        assert await _waiting(nobody) == []


async def test_a_session_settles_its_own_no_show_when_no_sweep_comes(
    stack: Stack, database_url: str
) -> None:
    a, b = person(stack, "user-a"), person(stack, "user-b")
    slot = await slot_ahead(stack)
    session_id = await _session_without_a_matchmaker(stack, database_url, a, b, slot)
    await skip_to(stack, slot - timedelta(minutes=1))
    assert (await a.post(f"/v1/sessions/{session_id}/join")).status_code == 200
    await skip_to(stack, slot + GRACE + timedelta(seconds=5))
    cancelled = await eventually(
        lambda: a.get(f"/v1/sessions/{session_id}"), lambda s: s["status"] == "cancelled"
    )
    assert cancelled["cancel_reason"] == "no_show" and cancelled["cancelled_by"] is None
    assert [r["status"] for r in (await b.get("/v1/match-requests")).json()] == ["no_show"]
    rematch = await eventually(lambda: a.get("/v1/match-requests", status="waiting"), bool)
    assert rematch[0]["priority"] == 1


async def _session_without_a_matchmaker(
    stack: Stack, database_url: str, a: Person, b: Person, slot: datetime
) -> str:
    """A session whose matchmaker is gone (as if an operator had ended it): its rows, and its
    workflow started by hand, so that no sweep comes at the deadline."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        ra = insert_request(conn, a.user_id, "english", "spanish", start=slot)
        rb = insert_request(conn, b.user_id, "spanish", "english", start=slot)
        session_id = insert_session(conn, (a.user_id, ra), (b.user_id, rb), slot)

    def request(user_id: str, request_id: uuid.UUID, native: str, learning: str) -> RequestSpec:
        return RequestSpec(str(request_id), user_id, native, learning, "intermediate", slot, 60)

    spec = SessionSpec(
        str(session_id), a.user_id, b.user_id, str(ra), str(rb), "english", "spanish", slot, 60
    )
    await stack.env.client.start_workflow(
        SessionWorkflow.run,
        SessionInput(
            spec=spec,
            request_one=request(a.user_id, ra, "english", "spanish"),
            request_two=request(b.user_id, rb, "spanish", "english"),
            policy=workflow_policy(stack.settings),
        ),
        id=session_workflow_id(str(session_id)),
        task_queue=stack.settings.task_queue,
    )
    return str(session_id)
