"""Parked requests through the API on the real stack: a booking nobody could pair with wakes no
matchmaker, and the booking that could pair with it brings it in; nothing is lost when bookings
cross, when the only counterpart is seated, or when more are parked than one signal carries."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from contracts.matchmaker import MatchmakerState
from contracts.naming import matchmaker_workflow_id
from db.models import MatchRequestRow
from domain.slots import day_start
from settings import Settings
from tests.helpers import (
    Person,
    Stack,
    eventually,
    is_matched,
    person,
    slot_ahead,
    until_state,
)
from tests.workers import stack_on

HOUR = timedelta(hours=1)


async def booked(who: Person, slot: datetime, native: str, learning: str, **extra: Any) -> str:
    """Book and return the request's id."""
    answer = await who.book(slot, native, learning, **extra)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


async def matched(who: Person, request_id: str) -> dict[str, Any]:
    """Wait until the request is matched."""
    return dict(await eventually(lambda: who.get(f"/v1/match-requests/{request_id}"), is_matched))


async def told_at(stack: Stack, request_id: str) -> datetime | None:
    """When a matchmaker was handed the request (None: parked)."""
    async with stack.sessionmaker() as db:
        return await db.scalar(
            select(MatchRequestRow.matchmaker_told_at).where(
                MatchRequestRow.id == uuid.UUID(request_id)
            )
        )


def matchmaker_of(stack: Stack, slot: datetime, languages: tuple[str, str]) -> str:
    """The id of the 60-minute matchmaker of the slot's day for these languages."""
    return matchmaker_workflow_id(day_start(slot), 60, languages)


async def pool_holding(stack: Stack, workflow_id: str, request_ids: set[str]) -> MatchmakerState:
    """The matchmaker's pool once it holds these requests."""
    handle = stack.env.client.get_workflow_handle(workflow_id)
    return await until_state(handle, lambda state: request_ids <= set(state.waiting_request_ids))


async def test_a_booking_nobody_could_pair_with_wakes_no_matchmaker_until_a_partner_books(
    stack: Stack,
) -> None:
    ana, ben = person(stack, "ana"), person(stack, "ben")
    slot = await slot_ahead(stack, 120)
    waiting = await booked(ana, slot, "czech", "thai")
    assert await told_at(stack, waiting) is None
    with pytest.raises(RPCError):
        await stack.env.client.get_workflow_handle(
            matchmaker_of(stack, slot, ("czech", "thai"))
        ).describe()
    answer = await ana.get(f"/v1/match-requests/{waiting}")
    assert answer.json()["status"] == "waiting"

    partner = await booked(ben, slot, "thai", "czech")
    session = (await matched(ana, waiting))["session_id"]
    assert (await matched(ben, partner))["session_id"] == session
    assert await told_at(stack, waiting) is not None
    assert await told_at(stack, partner) is not None


async def test_a_running_matchmaker_gets_the_parked_request_from_the_booking_that_pairs_it(
    stack: Stack,
) -> None:
    ana, ben, cai, dee = (person(stack, name) for name in ("ana", "ben", "cai", "dee"))
    early = await slot_ahead(stack, 120)
    later = early + 3 * HOUR
    # A pair an hour ahead keeps the day's matchmaker running, with a pool that never held Cai.
    first = await booked(ana, early, "czech", "thai")
    await booked(ben, early, "thai", "czech")
    await matched(ana, first)
    waiting = await booked(cai, later, "czech", "thai")
    assert await told_at(stack, waiting) is None
    partner = await booked(dee, later, "thai", "czech")
    assert (await matched(cai, waiting))["session_id"] == (await matched(dee, partner))[
        "session_id"
    ]


async def test_levels_too_far_apart_even_when_widened_leave_both_parked(stack: Stack) -> None:
    ana, ben, cai = person(stack, "ana"), person(stack, "ben"), person(stack, "cai")
    slot = await slot_ahead(stack, 120)
    beginner = await booked(ana, slot, "czech", "thai", level="beginner")
    advanced = await booked(ben, slot, "thai", "czech", level="advanced")
    assert await told_at(stack, beginner) is None
    assert await told_at(stack, advanced) is None
    # Two steps from the beginner: a pair once levels widen, so the beginner is carried in.
    intermediate = await booked(cai, slot, "thai", "czech", level="intermediate")
    state = await pool_holding(
        stack, matchmaker_of(stack, slot, ("czech", "thai")), {beginner, intermediate}
    )
    # The matchmaker's first run reads the whole shard, the advanced one too; no booking
    # carried it, and nobody can pair with it.
    assert advanced in state.waiting_request_ids
    assert await told_at(stack, advanced) is None


async def test_a_booking_whose_only_counterpart_is_seated_still_joins_the_pool(
    stack: Stack,
) -> None:
    ana, ben, cai = person(stack, "ana"), person(stack, "ben"), person(stack, "cai")
    slot = await slot_ahead(stack, 120)
    first = await booked(ana, slot, "czech", "thai")
    await booked(ben, slot, "thai", "czech")
    await matched(ana, first)
    # Nobody waits for Cai, but Ana sits in a session a swap could still change.
    third = await booked(cai, slot, "thai", "czech")
    assert await told_at(stack, third) is not None
    await pool_holding(stack, matchmaker_of(stack, slot, ("czech", "thai")), {third})


async def test_bookings_that_cross_each_other_are_all_paired(stack: Stack) -> None:
    slot = await slot_ahead(stack, 120)
    pairs = 12
    people = [(person(stack, f"cz{i}"), person(stack, f"th{i}")) for i in range(pairs)]
    # Each pair's two bookings race: neither may park on the other's account.
    ids = await asyncio.gather(
        *(booked(cz, slot, "czech", "thai") for cz, _ in people),
        *(booked(th, slot, "thai", "czech") for _, th in people),
    )
    owners = [cz for cz, _ in people] + [th for _, th in people]
    for owner, request_id in zip(owners, ids, strict=True):
        await matched(owner, request_id)


async def test_more_parked_requests_than_a_signal_carries_are_read_from_postgres(
    env: WorkflowEnvironment, settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with stack_on(
        env, env.client, settings, sessionmaker, worker_options={"max_carried": 1}
    ) as stack:
        early = await slot_ahead(stack, 120)
        # A pair an hour ahead keeps the day's matchmaker running, with a pool that never
        # held the three.
        first = await booked(person(stack, "ana"), early, "czech", "thai")
        await booked(person(stack, "ben"), early, "thai", "czech")
        await matched(person(stack, "ana"), first)
        slot = early + 3 * HOUR
        parked = [await booked(person(stack, f"cz{i}"), slot, "czech", "thai") for i in range(3)]
        for request_id in parked:
            assert await told_at(stack, request_id) is None
        latecomer = await booked(person(stack, "th"), slot, "thai", "czech")
        # One carried in the signal, the other two loaded: the longest waiting is paired.
        await matched(person(stack, "cz0"), parked[0])
        state = await pool_holding(
            stack, matchmaker_of(stack, slot, ("czech", "thai")), set(parked[1:])
        )
        assert latecomer not in state.waiting_request_ids
        for request_id in parked:
            assert await told_at(stack, request_id) is not None
