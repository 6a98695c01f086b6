"""The no-show record: who is matched after everyone else in a pass, and why."""

from __future__ import annotations

from dataclasses import dataclass

# The record looks this far back from now; older sessions are forgiven.
WINDOW_DAYS = 90
# The rule judges only the most recent sessions, so a user who mends their ways recovers soon.
RECENT_SESSIONS = 5
# This many no-shows among the recent sessions make a user unreliable.
UNRELIABLE_NO_SHOWS = 2


@dataclass(frozen=True)
class ReliabilityRecord:
    """A user's counted sessions and no-shows: over the window, and among the last few."""

    sessions_90d: int = 0
    no_shows_90d: int = 0
    recent_sessions: int = 0
    recent_no_shows: int = 0


NO_RECORD = ReliabilityRecord()


def is_unreliable(record: ReliabilityRecord) -> bool:
    """2 or more no-shows among the user's last 5 counted sessions: matched after the others."""
    return record.recent_no_shows >= UNRELIABLE_NO_SHOWS
