"""The matchmaker hands over to a new run (continue-as-new) without losing a request.

On the real dev server: the time-skipping test server mishandles a signal-with-start that races
a continue-as-new (the successor run stopped answering queries in about one run in three).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import psycopg
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client, WorkflowHandle

from contracts import naming
from contracts.matchmaker import MatchmakerInput, MatchmakerResult, MatchmakerState
from contracts.naming import matchmaker_workflow_id
from contracts.requests import PoolEntry
from domain.slots import day_start, next_slot_after
from settings import Settings
from tests import rows
from tests.helpers import Person, eventually, is_matched, until_state
from tests.rows import insert_request
from tests.workers import on_dev_server
from workflows.matchmaker import MatchmakerWorkflow

PAIRS = 8


def matchmaker_id(slot: datetime) -> str:
    """The workflow id of the slot's hour-long English/Spanish matchmaker."""
    return matchmaker_workflow_id(slot, 60, ("english", "spanish"))


async def start_matchmaker(
    client: Client, settings: Settings, slot: datetime, budget: int = 12
) -> WorkflowHandle[MatchmakerWorkflow, MatchmakerResult]:
    """The slot's English/Spanish matchmaker; by default with a history budget so tiny that it
    hands over to a new run every pass or two."""
    return await client.start_workflow(
        MatchmakerWorkflow.run,
        MatchmakerInput(
            day=day_start(slot),
            duration_minutes=60,
            language_one_id="english",
            language_two_id="spanish",
            history_event_budget=budget,
        ),
        id=matchmaker_id(slot),
        task_queue=settings.task_queue,
        search_attributes=naming.initial(naming.MATCHMAKER, [], slot, "matching"),
    )


async def test_a_matchmaker_that_continues_as_new_loses_no_request(
    dev_client: Client, settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with on_dev_server(dev_client, settings, sessionmaker) as (test_settings, people):
        slot = next_slot_after(datetime.now(UTC) + timedelta(hours=2), test_settings.slot_minutes)
        handle = await start_matchmaker(dev_client, test_settings, slot)

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
        state = await until_state(
            handle, lambda state: state.sessions_created >= PAIRS and state.runs > 1
        )
        # The day's pool may hold other tests' requests (one Postgres); none of this test's.
        assert set(state.waiting_request_ids).isdisjoint(r for _, r in booked)


async def test_signals_that_only_repeat_a_request_still_make_the_matchmaker_hand_over(
    dev_client: Client, settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with on_dev_server(dev_client, settings, sessionmaker) as (test_settings, people):
        slot = next_slot_after(datetime.now(UTC) + timedelta(hours=3), test_settings.slot_minutes)
        handle = await start_matchmaker(dev_client, test_settings, slot)
        alone = people("alone")
        response = await alone.book(slot, "english", "spanish")
        assert response.status_code == 201, response.text
        request = response.json()
        # A client retrying its signal: nothing new to pair, but every repeat is a history event.
        repeat = pool_entry_of(request)
        state = await repeat_until_handed_over(handle, repeat)
        # The new run reloads the pool from Postgres: the request still waits there.
        assert request["id"] in state.waiting_request_ids


async def test_a_new_matchmaker_does_not_bring_back_a_request_an_earlier_one_matched(
    dev_client: Client, settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with on_dev_server(dev_client, settings, sessionmaker) as (test_settings, people):
        slot = next_slot_after(datetime.now(UTC) + timedelta(hours=4), test_settings.slot_minutes)
        ana, ben = people("ana"), people("ben")
        first = await ana.book(slot, "english", "spanish")
        second = await ben.book(slot, "spanish", "english")
        assert first.status_code == second.status_code == 201
        request = first.json()
        await eventually(partial(ana.get, f"/v1/match-requests/{request['id']}"), is_matched)
        # An operator terminates the matchmaker; the next one knows nothing of Ana's match.
        await dev_client.get_workflow_handle(matchmaker_id(slot)).terminate("operator")
        handle = await start_matchmaker(dev_client, test_settings, slot, budget=2_000)
        await handle.signal(MatchmakerWorkflow.add_request, pool_entry_of(request))
        # Carla books after Ana's repeat landed: once Carla is in the pool, so was Ana's repeat.
        carla = await people("carla").book(slot, "english", "spanish")
        assert carla.status_code == 201, carla.text
        mine = {request["id"], carla.json()["id"]}
        await until_state(
            handle, lambda state: mine & set(state.waiting_request_ids) == {carla.json()["id"]}
        )


async def test_a_matchmaker_asks_postgres_about_requests_older_than_itself_that_it_did_not_load(
    dev_client: Client,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    database_url: str,
) -> None:
    async with on_dev_server(dev_client, settings, sessionmaker) as (test_settings, _):
        slot = next_slot_after(datetime.now(UTC) + timedelta(hours=5), test_settings.slot_minutes)
        handle = await start_matchmaker(dev_client, test_settings, slot, budget=2_000)
        # Rows the matchmaker's load did not see: one still waiting, one cancelled since.
        with psycopg.connect(database_url, autocommit=True) as conn:
            waiting = insert_request(conn, rows.user(), start=slot)
            cancelled = insert_request(conn, rows.user(), start=slot)
            conn.execute(
                "UPDATE match_requests SET status = 'cancelled' WHERE id = %s", (cancelled,)
            )
        an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
        for request_id in (cancelled, waiting):
            entry = PoolEntry(
                request_id=str(request_id),
                user_id="someone",
                native_language_id="english",
                learning_language_id="spanish",
                proficiency_level="intermediate",
                priority=0,
                created_at=an_hour_ago,
                availability_start=slot,
                availability_end=slot,
                preferred_duration_minutes=60,
            )
            await handle.signal(MatchmakerWorkflow.add_request, entry)
        # Signals are handled in order: once the waiting one is pooled, so was the cancelled one.
        mine = {str(waiting), str(cancelled)}
        await until_state(
            handle, lambda state: mine & set(state.waiting_request_ids) == {str(waiting)}
        )


def pool_entry_of(request: dict[str, Any]) -> PoolEntry:
    """The pool entry the booking of this request (as the API shows it) signalled."""
    return PoolEntry(
        request_id=request["id"],
        user_id=request["user_id"],
        native_language_id=request["native_language_id"],
        learning_language_id=request["learning_language_id"],
        proficiency_level=request["proficiency_level"],
        priority=request["priority"],
        created_at=datetime.fromisoformat(request["created_at"]),
        availability_start=datetime.fromisoformat(request["availability_start"]),
        availability_end=datetime.fromisoformat(request["availability_end"]),
        preferred_duration_minutes=request["preferred_duration_minutes"],
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
