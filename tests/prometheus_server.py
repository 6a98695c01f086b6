"""A real Prometheus (the binary of Debian's `prometheus` package) scraping a test's stack every
second and evaluating a rule file, and the few calls of its HTTP API the tests make."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from devstack.processes import free_port, spawn, stop_all, tail

READY_SECONDS = 30.0


class Prometheus:
    """A running Prometheus's HTTP API."""

    def __init__(self, client: httpx.AsyncClient, jobs: set[str], log: Path) -> None:
        self._client, self.jobs, self.log = client, jobs, log

    async def _get(self, path: str, **params: str) -> Any:
        """The `data` of an API answer; fails on an error status."""
        answer = (await self._client.get(path, params=params)).json()
        assert answer["status"] == "success", answer
        return answer["data"]

    async def query(self, expr: str) -> list[dict[str, Any]]:
        """An instant query's result (series and values)."""
        data = await self._get("/api/v1/query", query=expr)
        result: list[dict[str, Any]] = data["result"]
        return result

    async def rules(self) -> list[dict[str, Any]]:
        """Every rule, with its health, last error and last evaluation."""
        data = await self._get("/api/v1/rules")
        return [rule for group in data["groups"] for rule in group["rules"]]

    async def targets(self) -> list[dict[str, Any]]:
        """The active scrape targets, with their health and last scrape."""
        data = await self._get("/api/v1/targets")
        targets: list[dict[str, Any]] = data["activeTargets"]
        return targets

    async def scrapes(self) -> dict[str, float]:
        """How many times each target (by job) has been scraped."""
        counts = await self.query("count_over_time(up[1h])")
        return {series["metric"]["job"]: float(series["value"][1]) for series in counts}

    async def scraped(self, times: int, timeout: float = 30.0) -> None:
        """Wait until every target has been scraped `times` more times from now."""
        before = await self.scrapes()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            now = await self.scrapes()
            if all(now.get(job, 0) >= before.get(job, 0) + times for job in self.jobs):
                return
            await asyncio.sleep(0.5)
        raise AssertionError(
            f"not scraped {times} times:\n{await self.targets()}\n{tail(self.log)}"
        )


@asynccontextmanager
async def running_prometheus(
    workdir: Path, targets: dict[str, str], rule_file: Path
) -> AsyncIterator[Prometheus]:
    """Prometheus scraping each `job: host:port` every second, with these rules; skips (saying
    so) where no Prometheus is installed."""
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.skip("prometheus not installed (apt-get install prometheus); the name checks ran")
    config = workdir / "prometheus.yml"
    config.write_text(
        yaml.safe_dump(
            {
                "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                "rule_files": [str(rule_file)],
                "scrape_configs": [
                    {"job_name": job, "static_configs": [{"targets": [target]}]}
                    for job, target in targets.items()
                ],
            }
        )
    )
    address = f"127.0.0.1:{free_port()}"
    child = spawn(
        "prometheus",
        [
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={workdir / 'data'}",
            f"--web.listen-address={address}",
        ],
        workdir / "prometheus.log",
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://{address}", timeout=10) as client:
            deadline = time.monotonic() + READY_SECONDS
            while True:
                if child.exited() or time.monotonic() > deadline:
                    raise AssertionError(f"Prometheus did not start:\n{tail(child.log_path)}")
                try:
                    if (await client.get("/-/ready")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.2)
            yield Prometheus(client, set(targets), child.log_path)
    finally:
        stop_all([child])
