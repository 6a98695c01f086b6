"""Matchings in a bipartite graph whose vertices come in classes of interchangeable twins.

Every vertex of a class is adjacent to every vertex of each neighbouring class, so a matching
is described by how many pairs join each two classes, and the work grows with the number of
classes rather than the number of edges (a hot slot has thousands of requests but only a few
classes, one per side and level).
"""

from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from domain.min_cost_flow import Arc, min_cost_flow


@dataclass(frozen=True)
class ClassGraph:
    """Classes on two sides, their sizes, and the cost of pairing across each adjacent two."""

    on_left: Sequence[bool]
    size: Sequence[int]
    neighbours: Sequence[Mapping[int, int]]  # class -> {adjacent class on the other side: cost}


def best_coverable(graph: ClassGraph, classes_in_order: Sequence[int]) -> list[bool]:
    """Walk vertices (given as classes) in order; keep each that leaves the kept set coverable."""
    # Mendelsohn-Dulmage: in a bipartite graph, if one matching covers A (left) and another
    # covers B (right), some matching covers A and B together. So the coverable sets are those
    # whose left part and right part are each coverable, and the greedy splits into one
    # independent greedy per side, each over that side's transversal matroid.
    sides = {True: _OneSideGreedy(graph), False: _OneSideGreedy(graph)}
    return [sides[graph.on_left[c]].try_add(c) for c in classes_in_order]


def cheapest_pairing(graph: ClassGraph, chosen: Sequence[int]) -> dict[tuple[int, int], int]:
    """Pair all `chosen[c]` vertices of every class at least cost; return pairs per class pair."""
    left_total = sum(n for c, n in enumerate(chosen) if graph.on_left[c])
    right_total = sum(n for c, n in enumerate(chosen) if not graph.on_left[c])
    if left_total != right_total:
        raise ValueError("a perfect pairing needs as many chosen vertices on each side")
    source, sink = len(chosen), len(chosen) + 1
    arcs: list[Arc] = []
    links: dict[int, tuple[int, int]] = {}  # arc index -> (left class, right class)
    for c, count in enumerate(chosen):
        if not count:
            continue
        if not graph.on_left[c]:
            arcs.append((c, sink, count, 0))
            continue
        arcs.append((source, c, count, 0))
        for d, cost in graph.neighbours[c].items():
            if chosen[d]:
                links[len(arcs)] = (c, d)
                arcs.append((c, d, count, cost))
    flows = min_cost_flow(len(chosen) + 2, arcs, source=source, sink=sink, amount=left_total)
    return {link: flows[arc] for arc, link in links.items() if flows[arc]}


class _OneSideGreedy:
    """Greedy over one side's transversal matroid, grown by augmenting paths between classes."""

    def __init__(self, graph: ClassGraph) -> None:
        self._graph = graph
        # into[b][a]: kept vertices of class a (this side) matched into class b (other side).
        self._into: dict[int, dict[int, int]] = {}
        self._used: dict[int, int] = {}
        # Coverability only grows harder as vertices are kept, and twins are interchangeable,
        # so once a class fails it fails for good (and so does every class its search met).
        self._dead: set[int] = set()

    def try_add(self, start: int) -> bool:
        """Keep one more vertex of class `start` if the kept set stays coverable."""
        if start in self._dead:
            return False
        graph = self._graph
        came_from_other: dict[int, int] = {}  # other-side class -> class it was reached from
        came_from_this: dict[int, int | None] = {start: None}
        queue = deque([start])
        while queue:
            here = queue.popleft()
            for there in graph.neighbours[here]:
                if there in came_from_other:
                    continue
                came_from_other[there] = here
                if self._used.get(there, 0) < graph.size[there]:
                    self._augment(there, came_from_other, came_from_this)
                    return True
                for back, units in self._into.get(there, {}).items():
                    if units and back not in came_from_this:
                        came_from_this[back] = there
                        queue.append(back)
        # Every class of this side the search reached has all its neighbours' room taken by
        # the classes reached (a Hall violator), so none of them can grow either, ever.
        self._dead.update(came_from_this)
        return False

    def _augment(
        self,
        free: int,
        came_from_other: dict[int, int],
        came_from_this: dict[int, int | None],
    ) -> None:
        self._used[free] = self._used.get(free, 0) + 1
        there: int | None = free
        while there is not None:
            here = came_from_other[there]
            self._shift(here, there, +1)
            there = came_from_this[here]
            if there is not None:
                self._shift(here, there, -1)

    def _shift(self, here: int, there: int, units: int) -> None:
        into = self._into.setdefault(there, {})
        into[here] = into.get(here, 0) + units
