"""`python -m tests.upgrade.worker_v2`: Parley's worker, with SessionWorkflow at build v2."""

from __future__ import annotations

import asyncio
import os
import sys

import worker
from tests.upgrade.session_v2 import SessionWorkflowV2
from workflows.session import SessionWorkflow

if __name__ == "__main__":
    worker.WORKFLOWS[worker.WORKFLOWS.index(SessionWorkflow)] = SessionWorkflowV2
    asyncio.run(worker.main())
    sys.stdout.flush()
    os._exit(0)  # as worker.py does: no finalisation race with the Temporal runtime's threads
