"""The four configurations the market is run in, and how simulated time maps onto the stack's.

Time is compressed as far as the stack allows: its grid is one-minute slots
(`PARLEY_SLOT_MINUTES=1`), and one real minute stands for one simulated 10-minute slot. Every
duration the market is about is scaled by the same factor of ten: a 1-hour window spans 6 real
minutes, the rebooking window and the widening time (30 simulated minutes) are 3 real minutes,
and joining opens one slot (1 real minute, 10 simulated) before a slot starts. Session lengths
are labels only (the API wants 15 to 120 minutes): learners end their session early, which frees
their calendar as a finished session would.
"""

from __future__ import annotations

from dataclasses import dataclass

# One real minute (one slot of the stack's grid) stands for this many simulated minutes.
SIMULATED_MINUTES_PER_SLOT = 10
SLOT_SECONDS = 60
JOIN_OPENS_SLOTS = 1
WIDEN_SLOTS = 3  # 30 simulated minutes
REBOOK_SLOTS = 3  # 30 simulated minutes
# Every booking for a slot lands in the first part of a real minute, and none in the last
# BOOKING_PAUSE_SECONDS before joining opens: the matchmaker sees the slot's market go quiet.
BOOKING_BURST_SECONDS = 35
BOOKING_PAUSE_SECONDS = 20  # and 5 s of slack between the two
# The evening starts at this simulated clock time (the peak hours).
EVENING_STARTS_AT = (18, 0)


@dataclass(frozen=True)
class MarketConfig:
    """One configuration: a letter, what it is, whether learners ask for windows, whether levels
    widen and whether the no-show record ranks."""

    key: str
    title: str
    windows: bool
    widen: bool
    by_reliability: bool

    @property
    def widen_slots(self) -> int:
        """Slots before a slot start inside which levels two apart may pair (0: never)."""
        return WIDEN_SLOTS if self.widen else 0

    def environment(self, join_opens_slots: int = JOIN_OPENS_SLOTS) -> dict[str, str]:
        """The settings its stack runs with (on top of the benchmark's compressed time)."""
        return {
            "PARLEY_JOIN_OPENS_MINUTES": str(join_opens_slots),
            "PARLEY_REBOOK_WINDOW_MINUTES": str(REBOOK_SLOTS),
            "PARLEY_WIDEN_LEVELS_MINUTES": str(self.widen_slots),
            "PARLEY_RANK_BY_RELIABILITY": "true" if self.by_reliability else "false",
            # Four stacks share the machine: a call waits longer for a busy worker before the
            # API answers 503 (the learners send a refused booking again, but only until the
            # slot's cut-off).
            "PARLEY_WORKFLOW_CALL_TIMEOUT_SECONDS": "15",
        }


CONFIGS = (
    MarketConfig("a", "fixed slots, today's rules", False, False, False),
    MarketConfig("b", "windows", True, False, False),
    MarketConfig("c", "windows + widening", True, True, False),
    MarketConfig("d", "windows + widening + no-show record", True, True, True),
)
BY_KEY = {config.key: config for config in CONFIGS}


def simulated_clock(slot_index: int) -> str:
    """The simulated clock time of the evening's `slot_index`-th slot, e.g. 18:30."""
    hours, minutes = EVENING_STARTS_AT
    total = hours * 60 + minutes + slot_index * SIMULATED_MINUTES_PER_SLOT
    return f"{total // 60 % 24:02d}:{total % 60:02d}"


def scale_note(join_opens_slots: int = JOIN_OPENS_SLOTS) -> str:
    """What the time compression is, in one sentence for the report."""
    return (
        f"1 real minute = 1 slot = {SIMULATED_MINUTES_PER_SLOT} simulated minutes; windows "
        f"of 1-4 simulated hours = 6-24 real minutes; widening and rebooking windows "
        f"{WIDEN_SLOTS * SIMULATED_MINUTES_PER_SLOT} simulated minutes = {WIDEN_SLOTS} real; "
        f"joining opens {join_opens_slots} slot(s) before the start; bookings for a slot stop "
        f"{BOOKING_PAUSE_SECONDS} s before joining opens"
    )
