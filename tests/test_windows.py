"""Availability windows through the API on the real stack: pairing at the earliest common slot,
the calendar a window holds, expiry at its last slot, pairs across midnight (two matchmakers),
levels that widen near the slot, and the let-down partner's rematch window."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from domain.slots import day_start
from tests.helpers import (
    Person,
    Stack,
    eventually,
    is_matched,
    no_show,
    person,
    skip_to,
    slot_ahead,
)

HOUR = timedelta(hours=1)
MINUTES = timedelta(minutes=1)


async def book_window(
    who: Person, start: datetime, end: datetime, native: str, learning: str, **extra: Any
) -> dict[str, Any]:
    """Book a window and return the request the API shows."""
    answer = await who.book(start, native, learning, availability_end=end.isoformat(), **extra)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


async def session_of(who: Person, request: dict[str, Any]) -> dict[str, Any]:
    """Wait until the request is matched; its session."""
    matched = await eventually(lambda: who.get(f"/v1/match-requests/{request['id']}"), is_matched)
    return dict((await who.get(f"/v1/sessions/{matched['session_id']}")).json())


def at(value: str) -> datetime:
    """An instant the API answered with."""
    return datetime.fromisoformat(value).astimezone(UTC)


async def test_two_windows_pair_once_at_their_earliest_common_slot(stack: Stack) -> None:
    ana, ben = person(stack, "ana"), person(stack, "ben")
    slot = await slot_ahead(stack, 120)
    mine = await book_window(ana, slot, slot + HOUR, "english", "spanish")
    await book_window(ben, slot + 30 * MINUTES, slot + 90 * MINUTES, "spanish", "english")
    session = await session_of(ana, mine)
    assert at(session["scheduled_start"]) == slot + 30 * MINUTES
    assert at(session["scheduled_end"]) == slot + 90 * MINUTES


async def test_windows_that_share_no_slot_do_not_pair(stack: Stack) -> None:
    ana, ben = person(stack, "ana"), person(stack, "ben")
    slot = await slot_ahead(stack, 180)
    mine = await book_window(ana, slot, slot + 20 * MINUTES, "english", "spanish")
    await book_window(ben, slot + 30 * MINUTES, slot + HOUR, "spanish", "english")
    await asyncio.sleep(1.5)
    assert (await ana.get(f"/v1/match-requests/{mine['id']}")).json()["status"] == "waiting"


async def test_a_waiting_window_holds_all_of_it_and_a_match_frees_the_rest(stack: Stack) -> None:
    ana, ben = person(stack, "ana"), person(stack, "ben")
    slot = await slot_ahead(stack, 120)
    mine = await book_window(ana, slot, slot + HOUR, "dutch", "korean")
    # Inside the waiting window (which ends at its last start plus the hour): refused.
    inside = await ana.book(slot + 90 * MINUTES, "french", "english")
    assert inside.status_code == 409, inside.text
    await book_window(ben, slot, slot, "korean", "dutch")
    session = await session_of(ana, mine)
    assert at(session["scheduled_start"]) == slot
    # Matched at the window's first slot, the request holds only the session's hour.
    freed = await ana.book(slot + 90 * MINUTES, "french", "english")
    assert freed.status_code == 201, freed.text


async def test_a_lone_window_waits_past_its_first_slot_and_expires_after_its_last(
    stack: Stack,
) -> None:
    ana = person(stack, "ana")
    slot = await slot_ahead(stack, 120)
    mine = await book_window(ana, slot, slot + 20 * MINUTES, "english", "spanish")
    await skip_to(stack, slot + 5 * MINUTES)
    read = await ana.get(f"/v1/match-requests/{mine['id']}")
    assert read.json()["status"] == "waiting"
    await skip_to(stack, slot + 21 * MINUTES)
    expired = await eventually(
        lambda: ana.get(f"/v1/match-requests/{mine['id']}"), lambda r: r["status"] == "expired"
    )
    assert expired["status"] == "expired"


async def test_windows_across_midnight_pair_at_their_earliest_slot_whichever_day_it_is_in(
    stack: Stack,
) -> None:
    ana, ben, cai, dee = (person(stack, name) for name in ("ana", "ben", "cai", "dee"))
    midnight = day_start(await slot_ahead(stack, 180)) + timedelta(days=1)
    # Both days' matchmakers hold both windows; the earlier day owns their first common slot.
    first = await book_window(
        ana, midnight - 30 * MINUTES, midnight + 30 * MINUTES, "english", "spanish"
    )
    await book_window(ben, midnight - 20 * MINUTES, midnight + HOUR, "spanish", "english")
    before = await session_of(ana, first)
    assert at(before["scheduled_start"]) == midnight - 20 * MINUTES
    # A window that starts before midnight pairs after it with one that starts after it.
    second = await book_window(cai, midnight - HOUR, midnight + 30 * MINUTES, "english", "spanish")
    await book_window(dee, midnight + 10 * MINUTES, midnight + HOUR, "spanish", "english")
    after = await session_of(cai, second)
    assert at(after["scheduled_start"]) == midnight + 10 * MINUTES


async def test_levels_two_steps_apart_pair_only_once_the_slot_is_near(stack: Stack) -> None:
    ana, ben = person(stack, "ana"), person(stack, "ben")
    slot = await slot_ahead(stack, 120)
    widen = timedelta(minutes=stack.settings.widen_levels_minutes)
    mine = await book_window(ana, slot, slot, "english", "spanish", level="beginner")
    await book_window(ben, slot, slot, "spanish", "english", level="intermediate")
    await skip_to(stack, slot - widen - MINUTES)
    assert (await ana.get(f"/v1/match-requests/{mine['id']}")).json()["status"] == "waiting"
    await skip_to(stack, slot - widen + MINUTES)
    session = await session_of(ana, mine)
    assert at(session["scheduled_start"]) == slot


async def test_a_widening_that_fires_while_a_request_is_cancelled_leaves_one_outcome(
    stack: Stack,
) -> None:
    ana, ben = person(stack, "ana"), person(stack, "ben")
    slot = await slot_ahead(stack, 120)
    widen = timedelta(minutes=stack.settings.widen_levels_minutes)
    mine = await book_window(ana, slot, slot, "english", "spanish", level="beginner")
    theirs = await book_window(ben, slot, slot, "spanish", "english", level="intermediate")
    await skip_to(stack, slot - widen - timedelta(seconds=1))
    cancel, _ = await asyncio.gather(
        ana.post(f"/v1/match-requests/{mine['id']}/cancel"),
        skip_to(stack, slot - widen + timedelta(seconds=1)),
    )
    assert cancel.status_code in (200, 202, 409), cancel.text
    if cancel.status_code == 409:  # the widening won: the session stands
        await session_of(ana, mine)
        return
    await eventually(
        lambda: ana.get(f"/v1/match-requests/{mine['id']}"), lambda r: r["status"] == "cancelled"
    )
    assert (await ana.get("/v1/sessions")).json() == []
    assert (await ben.get(f"/v1/match-requests/{theirs['id']}")).json()["status"] == "waiting"


async def test_after_a_no_show_the_partner_is_rebooked_for_a_window_of_the_next_slots(
    stack: Stack,
) -> None:
    ana, ben = person(stack, "ana"), person(stack, "ben")
    slot = await slot_ahead(stack, 120)
    await book_window(ana, slot, slot, "english", "spanish")
    mine = await book_window(ben, slot, slot, "spanish", "english")
    session = await session_of(ben, mine)
    await no_show(stack, ben, session, slot)
    (rematch,) = (await ben.get("/v1/match-requests", status="waiting")).json()
    start, end = at(rematch["availability_start"]), at(rematch["availability_end"])
    assert rematch["priority"] == 1
    assert start > slot
    rebook = timedelta(minutes=stack.settings.rebook_window_minutes)
    last_of_day = day_start(start) + timedelta(days=1) - timedelta(minutes=10)
    assert end == min(start + rebook, max(start, last_of_day))


async def test_a_cancel_before_the_start_rebooks_the_partner_for_the_rest_of_their_window(
    stack: Stack,
) -> None:
    ana, ben = person(stack, "ana"), person(stack, "ben")
    slot = await slot_ahead(stack, 120)
    mine = await book_window(ana, slot, slot + HOUR, "english", "spanish")
    await book_window(ben, slot, slot, "spanish", "english")
    session = await session_of(ana, mine)
    assert at(session["scheduled_start"]) == slot
    cancel = await ben.post(f"/v1/sessions/{session['id']}/cancel")
    assert cancel.status_code in (200, 202), cancel.text
    rematch = await eventually(lambda: ana.get("/v1/match-requests", status="waiting"), bool)
    assert at(rematch[0]["availability_start"]) == slot
    assert at(rematch[0]["availability_end"]) == slot + HOUR


async def test_a_request_can_be_rescheduled_to_a_window(stack: Stack) -> None:
    ana = person(stack, "ana")
    slot = await slot_ahead(stack, 120)
    mine = await book_window(ana, slot, slot, "english", "spanish")
    body = {
        "availability_start": (slot + HOUR).isoformat(),
        "availability_end": (slot + 2 * HOUR).isoformat(),
    }
    moved = await ana.post(f"/v1/match-requests/{mine['id']}/reschedule", body)
    assert moved.status_code == 201, moved.text
    assert at(moved.json()["availability_end"]) == slot + 2 * HOUR


async def test_a_window_longer_than_allowed_is_refused_naming_the_field(stack: Stack) -> None:
    ana = person(stack, "ana")
    slot = await slot_ahead(stack, 120)
    too_long = slot + timedelta(hours=stack.settings.max_window_hours, minutes=10)
    answer = await ana.book(slot, "english", "spanish", availability_end=too_long.isoformat())
    assert answer.status_code == 422, answer.text
    assert "availability_end" in answer.text
    assert (await ana.get("/v1/match-requests")).json() == []
