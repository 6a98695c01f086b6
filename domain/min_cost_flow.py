"""Minimum-cost flow by the primal-dual method, sized for graphs of a few hundred nodes."""

import heapq
from collections.abc import Sequence

Arc = tuple[int, int, int, int]
"""An arc as (tail, head, capacity, cost per unit)."""

_UNREACHED = 1 << 62


def min_cost_flow(
    node_count: int, arcs: Sequence[Arc], *, source: int, sink: int, amount: int
) -> list[int]:
    """Send `amount` units from source to sink at the least total cost; return each arc's flow."""
    # Residual arcs live in parallel lists; arc 2k is the k-th input arc and 2k+1 its reverse,
    # so an arc's twin is index ^ 1.
    head: list[int] = []
    room: list[int] = []
    cost: list[int] = []
    leaving: list[list[int]] = [[] for _ in range(node_count)]
    for tail, tip, capacity, unit_cost in arcs:
        if capacity < 0 or unit_cost < 0:
            raise ValueError("arcs need a non-negative capacity and cost")
        leaving[tail].append(len(head))
        head += [tip, tail]
        room += [capacity, 0]
        cost += [unit_cost, -unit_cost]
        leaving[tip].append(len(head) - 1)

    # Node potentials keep every residual arc's reduced cost (cost + p[tail] - p[head]) at
    # least zero; with non-negative costs, all zero will do at first.
    potential = [0] * node_count
    sent = 0
    while sent < amount:
        # Each phase finds the cheapest residual distances (Dijkstra on reduced costs), raises
        # the potentials by them, and then augments only along arcs of reduced cost zero, that
        # is along cheapest paths. Starting from the zero flow, this keeps every intermediate
        # flow cheapest for its value (no negative residual cycle), so the final flow is a
        # minimum-cost flow of `amount`.
        distance = _distances(node_count, head, room, cost, leaving, potential, source)
        if distance[sink] >= _UNREACHED:
            raise ValueError(f"only {sent} of {amount} units can reach the sink")
        for node, d in enumerate(distance):
            potential[node] += min(d, distance[sink])
        pushed = _push_along_tight_arcs(
            node_count, head, room, cost, leaving, potential, source, sink, amount - sent
        )
        sent += pushed
    return [room[2 * k + 1] for k in range(len(arcs))]


def _distances(
    node_count: int,
    head: list[int],
    room: list[int],
    cost: list[int],
    leaving: list[list[int]],
    potential: list[int],
    source: int,
) -> list[int]:
    distance = [_UNREACHED] * node_count
    distance[source] = 0
    queue = [(0, source)]
    while queue:
        d, node = heapq.heappop(queue)
        if d > distance[node]:
            continue
        here = potential[node]
        for arc in leaving[node]:
            if room[arc]:
                tip = head[arc]
                through = d + cost[arc] + here - potential[tip]
                if through < distance[tip]:
                    distance[tip] = through
                    heapq.heappush(queue, (through, tip))
    return distance


def _push_along_tight_arcs(
    node_count: int,
    head: list[int],
    room: list[int],
    cost: list[int],
    leaving: list[list[int]],
    potential: list[int],
    source: int,
    sink: int,
    wanted: int,
) -> int:
    # Depth-first searches over arcs of reduced cost zero, each arc tried once a phase (a
    # dead end stays one); augmenting along them keeps the reduced costs at least zero.
    next_arc = [0] * node_count
    pushed = 0
    while pushed < wanted:
        stack, via = [source], []
        on_path = [False] * node_count
        on_path[source] = True
        while stack and stack[-1] != sink:
            node = stack[-1]
            out = leaving[node]
            while next_arc[node] < len(out):
                arc = out[next_arc[node]]
                tip = head[arc]
                if (
                    room[arc]
                    and not on_path[tip]
                    and cost[arc] + potential[node] - potential[tip] == 0
                ):
                    break
                next_arc[node] += 1
            if next_arc[node] < len(out):
                stack.append(tip)
                via.append(arc)
                on_path[tip] = True
                continue
            stack.pop()
            on_path[node] = False
            if via:
                via.pop()
                next_arc[stack[-1]] += 1
        if not stack:
            # No cheapest path left at these potentials; the next phase raises them (or
            # finds the very same distance again if a path was only hidden by a dead end).
            return pushed
        push = min([wanted - pushed] + [room[arc] for arc in via])
        for arc in via:
            room[arc] -= push
            room[arc ^ 1] += push
        pushed += push
    return pushed
