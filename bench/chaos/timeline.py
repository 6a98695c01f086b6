"""The chaos run's clock (the slots users book and the rules' timing) and its record of actions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bench.chaos.calls import Outcome

# A request is booked or rescheduled into a slot at least this far away, so it can pair.
LEAD = timedelta(seconds=8)


@dataclass(frozen=True)
class Timeline:
    """The slots the users book, the spare slot after them and the rules' timing."""

    slots: tuple[datetime, ...]
    spare_slot: datetime
    grace: timedelta

    @property
    def bookings_close(self) -> datetime:
        """No new booking after this: the last slot is about to start."""
        return self.slots[-1] - LEAD

    def deadline(self, start: datetime) -> datetime:
        """The no-show deadline of a session starting at `start`."""
        return start + self.grace

    def in_workload(self, start: datetime) -> bool:
        """True for the slots users book; sessions later on (rematches) are all kept."""
        return start <= self.slots[-1]


@dataclass(frozen=True)
class Action:
    """A state change a user asked for, and how it went after retries."""

    kind: str
    user_id: str
    target: str | None
    outcome: Outcome
    plan: str | None = None
