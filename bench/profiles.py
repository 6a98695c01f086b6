"""How big each scenario is: `full` for the published figures, `tiny` for the test that runs it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Profile:
    """The sizes and rates of one benchmark run."""

    name: str
    floor_workflows: int
    floor_concurrency: int
    saturation_seconds: float
    saturation_concurrency: int
    steady_seconds: float
    steady_slots: int
    language_pairs: int
    hot_requests: int
    hot_concurrency: int
    hot_language_pairs: int
    window_requests: int
    timer_sessions: int
    history_pairs: int
    chaos_users: int
    chaos_slots: int
    chaos_language_pairs: int
    match_timeout_seconds: float = 60.0
    # The simulated market (`--only market`): learners, and slots in its evening (one real
    # minute each, standing for ten simulated minutes).
    market_learners: int = 2_000
    market_slots: int = 15
    # Joining opens this many slots before a slot starts (the market's cut-off for bookings).
    market_join_opens_slots: int = 1
    # Wait for the last rebookings' windows to pass (else they count as unmatched).
    market_wait_for_rebookings: bool = True


FULL = Profile(
    name="full",
    floor_workflows=1_000,
    floor_concurrency=64,
    saturation_seconds=60,
    saturation_concurrency=24,
    steady_seconds=60,
    steady_slots=24,
    language_pairs=8,
    hot_requests=10_000,
    hot_concurrency=6,
    hot_language_pairs=10,
    window_requests=10_000,
    timer_sessions=300,
    history_pairs=20,
    chaos_users=48,
    chaos_slots=4,
    chaos_language_pairs=3,
)

TINY = Profile(
    name="tiny",
    floor_workflows=20,
    floor_concurrency=8,
    saturation_seconds=3,
    saturation_concurrency=4,
    steady_seconds=3,
    steady_slots=3,
    language_pairs=2,
    hot_requests=60,
    hot_concurrency=4,
    hot_language_pairs=3,
    window_requests=80,
    timer_sessions=3,
    history_pairs=3,
    chaos_users=14,
    chaos_slots=1,
    chaos_language_pairs=2,
    market_learners=80,
    market_slots=2,
    market_join_opens_slots=0,
    market_wait_for_rebookings=False,
)

PROFILES = {profile.name: profile for profile in (FULL, TINY)}
