"""Races through the whole stack: the database decides, and no request ends up in two places."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from functools import partial

from contracts.naming import matchmaker_workflow_id
from contracts.requests import PoolEntry
from tests.helpers import Stack, book_pair, eventually, is_matched, person, slot_ahead
from workflows.matchmaker import MatchmakerWorkflow


async def test_a_cancel_racing_a_match_ends_in_exactly_one_of_the_two(stack: Stack) -> None:
    slot = await slot_ahead(stack)
    for round_ in range(3):
        a, b = person(stack, f"user-a{round_}"), person(stack, f"user-b{round_}")
        request_a = (await a.book(slot, "english", "spanish")).json()
        cancel, booking = await asyncio.gather(
            a.post(f"/v1/match-requests/{request_a['id']}/cancel"),
            b.book(slot, "spanish", "english"),
        )
        assert booking.status_code == 201, booking.text
        final_a = (await a.get(f"/v1/match-requests/{request_a['id']}")).json()
        if cancel.status_code == 200:
            assert final_a["status"] == "cancelled" and final_a["session_id"] is None
            assert (await b.get(f"/v1/match-requests/{booking.json()['id']}")).json()[
                "status"
            ] == "waiting"
        else:
            assert cancel.status_code == 409, cancel.text
            await eventually(partial(a.get, f"/v1/match-requests/{request_a['id']}"), is_matched)
        assert len((await a.get("/v1/sessions")).json()) <= 1


async def test_a_repeated_signal_for_a_matched_request_never_pairs_it_again(stack: Stack) -> None:
    a, b, c = person(stack, "user-a"), person(stack, "user-b"), person(stack, "user-c")
    slot = await slot_ahead(stack)
    request_a = (await a.book(slot, "english", "spanish")).json()
    await b.book(slot, "spanish", "english")
    await eventually(lambda: a.get(f"/v1/match-requests/{request_a['id']}"), is_matched)
    # A second pass sees A again, as if a signal were delivered twice across a continue-as-new.
    matchmaker = stack.env.client.get_workflow_handle(
        matchmaker_workflow_id(slot, 60, ("english", "spanish"))
    )
    await matchmaker.signal(
        MatchmakerWorkflow.add_request,
        PoolEntry(
            request_id=request_a["id"],
            user_id=a.user_id,
            native_language_id="english",
            learning_language_id="spanish",
            proficiency_level="intermediate",
            priority=0,
            created_at=datetime(2020, 1, 1, tzinfo=UTC),
            availability_start=slot,
            availability_end=slot,
            preferred_duration_minutes=60,
        ),
    )
    request_c = (await c.book(slot, "spanish", "english")).json()
    state = await eventually(lambda: c.get(f"/v1/match-requests/{request_c['id']}"), lambda r: True)
    await asyncio.sleep(1.0)  # real time for the matchmaker's pass to run and be refused
    state = (await c.get(f"/v1/match-requests/{request_c['id']}")).json()
    assert state["status"] == "waiting"
    assert len((await a.get("/v1/sessions")).json()) == 1


async def test_two_participants_cancelling_at_once_cancel_once(stack: Stack) -> None:
    a, b = person(stack, "user-a"), person(stack, "user-b")
    slot = await slot_ahead(stack)
    _, _, session = await book_pair(stack, a, b, slot)
    answers = await asyncio.gather(
        a.post(f"/v1/sessions/{session['id']}/cancel"),
        b.post(f"/v1/sessions/{session['id']}/cancel"),
    )
    assert sorted(answer.status_code for answer in answers) == [200, 409]
    winner = next(answer for answer in answers if answer.status_code == 200).json()
    partner = a if winner["cancelled_by"] == b.user_id else b
    canceller = b if partner is a else a
    rematches = await eventually(
        lambda: partner.get("/v1/match-requests", status="waiting"), lambda rows: len(rows) == 1
    )
    assert rematches[0]["priority"] == 1
    assert (await canceller.get("/v1/match-requests", status="waiting")).json() == []
