"""The market's learners, drawn from the seed alone: the same people with the same plans in every
configuration; only whether a plan asks for a window or its first slot differs.

- Languages are skewed as on real exchange sites: English is the most common native language
  and, for everyone else, by far the most wanted; a long tail of small languages has few
  speakers either way (the 32 languages the schema seeds).
- No-shows are concentrated on a flaky minority (FLAKY_SHARE of learners miss a session with
  FLAKY_NO_SHOW chance, the rest with STEADY_NO_SHOW), about 10% of attendances overall, so a
  no-show record can tell them apart.
- Some learners book more than once in the evening, so records form within it.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from bench.market.configs import BOOKING_BURST_SECONDS

K = TypeVar("K")

NATIVE_WEIGHTS = {
    "english": 18, "spanish": 14, "chinese": 8, "portuguese": 7, "french": 6, "german": 5,
    "japanese": 5, "russian": 4, "korean": 3, "italian": 3, "arabic": 3, "hindi": 3,
    "turkish": 2, "polish": 2, "dutch": 2, "vietnamese": 2, "indonesian": 2, "ukrainian": 1.5,
    "thai": 1, "swedish": 1, "persian": 1, "bengali": 1, "urdu": 1, "romanian": 1,
    "greek": 0.8, "czech": 0.8, "hungarian": 0.7, "hebrew": 0.7, "danish": 0.5, "finnish": 0.5,
    "norwegian": 0.5, "swahili": 0.5,
}  # fmt: skip
# What English speakers learn; everyone else learns English with ENGLISH_WANTED chance, else
# one of these (not their own language).
OTHER_WANTED = {
    "spanish": 30, "french": 15, "japanese": 12, "german": 10, "italian": 7, "korean": 7,
    "chinese": 6, "portuguese": 4, "russian": 3, "arabic": 1.5, "dutch": 1, "swedish": 1,
    "turkish": 0.5, "greek": 0.5, "hindi": 0.5, "polish": 0.5, "norwegian": 0.5, "thai": 0.5,
}  # fmt: skip
ENGLISH_WANTED = 0.75
LEVEL_WEIGHTS = {
    "beginner": 15, "elementary": 25, "intermediate": 30, "upper_intermediate": 20, "advanced": 10,
}  # fmt: skip
DURATION_WEIGHTS = {30: 75, 15: 25}
BOOKINGS_WEIGHTS = {1: 50, 2: 30, 3: 20}
FIXED_SLOT_SHARE = 0.25  # in the window configurations, who still books a single slot
WINDOW_HOURS = (1, 2, 3, 4)
LEAD_SLOTS = (0, 0, 0, 1, 1, 2, 3, 4)  # how long before the window's start one books
GAP_SLOTS = (2, 6)  # after a window's start, how long until one books again
CANCEL_SHARE = 0.07
FLAKY_SHARE = 0.15
FLAKY_NO_SHOW = 0.55
STEADY_NO_SHOW = 0.02
BLOCK_SHARE = 0.04  # block someone of their own market before the evening starts
BLOCK_AFTER_NO_SHOW = 0.3  # a let-down partner blocks whoever stood them up


@dataclass(frozen=True)
class Intent:
    """One booking: sent in the evening's minute `minute`, `offset` seconds in; asks for
    slots `first`..`last` (indices into the evening), or `first` alone for fixed slots;
    cancelled while still waiting `cancel_at` of the way to the cut-off, if set."""

    minute: int
    offset: float
    first: int
    last: int
    cancel_at: float | None

    def last_slot(self, windows: bool) -> int:
        """The last slot asked for in a configuration with or without windows."""
        return self.last if windows else self.first


@dataclass
class Learner:
    """One person of the market."""

    index: int
    native: str
    learning: str
    level: str
    duration: int
    no_show_chance: float
    intents: list[Intent]
    blocks: int | None = None  # the index of someone they block before the evening
    flaky: bool = field(default=False)

    @property
    def user_id(self) -> str:
        """Their user id at the API."""
        return f"learner-{self.index:04d}"


def _pick(rng: random.Random, weights: Mapping[K, float]) -> K:
    keys = list(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys])[0]


def _languages(rng: random.Random, known: set[str]) -> tuple[str, str]:
    native_pool = {k: v for k, v in NATIVE_WEIGHTS.items() if k in known}
    native = _pick(rng, native_pool)
    if native != "english" and rng.random() < ENGLISH_WANTED and "english" in known:
        return native, "english"
    wanted = {k: v for k, v in OTHER_WANTED.items() if k in known and k != native}
    return native, _pick(rng, wanted)


def _intents(rng: random.Random, slots: int, first_minute: int) -> list[Intent]:
    intents: list[Intent] = []
    minute = first_minute
    for _ in range(_pick(rng, BOOKINGS_WEIGHTS)):
        if minute > slots - 1:
            break
        first = min(minute + rng.choice(LEAD_SLOTS), slots - 1)
        if rng.random() < FIXED_SLOT_SHARE:
            last = first
        else:
            last = min(first + 6 * rng.choice(WINDOW_HOURS), slots - 1)
        cancel_at = rng.uniform(0.1, 0.9) if rng.random() < CANCEL_SHARE else None
        offset = rng.uniform(1.0, BOOKING_BURST_SECONDS)
        intents.append(Intent(minute, offset, first, last, cancel_at))
        minute = first + rng.randint(*GAP_SLOTS)
    return intents


def _first_minute(rng: random.Random, slots: int) -> int:
    # Arrivals peak in the middle of the evening.
    weights = [1 + 2 * math.sin(math.pi * (k + 0.5) / slots) for k in range(slots)]
    return rng.choices(range(slots), weights=weights)[0]


def population(seed: int, learners: int, slots: int, known: set[str]) -> list[Learner]:
    """`learners` people for an evening of `slots` slots, the same for the same seed."""
    rng = random.Random(f"market-{seed}")
    people: list[Learner] = []
    for index in range(learners):
        native, learning = _languages(rng, known)
        flaky = rng.random() < FLAKY_SHARE
        people.append(
            Learner(
                index=index,
                native=native,
                learning=learning,
                level=_pick(rng, LEVEL_WEIGHTS),
                duration=_pick(rng, DURATION_WEIGHTS),
                no_show_chance=FLAKY_NO_SHOW if flaky else STEADY_NO_SHOW,
                intents=_intents(rng, slots, _first_minute(rng, slots)),
                flaky=flaky,
            )
        )
    by_market: dict[tuple[str, str], list[int]] = {}
    for person in people:
        by_market.setdefault((person.native, person.learning), []).append(person.index)
    for person in people:
        partners = by_market.get((person.learning, person.native), [])
        if partners and rng.random() < BLOCK_SHARE:
            person.blocks = rng.choice(partners)
    return people


def no_show(seed: int, learner: Learner, nth_session: int) -> bool:
    """Whether `learner` misses their `nth_session`-th session of the evening."""
    return random.Random(f"{seed}-{learner.index}-{nth_session}").random() < learner.no_show_chance
