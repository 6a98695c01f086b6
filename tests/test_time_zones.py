"""Time zones: `PUT /v1/me` stores an IANA zone; a booking time without an offset is a wall-clock
time there, across a daylight-saving change too; the API answers in UTC and the calendar file in
local time."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from zoneinfo import ZoneInfo

from icalendar import Calendar

from tests.helpers import Stack, eventually, is_matched, person, skip_to

BERLIN = ZoneInfo("Europe/Berlin")


def next_berlin_change(after: datetime) -> date:
    """The first day after `after` on which Berlin's clocks change."""
    day = (after + timedelta(days=2)).date()
    while True:
        noon_before = datetime.combine(day - timedelta(days=1), time(12), BERLIN)
        noon = datetime.combine(day, time(12), BERLIN)
        if noon_before.utcoffset() != noon.utcoffset():
            return day
        day += timedelta(days=1)


async def test_a_time_zone_is_stored_and_a_bad_one_is_refused_by_name(stack: Stack) -> None:
    a = person(stack, "user-a")
    assert (await a.get("/v1/me")).json()["time_zone"] == "UTC"
    bad = await a.put("/v1/me", {"time_zone": "Mars/Olympus"})
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["body", "time_zone"]
    assert "Mars/Olympus" in bad.json()["detail"][0]["msg"]
    extra = await a.put("/v1/me", {"time_zone": "UTC", "x": 1})
    assert extra.status_code == 422
    good = await a.put("/v1/me", {"time_zone": "Europe/Berlin"})
    assert good.status_code == 200 and good.json()["time_zone"] == "Europe/Berlin"
    assert (await a.get("/v1/me")).json()["time_zone"] == "Europe/Berlin"
    assert (await stack.api.put("/v1/me", json={"time_zone": "UTC"})).status_code == 401


async def test_bookings_across_a_daylight_saving_change_land_where_the_user_meant(
    stack: Stack,
) -> None:
    berliner, partner = person(stack, "user-berlin"), person(stack, "user-utc")
    change = next_berlin_change(await stack.env.get_current_time())
    await skip_to(stack, datetime.combine(change - timedelta(days=3), time(0), UTC))
    put = await berliner.api.put(
        "/v1/me", json={"time_zone": "Europe/Berlin"}, headers=berliner.headers
    )
    assert put.status_code == 200
    wall = time(15, 0)
    sessions = []
    for day in (change - timedelta(days=1), change):
        meant = datetime.combine(day, wall, BERLIN)  # 15:00 on the wall in Berlin that day
        # The Berliner sends a wall-clock time, no offset; the partner sends the UTC instant.
        mine = await berliner.post(
            "/v1/match-requests",
            {
                "native_language_id": "english",
                "learning_language_id": "spanish",
                "proficiency_level": "intermediate",
                "availability_start": datetime.combine(day, wall).isoformat(),
            },
        )
        assert mine.status_code == 201, mine.text
        assert datetime.fromisoformat(mine.json()["availability_start"]) == meant
        theirs = await partner.book(meant.astimezone(UTC), "spanish", "english")
        assert theirs.status_code == 201, theirs.text
        path = f"/v1/match-requests/{mine.json()['id']}"
        matched = await eventually(partial(berliner.get, path), is_matched)
        session = (await berliner.get(f"/v1/sessions/{matched['session_id']}")).json()
        assert datetime.fromisoformat(session["scheduled_start"]) == meant
        assert session["scheduled_start"].endswith("Z") or "+00:00" in session["scheduled_start"]
        sessions.append(session)
    apart = datetime.fromisoformat(sessions[1]["scheduled_start"]) - datetime.fromisoformat(
        sessions[0]["scheduled_start"]
    )
    assert apart in (timedelta(hours=23), timedelta(hours=25))  # the clocks moved in between

    ics = await berliner.get(f"/v1/sessions/{sessions[1]['id']}/calendar.ics")
    assert b"TZID=Europe/Berlin:" in ics.content and b"VTIMEZONE" in ics.content
    (event,) = Calendar.from_ical(ics.content).walk("VEVENT")
    start = event.decoded("DTSTART")
    assert (start.hour, start.minute) == (15, 0) and start == datetime.combine(change, wall, BERLIN)


async def test_a_wall_time_the_clocks_skip_or_repeat_is_refused_naming_the_field(
    stack: Stack,
) -> None:
    berliner = person(stack, "user-berlin")
    await berliner.put("/v1/me", {"time_zone": "Europe/Berlin"})
    change = next_berlin_change(await stack.env.get_current_time())
    await skip_to(stack, datetime.combine(change - timedelta(days=3), time(0), UTC))
    body = {
        "native_language_id": "english",
        "learning_language_id": "spanish",
        "proficiency_level": "intermediate",
        "availability_start": datetime.combine(change, time(2, 30)).isoformat(),
    }
    refused = await berliner.post("/v1/match-requests", body)
    assert refused.status_code == 422, refused.text
    (issue,) = refused.json()["detail"]
    assert issue["loc"] == ["body", "availability_start"]
    assert "Europe/Berlin" in issue["msg"]
    assert (await berliner.get("/v1/match-requests")).json() == []
