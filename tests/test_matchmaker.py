"""The matchmaker hands over to a new run (continue-as-new) without losing a request.

On the real dev server: the time-skipping test server mishandles a signal-with-start that races
a continue-as-new (the successor run stopped answering queries in about one run in three).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client, WorkflowHandle

from domain.slots import next_slot_after
from settings import Settings
from tests.helpers import Person, eventually, is_matched, on_dev_server
from workflows import search_attributes
from workflows.contracts import MatchmakerInput, MatchmakerResult, MatchmakerState, PoolEntry
from workflows.ids import matchmaker_workflow_id
from workflows.matchmaker import MatchmakerWorkflow

PAIRS = 8


async def start_small_matchmaker(
    client: Client, settings: Settings, slot: datetime
) -> WorkflowHandle[MatchmakerWorkflow, MatchmakerResult]:
    """The slot's English/Spanish matchmaker, with a history budget so tiny that it hands over
    to a new run every pass or two."""
    return await client.start_workflow(
        MatchmakerWorkflow.run,
        MatchmakerInput(
            slot_start=slot,
            duration_minutes=60,
            language_one_id="english",
            language_two_id="spanish",
            history_event_budget=12,
        ),
        id=matchmaker_workflow_id(slot, 60, ("english", "spanish")),
        task_queue=settings.task_queue,
        search_attributes=search_attributes.initial(
            search_attributes.MATCHMAKER, [], slot, "matching"
        ),
    )


async def test_a_matchmaker_that_continues_as_new_loses_no_request(
    dev_client: Client, settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with on_dev_server(dev_client, settings, sessionmaker) as (test_settings, people):
        slot = next_slot_after(datetime.now(UTC) + timedelta(hours=2), test_settings.slot_minutes)
        handle = await start_small_matchmaker(dev_client, test_settings, slot)

        async def book(person: Person, native: str, learning: str) -> tuple[Person, str]:
            response = await person.book(slot, native, learning)
            assert response.status_code == 201, response.text
            return person, response.json()["id"]

        # All at once, so that signals keep landing while runs hand over.
        booked = await asyncio.gather(
            *(book(people(f"en{i}"), "english", "spanish") for i in range(PAIRS)),
            *(book(people(f"es{i}"), "spanish", "english") for i in range(PAIRS)),
        )
        for owner, request_id in booked:
            await eventually(partial(owner.get, f"/v1/match-requests/{request_id}"), is_matched)
        # The rows read `matched` once a pass's sessions are committed; the matchmaker counts
        # them when the activity that also starts their workflows returns. Every booking signals
        # the matchmaker, so its history outgrows the budget and it hands over, even when one
        # run loaded every request from Postgres and the signals only repeat them.
        for _ in range(100):
            state = await handle.query(MatchmakerWorkflow.state)
            if state.sessions_created == PAIRS and state.runs > 1:
                break
            await asyncio.sleep(0.1)
        assert state.sessions_created == PAIRS
        assert state.runs > 1 and state.waiting_request_ids == []


async def test_signals_that_only_repeat_a_request_still_make_the_matchmaker_hand_over(
    dev_client: Client, settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with on_dev_server(dev_client, settings, sessionmaker) as (test_settings, people):
        slot = next_slot_after(datetime.now(UTC) + timedelta(hours=3), test_settings.slot_minutes)
        handle = await start_small_matchmaker(dev_client, test_settings, slot)
        alone = people("alone")
        response = await alone.book(slot, "english", "spanish")
        assert response.status_code == 201, response.text
        request = response.json()
        # A client retrying its signal: nothing new to pair, but every repeat is a history event.
        repeat = pool_entry_of(request)
        state = await repeat_until_handed_over(handle, repeat)
        # The new run reloads the pool from Postgres: the request still waits there.
        assert state.waiting_request_ids == [request["id"]]


async def test_a_repeated_signal_after_a_hand_over_does_not_bring_back_a_matched_request(
    dev_client: Client, settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with on_dev_server(dev_client, settings, sessionmaker) as (test_settings, people):
        slot = next_slot_after(datetime.now(UTC) + timedelta(hours=4), test_settings.slot_minutes)
        handle = await start_small_matchmaker(dev_client, test_settings, slot)
        ana, ben = people("ana"), people("ben")
        first = await ana.book(slot, "english", "spanish")
        second = await ben.book(slot, "spanish", "english")
        assert first.status_code == second.status_code == 201
        request = first.json()
        await eventually(partial(ana.get, f"/v1/match-requests/{request['id']}"), is_matched)
        repeat = pool_entry_of(request)
        await repeat_until_handed_over(handle, repeat)
        # The new run never saw Ana's request finish; it asks Postgres before pooling her again.
        await handle.signal(MatchmakerWorkflow.add_request, repeat)
        state = await handle.query(MatchmakerWorkflow.state)
        assert state.waiting_request_ids == []


def pool_entry_of(request: dict[str, Any]) -> PoolEntry:
    """The pool entry the booking of this request (as the API shows it) signalled."""
    return PoolEntry(
        request_id=request["id"],
        user_id=request["user_id"],
        native_language_id=request["native_language_id"],
        learning_language_id=request["learning_language_id"],
        proficiency_level=request["proficiency_level"],
        priority=request["priority"],
        waiting_since=datetime.fromisoformat(request["created_at"]),
    )


async def repeat_until_handed_over(
    handle: WorkflowHandle[MatchmakerWorkflow, MatchmakerResult], repeat: PoolEntry
) -> MatchmakerState:
    """Signal the same request again and again, as a retrying client would, until the
    matchmaker's history outgrows its budget and a new run takes over."""
    for _ in range(100):
        await handle.signal(MatchmakerWorkflow.add_request, repeat)
        state = await handle.query(MatchmakerWorkflow.state)
        if state.runs > 1:
            return state
    raise AssertionError(f"no hand-over after 100 repeats: {state}")
