"""Sessions as iCalendar (RFC 5545), built with the `icalendar` library, in the reader's time zone.

A session keeps one UID for life, and its SEQUENCE rises as its status moves on, so a calendar
app that imports a newer file (or reads the feed again) updates the event instead of adding
another; a cancelled session says STATUS:CANCELLED.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from icalendar import Calendar, Event

from contracts.statuses import SessionStatus
from db.models import SessionRow
from domain.local_time import time_zone

ICS_MEDIA_TYPE = "text/calendar; charset=utf-8"
PRODID = "-//Parley//Language exchange sessions//EN"
# SEQUENCE by status: a session only ever moves forward through these.
_SEQUENCE: dict[str, int] = {
    SessionStatus.SCHEDULED: 0,
    SessionStatus.ACTIVE: 1,
    SessionStatus.COMPLETED: 2,
    SessionStatus.CANCELLED: 2,
}


def calendar_of(
    rows: Iterable[SessionRow], viewer: str, zone: str, now: datetime, name: str | None = None
) -> bytes:
    """A VCALENDAR holding one VEVENT per session, times in `zone` (an IANA name)."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    if name is not None:
        calendar.add("x-wr-calname", name)
    tz = time_zone(zone)
    for row in rows:
        calendar.add_component(_event(row, viewer, tz, now))
    calendar.add_missing_timezones()
    return calendar.to_ical()


def _event(row: SessionRow, viewer: str, tz: object, now: datetime) -> Event:
    partner = row.participant_two_id if viewer == row.participant_one_id else row.participant_one_id
    languages = f"{row.language_one_id.title()} / {row.language_two_id.title()}"
    event = Event()
    event.add("uid", f"session-{row.id}@parley")
    event.add("sequence", _SEQUENCE.get(row.status, 0))
    event.add("dtstamp", now)
    event.add("dtstart", row.scheduled_start.astimezone(tz))  # type: ignore[arg-type]
    event.add("dtend", row.scheduled_end.astimezone(tz))  # type: ignore[arg-type]
    event.add("summary", f"Parley: {languages} conversation")
    cancelled = row.status == SessionStatus.CANCELLED
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    lines = [f"A {row.duration_minutes}-minute language exchange with {partner}."]
    if cancelled:
        lines.append(f"Cancelled ({row.cancel_reason}).")
    else:
        lines.append("You can join from a few minutes before the start.")
    if row.meeting_url:
        event.add("url", row.meeting_url)
        event.add("location", row.meeting_url)
        lines.append(f"Meet at {row.meeting_url}")
    event.add("description", "\n".join(lines))
    return event
