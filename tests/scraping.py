"""Reading both /metrics endpoints of a running stack: the worker's Temporal runtime and the API."""

from __future__ import annotations

import asyncio
import urllib.parse
import urllib.request

from httpx import AsyncClient
from prometheus_client.parser import text_string_to_metric_families

Sample = tuple[str, tuple[tuple[str, str], ...]]
# Labels every sample of one endpoint shares (the SDK's service name, this test's task queue).
CONSTANT_LABELS = {"service_name", "task_queue", "le"}


def parse(text: str) -> dict[Sample, float]:
    """Every sample of a Prometheus text page, by name and labels (minus the constant ones)."""
    found: dict[Sample, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = tuple(
                sorted((k, v) for k, v in sample.labels.items() if k not in CONSTANT_LABELS)
            )
            if "le" in sample.labels:
                continue  # buckets: the count and sum say enough here
            found[(sample.name, labels)] = sample.value
    return found


class Scrapes:
    """Both endpoints, read before and after, compared sample by sample."""

    def __init__(self, worker_url: str, api: AsyncClient) -> None:
        self._worker_url, self._api = worker_url, api
        self._before: dict[Sample, float] = {}

    def targets(self) -> tuple[str, str]:
        """host:port of the worker's metrics endpoint and of the API, for a Prometheus to scrape."""
        return urllib.parse.urlsplit(self._worker_url).netloc, self._api.base_url.netloc.decode()

    async def pages(self) -> tuple[str, str]:
        """One scrape of each, as Prometheus would read them: the worker's page, the API's."""
        worker = await asyncio.to_thread(
            lambda: urllib.request.urlopen(self._worker_url, timeout=5).read().decode()
        )
        api = await self._api.get("/metrics")
        assert api.status_code == 200, api.text
        return worker, api.text

    async def read(self) -> dict[Sample, float]:
        """One scrape of each, parsed."""
        worker, api = await self.pages()
        return {**parse(worker), **parse(api)}

    async def mark(self) -> None:
        """Remember the values now."""
        self._before = await self.read()

    async def delta(self, name: str, **labels: str) -> float:
        """How much one sample moved since `mark`."""
        key = (name, tuple(sorted(labels.items())))
        return (await self.read()).get(key, 0.0) - self._before.get(key, 0.0)
