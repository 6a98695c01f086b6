"""Session reminders through the API's event log: an hour before the start and when joining
opens, to both participants, at once for a session made inside the hour, and never for a
cancelled session."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from tests.helpers import Person, Stack, book_pair, eventually, person, skip_to, slot_ahead


async def reminders_of(who: Person, session_id: str) -> list[tuple[str, datetime]]:
    """(kind, when) of each reminder this person got about the session, in order."""
    page = await who.get("/v1/events", limit=500)
    assert page.status_code == 200, page.text
    return [
        (event["reminder"], datetime.fromisoformat(event["occurred_at"]))
        for event in page.json()["events"]
        if event["type"] == "session.reminder" and event["payload"]["id"] == session_id
    ]


def kinds(found: list[tuple[str, datetime]]) -> list[str]:
    """The reminders' kinds, in order."""
    return [kind for kind, _ in found]


async def reminded(who: Person, session_id: str, count: int) -> list[tuple[str, datetime]]:
    """Wait until this person holds `count` reminders of the session; return them."""

    async def read() -> Any:
        return await who.get("/v1/events", limit=500)

    await eventually(
        read,
        lambda body: sum(
            1
            for e in body["events"]
            if e["type"] == "session.reminder" and e["payload"]["id"] == session_id
        )
        >= count,
    )
    return await reminders_of(who, session_id)


async def test_both_are_reminded_an_hour_before_and_when_joining_opens(stack: Stack) -> None:
    a, b = person(stack, "user-a"), person(stack, "user-b")
    slot = await slot_ahead(stack, minutes=120)
    _, _, session = await book_pair(stack, a, b, slot)
    await skip_to(stack, slot - timedelta(minutes=61))
    assert await reminders_of(a, session["id"]) == []

    await skip_to(stack, slot - timedelta(minutes=59))
    first = await reminded(a, session["id"], 1)
    assert kinds(first) == ["before_start"]
    assert slot - timedelta(minutes=60) <= first[0][1] < slot - timedelta(minutes=59)

    await skip_to(stack, slot - timedelta(minutes=4))
    for who in (a, b):
        both = await reminded(who, session["id"], 2)
        assert kinds(both) == ["before_start", "join_open"]
        assert slot - timedelta(minutes=5) <= both[1][1] < slot - timedelta(minutes=4)
    page = (await b.get("/v1/events", limit=500)).json()["events"]
    last = [e for e in page if e["type"] == "session.reminder"][-1]["payload"]
    assert last == (await b.get(f"/v1/sessions/{session['id']}")).json()


async def test_a_session_made_inside_the_hour_is_reminded_at_once(stack: Stack) -> None:
    a, b = person(stack, "user-a"), person(stack, "user-b")
    slot = await slot_ahead(stack, minutes=20)
    _, _, session = await book_pair(stack, a, b, slot)
    await skip_to(stack, slot - timedelta(minutes=15))
    found = await reminded(b, session["id"], 1)
    assert kinds(found) == ["before_start"]
    assert found[0][1] < slot - timedelta(minutes=15)
    assert kinds(await reminded(a, session["id"], 1)) == ["before_start"]


async def test_a_cancelled_session_is_never_reminded(stack: Stack) -> None:
    a, b = person(stack, "user-a"), person(stack, "user-b")
    slot = await slot_ahead(stack, minutes=120)
    _, _, session = await book_pair(stack, a, b, slot)
    cancel = await b.post(f"/v1/sessions/{session['id']}/cancel")
    assert cancel.status_code == 200, cancel.text
    # A keeps a rematch waiting at that slot; a session made for it would be reminded, and C's
    # booking makes one, which shows that reminders went out while the first session got none.
    c = person(stack, "user-c")
    assert (await c.book(slot, "spanish", "english")).status_code == 201
    await skip_to(stack, slot - timedelta(minutes=4))
    rebooked = await eventually(
        lambda: a.get("/v1/sessions"),
        lambda rows: any(r["id"] != session["id"] for r in rows),
    )
    second = next(r for r in rebooked if r["id"] != session["id"])
    assert kinds(await reminded(a, second["id"], 2)) == ["before_start", "join_open"]
    assert await reminders_of(a, session["id"]) == []
    assert await reminders_of(b, session["id"]) == []
