"""No pairable pair is lost at a shard's edge: two days' matchmakers, each pairing at its own
day's slots over every request whose window touches its day, leave no two requests that could
still pair, whichever of them runs first and however windows straddle midnight."""

import random
from datetime import UTC, datetime, timedelta

from domain.levels import Level
from domain.matching import MatchRules, can_pair, pair_pool
from domain.requests import MatchRequest

MIDNIGHT = datetime(2025, 7, 28, 0, 0, tzinfo=UTC)
DAY = timedelta(days=1)
SLOT = timedelta(minutes=10)
LEVELS = list(Level)


def random_pool(rng: random.Random, size: int) -> list[MatchRequest]:
    """Requests of one language pair and duration, windows of up to 6 hours around midnight."""
    pool = []
    for n in range(size):
        start = MIDNIGHT + SLOT * rng.randint(-30, 24)
        end = start + SLOT * rng.choice([0, 0, 1, 3, 6, 12, 24, 36])
        native, learning = rng.choice([("english", "spanish"), ("spanish", "english")])
        pool.append(
            MatchRequest(
                request_id=f"r{n:03}",
                user_id=f"u{rng.randint(0, size)}",
                native_language_id=native,
                learning_language_id=learning,
                proficiency_level=rng.choice(LEVELS),
                availability_start=start,
                availability_end=end,
                preferred_duration_minutes=60,
                created_at=MIDNIGHT - timedelta(hours=8, minutes=n),
                priority=rng.choice([0, 0, 0, 1]),
            )
        )
    return pool


def touches(request: MatchRequest, day: datetime) -> bool:
    """Whether the request's window holds a slot start of the day: it is in that day's pool."""
    return request.availability_start < day + DAY and request.last_start >= day


def pass_of(
    day: datetime, pool: list[MatchRequest], now: datetime, widen: int
) -> list[tuple[MatchRequest, MatchRequest]]:
    """One pass of the day's matchmaker over the requests of its day."""
    rules = MatchRules(
        now=now, slot_minutes=10, widen_levels_minutes=widen, owned_from=day, owned_to=day + DAY
    )
    return [(p.first, p.second) for p in pair_pool([r for r in pool if touches(r, day)], rules)]


def test_two_days_matchmakers_leave_no_pair_that_could_still_pair() -> None:
    rng = random.Random(20261201)
    for trial in range(300):
        pool = random_pool(rng, rng.randint(2, 24))
        now = MIDNIGHT - SLOT * rng.randint(1, 40)
        widen = rng.choice([0, 30])
        days = [MIDNIGHT - DAY, MIDNIGHT]
        rng.shuffle(days)  # either matchmaker may run first
        left = list(pool)
        for day in days:
            for one, two in pass_of(day, left, now, widen):
                assert one in left and two in left, f"trial {trial}: paired twice"
                left.remove(one)
                left.remove(two)
        anywhere = MatchRules(now=now, slot_minutes=10, widen_levels_minutes=widen)
        stranded = [(a, b) for a in left for b in left if a.request_id < b.request_id]
        assert not [pair for pair in stranded if can_pair(*pair, anywhere)], f"trial {trial}"


def test_a_pair_straddling_midnight_is_only_the_earlier_days_while_it_has_a_slot_there() -> None:
    one, two = (
        MatchRequest(
            request_id=rid,
            user_id=f"user-{rid}",
            native_language_id=native,
            learning_language_id=learning,
            proficiency_level=Level.INTERMEDIATE,
            availability_start=MIDNIGHT - 2 * SLOT,
            availability_end=MIDNIGHT + 3 * SLOT,
            preferred_duration_minutes=60,
            created_at=MIDNIGHT - DAY,
        )
        for rid, native, learning in (("a", "english", "spanish"), ("b", "spanish", "english"))
    )
    before = MIDNIGHT - 3 * SLOT
    assert pass_of(MIDNIGHT, [one, two], before, 0) == []
    ((first, second),) = pass_of(MIDNIGHT - DAY, [one, two], before, 0)
    assert {first.request_id, second.request_id} == {"a", "b"}
    # Once the last slot before midnight has passed, the next day owns it.
    assert pass_of(MIDNIGHT - DAY, [one, two], MIDNIGHT - SLOT, 0) == []
    assert len(pass_of(MIDNIGHT, [one, two], MIDNIGHT - SLOT, 0)) == 1
