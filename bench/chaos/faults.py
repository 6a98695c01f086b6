"""Faults injected into a running stack, each with the time window it lasted.

Processes are signalled and started again from the main thread (the event loop's): a child's
death signal follows the thread that started it, so a worker thread must not start one.
"""

from __future__ import annotations

import asyncio
import os
import signal
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from devstack.processes import stop_all
from devstack.stack import Stack
from devstack.temporal import SEARCH_ATTRIBUTES, wait_for_temporal

KILL_WORKER = "kill_worker"
STOP_WORKERS = "stop_workers"
TERMINATE_POSTGRES = "terminate_postgres_connections"
RESTART_TEMPORAL = "restart_temporal"


@dataclass(frozen=True)
class PlannedFault:
    """What to do to which processes, when, and for how long."""

    kind: str
    at: datetime
    seconds: float = 0.0
    targets: tuple[str, ...] = ()


@dataclass(frozen=True)
class FaultWindow:
    """A fault as it happened: from its first effect until the stack was whole again."""

    kind: str
    targets: tuple[str, ...]
    started: datetime
    ended: datetime
    note: str = ""

    def covers(self, sent: datetime, answered: datetime, margin: timedelta) -> bool:
        """True when a call in flight from `sent` to `answered` overlaps the window + margin."""
        return sent <= self.ended + margin and answered >= self.started

    def as_json(self) -> dict[str, Any]:
        """The window for the JSON report."""
        return {
            "kind": self.kind,
            "targets": list(self.targets),
            "started": self.started.isoformat(),
            "ended": self.ended.isoformat(),
            "seconds": round((self.ended - self.started).total_seconds(), 1),
            "note": self.note,
        }


class FaultInjector:
    """Injects planned faults into a stack the benchmark started."""

    def __init__(self, stack: Stack, engine: AsyncEngine) -> None:
        self._stack = stack
        self._engine = engine
        self.windows: list[FaultWindow] = []

    async def run(self, plan: list[PlannedFault]) -> None:
        """Every planned fault at its time, in order."""
        for fault in sorted(plan, key=lambda planned: planned.at):
            await asyncio.sleep(max(0.0, (fault.at - datetime.now(UTC)).total_seconds()))
            self.windows.append(await self.inject(fault))

    async def inject(self, fault: PlannedFault) -> FaultWindow:
        """One fault, from start to recovery."""
        started = datetime.now(UTC)
        note = ""
        if fault.kind == KILL_WORKER:
            for name in fault.targets:
                os.kill(self._stack.child(name).process.pid, signal.SIGKILL)
            await asyncio.sleep(fault.seconds)
            pids = [self._stack.restart_child(name).process.pid for name in fault.targets]
            note = f"restarted as pid {', '.join(map(str, pids))}"
        elif fault.kind == STOP_WORKERS:
            try:
                for name in fault.targets:
                    os.kill(self._stack.child(name).process.pid, signal.SIGSTOP)
                await asyncio.sleep(fault.seconds)
            finally:  # never leave a worker stopped, even when the run is interrupted
                for name in fault.targets:
                    os.kill(self._stack.child(name).process.pid, signal.SIGCONT)
        elif fault.kind == TERMINATE_POSTGRES:
            note = f"{await self._terminate_connections()} connections terminated"
        elif fault.kind == RESTART_TEMPORAL:
            note = await self._restart_temporal()
        else:
            raise ValueError(f"unknown fault {fault.kind}")
        return FaultWindow(fault.kind, fault.targets, started, datetime.now(UTC), note)

    async def _terminate_connections(self) -> int:
        async with self._engine.connect() as connection:
            result = await connection.execute(
                text(
                    "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) "
                    "FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
            return int(result.scalar_one())

    async def _restart_temporal(self) -> str:
        """Stop the dev server, start the same command on the same SQLite file and port, and
        wait until it answers again."""
        server = self._stack.child("temporal")
        await asyncio.to_thread(stop_all, [server], 30.0)
        stopped = datetime.now(UTC)
        restarted = self._stack.restart_child("temporal")
        await wait_for_temporal(
            self._stack.temporal_address,
            search_attributes=SEARCH_ATTRIBUTES,
            child=restarted,
            timeout_seconds=60,
        )
        down = (datetime.now(UTC) - stopped).total_seconds()
        return f"down {down:.1f} s after it stopped; restarted as pid {restarted.process.pid}"
