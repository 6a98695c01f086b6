"""A worker shaped like Parley's (`worker.py`: one process, default options) running EmptyWorkflow.

`python -m bench.floor_worker TASK_QUEUE`, with TEMPORAL_ADDRESS set like the real worker's.
"""

from __future__ import annotations

import asyncio
import sys

from temporalio.client import Client
from temporalio.worker import Worker

from bench.floor_workflow import EmptyWorkflow
from contracts.wire import DATA_CONVERTER
from settings import get_settings
from worker import TUNING


async def main(task_queue: str) -> None:
    """Poll `task_queue` until stopped."""
    settings = get_settings()
    client = await Client.connect(
        settings.temporal_target,
        namespace=settings.temporal_namespace,
        data_converter=DATA_CONVERTER,
    )
    await Worker(client, task_queue=task_queue, workflows=[EmptyWorkflow], **TUNING).run()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
