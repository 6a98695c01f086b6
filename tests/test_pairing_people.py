"""Who a matchmaker pairs, through the API on the real stack: never two people when one blocks
the other, and people with a poor no-show record after everyone else."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import psycopg

from tests.helpers import Person, Stack, eventually, is_matched, person, skip_to, slot_ahead
from tests.test_api_me import past_session

# Long enough for a matchmaker's pass to have run on what was booked (real time; the test
# server does not skip while nobody awaits a workflow).
A_PASS = 1.5


async def book(
    who: Person, slot: datetime, native: str, learning: str, **extra: Any
) -> dict[str, Any]:
    """Book the slot; the request as the API shows it."""
    answer = await who.book(slot, native, learning, **extra)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


async def status_of(who: Person, request: dict[str, Any]) -> str:
    """The request's status now."""
    return str((await who.get(f"/v1/match-requests/{request['id']}")).json()["status"])


async def test_a_blocked_pair_is_never_paired_even_when_it_is_the_only_pair(stack: Stack) -> None:
    ana, ben, cai = person(stack, "ana"), person(stack, "ben"), person(stack, "cai")
    slot = await slot_ahead(stack, 120)
    assert (await ana.post("/v1/blocks", {"user_id": ben.user_id})).status_code == 201
    mine = await book(ana, slot, "english", "spanish")
    theirs = await book(ben, slot, "spanish", "english")
    await asyncio.sleep(A_PASS)
    assert await status_of(ana, mine) == "waiting"
    assert await status_of(ben, theirs) == "waiting"
    # Blocked either way: Ben, the one blocked, cannot be paired with Ana either; a third person
    # pairs with one of them.
    third = await book(cai, slot, "english", "spanish")
    await eventually(lambda: ben.get(f"/v1/match-requests/{theirs['id']}"), is_matched)
    assert await status_of(cai, third) == "matched"
    assert await status_of(ana, mine) == "waiting"


async def test_after_an_unblock_the_two_pair_again(stack: Stack) -> None:
    ana, ben = person(stack, "ana"), person(stack, "ben")
    slot = await slot_ahead(stack, 120)
    assert (await ben.post("/v1/blocks", {"user_id": ana.user_id})).status_code == 201
    assert (await ben.api.delete(f"/v1/blocks/{ana.user_id}", headers=ben.headers)).is_success
    mine = await book(ana, slot, "english", "spanish")
    await book(ben, slot, "spanish", "english")
    await eventually(lambda: ana.get(f"/v1/match-requests/{mine['id']}"), is_matched)


async def test_someone_with_two_recent_no_shows_is_paired_after_everyone_else(
    stack: Stack, conn: psycopg.Connection[Any]
) -> None:
    flaky, steady, partner = (person(stack, n) for n in ("flaky", "steady", "partner"))
    recently = await stack.env.get_current_time() - timedelta(days=3)
    for days, outcome in enumerate(("no_show_me", "completed", "no_show_me")):
        past_session(conn, flaky.user_id, recently + timedelta(days=days), outcome)
    assert (await flaky.get("/v1/me")).json()["reliability"]["matched_after_others"]
    slot = await slot_ahead(stack, 120)
    # Flaky has waited longest, which alone would win; the record puts them after Steady.
    first = await book(flaky, slot, "english", "spanish")
    second = await book(steady, slot, "english", "spanish")
    await asyncio.sleep(A_PASS)
    await book(partner, slot, "spanish", "english")
    await eventually(lambda: steady.get(f"/v1/match-requests/{second['id']}"), is_matched)
    assert await status_of(flaky, first) == "waiting"


async def test_a_block_made_while_both_wait_holds_when_their_levels_widen(stack: Stack) -> None:
    ana, ben, cai = person(stack, "ana"), person(stack, "ben"), person(stack, "cai")
    slot = await slot_ahead(stack, 120)
    mine = await book(ana, slot, "english", "spanish", level="beginner")
    theirs = await book(ben, slot, "spanish", "english", level="intermediate")
    # The pool read both before the block: the database refuses their session, and the
    # matchmaker learns the block instead of trying again.
    assert (await ana.post("/v1/blocks", {"user_id": ben.user_id})).status_code == 201
    widen = timedelta(minutes=stack.settings.widen_levels_minutes)
    await skip_to(stack, slot - widen + timedelta(minutes=1))
    await asyncio.sleep(A_PASS)
    assert await status_of(ana, mine) == "waiting"
    assert await status_of(ben, theirs) == "waiting"
    third = await book(cai, slot, "english", "spanish", level="elementary")
    await eventually(lambda: ben.get(f"/v1/match-requests/{theirs['id']}"), is_matched)
    assert await status_of(cai, third) == "matched"
