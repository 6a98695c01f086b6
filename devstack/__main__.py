"""`python -m devstack up`: start the whole service locally and keep it running until Ctrl-C
(restarting the worker or the API if one ends)."""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path
from types import FrameType

from devstack.banner import banner
from devstack.options import REPO_ROOT, StackError, StackOptions
from devstack.stack import Stack
from devstack.temporal import DEFAULT_PORT, DEFAULT_UI_PORT
from settings import get_settings


class Shutdown(Exception):
    """Raised in the main thread when SIGTERM (or SIGINT) arrives."""


def _on_signal(signum: int, frame: FrameType | None) -> None:
    """Turn a stop signal into an exception, so that `finally` stops the children."""
    raise Shutdown(signal.Signals(signum).name)


def parse_args(argv: list[str]) -> argparse.Namespace:
    """The command line: `up` with ports, data dir and readiness timeout."""
    settings = get_settings()
    parser = argparse.ArgumentParser(prog="python -m devstack", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="start Postgres, Temporal, migrations, worker and API")
    up.add_argument("--temporal-port", type=int, default=DEFAULT_PORT, help="dev server gRPC port")
    up.add_argument("--ui-port", type=int, default=DEFAULT_UI_PORT, help="Temporal Web UI port")
    up.add_argument("--api-host", default=settings.api_host, help="address the API binds to")
    up.add_argument("--api-port", type=int, default=settings.api_port, help="API port")
    up.add_argument(
        "--data-dir",
        type=Path,
        default=REPO_ROOT / settings.data_dir,
        help="where Postgres data, Temporal state and logs go (default: .parley/)",
    )
    up.add_argument("--timeout", type=float, default=90.0, help="seconds to wait for /readyz")
    up.add_argument(
        "--worker-metrics-port",
        type=int,
        default=int(settings.worker_metrics_address.rpartition(":")[2]),
        help="the worker's Prometheus port (its /metrics)",
    )
    return parser.parse_args(argv)


def up(args: argparse.Namespace) -> int:
    """Start the stack, print where everything is, wait for a signal or a crash, then stop."""
    options = StackOptions(
        data_dir=args.data_dir.resolve(),
        temporal_port=args.temporal_port,
        ui_port=args.ui_port,
        api_host=args.api_host,
        api_port=args.api_port,
        timeout_seconds=args.timeout,
        worker_metrics_port=args.worker_metrics_port,
    )
    stack = Stack(options)
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    started = time.monotonic()
    code = 0
    try:
        print("parley: starting (Postgres, Temporal, migrations, worker, API)...", flush=True)
        stack.up()
        stack.write_env_file()
        print(banner(stack, time.monotonic() - started), flush=True)
        while True:
            stack.supervise()  # a worker or API that ends is restarted, with backoff
            time.sleep(0.5)
    except Shutdown as stop:
        print(f"\nparley: {stop}: stopping...", flush=True)
    except StackError as err:
        print(f"parley: failed: {err}", file=sys.stderr, flush=True)
        code = 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stack.down()
        print("parley: stopped", flush=True)
    return code


def main(argv: list[str] | None = None) -> int:
    """Entry point of `python -m devstack`."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.command == "up":
        return up(args)
    return 2


if __name__ == "__main__":
    sys.exit(main())
