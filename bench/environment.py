"""The stack under test: started fresh (as `python3 dev.py up` would) or attached to."""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from devstack.options import StackOptions
from devstack.postgres import (
    create_database,
    drop_database,
    local_test_postgres_url,
    stop_embedded_postgres,
    with_database,
)
from devstack.stack import Stack
from settings import Settings, get_settings

# Time compressed by configuration, so no-show timers come due within the run: one-minute
# slots and a five-second grace instead of ten minutes and two, and partners swapped for someone
# left alone after five seconds instead of thirty.
COMPRESSED_TIME = {
    "PARLEY_SLOT_MINUTES": "1",
    "PARLEY_NO_SHOW_GRACE_SECONDS": "5",
    "PARLEY_REARRANGE_AFTER_QUIET_SECONDS": "5",
    "PARLEY_JOIN_OPENS_MINUTES": "5",
    # Ten-minute slots become one-minute ones, so the windows shrink alike.
    "PARLEY_REBOOK_WINDOW_MINUTES": "3",
    "PARLEY_WIDEN_LEVELS_MINUTES": "3",
    "PARLEY_DEV_MODE": "true",
}


@dataclass(frozen=True)
class Target:
    """Where the stack answers, and the settings it runs with."""

    api_url: str
    database_url: str
    temporal_address: str
    settings: Settings
    started_seconds: float | None
    # Known only for a stack the benchmark started: where to read the costs of its parts.
    metrics_url: str | None = None
    pids: dict[str, int] = field(default_factory=dict)
    # Every API process (the first is `api_url`), and the stack itself, to inject faults into.
    api_urls: tuple[str, ...] = ()
    stack: Stack | None = None


@dataclass(frozen=True)
class Shape:
    """How many worker and API processes the started stack runs, and settings to override."""

    workers: int = 1
    apis: int = 1
    environment: dict[str, str] = field(default_factory=dict)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def started_stack(data_dir: Path | None = None, shape: Shape | None = None) -> Iterator[Target]:
    """Start Postgres (a fresh database), Temporal, the worker(s) and the API(s); stop them after.

    The database and a temporary data dir are thrown away afterwards: the figures are in the
    JSON, and a benchmark's synthetic users are nobody's data.
    """
    shape = shape or Shape()
    root = Path(data_dir) if data_dir else Path(tempfile.mkdtemp(prefix="parley-bench-"))
    os.environ.update({**COMPRESSED_TIME, **shape.environment})
    os.environ.pop("TEMPORAL_ADDRESS", None)  # the benchmark's own dev server, never a shared one
    admin_url = local_test_postgres_url(root / "postgres")
    database = f"parley_bench_{int(time.time())}_{os.getpid()}"
    create_database(admin_url, database)
    os.environ["DATABASE_URL"] = with_database(admin_url, database)
    get_settings.cache_clear()
    metrics_port = _free_port()
    stack = Stack(
        StackOptions(
            data_dir=root,
            temporal_port=_free_port(),
            ui_port=_free_port(),
            api_port=_free_port(),
            timeout_seconds=120,
            metrics_port=metrics_port,
            workers=shape.workers,
            more_api_ports=tuple(_free_port() for _ in range(shape.apis - 1)),
        )
    )
    began = time.monotonic()
    completed = False
    try:
        stack.up()
        yield Target(
            api_url=stack.api_url,
            database_url=stack.database_url,
            temporal_address=stack.temporal_address,
            settings=get_settings(),
            started_seconds=round(time.monotonic() - began, 1),
            metrics_url=f"http://127.0.0.1:{metrics_port}/metrics",
            pids=stack.pids(),
            api_urls=tuple(stack.api_urls),
            stack=stack,
        )
        completed = True
    finally:
        stack.down()
        drop_database(admin_url, database)
        stop_embedded_postgres(root / "postgres")
        if data_dir is None and completed:
            shutil.rmtree(root, ignore_errors=True)  # kept on failure: its logs/ tell why


@contextmanager
def attached_stack(api_url: str) -> Iterator[Target]:
    """A stack someone else started, described by DATABASE_URL, TEMPORAL_ADDRESS and PARLEY_*."""
    settings = get_settings()
    if not settings.database_url:
        raise SystemExit("--attach needs DATABASE_URL (the stack's database)")
    yield Target(
        api_url=api_url.rstrip("/"),
        database_url=settings.database_url,
        temporal_address=settings.temporal_target,
        settings=settings,
        started_seconds=None,
        api_urls=(api_url.rstrip("/"),),
    )
