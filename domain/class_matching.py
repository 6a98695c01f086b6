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
    kept = [False] * len(classes_in_order)
    for side in (True, False):
        positions = [i for i, c in enumerate(classes_in_order) if graph.on_left[c] == side]
        walked = _OneSideGreedy(graph).walk([classes_in_order[i] for i in positions])
        for i, keep in zip(positions, walked, strict=True):
            kept[i] = keep
    return kept


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
        # While trying a run of vertices at once: how to undo it.
        self._undo: list[tuple[int, int, int]] | None = None

    def walk(self, classes: Sequence[int]) -> list[bool]:
        """Whether the greedy keeps each vertex, walked in order.

        The greedy keeps a run of vertices whole exactly when the run, added to what is kept,
        stays coverable; so runs are tried at once, and only a run that fails is walked in
        smaller runs. A vertex fails only when its class dies, at most once a class, so the
        searches grow with the number of classes rather than of vertices.
        """
        kept: list[bool] = []
        run = 1
        while len(kept) < len(classes):
            part = classes[len(kept) : len(kept) + run]
            if run == 1:
                kept.append(self.try_add(part[0]))
                run = 2
                continue
            # A class dead before the run stays dead; the others are tried together.
            alive = [c not in self._dead for c in part]
            if self._try_add_all([c for c, live in zip(part, alive, strict=True) if live]):
                kept.extend(alive)
                run = min(2 * run, 1024)
            else:
                run //= 2
        return kept

    def _try_add_all(self, classes: Sequence[int]) -> bool:
        # Keep every one of these vertices, or none (undoing what was done).
        wanted: dict[int, int] = {}
        for c in classes:
            wanted[c] = wanted.get(c, 0) + 1
        self._undo = []
        try:
            for c, units in wanted.items():
                while units:
                    found = self._search(c)
                    if found is None:
                        for here, there, shift in reversed(self._undo):
                            self._shift_raw(here, there, shift)
                        return False
                    units -= self._augment(*found, limit=units)
            return True
        finally:
            self._undo = None

    def try_add(self, start: int) -> bool:
        """Keep one more vertex of class `start` if the kept set stays coverable."""
        if start in self._dead:
            return False
        found = self._search(start)
        if found is None:
            return False
        self._augment(*found, limit=1)
        return True

    def _search(self, start: int) -> tuple[int, dict[int, int], dict[int, int | None]] | None:
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
                    return there, came_from_other, came_from_this
                for back, units in self._into.get(there, {}).items():
                    if units and back not in came_from_this:
                        came_from_this[back] = there
                        queue.append(back)
        if self._undo is None:
            # Every class of this side the search reached has all its neighbours' room taken
            # by the classes reached (a Hall violator), so none of them can grow either, ever.
            self._dead.update(came_from_this)
        return None

    def _augment(
        self,
        free: int,
        came_from_other: dict[int, int],
        came_from_this: dict[int, int | None],
        *,
        limit: int,
    ) -> int:
        # As many units as the path carries: the room left at its end, and what each of its
        # existing links holds.
        units = min(limit, self._graph.size[free] - self._used.get(free, 0))
        there: int | None = free
        while there is not None:
            here = came_from_other[there]
            there = came_from_this[here]
            if there is not None:
                units = min(units, self._into[there][here])
        self._used[free] = self._used.get(free, 0) + units
        if self._undo is not None:
            self._undo.append((-1, free, -units))
        there = free
        while there is not None:
            here = came_from_other[there]
            self._shift(here, there, units)
            there = came_from_this[here]
            if there is not None:
                self._shift(here, there, -units)
        return units

    def _shift(self, here: int, there: int, units: int) -> None:
        if self._undo is not None:
            self._undo.append((here, there, -units))
        self._shift_raw(here, there, units)

    def _shift_raw(self, here: int, there: int, units: int) -> None:
        if here < 0:
            self._used[there] += units
            return
        into = self._into.setdefault(there, {})
        into[here] = into.get(here, 0) + units
