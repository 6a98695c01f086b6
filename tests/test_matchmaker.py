"""The matchmaker hands over to a new run (continue-as-new) without losing a request."""

from __future__ import annotations

import asyncio
from functools import partial

from tests.helpers import Stack, eventually, is_matched, person, slot_ahead
from workflows import search_attributes
from workflows.contracts import MatchmakerInput
from workflows.ids import matchmaker_workflow_id
from workflows.matchmaker import MatchmakerWorkflow


async def test_a_matchmaker_that_continues_as_new_loses_no_request(stack: Stack) -> None:
    slot = await slot_ahead(stack)
    # A tiny history budget forces a hand-over to a new run every pass or two.
    handle = await stack.env.client.start_workflow(
        MatchmakerWorkflow.run,
        MatchmakerInput(
            slot_start=slot,
            duration_minutes=60,
            language_one_id="english",
            language_two_id="spanish",
            history_event_budget=20,
        ),
        id=matchmaker_workflow_id(slot, 60, ("english", "spanish")),
        task_queue=stack.settings.task_queue,
        search_attributes=search_attributes.initial(
            search_attributes.MATCHMAKER, [], slot, "matching"
        ),
    )
    for i in range(6):
        english, spanish = person(stack, f"en{i}"), person(stack, f"es{i}")
        booked = [
            (english, (await english.book(slot, "english", "spanish")).json()["id"]),
            (spanish, (await spanish.book(slot, "spanish", "english")).json()["id"]),
        ]
        for owner, request_id in booked:
            await eventually(partial(owner.get, f"/v1/match-requests/{request_id}"), is_matched)
    # The requests read `matched` once a pass's sessions are committed; the matchmaker counts
    # them a moment later, when it has started their workflows.
    for _ in range(100):
        state = await handle.query(MatchmakerWorkflow.state)
        if state.sessions_created == 6:
            break
        await asyncio.sleep(0.1)
    assert state.sessions_created == 6
    assert state.runs > 1 and state.waiting_request_ids == []
