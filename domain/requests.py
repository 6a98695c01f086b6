"""A match request as Parley's rules see it, each field named as its column is."""

from dataclasses import dataclass
from datetime import datetime

from domain.levels import Level


@dataclass(frozen=True)
class MatchRequest:
    """One person's request to practise once, at any slot start of its window: what booking
    validates and matching pairs."""

    request_id: str
    user_id: str
    native_language_id: str
    learning_language_id: str
    # A plain string until checked: booking refuses an unknown level by name (`level` raises).
    proficiency_level: str
    availability_start: datetime
    preferred_duration_minutes: int
    # When it was booked: among equals, the longest waiting is served first.
    created_at: datetime
    priority: int = 0
    # The last slot start the request accepts; None, or equal to `availability_start`, is a
    # fixed slot.
    availability_end: datetime | None = None

    @property
    def last_start(self) -> datetime:
        """The last slot start of the window (`availability_start` for a fixed slot)."""
        return self.availability_end or self.availability_start

    @property
    def level(self) -> Level:
        """The proficiency level; ValueError if it is none of Parley's."""
        return Level(self.proficiency_level)
