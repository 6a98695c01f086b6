"""What crosses a matchmaker's reminder activity."""

# No `from __future__ import annotations`: the workflow sandbox resolves string annotations
# against its own module table, where a module imported only by another one is missing.
from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class SendRemindersInput:
    """Remind the people of every scheduled session of a shard (duration, language pair) at one
    slot, with the reminder `kind` (`domain.reminders.ReminderKind`), as of `at`."""

    scheduled_start: datetime
    duration_minutes: int
    languages: tuple[str, str]
    kind: str
    at: datetime


@dataclass
class SendRemindersResult:
    """The sessions reminded by this call (none on a retry: each was reminded once)."""

    session_ids: list[str] = field(default_factory=list)
