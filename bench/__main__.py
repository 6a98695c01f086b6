"""`python -m bench [--profile full|tiny] [--json PATH]`: start a stack, run every scenario,
print a table and write the figures as JSON. `--only chaos` runs the chaos scenario alone, on a
scaled-out stack of its own, and exits 1 if it found any violation. `--only market` runs the
simulated market alone, on four stacks of its own (one per configuration)."""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import signal
import sys
import time
from contextlib import AbstractContextManager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from temporalio.client import Client

from bench import report
from bench.api_client import BenchApi
from bench.context import BenchContext
from bench.costs import CostMeter
from bench.environment import Target, attached_stack, started_stack
from bench.profiles import PROFILES, Profile
from bench.scenarios import (
    chaos,
    floor,
    histories,
    hot_slot,
    hot_window,
    lifecycles,
    market,
    metrics_overhead,
    steady,
    timers,
)
from contracts.wire import DATA_CONVERTER
from db.engine import make_engine

SCENARIOS = ("floor", "steady", "timers", "hot_slot", "hot_window", "history")
# Not run by default: it needs a stack of another shape and judges correctness, not speed.
CHAOS = "chaos"
# Not run by default either: it starts four stacks of its own (metrics on and off, twice).
METRICS_OVERHEAD = "metrics_overhead"
# Not run by default either: four stacks of its own, one per configuration, for an evening.
MARKET = "market"


def parse_args(argv: list[str]) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--profile", choices=sorted(PROFILES), default="full")
    parser.add_argument("--json", type=Path, default=Path("bench-results.json"))
    parser.add_argument(
        "--only",
        nargs="*",
        choices=(*SCENARIOS, CHAOS, METRICS_OVERHEAD, MARKET),
        help="run only these scenarios",
    )
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument("--hot-requests", type=int, help="override the profile's hot-slot size")
    parser.add_argument(
        "--window-requests", type=int, help="override the profile's hot-window size"
    )
    parser.add_argument(
        "--market-learners", type=int, help="override the profile's learners in the market"
    )
    parser.add_argument(
        "--market-parallel",
        type=int,
        default=4,
        help="how many of the market's four configurations run at once (default 4)",
    )
    parser.add_argument("--data-dir", type=Path, help="where the started stack keeps its state")
    parser.add_argument(
        "--attach", metavar="API_URL", help="use a running stack (DATABASE_URL, TEMPORAL_ADDRESS)"
    )
    args = parser.parse_args(argv)
    for alone in (CHAOS, METRICS_OVERHEAD, MARKET):
        if args.only and alone in args.only and (len(set(args.only)) > 1 or args.attach):
            parser.error(f"{alone} runs alone, on stacks it starts itself: --only {alone}")
    return args


async def open_context(target: Target, seed: int = 20261123) -> BenchContext:
    """What the scenarios share for one stack: API client, Temporal, Postgres, dice."""
    api = BenchApi(target.api_url, target.settings.signing_secret())
    return BenchContext(
        target=target,
        api=api,
        temporal=await Client.connect(target.temporal_address, data_converter=DATA_CONVERTER),
        engine=make_engine(target.settings.sqlalchemy_url),
        run_id=f"{int(time.time()) % 1_000_000}",
        languages=sorted(await api.language_ids()),
        rng=random.Random(seed),
        costs=CostMeter(target),
    )


async def run_scenarios(
    target: Target, profile: Profile, wanted: set[str], seed: int, logs: Path, json_path: Path
) -> dict[str, Any]:
    """Every wanted scenario, in order; each one's figures under its name."""
    ctx = await open_context(target, seed)
    results: dict[str, Any] = {}
    try:
        if CHAOS in wanted:
            calls = json_path.with_name(f"{json_path.stem}-chaos-calls.jsonl")
            results[CHAOS] = await chaos.run(ctx, profile, seed, calls)
        if "floor" in wanted:
            results["floor"] = await floor.run(ctx, profile, logs)
        floor_rate = results.get("floor", {}).get("workflows_per_second")
        sample: list[str] = []
        if "steady" in wanted:
            results["steady"] = await steady.run(ctx, profile, floor_rate)
            sample = results["steady"].pop("sample_session_ids")[: profile.history_pairs]
        if "timers" in wanted:
            measured = results.get("steady", {}).get("maximum", {}).get("accepted_per_second")
            results["timers"] = await timers.run(ctx, profile, measured or 5.0)
            if "history" in wanted:
                results["history_no_show"] = await histories.events_per_pair(
                    ctx, results["timers"].pop("session_ids")[: profile.history_pairs]
                )
        if "hot_slot" in wanted:
            results["hot_slot"] = await hot_slot.run(ctx, profile)
        if "hot_window" in wanted:
            results["hot_window"] = await hot_window.run(ctx, profile)
        if "history" in wanted:
            results.update(await _histories(ctx, profile, sample, no_show="timers" not in wanted))
    finally:
        await ctx.api.close()
        await ctx.engine.dispose()
    return results


