"""Per slot and shard, the pairs the stack made against an offline maximum matching (networkx)
under the same rules: reciprocal languages, same duration, different people, levels at most one
apart (two inside the widening time), not blocked, both windows holding the slot.

The market at slot s is judged when joining opens for s (the matchmaker rearranges no later):
every request whose window holds s that was then still waiting, or is in a session at s. A pair
the stack made is always an edge, so the maximum is never below what was made. Where nobody
booked, was rebooked or cancelled into s after joining opened ("paused"), the stack must reach
the maximum: an augmenting path at s would be one in the shard's whole pool when it last paired.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import networkx as nx
from networkx.algorithms import bipartite

from bench.market.facts import Facts, RequestFact
from domain.levels import Level, level_distance


@dataclass(frozen=True)
class SlotShard:
    """One slot of one shard: the pairs made there and the most that could have been."""

    slot: datetime
    shard: tuple[str, str, int]
    requests: int
    made: int
    maximum: int
    paused: bool

    def as_json(self) -> dict[str, Any]:
        """The row as the JSON shows it."""
        return {
            "slot": self.slot.isoformat(),
            "shard": "/".join(str(part) for part in self.shard),
            "requests": self.requests,
            "made": self.made,
            "maximum": self.maximum,
            "paused": self.paused,
        }


def shard_of(request: RequestFact) -> tuple[str, str, int]:
    """Language pair (smaller first) and duration."""
    first, second = sorted((request.native, request.learning))
    return first, second, request.duration


def _held(request: RequestFact, slot: datetime, cut: datetime, facts: Facts) -> bool | None:
    """True if the request is in a session at `slot`, False if it was waiting for `slot` when
    joining opened (or arrived later, before the start), None if it was not in that market."""
    if not request.start <= slot <= request.end or request.created_at >= slot:
        return None
    session = facts.live_session_of.get(request.id)
    if session is not None and session.start == slot:
        return True
    if request.matched_at is not None and request.matched_at < cut:
        return None  # seated elsewhere before this slot's market was judged
    if request.withdrawn_at is not None and request.withdrawn_at < cut:
        return None
    return False


def compare(facts: Facts, join_opens: timedelta, widen: timedelta) -> list[SlotShard]:
    """Every (slot, shard) where at least one request was in the market."""
    markets: dict[tuple[datetime, tuple[str, str, int]], list[RequestFact]] = defaultdict(list)
    for request in facts.requests.values():
        for slot in facts.grid(request.start, request.end):
            markets[slot, shard_of(request)].append(request)
    blocks = facts.blocks
    rows = []
    for (slot, shard), candidates in sorted(markets.items()):
        cut = slot - join_opens
        held = {r.id: _held(r, slot, cut, facts) for r in candidates}
        present = [r for r in candidates if held[r.id] is not None]
        if not present:
            continue
        graph: nx.Graph[str] = nx.Graph()
        left = {r.id for r in present if r.native == shard[0]}
        graph.add_nodes_from(r.id for r in present)
        made = set()
        for session in facts.sessions_at.get(slot, []):
            if session.one in graph and session.two in graph:
                graph.add_edge(session.one, session.two)
                made.add(session.id)
        wide = timedelta(0) < widen and widen >= join_opens
        for a in present:
            if a.id not in left:
                continue
            for b in present:
                reciprocal = b.native == a.learning and b.learning == a.native
                if reciprocal and _pairable(a, b, wide) and not blocks.blocked(a.user, b.user, cut):
                    graph.add_edge(a.id, b.id)
        maximum = len(bipartite.hopcroft_karp_matching(graph, top_nodes=left)) // 2
        paused = not any(
            r.created_at >= cut or (r.withdrawn_at is not None and cut <= r.withdrawn_at < slot)
            for r in present
        )
        rows.append(SlotShard(slot, shard, len(present), len(made), maximum, paused))
    return rows


def _pairable(a: RequestFact, b: RequestFact, wide: bool) -> bool:
    if a.user == b.user:
        return False
    distance = level_distance(Level(a.level), Level(b.level))
    return distance <= 1 or (wide and distance == 2)


def summary(rows: list[SlotShard], examples: int = 20) -> dict[str, Any]:
    """Counts, and the first differences of each kind."""
    short_paused = [row for row in rows if row.made < row.maximum and row.paused]
    short_late = [row for row in rows if row.made < row.maximum and not row.paused]
    return {
        "slot_shards": len(rows),
        "paused": sum(1 for row in rows if row.paused),
        "pairs_made": sum(row.made for row in rows),
        "pairs_maximum": sum(row.maximum for row in rows),
        "short_where_paused": len(short_paused),
        "short_where_not_paused": len(short_late),
        "pairs_short_where_paused": sum(row.maximum - row.made for row in short_paused),
        "pairs_short_where_not_paused": sum(row.maximum - row.made for row in short_late),
        "examples_short_where_paused": [row.as_json() for row in short_paused[:examples]],
        "examples_short_where_not_paused": [row.as_json() for row in short_late[:examples]],
    }
