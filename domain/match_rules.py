"""Who may practise with whom, when, and who is served first: the rules every pairing obeys.

`domain.matching` re-exports these names; import them from there.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from domain.levels import Level, level_distance
from domain.requests import MatchRequest
from domain.slots import is_on_grid, next_slot_after, require_aware

_LEVELS = frozenset(Level)


@dataclass(frozen=True)
class MatchRules:
    """What a pass knows beyond the requests: the clock, the grid, widening, blocks, reliability
    and the slot starts this shard owns."""

    now: datetime  # aware; only slots strictly after now are bookable
    slot_minutes: int = 10
    widen_levels_minutes: int = 0  # 0: levels never widen to two steps
    blocked: frozenset[frozenset[str]] = frozenset()  # unordered pairs of user ids
    unreliable: frozenset[str] = frozenset()  # user ids ranked after everyone else
    # This shard pairs only at slot starts in [owned_from, owned_to); None is unbounded.
    owned_from: datetime | None = None
    owned_to: datetime | None = None

    def __post_init__(self) -> None:
        for t in (self.now, self.owned_from, self.owned_to):
            if t is not None:
                require_aware(t)
        if self.slot_minutes <= 0:
            raise ValueError(f"slot_minutes must be positive, got {self.slot_minutes}")
        if self.widen_levels_minutes < 0:
            raise ValueError("widen_levels_minutes must not be negative")

    @property
    def first_bookable(self) -> datetime:
        """The first slot start strictly after `now`."""
        return next_slot_after(self.now, self.slot_minutes)

    def are_blocked(self, user: str, other: str) -> bool:
        """Whether either user has blocked the other."""
        return bool(self.blocked) and frozenset((user, other)) in self.blocked

    def levels_allow(self, distance: int, slot: datetime) -> bool:
        """Whether levels `distance` steps apart may meet in `slot`: one step always, two only
        when the slot starts within `widen_levels_minutes` of now."""
        if distance <= 1:
            return True
        widen = self.widen_levels_minutes
        return distance == 2 and widen > 0 and slot - self.now <= timedelta(minutes=widen)

    def widens_at(self, slot: datetime) -> datetime:
        """The moment levels two steps apart may start to meet in `slot`."""
        return slot - timedelta(minutes=self.widen_levels_minutes)


@dataclass(frozen=True)
class Pair:
    """Two requests to seat in one session at `scheduled_start`; `first` is the one served first."""

    first: MatchRequest
    second: MatchRequest
    scheduled_start: datetime


def preference_key(
    candidate: MatchRequest, unreliable: frozenset[str] = frozenset()
) -> tuple[bool, int, datetime, str]:
    """Sort key serving reliable users before unreliable ones, then priority 1 before 0, then
    the longest waiting, then the smaller id."""
    return (
        candidate.user_id in unreliable,
        -candidate.priority,
        candidate.created_at,
        candidate.request_id,
    )


def check_pairable(request: MatchRequest) -> None:
    """Raise ValueError for a request no pairing can use: an unknown level or a naive time, so
    that it fails before matching starts rather than midway."""
    if request.proficiency_level not in _LEVELS:
        request.level  # noqa: B018 - raises for an unknown level
    for t in (request.created_at, request.availability_start, request.availability_end):
        if t is not None and (t.tzinfo is None or t.utcoffset() is None):
            require_aware(t)  # raises


def language_pair(native_language_id: str, learning_language_id: str) -> tuple[str, str]:
    """The unordered pair of languages a request exchanges, smaller id first.

    Only requests with the same language pair can ever pair (`can_pair` wants each one's
    native language to be the other's learning language), so a pool splits into independent
    shards by this key without losing a single pair.
    """
    first, second = sorted((native_language_id, learning_language_id))
    return first, second


def common_slot(start: datetime, last: datetime, rules: MatchRules) -> datetime | None:
    """The earliest bookable grid point in [start, last], if this shard owns it; else None."""
    on_grid = require_aware(start)
    if not is_on_grid(on_grid, rules.slot_minutes):
        on_grid = next_slot_after(on_grid, rules.slot_minutes)
    slot = max(on_grid, rules.first_bookable)
    if slot > last:
        return None
    # Ownership is that of the earliest common bookable slot, not of the earliest owned one:
    # so exactly one shard may pair any two requests at any moment.
    if rules.owned_from is not None and slot < rules.owned_from:
        return None
    if rules.owned_to is not None and slot >= rules.owned_to:
        return None
    return slot


def earliest_common_slot(a: MatchRequest, b: MatchRequest, rules: MatchRules) -> datetime | None:
    """The session's slot if `a` and `b` meet: the earliest grid point in both windows strictly
    after now; None if there is none, or if that point lies outside the shard's slots."""
    start = max(a.availability_start, b.availability_start)
    return common_slot(start, min(a.last_start, b.last_start), rules)


def could_meet(a: MatchRequest, b: MatchRequest, rules: MatchRules) -> bool:
    """Everything `can_pair` asks but the slot and the levels."""
    return (
        a.preferred_duration_minutes == b.preferred_duration_minutes
        # Someone "learning" their own native language has nobody to exchange with.
        and a.native_language_id != a.learning_language_id
        and a.native_language_id == b.learning_language_id
        and a.learning_language_id == b.native_language_id
        and a.user_id != b.user_id
        and not rules.are_blocked(a.user_id, b.user_id)
    )


def can_pair(a: MatchRequest, b: MatchRequest, rules: MatchRules) -> bool:
    """Tell whether two requests may share a session now, in this shard."""
    if not could_meet(a, b, rules):
        return False
    slot = earliest_common_slot(a, b, rules)
    return slot is not None and rules.levels_allow(level_distance(a.level, b.level), slot)
