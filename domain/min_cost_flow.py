"""Minimum-cost flow by successive shortest paths, sized for graphs of a few dozen nodes."""

from collections import deque
from collections.abc import Sequence

Arc = tuple[int, int, int, int]
"""An arc as (tail, head, capacity, cost per unit)."""


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

    sent = 0
    while sent < amount:
        # Each pass augments along a cheapest residual path. Starting from the zero flow with
        # non-negative costs, this keeps every intermediate flow cheapest for its value (no
        # negative residual cycle), so the final flow is a minimum-cost flow of `amount`.
        via = _cheapest_path(node_count, head, room, cost, leaving, source)
        if via[sink] < 0:
            raise ValueError(f"only {sent} of {amount} units can reach the sink")
        push = amount - sent
        node = sink
        while node != source:
            push = min(push, room[via[node]])
            node = head[via[node] ^ 1]
        node = sink
        while node != source:
            room[via[node]] -= push
            room[via[node] ^ 1] += push
            node = head[via[node] ^ 1]
        sent += push
    return [room[2 * k + 1] for k in range(len(arcs))]


def _cheapest_path(
    node_count: int,
    head: list[int],
    room: list[int],
    cost: list[int],
    leaving: list[list[int]],
    source: int,
) -> list[int]:
    # Bellman-Ford with a queue (SPFA): residual costs can be negative, and the graphs are tiny.
    unreached = 1 << 62
    distance = [unreached] * node_count
    via = [-1] * node_count
    distance[source] = 0
    queued = [False] * node_count
    queue = deque([source])
    queued[source] = True
    while queue:
        node = queue.popleft()
        queued[node] = False
        for arc in leaving[node]:
            if room[arc] == 0:
                continue
            tip = head[arc]
            if distance[node] + cost[arc] < distance[tip]:
                distance[tip] = distance[node] + cost[arc]
                via[tip] = arc
                if not queued[tip]:
                    queued[tip] = True
                    queue.append(tip)
    return via
