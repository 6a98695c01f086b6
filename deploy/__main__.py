"""`python -m deploy`: roll Parley's workers to a new build while old workflows finish on theirs.

    python -m deploy status
    python -m deploy roll --to BUILD [--start-workers N] [--stop-old] [--timeout SECONDS]

`roll` does the four steps of a deploy: (1) start the new build's workers (here, with
`--start-workers`; otherwise whatever runs workers starts them with PARLEY_BUILD_ID=BUILD), and
wait until they poll; (2) make the build current, so every new workflow starts on it; (3) wait
until no running workflow is pinned to the build that was current before (requests and sessions
finish on the code they started with; matchmakers are woken by a signal and hand over to
the new build); (4) say that the old build's workers can stop, and with `--stop-old` stop those
running on this host.
It reads TEMPORAL_ADDRESS, PARLEY_TEMPORAL_NAMESPACE, PARLEY_DEPLOYMENT_NAME and PARLEY_TASK_QUEUE.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

from temporalio.client import Client

from contracts.wire import DATA_CONVERTER
from deploy import draining, versions, workers
from settings import Settings, get_settings

PROGRESS_EVERY_SECONDS = 5.0
# Name the workflows still pinned once they are this few.
SHOW_PINNED = 5


def say(message: str) -> None:
    """One line of the deploy's transcript."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


async def status(client: Client, settings: Settings) -> int:
    """Print every version of the deployment: status, drainage, workflows pinned, pollers."""
    current = await versions.current_build(client, settings.deployment_name)
    say(f"deployment {settings.deployment_name!r}: current build {current or '(none)'}")
    seen = await workers.pollers(client, settings.task_queue)
    for state in await versions.versions(client, settings.deployment_name):
        polling = [p.identity for p in seen if p.build_id == state.build_id]
        say(
            f"  build {state.build_id}: {state.status.lower()}, drainage "
            f"{state.drainage.lower()}, {state.running_pinned} running workflow(s) on it, "
            f"workers polling: {', '.join(polling) or 'none'}"
        )
    return 0


async def roll(client: Client, settings: Settings, args: argparse.Namespace) -> int:
    """The four steps; 0 once the old build is drained (and, with --stop-old, stopped)."""
    deployment, new = settings.deployment_name, args.to
    deadline = time.monotonic() + args.timeout
    if args.start_workers:
        started = workers.start_workers(new, args.start_workers, Path(args.log_dir))
        say(
            f"1. started {len(started)} worker(s) of build {new}: pid(s) "
            f"{', '.join(str(p.pid) for p in started)}, logs in {args.log_dir}"
        )
    say(f"1. waiting for build {new}'s workers to poll")
    await versions.wait_for_version(client, deployment, new, args.timeout)
    before = await versions.set_current(client, deployment, new)
    say(f"2. build {new} is current (it was {before or 'none'}): new workflows start on it")
    # Every other build still holding workflows: the one current before, and any an earlier
    # roll left draining (running this again after a timeout picks up where it stopped).
    to_drain = {
        state.build_id
        for state in await versions.versions(client, deployment)
        if state.build_id != new and (state.running_pinned or state.drainage == "DRAINING")
    }
    if before is not None and before != new:
        to_drain.add(before)
    if not to_drain:
        say("3. no older build to drain")
    for old in sorted(to_drain):
        if not await _drain(client, deployment, old, deadline):
            say(f"   gave up after {args.timeout:.0f} s; run this again to keep waiting")
            return 1
    polling = await workers.pollers(client, settings.task_queue)
    old_workers = [poller for poller in polling if poller.build_id not in (new, "")]
    if not old_workers:
        say("4. no worker of an older build polls any more")
    elif args.stop_old:
        stopped = workers.stop_local(old_workers)
        say(f"4. stopped older builds' worker(s) on this host: pid(s) {stopped or 'none'}")
        others = [p.identity for p in old_workers if p.local_pid not in stopped]
        if others:
            say(f"   stop these elsewhere: {', '.join(others)}")
    else:
        names = ", ".join(f"{p.identity} (build {p.build_id})" for p in old_workers)
        say(f"4. these workers of older builds can stop now: {names}")
    return 0


async def _drain(client: Client, deployment: str, old: str, deadline: float) -> bool:
    """Wait until nothing runs on build `old`; False if the deadline came first."""
    say(f"3. waiting until no running workflow is pinned to build {old}")
    last_report = 0.0
    woken: dict[tuple[str, str], float] = {}
    while True:
        # An idle matchmaker would notice the new build only at its next timer, maybe the slot's
        # start hours away: a signal makes it hand over at once.
        if count := await draining.wake_matchmakers(client, deployment, old, woken):
            say(f"   woke {count} matchmaker(s) on build {old}: they hand over to the new build")
        state = await versions.describe_version(client, deployment, old)
        left = state.running_pinned if state else 0
        if left == 0 and (state is None or state.drainage == "DRAINED"):
            say(f"3. build {old} is drained: nothing runs on it any more")
            return True
        if time.monotonic() - last_report >= PROGRESS_EVERY_SECONDS:
            say(f"   build {old}: {left} running workflow(s) pinned to it, drainage "
                f"{state.drainage.lower() if state else 'unknown'}")  # fmt: skip
            if 0 < left <= SHOW_PINNED:
                sample = await draining.pinned_sample(client, deployment, old, SHOW_PINNED)
                say(f"   still on {old}: {', '.join(sample)}")
            last_report = time.monotonic()
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(2.0)


def parse_args(argv: list[str]) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        prog="python -m deploy",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("status", help="versions, what is current, what is pinned where")
    rolling = commands.add_parser("roll", help="make a new build current and drain the old one")
    rolling.add_argument("--to", required=True, help="the new build id (its PARLEY_BUILD_ID)")
    rolling.add_argument(
        "--start-workers", type=int, default=0, metavar="N",
        help="start N worker processes of the new build on this host",
    )  # fmt: skip
    rolling.add_argument(
        "--stop-old", action="store_true",
        help="SIGTERM the old build's workers on this host once it is drained",
    )  # fmt: skip
    rolling.add_argument(
        "--timeout", type=float, default=3600.0,
        help="seconds to wait for the new workers and for the drain",
    )  # fmt: skip
    rolling.add_argument("--log-dir", default=".parley/logs", help="where started workers log")
    return parser.parse_args(argv)


async def main(argv: list[str]) -> int:
    """Connect and run the command."""
    args = parse_args(argv)
    settings = get_settings()
    client = await Client.connect(
        settings.temporal_target,
        namespace=settings.temporal_namespace,
        data_converter=DATA_CONVERTER,
    )
    if args.command == "status":
        return await status(client, settings)
    return await roll(client, settings, args)


if __name__ == "__main__":
    code = asyncio.run(main(sys.argv[1:]))
    sys.stdout.flush()
    # The Temporal client's runtime threads can race interpreter finalisation and abort a short
    # command at exit ("PyGILState_Release ... finalizing"); there is nothing left to clean up.
    os._exit(code)
