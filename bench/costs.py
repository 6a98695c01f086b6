"""What a phase cost each part of the stack: CPU time per process and Temporal's own writes.

Throughputs drift with the machine; these do not much, and they say where the time goes. Read
from /proc and the dev server's Prometheus endpoint, so only for a stack the benchmark started
on Linux; elsewhere the figures are simply left out.
"""

from __future__ import annotations

import asyncio
import os
import re
import urllib.request
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.environment import Target

PROC = Path("/proc")
PERSISTENCE = re.compile(
    r'^persistence_requests\{[^}]*operation="(?P<operation>[^"]+)"[^}]*\} (?P<count>\S+)$'
)
# Writes of workflow state and history (one transaction each on the dev server's SQLite), and
# tasks that missed a waiting poller and were stored to be read back.
# The dev server publishes its counters about once a second.
METRICS_FLUSH_SECONDS = 1.2
HISTORY_WRITES = ("CreateWorkflowExecution", "UpdateWorkflowExecution", "SetWorkflowExecution")
STORED_TASKS = ("CreateTasks",)


@dataclass(frozen=True)
class Snapshot:
    """CPU seconds by part of the stack, and Temporal persistence calls by operation."""

    cpu: dict[str, float]
    persistence: Counter[str]


class CostMeter:
    """Takes snapshots of a started stack; `None` where they cannot be read."""

    def __init__(self, target: Target) -> None:
        self._target = target
        self._ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

    async def snapshot(self, extra_pids: dict[str, int] | None = None) -> Snapshot | None:
        """Now, for the stack's processes (and `extra_pids`), Postgres, and this process."""
        if self._target.metrics_url is None:
            return None
        await asyncio.sleep(METRICS_FLUSH_SECONDS)
        return await asyncio.to_thread(self._read, extra_pids or {})

    def _read(self, extra_pids: dict[str, int]) -> Snapshot | None:
        if not PROC.is_dir():
            return None
        pids = {**self._target.pids, **extra_pids}
        cpu = {name: self._cpu_seconds([pid]) for name, pid in pids.items()}
        cpu["postgres"] = self._cpu_seconds(self._postgres_pids())
        times = os.times()
        cpu["bench"] = times.user + times.system
        return Snapshot(cpu=cpu, persistence=self._persistence())

    @staticmethod
    def per_unit(before: Snapshot | None, after: Snapshot | None, units: int) -> dict[str, Any]:
        """What each unit (a workflow, a request) cost between two snapshots."""
        if before is None or after is None or units <= 0:
            return {}
        cpu = {
            part: round(1000 * (after.cpu[part] - before.cpu.get(part, 0.0)) / units, 2)
            for part in after.cpu
        }
        calls = after.persistence - before.persistence
        return {
            "cpu_ms": cpu,
            "cpu_ms_total": round(sum(cpu.values()), 2),
            "temporal_history_writes": round(sum(calls[op] for op in HISTORY_WRITES) / units, 2),
            "temporal_stored_tasks": round(sum(calls[op] for op in STORED_TASKS) / units, 2),
        }

    def _cpu_seconds(self, pids: list[int]) -> float:
        total = 0
        for pid in pids:
            try:
                fields = (PROC / str(pid) / "stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue  # gone
            # utime, stime, and the same for children it has waited for (Postgres backends).
            total += sum(int(value) for value in fields[11:15])
        return total / self._ticks

    @staticmethod
    def _postgres_pids() -> list[int]:
        pids = []
        for entry in PROC.iterdir():
            if entry.name.isdigit():
                try:
                    if (entry / "comm").read_text().strip() == "postgres":
                        pids.append(int(entry.name))
                except OSError:
                    continue
        return pids

    def _persistence(self) -> Counter[str]:
        assert self._target.metrics_url is not None
        calls: Counter[str] = Counter()
        with urllib.request.urlopen(self._target.metrics_url, timeout=5) as response:
            for line in response.read().decode().splitlines():
                match = PERSISTENCE.match(line)
                if match:
                    calls[match["operation"]] += int(float(match["count"]))
        return calls
