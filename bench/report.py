"""The run's figures as a table on stdout and as JSON on disk."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.market import report as market_report


def _ms(summary: dict[str, Any]) -> str:
    return f"p50 {summary['p50_ms']} / p99 {summary['p99_ms']} / max {summary['max_ms']} ms"


def _cost(cost: dict[str, Any]) -> str:
    parts = ", ".join(f"{part} {ms}" for part, ms in sorted(cost["cpu_ms"].items()) if ms >= 0.05)
    return (
        f"{cost['temporal_history_writes']} history writes, {cost['temporal_stored_tasks']} "
        f"stored tasks; CPU {cost['cpu_ms_total']} ms ({parts})"
    )


def rows(results: dict[str, Any]) -> list[tuple[str, str]]:
    """(figure, value) lines in scenario order."""
    out: list[tuple[str, str]] = market_report.rows(results.get("market"))
    overhead = results.get("metrics_overhead")
    if overhead:
        for each in overhead["rounds"]:
            out.append((
                f"metrics {each['metrics']}, round {each['round']}: floor / max rate / ratio",
                f"{each['floor_workflows_per_second']} / {each['matched_requests_per_second']}"
                f" / {each['ratio']}; worker+API CPU {each['worker_api_cpu_ms_per_request']}"
                " ms per request",
            ))  # fmt: skip
        out += [
            ("max-rate ratio to the floor, with metrics", f"{overhead['ratio_with_metrics']}"),
            ("max-rate ratio to the floor, without", f"{overhead['ratio_without_metrics']}"),
            ("metrics overhead", f"{overhead['overhead_percent']} %"),
            (
                "worker+API CPU per request, with / without metrics",
                f"{overhead['worker_api_cpu_ms_per_request_with_metrics']} / "
                f"{overhead['worker_api_cpu_ms_per_request_without']} ms "
                f"({overhead['cpu_overhead_percent']} %)",
            ),
        ]
    floor = results.get("floor")
    if floor:
        out.append(("floor: empty workflows/s", f"{floor['workflows_per_second']}"))
        if floor.get("cost_per_workflow"):
            out.append(("floor: cost per empty workflow", _cost(floor["cost_per_workflow"])))
    steady = results.get("steady")
    if steady:
        top, half = steady["maximum"], steady["half_rate"]
        out += [
            ("max rate: accepted requests/s", f"{top['accepted_per_second']}"),
            (
                "max rate: accepted-and-matched requests/s",
                f"{top['matched_requests_per_second']} "
                f"({top.get('matched_per_second_vs_floor')} of floor)",
            ),
            ("max rate: POST latency", _ms(top["post_latency"])),
            *(
                [("max rate: cost per request", _cost(top["cost_per_request"]))]
                if top.get("cost_per_request")
                else []
            ),
            ("max rate: match latency", _ms(top["match_latency"])),
            ("half rate: target requests/s", f"{half['target_requests_per_second']}"),
            ("half rate: accepted requests/s", f"{half['accepted_per_second']}"),
            ("half rate: POST latency", _ms(half["post_latency"])),
            ("half rate: match latency", _ms(half["match_latency"])),
            ("steady: pairs unmatched", f"{top['pairs_unmatched'] + half['pairs_unmatched']}"),
        ]
    hot = results.get("hot_slot")
    if hot:
        out += [
            ("hot slot: requests accepted", f"{hot['accepted']} of {hot['requests']}"),
            ("hot slot: seconds until pairing done", f"{hot['seconds_until_pairing_done']}"),
            ("hot slot: pairs made / possible", f"{hot['pairs_made']} / {hot['pairs_possible']}"),
            ("hot slot: pairable pairs left waiting", f"{hot['pairable_pairs_left_waiting']}"),
            ("hot slot: sessions rearranged to seat more", f"{hot['sessions_rearranged']}"),
            ("hot slot: POST latency", _ms(hot["post_latency"])),
            ("hot slot: matchmaker runs", f"{hot['matchmaker_runs']}"),
            ("hot slot: largest history (events)", f"{hot['largest_history_events']}"),
            ("hot slot: requests lost", f"{hot['lost_requests']}"),
        ]
    out += _window_rows(results.get("hot_window"))
    timers = results.get("timers")
    if timers:
        out += [
            (
                "timers: no-show cancels seen",
                f"{timers['cancellations_seen']} of {timers['ready_before_start']}",
            ),
            ("timers: lateness after start+grace", _ms(timers["lateness_after_start_plus_grace"])),
            (
                "timers: the sweep's clock on the rows, after start+grace",
                _ms(timers["decided_after_start_plus_grace"]),
            ),
            (
                "timers: rematch of who came, after start+grace",
                _ms(timers["rematch_after_start_plus_grace"]),
            ),
        ]
    out += _chaos_rows(results.get("chaos"))
    for key, label in (
        ("history", "until matched"),
        ("history_completed", "completed session, to the end"),
        ("history_no_show", "no-show, to the end"),
    ):
        history = results.get(key)
        if history:
            out.append(
                (
                    f"history events per pair ({label})",
                    f"mean {history['mean']}, max {history['max']} ({history['pairs']} pairs)",
                )
            )
            if history.get("failures"):
                failed = "; ".join(sorted(set(history["failures"])))[:300]
                out.append((f"pairs left out ({label})", f"{len(history['failures'])}: {failed}"))
            out += _action_rows(history.get("actions"), label)
    return out


def _window_rows(hot: dict[str, Any] | None) -> list[tuple[str, str]]:
    """The hot window's rows; every matchmaker run over the limit gets its own."""
    if not hot:
        return []
    out = [
        (
            "hot window: requests accepted",
            f"{hot['accepted']} of {hot['requests']} ({hot['fixed_slot_requests']} fixed slots)",
        ),
        (
            "hot window: seconds after the last 201 until done",
            f"{hot['seconds_after_last_201_until_done']}",
        ),
        (
            "hot window: seconds after the last 201 until the last pair",
            f"{hot['seconds_after_last_201_until_the_last_pair']}",
        ),
        ("hot window: pairs made / possible", f"{hot['pairs_made']} / {hot['pairs_possible']}"),
        ("hot window: pairable pairs left waiting", f"{hot['pairable_pairs_left_waiting']}"),
        ("hot window: POST latency", _ms(hot["post_latency"])),
        (
            "hot window: matchmaker runs / largest history",
            f"{hot['matchmaker_runs']} runs of {hot['matchmakers']} matchmakers / "
            f"{hot['largest_history_events']} events",
        ),
        ("hot window: runs over 4,096 events", f"{len(hot['runs_over_limit'])}"),
        ("hot window: requests lost", f"{hot['lost_requests']}"),
    ]
    out += [
        (f"hot window: short in {shard}", f"{counts['made']} made / {counts['possible']} possible")
        for shard, counts in hot["short_shards"].items()
    ]
    out += [
        (f"hot window: over the limit: {run['workflow_id']}", f"{run['events']} events")
        for run in hot["runs_over_limit"]
    ]
    if hot["widening_could_fire"]:
        out.append(("hot window: WARNING", "levels could widen during the run"))
    return out


