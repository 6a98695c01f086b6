"""A group of requests (one language pair, one duration) cut into parts no window joins, each
part described by classes of interchangeable twins: same side, level and bookable window, and,
only where it matters, the same user.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from domain.levels import level_rank
from domain.match_rules import MatchRules
from domain.requests import MatchRequest
from domain.slots import is_on_grid, next_slot_after, require_aware

# Side (left?), level rank, first bookable slot, last start, and the user where it matters.
_ClassKey = tuple[bool, int, datetime, datetime, str | None]


@dataclass(frozen=True)
class Link:
    """Two classes (left, right) whose members may meet at `slot`, levels `distance` apart,
    unless their levels forbid it."""

    left: int
    right: int
    slot: datetime
    distance: int


@dataclass
class Component:
    """Members of one group, in preference order, that no window separates."""

    rules: MatchRules
    members: list[MatchRequest]
    windows: list[tuple[datetime, datetime]]  # per member: first bookable slot, last start
    # Per class: its side (native language the smaller id) and how many members it has.
    on_left: list[bool] = field(init=False, default_factory=list)
    size: list[int] = field(init=False, default_factory=list)
    class_of: list[int] = field(init=False, default_factory=list)  # per member
    _keys: list[_ClassKey] = field(init=False, default_factory=list)
    _links: list[Link] | None = field(init=False, default=None)
    _slots: dict[tuple[int, int], datetime] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        lower = min(self.members[0].native_language_id, self.members[0].learning_language_id)
        left = [m.native_language_id == lower for m in self.members]
        left_users = {m.user_id for m, is_left in zip(self.members, left, strict=True) if is_left}
        right_users = {
            m.user_id for m, is_left in zip(self.members, left, strict=True) if not is_left
        }
        # A user loses edges only to themselves (on both sides) or to someone they block or
        # who blocks them (across the sides); everyone else is a twin of every other member of
        # the same side, level and window.
        distinct = left_users & right_users
        for pair in self.rules.blocked:
            if len(pair) != 2:
                continue
            u, v = sorted(pair)
            if (u in left_users and v in right_users) or (v in left_users and u in right_users):
                distinct |= {u, v}
        ids: dict[_ClassKey, int] = {}
        for member, is_left, (start, last) in zip(self.members, left, self.windows, strict=True):
            user = member.user_id if member.user_id in distinct else None
            key = (is_left, level_rank(member.level), start, last, user)
            c = ids.setdefault(key, len(ids))
            if c == len(self.size):
                self.size.append(0)
                self.on_left.append(is_left)
            self.size[c] += 1
            self.class_of.append(c)
        self._keys = list(ids)

    def links(self) -> list[Link]:
        """Every left and right class whose members could meet at a common owned slot, whatever
        their levels (at most two apart)."""
        if self._links is None:
            self._links = list(self._find_links())
        return self._links

    def _find_links(self) -> Iterator[Link]:
        rules = self.rules
        right_by_rank: dict[int, list[int]] = {}
        for d, key in enumerate(self._keys):
            if not key[0]:
                right_by_rank.setdefault(key[1], []).append(d)
        for c, (c_left, c_rank, c_start, c_last, c_user) in enumerate(self._keys):
            if not c_left:
                continue
            for rank in range(c_rank - 2, c_rank + 3):
                for d in right_by_rank.get(rank, ()):
                    _, _, d_start, d_last, d_user = self._keys[d]
                    if (
                        c_user is not None
                        and d_user is not None
                        and (c_user == d_user or rules.are_blocked(c_user, d_user))
                    ):
                        continue
                    # Both starts are bookable grid points already.
                    slot = max(c_start, d_start)
                    if slot > min(c_last, d_last) or not _owned(slot, rules):
                        continue
                    self._slots[(c, d)] = slot
                    yield Link(c, d, slot, abs(c_rank - rank))

    def costs(self) -> list[dict[int, int]]:
        """Per class, its neighbours under the rules and the cost of a pair with each: level
        distance first, then how late the slot is."""
        rules = self.rules
        allowed = [link for link in self.links() if rules.levels_allow(link.distance, link.slot)]
        neighbours: list[dict[int, int]] = [{} for _ in self._keys]
        if not allowed:
            return neighbours
        base = min(link.slot for link in allowed)
        step = self.rules.slot_minutes * 60
        index = {link.slot: int((link.slot - base).total_seconds()) // step for link in allowed}
        # Any level step outweighs every later slot of every pair.
        weight = (len(self.members) // 2 + 1) * (max(index.values()) + 1)
        for link in allowed:
            cost = link.distance * weight + index[link.slot]
            neighbours[link.left][link.right] = neighbours[link.right][link.left] = cost
        return neighbours

    def slot_of(self, left: int, right: int) -> datetime:
        """The slot of a pair between these two classes."""
        return self._slots[(left, right)]


def components(members: Sequence[MatchRequest], rules: MatchRules) -> list[Component]:
    """Split one group's members (in preference order) into parts no common slot joins,
    leaving out members with no bookable slot this shard could own; each part keeps the
    order."""
    first_bookable = rules.first_bookable
    # Windows repeat: each distinct one is worked out once.
    bookable: dict[tuple[datetime, datetime], tuple[datetime, datetime] | None] = {}
    kept: list[tuple[MatchRequest, datetime, datetime, int]] = []
    for order, member in enumerate(members):
        window = (member.availability_start, member.last_start)
        if window not in bookable:
            bookable[window] = _bookable(*window, first_bookable, rules)
        found = bookable[window]
        if found is not None:
            kept.append((member, *found, order))
    kept.sort(key=lambda item: (item[1], item[3]))
    parts: list[list[tuple[MatchRequest, datetime, datetime, int]]] = []
    reach: datetime | None = None
    for item in kept:
        if reach is None or item[1] > reach:
            parts.append([])
            reach = item[2]
        parts[-1].append(item)
        reach = max(reach, item[2])
    result = []
    for part in parts:
        part.sort(key=lambda item: item[3])
        result.append(
            Component(
                rules=rules,
                members=[item[0] for item in part],
                windows=[(item[1], item[2]) for item in part],
            )
        )
    return result


def _bookable(
    start: datetime, last: datetime, first_bookable: datetime, rules: MatchRules
) -> tuple[datetime, datetime] | None:
    # The window's first bookable grid point and its last start, if this shard may own a slot
    # of it: a pair's earliest common slot is at least the one and at most the other.
    start = require_aware(start)
    if not is_on_grid(start, rules.slot_minutes):
        start = next_slot_after(start, rules.slot_minutes)
    start, last = max(start, first_bookable), require_aware(last)
    if start > last:
        return None
    if rules.owned_to is not None and start >= rules.owned_to:
        return None
    if rules.owned_from is not None and last < rules.owned_from:
        return None
    return start, last


def _owned(slot: datetime, rules: MatchRules) -> bool:
    if rules.owned_from is not None and slot < rules.owned_from:
        return False
    return rules.owned_to is None or slot < rules.owned_to
