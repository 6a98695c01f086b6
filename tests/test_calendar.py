"""Where to meet and calendar files: only the two participants see a session's meeting link;
its calendar file parses back with a stable UID, the right times and status; a feed URL opens
with its secret alone and stops when revoked."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from icalendar import Calendar

from tests.helpers import Person, Stack, book_pair, eventually, person, skip_to, slot_ahead


def events_in(body: bytes) -> list[Any]:
    """The VEVENTs of an iCalendar body, parsed by the icalendar library."""
    return list(Calendar.from_ical(body).walk("VEVENT"))


async def calendar_file(who: Person, session_id: str) -> Any:
    """The one VEVENT of a session's calendar file, as `who` downloads it."""
    answer = await who.get(f"/v1/sessions/{session_id}/calendar.ics")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/calendar")
    (event,) = events_in(answer.content)
    return event


async def test_only_the_two_participants_see_where_to_meet(stack: Stack) -> None:
    a, b, c = person(stack, "user-a"), person(stack, "user-b"), person(stack, "user-c")
    slot = await slot_ahead(stack)
    _, _, session = await book_pair(stack, a, b, slot)
    url = session["meeting_url"]
    assert url.startswith("https://meet.jit.si/parley-")
    assert len(url.removeprefix("https://meet.jit.si/parley-")) >= 24  # 144 random bits
    assert (await b.get(f"/v1/sessions/{session['id']}")).json()["meeting_url"] == url
    assert (await c.get(f"/v1/sessions/{session['id']}")).status_code == 404
    assert (await c.get(f"/v1/sessions/{session['id']}/calendar.ics")).status_code == 404
    for who in (a, b):
        scheduled = [
            e
            for e in (await who.get("/v1/events", limit=500)).json()["events"]
            if e["type"] == "session.scheduled"
        ]
        assert scheduled[0]["payload"]["meeting_url"] == url
    assert (await c.get("/v1/events", limit=500)).json()["events"] == []
    # Each session has its own room.
    d, e = person(stack, "user-d"), person(stack, "user-e")
    _, _, other = await book_pair(stack, d, e, slot)
    assert other["meeting_url"] != url
    await skip_to(stack, slot - timedelta(minutes=2))
    joined = await a.post(f"/v1/sessions/{session['id']}/join")
    assert joined.status_code == 200 and joined.json()["meeting_url"] == url


async def test_a_sessions_calendar_file_keeps_its_uid_and_says_when_it_is_cancelled(
    stack: Stack,
) -> None:
    a, b = person(stack, "user-a"), person(stack, "user-b")
    slot = await slot_ahead(stack)
    _, _, session = await book_pair(stack, a, b, slot)
    event = await calendar_file(a, session["id"])
    assert str(event["UID"]) == f"session-{session['id']}@parley"
    assert event.decoded("DTSTART") == slot
    assert event.decoded("DTEND") == slot + timedelta(minutes=60)
    assert str(event["STATUS"]) == "CONFIRMED" and int(event["SEQUENCE"]) == 0
    assert str(event["URL"]) == session["meeting_url"]
    assert b.user_id in str(event["DESCRIPTION"])

    assert (await b.post(f"/v1/sessions/{session['id']}/cancel")).status_code == 200
    await eventually(
        lambda: a.get(f"/v1/sessions/{session['id']}"), lambda s: s["status"] == "cancelled"
    )
    cancelled = await calendar_file(a, session["id"])
    assert str(cancelled["UID"]) == str(event["UID"])
    assert str(cancelled["STATUS"]) == "CANCELLED"
    assert int(cancelled["SEQUENCE"]) > int(event["SEQUENCE"])
    assert cancelled.decoded("DTSTART") == slot


async def test_a_calendar_feed_opens_by_its_secret_until_revoked(stack: Stack) -> None:
    a, b = person(stack, "user-a"), person(stack, "user-b")
    slot = await slot_ahead(stack)
    _, _, session = await book_pair(stack, a, b, slot)
    created = await a.post("/v1/me/calendar-feed")
    assert created.status_code == 201, created.text
    url = created.json()["url"]
    assert "/v1/calendar-feeds/" in url and url.endswith(".ics")
    path = url[url.index("/v1/") :]
    feed = await stack.api.get(path)  # no Authorization header: the secret is the credential
    assert feed.status_code == 200, feed.text
    assert [str(e["UID"]) for e in events_in(feed.content)] == [f"session-{session['id']}@parley"]
    assert (await stack.api.get(path.replace(path[-10:-4], "AAAAAA"))).status_code == 404

    renewed = (await a.post("/v1/me/calendar-feed")).json()["url"]
    assert (await stack.api.get(path)).status_code == 404  # the old URL stopped working
    new_path = renewed[renewed.index("/v1/") :]
    assert (await stack.api.get(new_path)).status_code == 200
    assert (await a.api.delete("/v1/me/calendar-feed", headers=a.headers)).status_code == 204
    assert (await stack.api.get(new_path)).status_code == 404
    assert (await stack.api.post("/v1/me/calendar-feed")).status_code == 401