def _action_rows(actions: dict[str, Any] | None, label: str) -> list[tuple[str, str]]:
    """Temporal Cloud actions per pair: in total, by workflow and by kind."""
    if not actions:
        return []
    parts = ", ".join(f"{part} {count}" for part, count in actions["by_workflow"].items())
    kinds = ", ".join(f"{kind} {count}" for kind, count in actions["by_kind"].items())
    return [
        (f"actions per pair ({label})", f"mean {actions['mean']}, max {actions['max']}"),
        (f"actions per pair by workflow ({label})", parts),
        (f"actions per pair by kind ({label})", kinds),
    ]


def _chaos_rows(chaos: dict[str, Any] | None) -> list[tuple[str, str]]:
    """A row per check, per fault and per endpoint and status."""
    if not chaos:
        return []
    out = [
        ("chaos: violations", f"{chaos['violations']} (settled: {chaos['settled']})"),
        ("chaos: users / slots", f"{chaos['users']} / {len(chaos['slots'])}"),
    ]
    for key, check in chaos["checks"].items():
        extra = {  # the figures on the side; lists of examples stay in the JSON
            name: value
            for name, value in check.items()
            if name not in ("title", "checked", "violations") and not isinstance(value, list)
        }
        figures = f"; {json.dumps(extra, separators=(', ', ': '))}" if extra else ""
        out.append(
            (
                f"chaos {key}. {check['title']}",
                f"{check['violations']} violations in {check['checked']} checked{figures}",
            )
        )
    for fault in chaos["faults"]:
        targets = f" {'+'.join(fault['targets'])}" if fault["targets"] else ""
        note = f"; {fault['note']}" if fault["note"] else ""
        out.append(
            (
                f"chaos fault: {fault['kind']}{targets}",
                f"{fault['started'][11:19]} for {fault['seconds']} s{note}",
            )
        )
    out += [(f"chaos calls: {name}", str(count)) for name, count in chaos["calls"].items()]
    out += [(f"chaos actions: {name}", str(count)) for name, count in chaos["actions"].items()]
    return out


def table(results: dict[str, Any]) -> str:
    """A plain two-column table, also valid Markdown."""
    lines = ["| figure | value |", "|---|---|"]
    lines += [f"| {name} | {value} |" for name, value in rows(results)]
    return "\n".join(lines)


def write_json(results: dict[str, Any], path: Path) -> None:
    """The same figures, machine-readable."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2, default=str) + "\n")
