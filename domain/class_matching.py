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
    """Walk vertices (given by class) in order; keep each one a matching can cover with those kept."""
    # Mendelsohn-Dulmage: in a bipartite graph, if one matching covers A (left) and another
    # covers B (right), some matching covers A and B together. So the coverable sets are those
    # whose left part and right part are each coverable, and the greedy splits into one
    # independent greedy per side, each over that side's transversal matroid.
    sides = {True: _OneSideGreedy(graph, True), False: _OneSideGreedy(graph, False)}
    return [sides[graph.on_left[c]].try_add(c) for c in classes_in_order]


def cheapest_pairing(graph: ClassGraph, chosen: Sequence[int]) -> dict[tuple[int, int], int]:
    """Pair all `chosen[c]` vertices of each class at least total cost; count pairs per class pair."""
    left_total = sum(n for c, n in enumerate(chosen) if graph.on_left[c])
    right_total = sum(n for c, n in enumerate(chosen) if not graph.on_left[c])
    if left_total != right_total:
        raise ValueError("a perfect pairing needs as many chosen vertices on each side")
    source, sink = len(chosen), len(chosen) + 1
    arcs: list[Arc] = []
    links: list[tuple[int, int]] = []
    for c, count in enumerate(chosen):
        if not count:
            continue
        if not graph.on_left[c]:
            arcs.append((c, sink, count, 0))
            continue
        arcs.append((source, c, count, 0))
        for d, cost in graph.neighbours[c].items():
            if chosen[d]:
                links.append((c, d))
                arcs.append((c, d, count, cost))
    flows = min_cost_flow(len(chosen) + 2, arcs, source=source, sink=sink, amount=left_total)
    link_flows = (f for (tail, tip, _, _), f in zip(arcs, flows, strict=True) if tail != source
                  and tip != sink)
    return {link: f for link, f in zip(links, link_flows, strict=True) if f}


class _OneSideGreedy:
    """Greedy over one side's transversal matroid, growing a class-level flow by augmenting paths."""

    def __init__(self, graph: ClassGraph, on_left: bool) -> None:
        self._graph = graph
        self._side = on_left
        # flow[a][b]: kept vertices of class a (this side) matched into class b (other side).
        self._flow: dict[int, dict[int, int]] = {}
        self._into: dict[int, dict[int, int]] = {}
        self._used: dict[int, int] = {}
        # Coverability only grows harder as vertices are kept, and twins are interchangeable,
        # so once a class fails it fails for good.
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
        self._dead.add(start)
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
        flow = self._flow.setdefault(here, {})
        into = self._into.setdefault(there, {})
        flow[there] = flow.get(there, 0) + units
        into[here] = into.get(here, 0) + units
