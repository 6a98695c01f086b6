"""What the activities that write and then start workflows are built with."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from activities.workflow_starts import WorkflowStartActivities
from observability.business import NO_METRICS, BusinessMetrics


class StartingActivities:
    """Activities that write Postgres, then start or signal workflows; counted in `metrics`."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        starts: WorkflowStartActivities,
        metrics: BusinessMetrics | None = None,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._starts = starts
        self._metrics = metrics or NO_METRICS
