"""When a session's two people are reminded of it: `before_start` some time before the start (at
once if the session is made closer to its start than that), and `join_open` when joining opens.
Once joining is open, `join_open` stands for both: a session made that late gets only it."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum


class ReminderKind(StrEnum):
    """The two reminders (the `session_reminders.kind` check constraint's values)."""

    BEFORE_START = "before_start"
    JOIN_OPEN = "join_open"


def reminder_due(
    slot: datetime, now: datetime, remind_before: timedelta, join_opens: timedelta
) -> ReminderKind | None:
    """The reminder the sessions starting at `slot` are owed at `now`; None before the first
    one is due, and from the start on."""
    if now >= slot:
        return None
    if now >= slot - join_opens:
        return ReminderKind.JOIN_OPEN
    if remind_before > join_opens and now >= slot - remind_before:
        return ReminderKind.BEFORE_START
    return None


def next_reminder_at(
    slot: datetime, now: datetime, remind_before: timedelta, join_opens: timedelta
) -> datetime | None:
    """The next moment after `now` at which the reminder owed for `slot` changes; None if none
    will before the start."""
    moments = [slot - remind_before, slot - join_opens]
    later = [moment for moment in moments if now < moment < slot]
    return min(later, default=None)
