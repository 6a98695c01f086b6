"""The benchmark, run on tiny numbers so that it cannot rot: it must start its own stack, drive
every scenario through the API and report figures that say the work was really done.

No timing is asserted here; speeds are the benchmark's business, not a test's.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO


def test_the_benchmark_runs_every_scenario_on_tiny_numbers(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    run = subprocess.run(
        [sys.executable, "-m", "bench", "--profile", "tiny", "--json", str(out),
         "--data-dir", str(tmp_path / "stack")],
        cwd=REPO, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    figures = json.loads(out.read_text())
    assert "| floor: empty workflows/s |" in run.stdout

    assert figures["floor"]["workflows_per_second"] > 0
    for cost in (
        figures["floor"]["cost_per_workflow"],
        figures["steady"]["maximum"]["cost_per_request"],
    ):
        assert cost["temporal_history_writes"] > 0 and cost["cpu_ms"]["temporal"] > 0

    for phase in ("maximum", "half_rate"):
        steady = figures["steady"][phase]
        assert steady["refused"] == 0, steady["refusals"]
        assert steady["pairs_unmatched"] == 0
        assert steady["pairs_matched"] * 2 == steady["accepted"] > 0
        assert steady["match_latency"]["count"] == steady["pairs_matched"]

    hot = figures["hot_slot"]
    assert hot["accepted"] == hot["requests"] == 60
    assert hot["lost_requests"] == 0
    assert hot["pairable_pairs_left_waiting"] == 0
    assert 0 < hot["pairs_made"] == hot["pairs_possible"]  # rearranging reaches the maximum
    assert hot["matchmaker_runs"] >= 1 and hot["largest_history_events"] > 0

    timers = figures["timers"]
    assert timers["join_refusals"] == []
    assert timers["ready_before_start"] == timers["sessions"] == 3
    assert timers["cancellations_seen"] == 3
    assert timers["cancel_reasons"] == {"no_show": 3}
    assert timers["rematches_seen"] == 3  # the one who joined, every time

    window = figures["hot_window"]
    assert window["accepted"] == window["requests"] == 80
    assert 0 < window["fixed_slot_requests"] < window["requests"]
    assert window["lost_requests"] == 0
    assert window["pairable_pairs_left_waiting"] == 0
    assert not window["widening_could_fire"]
    # Pairs short of the offline maximum are reported per language pair, each with a path.
    assert 0 < window["pairs_made"] <= window["pairs_possible"]
    short = window["short_shards"].values()
    assert (
        sum(s["possible"] - s["made"] for s in short)
        == window["pairs_possible"] - window["pairs_made"]
    )
    # A path alternates a pair the rules allow and a seated one, ending on an allowed pair.
    assert all(len(path) % 2 == 1 for s in short for path in s["augmenting_paths"])
    assert (window["seconds_after_last_201_until_done"] is None) == bool(window["short_shards"])
    assert window["matchmaker_runs"] >= window["matchmakers"] >= 1
    assert window["matchmaker_runs"] == sum(len(r) for r in window["run_lengths"].values())
    assert bool(window["runs_over_limit"]) == (window["largest_history_events"] > 4096)

    for key in ("history", "history_completed", "history_no_show"):
        history = figures[key]
        assert history["pairs"] == 3 and history["mean"] > 0
        actions = history["actions"]
        parts = actions["by_workflow"]
        assert list(parts) == ["request_one", "request_two", "session", "matchmaker_share"]
        assert all(count > 0 for count in parts.values())
        assert abs(sum(parts.values()) - actions["mean"]) < 0.05
        assert abs(sum(actions["by_kind"].values()) - actions["mean"]) < 0.05
        assert actions["max"] >= actions["mean"]
        # Each pair's two requests and session start once each; the rest are signals, timers...
        assert actions["by_kind"]["workflow_started"] >= 3
    # A completed session's workflow does more than one that is only matched.
    assert (
        figures["history_completed"]["actions"]["by_workflow"]["session"]
        > (figures["history"]["actions"]["by_workflow"]["session"])
    )


def test_the_metrics_overhead_scenario_compares_stacks_with_and_without_metrics(
    tmp_path: Path,
) -> None:
    out = tmp_path / "overhead.json"
    run = subprocess.run(
        [sys.executable, "-m", "bench", "--only", "metrics_overhead", "--profile", "tiny",
         "--json", str(out), "--data-dir", str(tmp_path / "stack")],
        cwd=REPO, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    overhead = json.loads(out.read_text())["metrics_overhead"]
    assert "| metrics overhead |" in run.stdout
    assert [(r["round"], r["metrics"]) for r in overhead["rounds"]] == [
        (1, "on"), (1, "off"), (2, "on"), (2, "off"),
    ]  # fmt: skip
    assert all(r["ratio"] > 0 and r["matched_requests_per_second"] > 0 for r in overhead["rounds"])
    assert overhead["ratio_with_metrics"] > 0 and overhead["ratio_without_metrics"] > 0
