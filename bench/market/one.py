"""`python -m bench.market.one --config a|b|c|d`: one configuration's market on a stack of its own
(started here, so that its settings are this process's environment); figures to --json.

`python -m bench --only market` runs the four side by side, each in such a process."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text

from bench.api_client import BenchApi
from bench.environment import Shape, Target, started_stack
from bench.market import facts, figures, offline
from bench.market.configs import BY_KEY, SLOT_SECONDS, MarketConfig
from bench.market.evening import SLOT, Evening
from bench.market.population import population
from bench.market.simulation import Simulation
from bench.profiles import PROFILES, Profile
from bench.stats import summary_ms
from db.engine import make_engine
from devstack.options import StackError

START_ATTEMPTS = 3
SETTLE_POLL_SECONDS = 3.0
# After the last slot any request holds has passed: the no-show grace, the receipt skew and the
# sweep, then some slack.
SETTLE_AFTER_LAST_SLOT = timedelta(seconds=20)
SETTLE_BOUND = timedelta(minutes=3)
UNSETTLED = text(
    "SELECT (SELECT count(*) FROM match_requests WHERE status = 'waiting')"
    " + (SELECT count(*) FROM sessions WHERE status = 'scheduled'),"
    " (SELECT max(availability_end) FROM match_requests)"
)


async def market(
    target: Target, config: MarketConfig, profile: Profile, seed: int, dump: Path | None = None
) -> dict[str, Any]:
    """Run the evening on `target` and read what happened."""
    api = BenchApi(target.api_url, target.settings.signing_secret(), connections=48)
    session_api = BenchApi(target.api_url, target.settings.signing_secret(), connections=32)
    engine = make_engine(target.settings.sqlalchemy_url)
    began = time.monotonic()
    try:
        learners = population(
            seed, profile.market_learners, profile.market_slots, set(await api.language_ids())
        )
        evening = Evening.starting_soon(profile.market_slots, profile.market_join_opens_slots)
        simulation = Simulation(
            api, session_api, engine, learners, evening, config, seed,
            target.settings.no_show_grace_seconds,
        )  # fmt: skip
        await simulation.run()
        watching = asyncio.ensure_future(simulation.watch_until_stopped())
        last_slot = evening.slot(profile.market_slots - 1)
        settled = await _settle(engine, last_slot, profile.market_wait_for_rebookings)
        simulation.stop()
        await watching
        blocks = facts.Blocks()
        for blocker, blocked, at in simulation.record.blocks:
            blocks.add(blocker, blocked, at)
        seen = await facts.load(engine, blocks, SLOT)
        if dump is not None:
            rows_json = json.dumps(facts.rows_as_json(seen), indent=1, default=str)
            await asyncio.to_thread(dump.write_text, rows_json + "\n")
    finally:
        await api.close()
        await session_api.close()
        await engine.dispose()
    rows = offline.compare(
        seen, evening.join_opens_slots * SLOT, timedelta(seconds=config.widen_slots * SLOT_SECONDS)
    )
    record = simulation.record
    return {
        "config": config.key,
        "title": config.title,
        "windows": config.windows,
        "environment": config.environment(profile.market_join_opens_slots),
        "settled": settled,
        "seconds": round(time.monotonic() - began, 1),
        "evening": {
            "first_slot": evening.slot(0).isoformat(),
            "join_opens_slots": evening.join_opens_slots,
            "slots": profile.market_slots,
        },
        **figures.figures(seen, len(learners)),
        "offline": offline.summary(rows),
        "calls": dict(sorted(record.calls.items())),
        "call_latency": {kind: summary_ms(took) for kind, took in sorted(record.seconds.items())},
        "bookings_dropped_late": record.bookings_late,
        "sessions_noticed": record.sessions_seen,
        "no_shows_planned": record.no_shows_planned,
    }


async def _settle(engine: Any, last_slot: datetime, wait_for_rebookings: bool) -> bool:
    """Wait until the evening's last slot is settled, no request waits and no session is still
    to start or be settled, and the last slot any request held has passed (without
    `wait_for_rebookings`, only the evening's own slots); False if that took too long."""
    settled_at = last_slot + SETTLE_AFTER_LAST_SLOT
    await asyncio.sleep(max(0.0, (settled_at - datetime.now(UTC)).total_seconds()))
    if not wait_for_rebookings:
        return True
    give_up = settled_at + SETTLE_BOUND
    while True:
        async with engine.connect() as connection:
            [(unsettled, last_end)] = (await connection.execute(UNSETTLED)).all()
        now = datetime.now(UTC)
        over = last_end is None or now >= last_end + SETTLE_AFTER_LAST_SLOT
        if unsettled == 0 and over:
            return True
        if last_end is not None:
            give_up = max(give_up, last_end + SETTLE_AFTER_LAST_SLOT + SETTLE_BOUND)
        if now >= give_up:
            return False
        await asyncio.sleep(SETTLE_POLL_SECONDS)


def main(argv: list[str] | None = None) -> int:
    """Start the stack with the configuration's settings, run the market, write the figures."""
    parser = argparse.ArgumentParser(prog="python -m bench.market.one", description=__doc__)
    parser.add_argument("--config", choices=sorted(BY_KEY), required=True)
    parser.add_argument("--profile", choices=sorted(PROFILES), default="full")
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument("--json", type=Path, required=True)
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--learners", type=int, help="override the profile's learners")
    parser.add_argument("--dump", type=Path, help="write every request and session here")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    # A stop signal unwinds like Ctrl-C, so that the stack stops and its database goes.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    config = BY_KEY[args.config]
    profile = PROFILES[args.profile]
    if args.learners:
        profile = replace(profile, market_learners=args.learners)
    shape = Shape(environment=config.environment(profile.market_join_opens_slots))
    for attempt in range(1, START_ATTEMPTS + 1):
        began = time.monotonic()
        try:
            with started_stack(args.data_dir, shape) as target:
                started = time.monotonic() - began
                result = asyncio.run(market(target, config, profile, args.seed, args.dump))
            break
        except StackError as error:
            # Stacks started side by side may race for a free port; the next try picks others.
            if attempt == START_ATTEMPTS or "is taken" not in str(error):
                raise
            print(f"stack start failed ({error}); trying again", file=sys.stderr, flush=True)
    result["stack_started_seconds"] = round(started, 1)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