async def _histories(
    ctx: BenchContext, profile: Profile, sample: list[str], no_show: bool
) -> dict[str, Any]:
    """History events and actions per pair: until matched (the steady phases' pairs, or pairs of
    its own), for a completed session, and (unless the timers scenario gave them) for no-shows."""
    results = {
        "history": await histories.events_per_pair(
            ctx, sample or await lifecycles.matched(ctx, profile)
        )
    }
    completed, failures = await lifecycles.completed(ctx, profile)
    results["history_completed"] = await histories.events_per_pair(ctx, completed)
    results["history_completed"]["failures"] = failures
    if no_show:
        few = replace(profile, timer_sessions=profile.history_pairs)
        session_ids = (await timers.run(ctx, few, 5.0))["session_ids"]
        results["history_no_show"] = await histories.events_per_pair(ctx, session_ids)
    return results


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; exit 0 when it completed (the figures say how well), 1 when the chaos
    scenario found a violation."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    # A stop signal unwinds like Ctrl-C, so the stack stops and the throwaway database goes.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    profile = PROFILES[args.profile]
    if args.hot_requests:
        profile = replace(profile, hot_requests=args.hot_requests)
    if args.window_requests:
        profile = replace(profile, window_requests=args.window_requests)
    if args.market_learners:
        profile = replace(profile, market_learners=args.market_learners)
    wanted = set(args.only or SCENARIOS)
    began = time.monotonic()
    if METRICS_OVERHEAD in wanted or MARKET in wanted:
        logs = Path(args.data_dir or Path.cwd() / ".parley") / "bench-logs"
        logs.mkdir(parents=True, exist_ok=True)
        if MARKET in wanted:
            alone = market.run(profile, args.seed, logs, args.data_dir, args.market_parallel)
        else:
            alone = metrics_overhead.run(profile, args.data_dir, logs, open_context)
        results_only = {
            MARKET if MARKET in wanted else METRICS_OVERHEAD: alone,
            "run": {"profile": profile.name},
        }
        results_only["run"]["seconds"] = round(time.monotonic() - began, 1)
        report.write_json(results_only, args.json)
        print(report.table(results_only))
        print(f"\nfigures written to {args.json}")
        return 0
    shape = chaos.SHAPE if CHAOS in wanted else None
    stack: AbstractContextManager[Target] = (
        attached_stack(args.attach) if args.attach else started_stack(args.data_dir, shape)
    )
    with stack as target:
        logs = Path(args.data_dir or Path.cwd() / ".parley") / "bench-logs"
        logs.mkdir(parents=True, exist_ok=True)
        results = asyncio.run(run_scenarios(target, profile, wanted, args.seed, logs, args.json))
    results["run"] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "profile": profile.name,
        "hot_requests": profile.hot_requests,
        "window_requests": profile.window_requests,
        "seed": args.seed,
        "seconds": round(time.monotonic() - began, 1),
        "stack_started_seconds": target.started_seconds,
        "machine": f"{platform.machine()}, {_cpus()} CPUs, Python {platform.python_version()}",
        "settings": {
            "slot_minutes": target.settings.slot_minutes,
            "no_show_grace_seconds": target.settings.no_show_grace_seconds,
            "rearrange_after_quiet_seconds": target.settings.rearrange_after_quiet_seconds,
            "widen_levels_minutes": target.settings.widen_levels_minutes,
        },
    }
    report.write_json(results, args.json)
    print(report.table(results))
    print(f"\nfigures written to {args.json}")
    violations = results.get(CHAOS, {}).get("violations", 0)
    if violations:
        print(f"chaos: {violations} violations (examples in {args.json})", file=sys.stderr)
    return 1 if violations else 0


def _cpus() -> int:
    """CPUs this process may run on (Linux), else the machine's count."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 0


if __name__ == "__main__":
    sys.exit(main())
