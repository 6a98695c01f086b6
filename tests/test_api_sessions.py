"""Sessions through the API: the join window, no-shows, cancellations, ending, and restarts."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

from httpx import ASGITransport, AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.testing import WorkflowEnvironment

from api.main import create_app
from contracts.naming import session_workflow_id
from settings import Settings
from tests.helpers import (
    Stack,
    book_pair,
    eventually,
    new_calendar_offset,
    person,
    settle,
    skip_to,
    slot_ahead,
)
from tests.workers import test_worker
from workflows.session import SessionWorkflow


async def test_joining_opens_five_minutes_before_the_start(stack: Stack) -> None:
    a, b = person(stack, "user-a"), person(stack, "user-b")
    slot = await slot_ahead(stack)
    _, _, session = await book_pair(stack, a, b, slot)
    early = await a.post(f"/v1/sessions/{session['id']}/join")
    assert early.status_code == 409 and "joining opens" in early.json()["detail"]
    await skip_to(stack, slot - timedelta(minutes=5))
    joined = await a.post(f"/v1/sessions/{session['id']}/join")
    assert joined.status_code == 200, joined.text
    assert joined.json()["participant_one_joined_at" if session["participant_one_id"] == a.user_id
                         else "participant_two_joined_at"] is not None  # fmt: skip
    assert joined.json()["status"] == "scheduled"


async def test_someone_elses_session_is_a_404(stack: Stack) -> None:
    a, b, mallory = person(stack, "user-a"), person(stack, "user-b"), person(stack, "mallory")
    slot = await slot_ahead(stack)
    _, _, session = await book_pair(stack, a, b, slot)
    assert (await mallory.get(f"/v1/sessions/{session['id']}")).status_code == 404
    for action in ("join", "cancel", "end"):
        assert (await mallory.post(f"/v1/sessions/{session['id']}/{action}")).status_code == 404
    assert (await mallory.get("/v1/sessions")).json() == []


async def test_an_active_session_cannot_be_cancelled_but_can_be_ended_early(stack: Stack) -> None:
    a, b = person(stack, "user-a"), person(stack, "user-b")
    slot = await slot_ahead(stack)
    _, _, session = await book_pair(stack, a, b, slot)
    await skip_to(stack, slot - timedelta(minutes=1))
    for p in (a, b):
        assert (await p.post(f"/v1/sessions/{session['id']}/join")).status_code == 200
    await skip_to(stack, slot + timedelta(minutes=1))
    await eventually(
        lambda: a.get(f"/v1/sessions/{session['id']}"), lambda s: s["status"] == "active"
    )
    refused = await a.post(f"/v1/sessions/{session['id']}/cancel")
    assert refused.status_code == 409 and "end it instead" in refused.json()["detail"]
    ended = await b.post(f"/v1/sessions/{session['id']}/end")
    assert ended.status_code == 200, ended.text
    assert ended.json()["status"] == "completed" and ended.json()["ended_by"] == b.user_id
    assert (await a.post(f"/v1/sessions/{session['id']}/end")).status_code == 409


async def test_a_scheduled_session_cannot_be_ended(stack: Stack) -> None:
    a, b = person(stack, "user-a"), person(stack, "user-b")
    _, _, session = await book_pair(stack, a, b, await slot_ahead(stack))
    refused = await a.post(f"/v1/sessions/{session['id']}/end")
    assert refused.status_code == 409 and "not started" in refused.json()["detail"]


async def test_when_nobody_joins_both_are_no_shows_and_nobody_is_rematched(stack: Stack) -> None:
    a, b = person(stack, "user-a"), person(stack, "user-b")
    slot = await slot_ahead(stack)
    req_a, req_b, session = await book_pair(stack, a, b, slot)
    await skip_to(stack, slot + timedelta(minutes=2, seconds=1))
    cancelled = await eventually(
        lambda: a.get(f"/v1/sessions/{session['id']}"), lambda s: s["status"] == "cancelled"
    )
    assert cancelled["cancel_reason"] == "no_show"
    for p, req in ((a, req_a), (b, req_b)):
        assert (await p.get(f"/v1/match-requests/{req['id']}")).json()["status"] == "no_show"
        assert (await p.get("/v1/match-requests", status="waiting")).json() == []


async def test_cancelling_after_the_start_counts_as_the_cancellers_no_show(stack: Stack) -> None:
    a, b = person(stack, "user-a"), person(stack, "user-b")
    slot = await slot_ahead(stack)
    req_a, req_b, session = await book_pair(stack, a, b, slot)
    await skip_to(stack, slot - timedelta(minutes=1))
    assert (await a.post(f"/v1/sessions/{session['id']}/join")).status_code == 200
    await skip_to(stack, slot + timedelta(seconds=30))
    cancelled = await b.post(f"/v1/sessions/{session['id']}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["cancel_reason"] == "no_show"
    assert cancelled.json()["cancelled_by"] == b.user_id
    assert (await b.get(f"/v1/match-requests/{req_b['id']}")).json()["status"] == "cancelled"
    rematch = await eventually(
        lambda: a.get("/v1/match-requests", status="waiting"), lambda rows: len(rows) == 1
    )
    assert rematch[0]["priority"] == 1
    assert rematch[0]["availability_start"] > req_a["availability_start"]


async def test_joining_after_the_no_show_window_is_refused(stack: Stack) -> None:
    a, b = person(stack, "user-a"), person(stack, "user-b")
    slot = await slot_ahead(stack)
    _, _, session = await book_pair(stack, a, b, slot)
    await skip_to(stack, slot + timedelta(minutes=3))
    await eventually(
        lambda: a.get(f"/v1/sessions/{session['id']}"), lambda s: s["status"] == "cancelled"
    )
    late = await a.post(f"/v1/sessions/{session['id']}/join")
    assert late.status_code == 409


async def test_a_worker_restart_in_the_middle_of_a_session_loses_no_timer(
    env: WorkflowEnvironment,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    # The first worker has no cache (see below), which makes each booking replay its history
    # several times: give bookings room, this test is about timers, not answer bounds.
    test_settings = settings.model_copy(
        update={"task_queue": f"parley-{uuid.uuid4()}", "workflow_call_timeout_seconds": 60}
    )
    app = create_app(
        test_settings, temporal=env.client, sessionmaker=sessionmaker, clock=env.get_current_time
    )
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://parley.test") as api:
        stack = Stack(
            api, env, test_settings, sessionmaker, uuid.uuid4().hex[:8], new_calendar_offset()
        )
        await _book_join_then_restart(stack)


async def _book_join_then_restart(stack: Stack) -> None:
    a, b = person(stack, "user-a"), person(stack, "user-b")
    slot = await slot_ahead(stack)
    queue = stack.settings.task_queue
    # No sticky cache: a real crash loses it too, and the next worker must replay from history.
    async with test_worker(stack.env.client, stack.sessionmaker, queue, max_cached_workflows=0):
        _, req_b, session = await book_pair(stack, a, b, slot)
        await skip_to(stack, slot - timedelta(minutes=1))
        assert (await a.post(f"/v1/sessions/{session['id']}/join")).status_code == 200
    # No worker at all when the no-show timer comes due: the server holds the fired timer's
    # task (and its clock) until someone serves the queue again.
    skipping = asyncio.create_task(skip_to(stack, slot + timedelta(minutes=5)))
    await asyncio.sleep(1.0)
    assert (await a.get(f"/v1/sessions/{session['id']}")).json()["status"] == "scheduled"
    # A brand-new worker (empty cache: it replays the history) finishes the job.
    async with test_worker(stack.env.client, stack.sessionmaker, queue):
        await skipping
        cancelled = await eventually(
            lambda: a.get(f"/v1/sessions/{session['id']}"), lambda s: s["status"] == "cancelled"
        )
        assert cancelled["cancel_reason"] == "no_show"
        assert (await b.get(f"/v1/match-requests/{req_b['id']}")).json()["status"] == "no_show"
        await eventually(
            lambda: a.get("/v1/match-requests", status="waiting"),
            lambda rows: len(rows) == 1 and rows[0]["priority"] == 1,
        )
        await settle(stack)


async def test_cancelling_after_the_start_when_nobody_joined_rematches_nobody(
    stack: Stack,
) -> None:
    a, b = person(stack, "user-a"), person(stack, "user-b")
    slot = await slot_ahead(stack)
    req_a, req_b, session = await book_pair(stack, a, b, slot)
    await skip_to(stack, slot + timedelta(seconds=30))
    cancelled = await b.post(f"/v1/sessions/{session['id']}/cancel")
    # Recorded; whether A is a no-show too is for the deadline to say: A may still come.
    assert cancelled.status_code == 202, cancelled.text
    assert cancelled.json()["cancel_requested_by"] == b.user_id
    await skip_to(stack, slot + timedelta(minutes=2, seconds=5))
    await eventually(
        lambda: b.get(f"/v1/match-requests/{req_b['id']}"), lambda r: r["status"] == "cancelled"
    )
    assert (await a.get(f"/v1/match-requests/{req_a['id']}")).json()["status"] == "no_show"
    assert (await a.get("/v1/match-requests", status="waiting")).json() == []


async def test_a_rematch_that_would_double_book_is_refused_and_recorded(stack: Stack) -> None:
    a, b = person(stack, "user-a"), person(stack, "user-b")
    slot = await slot_ahead(stack)
    _, _, session = await book_pair(stack, a, b, slot)
    later = await a.book(slot + timedelta(minutes=60), "english", "french")
    assert later.status_code == 201
    await skip_to(stack, slot - timedelta(minutes=1))
    assert (await a.post(f"/v1/sessions/{session['id']}/join")).status_code == 200
    await skip_to(stack, slot + timedelta(minutes=3))
    await eventually(
        lambda: a.get(f"/v1/sessions/{session['id']}"), lambda s: s["status"] == "cancelled"
    )
    # The 15:10 rematch would overlap A's 16:00 booking, so the database refused it...
    waiting = (await a.get("/v1/match-requests", status="waiting")).json()
    assert [r["id"] for r in waiting] == [later.json()["id"]]
    # ...and the session says so to an operator.
    handle = stack.env.client.get_workflow_handle(session_workflow_id(session["id"]))
    # The row reads cancelled as soon as it is written; the workflow records the refused rematch
    # a moment later, in the same workflow task.
    for _ in range(100):
        state = await handle.query(SessionWorkflow.state)
        if state.status == "cancelled":
            break
        await asyncio.sleep(0.1)
    assert state.status == "cancelled"
    assert state.rematch_request_ids == []
    assert len(state.rematch_refusals) == 1 and "overlaps" in state.rematch_refusals[0]


async def test_a_partner_who_comes_after_the_others_late_cancel_is_rematched_not_a_no_show(
    stack: Stack,
) -> None:
    a, b = person(stack, "user-a"), person(stack, "user-b")
    slot = await slot_ahead(stack)
    req_a, req_b, session = await book_pair(stack, a, b, slot)
    await skip_to(stack, slot + timedelta(seconds=20))
    assert (await b.post(f"/v1/sessions/{session['id']}/cancel")).status_code == 202
    await skip_to(stack, slot + timedelta(seconds=60))
    assert (await a.post(f"/v1/sessions/{session['id']}/join")).status_code == 200
    done = await eventually(
        lambda: a.get(f"/v1/sessions/{session['id']}"), lambda s: s["status"] == "cancelled"
    )
    assert (done["cancel_reason"], done["cancelled_by"]) == ("no_show", b.user_id)
    assert (await b.get(f"/v1/match-requests/{req_b['id']}")).json()["status"] == "cancelled"
    assert (await a.get(f"/v1/match-requests/{req_a['id']}")).json()["status"] == "matched"
    rematch = await eventually(
        lambda: a.get("/v1/match-requests", status="waiting"), lambda rows: len(rows) == 1
    )
    assert rematch[0]["priority"] == 1 and rematch[0]["origin_session_id"] == session["id"]
