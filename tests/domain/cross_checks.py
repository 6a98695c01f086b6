"""What the pairing property tests check the domain against: networkx's view of who may pair,
and the same answer from processes with other string hash seeds (a replay on another worker)."""

import os
import subprocess
import sys

import networkx as nx

from domain.matching import MatchRules, can_pair
from domain.requests import MatchRequest


def compatibility_graph(pool: list[MatchRequest], match_rules: MatchRules) -> nx.Graph:
    """The pool's requests as nodes (by position), an edge for each pair the rules allow."""
    graph = nx.Graph()
    graph.add_nodes_from(range(len(pool)))
    graph.add_edges_from(
        (i, j)
        for i in range(len(pool))
        for j in range(i + 1, len(pool))
        if can_pair(pool[i], pool[j], match_rules)
    )
    return graph


def outputs_under_hash_seeds(script: str, seeds: int = 6) -> set[str]:
    """What `script` prints, run in a fresh interpreter under each of `seeds` hash seeds."""
    return {
        subprocess.run(
            [sys.executable, "-c", script],
            env={**os.environ, "PYTHONHASHSEED": str(seed)},
            capture_output=True, text=True, check=True,
        ).stdout
        for seed in range(seeds)
    }  # fmt: skip
