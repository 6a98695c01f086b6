"""The market's evening in real (compressed) time: its slots, its booking minutes, and when
learners may book, cancel and join."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bench.market.configs import BOOKING_PAUSE_SECONDS, SLOT_SECONDS
from domain.slots import next_slot_after

SLOT = timedelta(seconds=SLOT_SECONDS)


@dataclass(frozen=True)
class Evening:
    """Real times of the evening: its first slot, how many, and when joining opens."""

    first_slot: datetime
    slots: int
    join_opens_slots: int

    @classmethod
    def starting_soon(cls, slots: int, join_opens_slots: int) -> Evening:
        """The earliest evening whose first booking minute has not mostly passed."""
        lead = timedelta(seconds=join_opens_slots * SLOT_SECONDS + BOOKING_PAUSE_SECONDS + 15)
        return cls(next_slot_after(datetime.now(UTC) + lead, 1), slots, join_opens_slots)

    def slot(self, index: int) -> datetime:
        """The start of the evening's `index`-th slot."""
        return self.first_slot + index * SLOT

    def minute(self, k: int) -> datetime:
        """The start of the k-th booking minute: bookings in it ask for slots from k on, and
        are all sent before joining opens for slot k (at the end of the minute)."""
        return self.slot(k) - (self.join_opens_slots + 1) * SLOT

    def cut_off(self, slot: datetime) -> datetime:
        """The last moment a booking or cancel for `slot` may be sent."""
        join_opens = self.join_opens_slots * SLOT
        return slot - join_opens - timedelta(seconds=BOOKING_PAUSE_SECONDS)

    def join_at(self, rng: random.Random, start: datetime) -> datetime:
        """When someone who comes joins: before the start if joining opens earlier, else in
        the first seconds after it."""
        if self.join_opens_slots:
            return start - timedelta(seconds=rng.uniform(5, 45))
        return start + timedelta(seconds=rng.uniform(0.3, 2.5))
